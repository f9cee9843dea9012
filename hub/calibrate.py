"""``popgen-hub calibrate MODEL_DIR --data DATASET``: store a model's null distribution.

The neutral-class (label 0) replicates of a saved dataset are encoded with the model's own
encoder and scored through onnxruntime; their primary log-odds
(:func:`popgen_hub.calibration.log_odds`) become ``references["null_score"]`` of the
model folder's contract, beside the statistics of the dataset's windows that
out-of-distribution flags compare with (``references["training_stats"]``,
:func:`popgen_hub.ood.training_statistics`). Both are written into ``config.json`` and the
ONNX file's ``metadata_props`` alike (the weights' sha256 in ``config.json`` follows the new
file). The graph is not touched: the same inputs give bit-identical probabilities before and
after, which is checked before anything is written.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .calibration import NULL_SCORE, log_odds, null_reference
from .contract import ONNX_METADATA_KEY, ModelContract
from .datasets import encode_dataset, load_manifest
from .encoders.inputs import Inputs, take
from .errors import PopgenHubError
from .files import ModelFolder, atomic_files
from .locks import output_lock
from .ood import REFERENCE as TRAINING_STATS
from .ood import training_statistics
from .runtime import OnnxModel, load_model_dir, sha256_of

log = logging.getLogger("popgen_hub")

#: The fewest null loci calibrate stores: p-values then reach 1 / (n + 1) < 0.01.
MIN_NULL_LOCI = 100
PUBLISH_HINT = "calibrate needs the onnx package: pip install 'popgen-hub[publish]'"


def calibrate_model(model_dir: str | Path, data: str | Path, *, max_loci: int | None = None,
                    device: str = "auto", batch_size: int = 256, progress: bool = True,
                    command: str = "") -> ModelContract:
    """Score the neutral replicates of dataset ``data`` (at most ``max_loci``) with the model
    in ``model_dir`` and store them as its null; the new contract (with its sha256)."""
    try:
        import onnx
    except ImportError:
        raise PopgenHubError(PUBLISH_HINT) from None
    folder = ModelFolder(Path(model_dir))
    if max_loci is not None and max_loci < MIN_NULL_LOCI:
        raise PopgenHubError(f"--max-loci {max_loci}: a null needs at least {MIN_NULL_LOCI} "
                             f"loci (its smallest p-value is 1 / (n + 1))")
    with output_lock(folder.path, command):
        model = load_model_dir(folder.path, device=device)
        inputs, source = _neutral_inputs(model, Path(data), max_loci, progress)
        probabilities = _predict(model, inputs, batch_size, progress)
        references = {**model.contract.references,
                      NULL_SCORE: null_reference(log_odds(probabilities),
                                                 model.contract.labels[1], source),
                      # every replicate (all classes), as windows of the training data
                      TRAINING_STATS: training_statistics(data, encoder=model.encoder,
                                                          progress=progress)}
        contract = ModelContract.from_dict({**model.contract.to_dict(), "references": references},
                                           source=str(folder.config))
        proto = onnx.load(str(folder.weights))
        _set_contract(proto, contract)
        with atomic_files(folder.weights, folder.config) as (onnx_tmp, config_tmp):
            onnx.save_model(proto, str(onnx_tmp))
            final = ModelContract.from_dict({**contract.to_dict(), "weights": {
                **contract.weights, "sha256": sha256_of(onnx_tmp)}})
            _check_unchanged(OnnxModel(onnx_tmp, final, device=device), inputs, probabilities,
                             batch_size)
            config_tmp.write_text(final.to_json() + "\n")
    return final


def refresh_card(model_dir: str | Path, source: str | Path) -> Path:
    """Render the model folder's card (README.md) again from its contract and the card source
    ``source`` (e.g. after a null is stored or a misspecification matrix is measured)."""
    from .publish.card import read_card_source, render_card

    folder = ModelFolder(Path(model_dir))
    card = render_card(load_model_dir(folder.path).contract, read_card_source(source))
    with atomic_files(folder.card) as (tmp,):
        card.save(str(tmp))
    return folder.card


def _neutral_inputs(model: OnnxModel, data: Path, max_loci: int | None, progress: bool
                    ) -> tuple[Inputs, str]:
    """The dataset's label-0 replicates encoded with the model's encoder, and where they
    come from in words (for the contract)."""
    manifest = load_manifest(data)
    contract = model.contract
    null_class = manifest["labels"][0] if manifest["labels"] else None
    if contract.output_kind != "classes" or null_class != contract.labels[0]:
        raise PopgenHubError(
            f"{data}: calibrate scores a dataset's class 0 with a classifier whose null class "
            f"has the same name; the dataset's class 0 is {null_class!r}, {contract.name}'s "
            f"{contract.labels[0]!r} ({contract.output_kind})")
    _warn_if_not_training_history(contract, manifest, data)
    inputs, labels = encode_dataset(data, model.encoder, progress=progress, manifest=manifest)
    chosen = np.flatnonzero(labels == 0)[:max_loci]
    if len(chosen) < MIN_NULL_LOCI:
        raise PopgenHubError(f"{data} has {len(chosen)} replicates of class {null_class!r}; a "
                             f"null needs at least {MIN_NULL_LOCI}: simulate a larger dataset")
    parameters = manifest["parameters"]
    history = f", demography {parameters['demography']}" if "demography" in parameters else ""
    made = f", made by `{manifest['command']}`" if manifest.get("command") else ""
    source = (f"{len(chosen)} independent {null_class!r} replicates of scenario "
              f"{manifest.get('scenario', 'unknown')}{history} (dataset seed "
              f"{manifest.get('seed', 'unknown')}{made})")
    return take(inputs, chosen), source


def _warn_if_not_training_history(contract: ModelContract, manifest: dict[str, Any],
                                  data: Path) -> None:
    """A null is of the training history, from replicates the model was not trained on."""
    training = contract.training
    if training.get("scenario") and (manifest.get("scenario"), manifest["parameters"]) != (
            training["scenario"], training.get("parameters")):
        log.warning("warning: %s is not of %s's training scenario and parameters (%s): its "
                    "p-values will test against another history", data, contract.name,
                    training["scenario"])
    if training.get("dataset_seed") is not None and manifest.get("seed") == training[
            "dataset_seed"]:
        log.warning("warning: %s has the training dataset's seed (%s): its loci include the "
                    "ones the model was trained on; simulate with another --seed", data,
                    manifest.get("seed"))


def _predict(model: OnnxModel, inputs: Inputs, batch_size: int, progress: bool) -> np.ndarray:
    n = len(next(iter(inputs.values())))
    batches = [np.arange(start, min(start + batch_size, n)) for start in range(0, n, batch_size)]
    return np.concatenate([model.predict(take(inputs, rows)) for rows in
                           tqdm(batches, desc="scoring", unit="batch", disable=not progress)])


def _set_contract(proto: Any, contract: ModelContract) -> None:
    """The contract into an ONNX model's metadata, as export stores it (no weights section:
    that describes the file, so only config.json has it)."""
    entries = [entry for entry in proto.metadata_props if entry.key == ONNX_METADATA_KEY]
    entry = entries[0] if entries else proto.metadata_props.add()
    entry.key, entry.value = ONNX_METADATA_KEY, dataclasses.replace(contract, weights={}
                                                                    ).to_json()


def _check_unchanged(model: OnnxModel, inputs: Inputs, probabilities: np.ndarray,
                     batch_size: int) -> None:
    """The rewritten file gives bit-identical probabilities (only metadata changed)."""
    sample = np.arange(min(batch_size, len(probabilities)))
    if not np.array_equal(model.predict(take(inputs, sample)), probabilities[sample]):
        raise PopgenHubError(f"{model.path}: the rewritten model gives other probabilities; "
                             f"nothing was written (please report this)")
