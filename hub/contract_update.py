"""Rewrite a model folder's contract in place: ``popgen-hub calibrate`` stores nulls, training
statistics and a decision threshold, and renders the card again.

The contract lives twice, in ``config.json`` and in ``model.onnx``'s ``metadata_props``; both
are replaced together (or neither), with the weights' sha256 in ``config.json`` following the
new file. Only the metadata changes: the rewritten graph is checked byte for byte against the
old one before anything is written, and the new file must load as a scan loads it.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from .contract import ONNX_METADATA_KEY, ModelContract
from .decision import THRESHOLD, DecisionThreshold, Power, SizedThreshold
from .errors import PopgenHubError
from .files import ModelFolder, atomic_files
from .locks import output_lock
from .runtime import OnnxModel, load_model_dir, sha256_of

log = logging.getLogger("popgen_hub")

PUBLISH_HINT = "calibrate needs the onnx package: pip install 'popgen-hub[publish]'"


def rewrite_contract(folder: ModelFolder, contract: ModelContract, device: str = "cpu"
                     ) -> ModelContract:
    """``contract`` into the folder's ``model.onnx`` and ``config.json``; the final contract
    (with the new file's sha256). The caller holds the folder's output lock."""
    onnx = require_onnx()
    proto = onnx.load(str(folder.weights))
    graph = proto.graph.SerializeToString()
    embed_contract(proto, contract)
    with atomic_files(folder.weights, folder.config) as (onnx_tmp, config_tmp):
        onnx.save_model(proto, str(onnx_tmp))
        if onnx.load(str(onnx_tmp)).graph.SerializeToString() != graph:
            raise PopgenHubError(f"{folder.weights}: the rewritten model's graph differs; "
                                 f"nothing was written (please report this)")
        final = ModelContract.from_dict({**contract.to_dict(), "weights": {
            **contract.weights, "sha256": sha256_of(onnx_tmp)}})
        OnnxModel(onnx_tmp, final, device=device)  # loads as a scan loads it
        config_tmp.write_text(final.to_json() + "\n")
    return final


def store_threshold(model_dir: str | Path, threshold: DecisionThreshold, command: str = ""
                    ) -> ModelContract:
    """Store ``threshold`` (its label is the model's primary class, whatever it holds) as the
    decision threshold of the classifier in ``model_dir``: P(primary) > value, the source
    saying how the value was chosen (the contract's ``references["decision_threshold"]``,
    :func:`popgen_hub.decision.decision_threshold`)."""
    folder = ModelFolder(Path(model_dir))
    with output_lock(folder.path, command):
        contract = load_model_dir(folder.path, device="cpu").contract
        return rewrite_contract(folder, with_threshold(contract, threshold))


def with_threshold(contract: ModelContract, threshold: DecisionThreshold) -> ModelContract:
    """``contract`` storing ``threshold`` on P(labels[1]). A threshold chosen at another number
    of individuals than the stored one's is stored beside it (``by_individuals``); else it
    replaces the stored one, keeping its thresholds at other numbers of individuals. Either
    keeps the power of the one it replaces where value and smoothing are the same
    (:func:`kept_power`)."""
    if contract.output_kind != "classes":
        raise PopgenHubError(f"--decision-threshold: {contract.name} gives a "
                             f"{contract.output_kind}, not class probabilities; only a "
                             f"classifier has a decision threshold")
    previous = contract.decision_threshold()
    threshold = dataclasses.replace(threshold, label=contract.labels[1])
    if threshold.individuals is not None:
        if contract.input.data_kind == "haplotypes":
            raise PopgenHubError(f"--threshold-individuals: {contract.name} reads haplotypes "
                                 f"(a fixed number of them); only a model of individuals has "
                                 f"thresholds by number of individuals")
        if previous.individuals not in (None, threshold.individuals):
            return _stored(contract, beside(contract.name, previous, threshold))
    others = tuple(entry for entry in previous.by_individuals
                   if entry.individuals != threshold.individuals)
    if others and threshold.individuals is None:
        raise PopgenHubError(f"--decision-threshold: {contract.name} stores thresholds at "
                             f"{', '.join(str(entry.individuals) for entry in others)} "
                             f"individuals; give --threshold-individuals N, the individuals "
                             f"this one was chosen at")
    if others and threshold.smoothing_bp != previous.smoothing_bp:
        raise PopgenHubError(f"--smoothing-bp {threshold.smoothing_bp}: the thresholds "
                             f"{contract.name} stores at other numbers of individuals smooth over "
                             f"{previous.smoothing_bp} bp, and all of them share one smoothing; "
                             f"store this one with --smoothing-bp {previous.smoothing_bp}")
    return _stored(contract, dataclasses.replace(
        threshold, power=kept_power(contract.name, threshold, previous), by_individuals=others))


def beside(name: str, stored: DecisionThreshold, other: DecisionThreshold) -> DecisionThreshold:
    """``stored`` (model ``name``'s) with ``other``, chosen the same way at another number of
    individuals, beside it (replacing one at the same number)."""
    if other.smoothing_bp != stored.smoothing_bp:
        raise PopgenHubError(f"--threshold-individuals {other.individuals}: a threshold at "
                             f"other individuals than the stored one's ({stored.individuals}) "
                             f"shares its smoothing; store it with --smoothing-bp "
                             f"{stored.smoothing_bp}")
    kept = tuple(entry for entry in stored.by_individuals
                 if entry.individuals != other.individuals)
    replaced = stored.chosen_at(other.individuals)
    power = kept_power(name, other, replaced) if replaced else other.power
    return dataclasses.replace(stored, by_individuals=(
        *kept, SizedThreshold(other.individuals, other.value, other.source, power)))


def kept_power(name: str, threshold: DecisionThreshold,
               previous: DecisionThreshold) -> Power | None:
    """The power ``threshold`` is stored with, replacing ``previous`` (model ``name``'s): its
    own where given, else ``previous``'s where that was measured at the same value and
    smoothing; a warning says when one is dropped."""
    if threshold.power or not previous.power:
        return threshold.power
    if (threshold.value, threshold.smoothing_bp) == (previous.value, previous.smoothing_bp):
        return previous.power
    at = f" at {previous.individuals} individuals" if previous.individuals else ""
    log.warning("warning: %s: the power stored with its previous threshold%s (%s, %s) is "
                "dropped; measure it at the new one and store it with --threshold-power",
                name, at, previous.text(), previous.power.text())
    return None


def _stored(contract: ModelContract, threshold: DecisionThreshold) -> ModelContract:
    """``contract`` with ``threshold`` as its stored decision threshold."""
    return ModelContract.from_dict(
        {**contract.to_dict(), "references": {**contract.references,
                                              THRESHOLD: threshold.record()}},
        source="--decision-threshold and --threshold-source")


def require_onnx() -> Any:
    """The onnx package, which rewriting a model file needs (the publish extra)."""
    try:
        import onnx
    except ImportError:
        raise PopgenHubError(PUBLISH_HINT) from None
    return onnx


def refresh_card(model_dir: str | Path, source: str | Path) -> Path:
    """Render the model folder's card (README.md) again from its contract and the card source
    ``source`` (e.g. after a null is stored or a misspecification matrix is measured)."""
    from .publish.card import read_card_source, render_card

    folder = ModelFolder(Path(model_dir))
    card = render_card(load_model_dir(folder.path).contract, read_card_source(source))
    with atomic_files(folder.card) as (tmp,):
        card.save(str(tmp))
    return folder.card


def embed_contract(proto: Any, contract: ModelContract) -> None:
    """The contract into an ONNX model's metadata (no weights section: that describes the
    file, so only config.json has it); export, ensembles and calibrate store it so."""
    entries = [entry for entry in proto.metadata_props if entry.key == ONNX_METADATA_KEY]
    entry = entries[0] if entries else proto.metadata_props.add()
    entry.key, entry.value = ONNX_METADATA_KEY, dataclasses.replace(contract, weights={}
                                                                    ).to_json()
