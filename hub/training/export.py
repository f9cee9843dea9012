"""Export a training run to a self-describing model directory.

``model.onnx`` (one file, dynamic batch axis and any axis the encoder leaves free, e.g. the
individuals of ``genotype_matrix``; contract in ``metadata_props``), ``config.json``
(the contract plus the weights' sha256), ``README.md`` (model card), the training figures and
``test_data_set_0/`` (ONNX-zoo test data: encoded test windows and the outputs torch gave
them: class probabilities, or a regression's values). The ONNX
graph is checked with ``onnx.checker`` and its onnxruntime outputs against torch's before
anything is written.
"""

from __future__ import annotations

import logging
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..contract import InputSpec, ModelContract
from ..contract_update import embed_contract
from ..datasets import open_arrays
from ..encoders import Encoder, build_encoder, input_shapes
from ..errors import PopgenHubError
from ..files import ModelFolder, RunFolder, staged_outputs
from ..models import build_model, get_architecture
from ..runtime import OnnxModel, sha256_of
from ..schema import read_record
from .objectives import objective_of_run

PARITY_TOLERANCE = 1e-5
OPSET = 18
TEST_DATA_WINDOWS = 8  # windows shipped in test_data_set_0 (all parity inputs are checked)
TRAIN_AGAIN = "train again with `popgen-hub train`"
#: What export reads of run.json, and the type of each.
RUN_KEYS = {"architecture": str, "model_config": dict[str, Any], "encoder": dict[str, Any],
            "labels": list[str], "data": dict[str, Any], "settings": dict[str, Any],
            "best_epoch": int, "metrics": dict[str, Any], "command": str}


def contract_from_run(run: dict[str, Any], name: str, *, description: str,
                      revision: str = "bundled", repeats: dict[str, Any] | None = None
                      ) -> ModelContract:
    """The contract of a training run; ``repeats`` (``repeats.json`` of ``train --repeats``)
    adds the spread of the test figures over repeated runs."""
    if not name.startswith(run["architecture"] + "."):
        raise PopgenHubError(
            f"model name {name!r} must start with its architecture: {run['architecture']}.TAG")
    params = run["data"]["parameters"]
    inputs = list(get_architecture(run["architecture"]).inputs)
    encoder = build_encoder(run["encoder"])
    objective = objective_of_run(run)
    return ModelContract(
        name=name,
        architecture=run["architecture"],
        description=description,
        input=InputSpec(tensor_name=inputs[0], tensor_names=inputs if len(inputs) > 1 else [],
                        window_bp=int(params["length"]), data_kind=encoder.data_kinds[0],
                        **_sample_sizes(encoder, params["n_haplotypes"])),
        encoder=run["encoder"],
        labels=run["labels"],
        output_name=objective.output_name,
        output_kind=objective.kind,
        training={**{k: v for k, v in run["data"].items() if k != "citations"},
                  "settings": run["settings"], "best_epoch": run["best_epoch"],
                  "command": run["command"]},
        metrics={"test": run["metrics"]["test"], **({"repeats": repeats} if repeats else {}),
                 **{k: run["metrics"][k] for k in ("calibration",) if k in run["metrics"]}},
        citations=run["data"].get("citations", []),
        revision=revision,
    )


def _sample_sizes(encoder: Encoder, simulated: int) -> dict[str, Any]:
    """What the model accepts of the samples, given the haplotypes simulated per replicate."""
    if encoder.data_kinds[0] == "haplotypes":
        # the present-day group's size, where the encoder reads a fixed number (a temporal
        # one); else the simulated sample, which a scan subsamples to
        n_haplotypes = encoder.sample_groups[0].size or simulated
        return {"n_haplotypes": n_haplotypes, "phased": True,
                "sample_size": [n_haplotypes, None]}
    # encoders of individuals (genotype_matrix) declare their ploidy and least sample size;
    # the most is the simulated sample, which a scan subsamples to
    ploidy, most = encoder.ploidy, simulated // encoder.ploidy
    depth = list(getattr(encoder, "depth_range", (None, None)))  # likelihood encoders
    return {"n_haplotypes": most * ploidy, "phased": False, "ploidy": [ploidy, ploidy],
            "sample_size": [encoder.min_individuals, most], "depth": depth}


def temperature_of(run_folder: RunFolder, run: dict[str, Any]) -> float | None:
    """The temperature a calibrated run recorded (None: not calibrated)."""
    calibration = run["metrics"].get("calibration")
    if calibration is None:
        return None
    value = calibration.get("temperature") if isinstance(calibration, dict) else None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value < 1e6:
        raise PopgenHubError(f"{run_folder.record}: metrics.calibration.temperature "
                             f"{value!r} is not a positive number; {TRAIN_AGAIN}")
    return float(value)


def _torch_model(run_dir: RunFolder, run: dict[str, Any]) -> nn.Module:
    """The run's network with its weights; weights that do not read, or do not fit the
    architecture in run.json, are refused (the loader's own words are not repeated: they can
    suggest unpickling, which is never the fix)."""
    model = build_model(run["architecture"], **run["model_config"])
    try:
        state = torch.load(run_dir.weights, weights_only=True, map_location="cpu")
    except Exception:  # torch raises a zoo of types for a damaged or foreign file
        raise PopgenHubError(
            f"{run_dir.weights}: the run's weights are unreadable (truncated, or not a PyTorch "
            f"state dict saved by `popgen-hub train`); {TRAIN_AGAIN}") from None
    mismatch = _mismatch(model, state)
    if mismatch:
        raise PopgenHubError(
            f"{run_dir.weights}: the weights do not fit {run['architecture']} as run.json "
            f"describes it ({mismatch}); they and run.json are from different runs: "
            f"{TRAIN_AGAIN}")
    model.load_state_dict(state)
    return objective_of_run(run).exported(model, temperature_of(run_dir, run)).eval()


def _mismatch(model: nn.Module, state: Any) -> str:
    """How a loaded state dict differs from ``model``'s tensors ("" when it fits)."""
    if not isinstance(state, dict):
        return f"a {type(state).__name__}, not a state dict"
    expected = model.state_dict()
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    shapes = [key for key in expected if key in state and (
        not isinstance(state[key], torch.Tensor) or state[key].shape != expected[key].shape)]
    parts = [f"{what} {', '.join(keys[:3])}{' ...' if len(keys) > 3 else ''}"
             for what, keys in (("no tensor", missing), ("unknown tensor", unexpected),
                                ("another shape of", shapes)) if keys]
    return "; ".join(parts)


def read_run(run_folder: RunFolder) -> dict[str, Any]:
    """A run's run.json, checked for what export reads."""
    if not run_folder.record.is_file() or not run_folder.weights.is_file():
        raise PopgenHubError(f"{run_folder.path} is not a training run (needs "
                             f"{RunFolder.record} and {RunFolder.weights} from `popgen-hub "
                             f"train`)")
    fix = f"it is not the record of a `popgen-hub train` run: {TRAIN_AGAIN}"
    run = read_record(run_folder.record, RUN_KEYS, fix)
    missing = [f"{section}.{key}" for section, key in (
        ("data", "scenario"), ("data", "parameters"), ("metrics", "test"))
        if key not in run[section]]
    if missing or not isinstance(run["data"]["parameters"], dict):
        raise PopgenHubError(f"{run_folder.record}: no {(missing or ['data.parameters'])[0]}; "
                             f"{fix}")
    return run


def export_onnx(model: nn.Module, contract: ModelContract, example: dict[str, np.ndarray],
                path: Path) -> None:
    """Write a single-file ONNX (opset :data:`OPSET`) with dynamic batch (and free) axes and the
    contract; ``example`` holds one input array per graph input, in the contract's order."""
    import onnx

    names = contract.input.names
    batch = torch.export.Dim("batch", min=1)
    # axes the encoder leaves free (None: e.g. the individuals of genotype_matrix) stay dynamic
    shapes = input_shapes(build_encoder(contract.encoder), names)
    dynamic = tuple({0: batch, **{axis: torch.export.Dim(f"{name}_{axis}", min=1)
                                  for axis, size in enumerate(shapes.get(name, ()), start=1)
                                  if size is None}} for name in names)
    # The exporter logs optional-operator notices (torchvision absent) and deprecations.
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.filterwarnings("ignore", message="# The axis name: batch will not be used")
        # nn.GRU's flattened weights, which the exporter reads as it should
        warnings.filterwarnings("ignore", message="The tensor attributes")
        program = torch.onnx.export(
            model, tuple(torch.from_numpy(example[name]) for name in names), dynamo=True,
            external_data=False, input_names=names, output_names=[contract.output_name],
            # one entry for forward's *inputs, holding each input's dynamic axes
            dynamic_shapes=(dynamic,), opset_version=OPSET,
            verbose=False)
    proto = program.model_proto
    del proto.metadata_props[:]  # the exporter's own
    embed_contract(proto, contract)
    proto.producer_name = "popgen-hub"
    onnx.checker.check_model(proto, full_check=True)
    onnx.save_model(proto, str(path))


def check_parity(onnx_path: Path, contract: ModelContract, inputs: dict[str, np.ndarray],
                 expected: np.ndarray) -> float:
    """Largest difference between onnxruntime's and torch's outputs, relative to the output
    where it exceeds 1 (a regression's values), absolute below; raises if big."""
    got = OnnxModel(onnx_path, contract, device="cpu").predict(inputs)
    worst = float((np.abs(got - expected) / np.maximum(np.abs(expected), 1)).max())
    if worst > PARITY_TOLERANCE:
        raise PopgenHubError(f"ONNX export differs from torch by {worst:.2e} "
                             f"(tolerance {PARITY_TOLERANCE:.0e}); not exported")
    return worst


def _parity_inputs(run: RunFolder, names: list[str]) -> dict[str, np.ndarray]:
    """The run's encoded test windows by graph input: a one-input graph takes the one stored
    array (``images`` in runs of earlier versions), a multi-input one its tensors by name."""
    if not run.parity_inputs.is_file():
        raise PopgenHubError(f"{run.path} lacks {run.parity_inputs.name} (the test windows "
                             f"export checks the ONNX graph on); {TRAIN_AGAIN}")
    with open_arrays(run.parity_inputs, TRAIN_AGAIN) as parity:
        if len(names) == 1 and len(parity.files) == 1:
            return {names[0]: parity[parity.files[0]]}
        return {name: parity[name] for name in names}


#: What the contract keeps of a run's ``repeats.json`` (``train --repeats``), and their types.
REPEATS_KEYS = {"repeats": int, "seeds": list[int], "n_test": list[int],
                "accuracy": dict[str, Any], "mean_normalised": list[list[float]],
                "sd_normalised": list[list[float]], "exported_repeat": int}


def _repeats_summary(run: RunFolder) -> dict[str, Any] | None:
    if not run.repeats.is_file():
        return None
    repeats = read_record(run.repeats, REPEATS_KEYS, TRAIN_AGAIN)
    return {key: repeats[key] for key in REPEATS_KEYS}


def export_run(run_dir: str | Path, name: str, out_dir: str | Path, *,
               card_source: str | Path | None = None, revision: str = "bundled") -> Path:
    """Export ``run_dir`` (from ``popgen-hub train``) as model ``name`` into ``out_dir``."""
    from ..publish.card import read_card_source, render_card
    from ..publish.test_data import write_test_data

    run_folder = RunFolder(Path(run_dir))
    run = read_run(run_folder)
    source = read_card_source(card_source) if card_source else None
    description = (source["description"].strip() if source else
                   f"{run['architecture']} trained on {run['data']['scenario']}")
    contract = contract_from_run(run, name, description=description, revision=revision,
                                 repeats=_repeats_summary(run_folder))
    model = _torch_model(run_folder, run)
    names = contract.input.names
    inputs = _parity_inputs(run_folder, names)
    with torch.no_grad():
        expected = model(*(torch.from_numpy(inputs[name]) for name in names)).numpy()
    with staged_outputs(out_dir) as staging:
        onnx_path = staging.path(ModelFolder.weights)
        export_onnx(model, contract, {k: v[:2] for k, v in inputs.items()}, onnx_path)
        worst = check_parity(onnx_path, contract, inputs, expected)
        # About the file, not the input contract, so only in config.json.
        final = ModelContract.from_dict({**contract.to_dict(), "weights": {
            "filename": ModelFolder.weights, "sha256": sha256_of(onnx_path),
            # the name of earlier contracts; absolute below 1, relative above (check_parity)
            "onnx_opset": OPSET, "parity_max_abs_diff_vs_torch": worst}})
        staging.path(ModelFolder.config).write_text(final.to_json() + "\n")
        write_test_data(staging.path(ModelFolder.test_data),
                        {k: v[:TEST_DATA_WINDOWS] for k, v in inputs.items()},
                        expected[:TEST_DATA_WINDOWS], output_name=contract.output_name)
        required = (RunFolder.FIGURES if contract.output_kind == "classes" else
                    (RunFolder.FIGURES[0], RunFolder.predicted_figure))
        for figure in (*required, *(name for name in RunFolder.OPTIONAL_FIGURES
                                    if name not in required and (run_folder / name).is_file())):
            shutil.copyfile(run_folder / figure, staging.path(figure))
        if source:
            render_card(final, source).save(staging.path(ModelFolder.card))
    return Path(out_dir)
