"""Ensembles: published classifiers of the same classes and windows, combined in one ONNX graph.

Each member keeps its own graph and its own calibration; the ensemble multiplies their class
probabilities with equal weights (a product of experts: the mean of their log-probabilities)
and renormalises, ``softmax(mean_i log p_i / T)``, with one temperature ``T`` fitted as for a
trained model (:func:`.calibrate.calibrate_logits`). A window is called only where the
members agree, so a history that misleads one member moves the ensemble less (measured on
neutral human chromosomes, the image CNN is misled most by admixture and cold recombination
regions, the statistics network by bottlenecked Eurasian histories; a history that misleads
both misleads the product too). The members read the same window through their own encoders:
two of the same encoder, or the haplotype image and the summary statistics (the
``image_statistics`` encoder holds both, each with its member's parameters; a window's
informative sites, which ``min_sites`` counts, are then the image's).

The members must have been trained on one scenario with the same parameters, and the held-out
dataset must be of that scenario with another seed. It is split by a seeded partition into
halves: ``T`` is fitted on one, and the other gives the test figures, the reliability diagram
and the confusion matrix; the graph's outputs are checked against the members' own outputs
combined in numpy. ``popgen-hub calibrate`` then stores the null and the training statistics,
as for any model.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from ..calibrate import predict_in_batches
from ..contract import ModelContract
from ..contract_update import embed_contract
from ..datasets import encode_dataset, genomes_of, load_manifest
from ..encoders import build_encoder
from ..encoders.inputs import Inputs, take
from ..errors import PopgenHubError
from ..evaluate import classification_metrics
from ..files import ModelFolder, RunFolder, staged_outputs
from ..publish.test_data import write_test_data
from ..registry import load
from ..runtime import OnnxModel, sha256_of
from .calibrate import calibrate_logits, softmax
from .export import PARITY_TOLERANCE, TEST_DATA_WINDOWS
from .plots import plot_confusion_matrix

ARCHITECTURE = "ensemble"
#: Probabilities are floored here before their log (float32 softmax outputs can be 0).
FLOOR = 1e-30
#: Seeds the partition of the held-out dataset into the temperature's half and the test half.
SPLIT_SEED = 1
#: Encoders two members may have, and the encoder the ensemble reads them with.
PAIRED_ENCODERS = {("haplotype_image", "summary_statistics"): "image_statistics"}
PARTS = {"haplotype_image": "image", "summary_statistics": "statistics"}
#: The fewest held-out replicates: half fit the temperature, half are the test figures.
MIN_HELD_OUT = 40
#: Held-out test windows the written graph is checked on against numpy.
PARITY_WINDOWS = 64


def combined_encoder(contracts: list[ModelContract]) -> dict[str, Any]:
    """The encoder config that gives every member its input (module doc)."""
    configs = [dict(c.encoder) for c in contracts]
    if all(config == configs[0] for config in configs):
        return configs[0]
    names = tuple(sorted(config["name"] for config in configs))
    if names not in PAIRED_ENCODERS:
        raise PopgenHubError(
            f"the members read different windows ({', '.join(c['name'] for c in configs)}); an "
            f"ensemble takes members of one encoder, or one haplotype_image and one "
            f"summary_statistics model")
    return {"name": PAIRED_ENCODERS[names], **{
        PARTS[config["name"]]: {k: v for k, v in config.items() if k != "name"}
        for config in configs}}


def check_members(contracts: list[ModelContract]) -> None:
    """Refuse, in one line, members that do not score the same windows into the same classes
    or were not trained on one scenario with held-out figures."""
    if len(contracts) < 2:
        raise PopgenHubError("an ensemble needs at least two members")
    first = contracts[0]
    for other in contracts[1:]:
        for what, mine, theirs in (
                ("output kind", first.output_kind, other.output_kind),
                ("classes", first.labels, other.labels),
                ("data kind", first.input.data_kind, other.input.data_kind),
                *((field, getattr(first.input, field), getattr(other.input, field))
                  for field in ("window_bp", "n_haplotypes", "haplotype_rule", "phased",
                                "min_sites", "sample_size", "ploidy", "depth")),
                ("training scenario", first.training.get("scenario"),
                 other.training.get("scenario")),
                ("training parameters", first.training.get("parameters"),
                 other.training.get("parameters"))):
            if mine != theirs:
                raise PopgenHubError(f"{other.name} differs from {first.name} in its {what} "
                                     f"({theirs} against {mine}); an ensemble's members score "
                                     f"the same windows into the same classes, trained on one "
                                     f"scenario")
    if first.output_kind != "classes":
        raise PopgenHubError(f"{first.name} is a {first.output_kind} model; an ensemble "
                             f"combines classifiers")
    for contract in contracts:
        if not contract.training.get("scenario") or "test" not in contract.metrics:
            raise PopgenHubError(f"{contract.name} states no training scenario or held-out "
                                 f"test figures; an ensemble takes trained, exported models")


def check_held_out(contracts: list[ModelContract], manifest: dict[str, Any], data: Path) -> None:
    """Refuse, in one line, held-out data the figures would not be held out on: of another
    scenario or parameters than the members', of their training data's seed, or too few."""
    training = contracts[0].training
    fix = (f"simulate {training['scenario']} with the members' parameters and another --seed "
           f"than their training data's ({training.get('dataset_seed')})")
    if (manifest.get("scenario"), manifest["parameters"]) != (training["scenario"],
                                                              training["parameters"]):
        raise PopgenHubError(f"{data} is not of the members' training scenario and parameters "
                             f"({training['scenario']}); {fix}")
    if manifest.get("seed") == training.get("dataset_seed"):
        raise PopgenHubError(f"{data} has the members' training data's seed "
                             f"({manifest.get('seed')}): it holds windows they were trained "
                             f"on; {fix}")
    if manifest["n"] < MIN_HELD_OUT:
        raise PopgenHubError(f"{data} holds {manifest['n']} replicates; give at least "
                             f"{MIN_HELD_OUT} (half fit the temperature, half test it)")


def compose(protos: list[Any], member_outputs: list[str], output_name: str,
            temperature: float) -> Any:
    """One graph running every member on its own inputs (kept by name) and combining their
    probabilities (each member's output of that name) into ``output_name`` (module doc)."""
    import onnx
    from onnx import compose as onnx_compose
    from onnx import helper, numpy_helper

    opsets = {tuple(sorted((o.domain, o.version) for o in proto.opset_import))
              for proto in protos}
    if len(opsets) > 1:
        raise PopgenHubError(f"the members' graphs use different ONNX opsets ({sorted(opsets)});"
                             f" export them with one opset")
    nodes, initializers, inputs, functions, logs = [], [], {}, [], []
    for index, (proto, member_output) in enumerate(zip(protos, member_outputs, strict=True)):
        prefix = f"member{index}_"
        renamed = onnx_compose.add_prefix(proto, prefix)
        graph = renamed.graph
        for original, entry in zip(proto.graph.input, graph.input, strict=True):
            inputs.setdefault(original.name, original)
            nodes.append(helper.make_node("Identity", [original.name], [entry.name]))
        nodes += graph.node
        initializers += graph.initializer
        functions += renamed.functions
        log_name = f"{prefix}log_probabilities"
        nodes += [helper.make_node("Max", [prefix + member_output, "floor"], [f"{prefix}floored"]),
                  helper.make_node("Log", [f"{prefix}floored"], [log_name])]
        logs.append(log_name)
    initializers += [numpy_helper.from_array(np.array(FLOOR, dtype=np.float32), "floor"),
                     numpy_helper.from_array(np.array(1 / (len(protos) * temperature),
                                                      dtype=np.float32), "scale")]
    nodes += [helper.make_node("Sum", logs, ["summed"]),
              helper.make_node("Mul", ["summed", "scale"], ["scaled"]),
              helper.make_node("Softmax", ["scaled"], [output_name], axis=-1)]
    output = onnx.ValueInfoProto()
    output.CopyFrom(next(o for o in protos[0].graph.output if o.name == member_outputs[0]))
    output.name = output_name
    graph = helper.make_graph(nodes, ARCHITECTURE, list(inputs.values()), [output],
                              initializers)
    model = helper.make_model(graph, opset_imports=protos[0].opset_import, functions=functions,
                              producer_name="popgen-hub")
    model.ir_version = max(proto.ir_version for proto in protos)
    return model


def mean_log_probabilities(members: list[OnnxModel], inputs: Inputs) -> np.ndarray:
    """The ensemble's values before its temperature: the mean of the members' floored
    log-probabilities, each member scoring its own inputs (float64)."""
    return sum(np.log(np.maximum(predict_in_batches(member, inputs).astype(np.float64), FLOOR))
               for member in members) / len(members)


def build_ensemble(members: list[str], data: str | Path, name: str, out_dir: str | Path, *,
                   card_source: str | Path | None = None, progress: bool = True,
                   command: str = "") -> Path:
    """Combine ``members`` (names or folders) into model ``name`` (``ensemble.TAG``) in
    ``out_dir``, its temperature fitted and its figures measured on the held-out dataset
    ``data`` (module doc)."""
    import onnx

    from ..publish.card import read_card_source, render_card

    if not name.startswith(ARCHITECTURE + "."):
        raise PopgenHubError(f"model name {name!r} must start with {ARCHITECTURE}.TAG")
    models = [load(Path(m) if Path(m).is_dir() else m, device="cpu") for m in members]
    contracts = [model.contract for model in models]
    check_members(contracts)
    encoder_config = combined_encoder(contracts)
    manifest = load_manifest(Path(data))
    check_held_out(contracts, manifest, Path(data))
    inputs, truth = encode_dataset(data, build_encoder(encoder_config), progress=progress,
                                   manifest=manifest)
    values = mean_log_probabilities(models, inputs)
    # halves by replicate, or by genome for datasets simulated in genomes
    genomes = genomes_of(data, manifest)
    owners = np.arange(len(truth)) if genomes is None else np.unique(
        genomes, return_inverse=True)[1]
    order = np.random.default_rng(SPLIT_SEED).permutation(owners.max() + 1)
    in_fit = np.isin(owners, order[: len(order) // 2])
    fit, test = np.flatnonzero(in_fit), np.flatnonzero(~in_fit)
    labels, source = contracts[0].labels, read_card_source(card_source) if card_source else None
    with staged_outputs(out_dir) as staging:
        calibration = calibrate_logits((values[fit], truth[fit]), (values[test], truth[test]),
                                       labels, staging.path(RunFolder.reliability_figure))
        temperature = calibration["temperature"]
        metrics = classification_metrics(truth[test], softmax(values[test], temperature),
                                         labels, what=f"the figures of {name}")
        plot_confusion_matrix(np.asarray(metrics["confusion_matrix"]), labels,
                              staging.path(RunFolder.FIGURES[1]),
                              f"{name}: held-out test half (n = {len(test)})")
        contract = ensemble_contract(name, contracts, encoder_config, {
            "test": metrics, "calibration": calibration}, {
            "dataset_command": manifest.get("command", ""),
            "split": f"a seeded partition of {len(truth)} held-out replicates by "
                     f"{'index' if genomes is None else 'genome'} (seed {SPLIT_SEED}) into "
                     f"halves: temperature, test",
            "n_calibration": len(fit), "n_test": len(test), "command": command},
            source["description"].strip() if source else "")
        proto = compose([onnx.load(str(model.path)) for model in models],
                        [c.output_name for c in contracts], contract.output_name, temperature)
        embed_contract(proto, contract)
        onnx.checker.check_model(proto, full_check=True)
        onnx_path = staging.path(ModelFolder.weights)
        onnx.save_model(proto, str(onnx_path))
        checked = test[:PARITY_WINDOWS]
        sample = take(inputs, checked)
        got = OnnxModel(onnx_path, contract, device="cpu").predict(sample)
        worst = float(np.abs(got - softmax(values[checked], temperature)).max())
        if worst > PARITY_TOLERANCE:
            raise PopgenHubError(f"the ensemble's graph differs from its members combined in "
                                 f"numpy by {worst:.2e} (tolerance {PARITY_TOLERANCE:.0e})")
        final = ModelContract.from_dict({**contract.to_dict(), "weights": {
            "filename": ModelFolder.weights, "sha256": sha256_of(onnx_path),
            "onnx_opset": int(proto.opset_import[0].version),
            "parity_max_abs_diff_vs_members": worst}})
        staging.path(ModelFolder.config).write_text(final.to_json() + "\n")
        write_test_data(staging.path(ModelFolder.test_data),
                        take(sample, np.arange(TEST_DATA_WINDOWS)), got[:TEST_DATA_WINDOWS],
                        output_name=contract.output_name)
        if source:
            render_card(final, source).save(staging.path(ModelFolder.card))
    return Path(out_dir)


def ensemble_contract(name: str, contracts: list[ModelContract], encoder: dict[str, Any],
                      metrics: dict[str, Any], held_out: dict[str, Any], description: str
                      ) -> ModelContract:
    """The ensemble's contract (no weights yet): the members' input with the pair's tensors,
    their training data's scenario, themselves, and the held-out data it was measured on."""
    first = contracts[0]
    names = list(build_encoder(encoder).shapes)
    return ModelContract(
        name=name, architecture=ARCHITECTURE,
        description=description or f"the product of {', '.join(c.name for c in contracts)}",
        input=dataclasses.replace(first.input, tensor_name=names[0], tensor_names=names),
        encoder=encoder, labels=first.labels, output_name=first.output_name,
        output_kind="classes",
        training={**{k: first.training[k] for k in ("scenario", "parameters", "simulator",
                                                    "dataset_seed") if k in first.training},
                  "source": "ensemble",
                  "members": [{"name": c.name, "revision": c.revision,
                               "sha256": c.weights.get("sha256"),
                               "test_accuracy": c.metrics["test"]["accuracy"]}
                              for c in contracts], **held_out},
        metrics=metrics,
        citations=list(dict.fromkeys(c for member in contracts for c in member.citations)))
