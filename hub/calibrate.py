"""``popgen-hub calibrate MODEL_DIR --data DATASET``: store a model's null distribution (and,
with ``threshold``, its decision threshold in the same rewrite).

The neutral-class (label 0) replicates of a saved dataset are encoded with the model's own
encoder and scored through onnxruntime; their primary log-odds
(:func:`popgen_hub.calibration.log_odds`) become ``references["null_score"]`` of the
model folder's contract, beside the statistics of the dataset's windows that
out-of-distribution flags compare with (``references["training_stats"]``,
:func:`popgen_hub.ood.training_statistics`). Both are written into ``config.json`` and the
ONNX file's ``metadata_props`` alike (:mod:`popgen_hub.contract_update`: the graph is not
touched, which is checked before anything is written).

Models of individuals (:mod:`popgen_hub.encoders.genotype_matrix`) score neutral loci
differently with the number of individuals read and their read depth, so for them calibrate
also stores nulls by condition (``references["null_by_condition"]``,
:data:`popgen_hub.calibration.CONDITIONS`): for each sample size of a grid (and for likelihood
models each mean depth of a grid, plus depth unknown: log-uniform in the encoder's range, as
in training, for a VCF's likelihoods), each replicate drawn once as a scan would read it
(:func:`popgen_hub.simulate.observed.observed_sample`): the scores of the neutral ones are the
condition's null, the statistics of all of them its training statistics (but G12, which the
sample size itself bounds: :data:`popgen_hub.ood.SIZE_BOUND`). Their pooled null
and statistics stay those of the whole replicates as stored (every individual, their called
genotypes), as for other models: scans use the conditions, the pooled ones serve readers of
one reference (``scan --model auto``'s ranking, older versions).
"""

from __future__ import annotations

import logging
import math
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from itertools import islice
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .calibration import (
    CONDITIONS,
    NULL_SCORE,
    TAIL_MIN_NULL,
    ConditionGrid,
    log_odds,
    null_reference,
)
from .contract import ModelContract
from .contract_update import require_onnx, rewrite_contract, with_threshold
from .datasets import encode_dataset, iter_replicates, load_manifest, time_points
from .decision import DecisionThreshold
from .encoders import GenotypeMatrixEncoder, rows_for, single_threaded_blas
from .encoders.inputs import Inputs, stack_windows, take
from .errors import PopgenHubError
from .files import ModelFolder
from .locks import output_lock
from .ood import REFERENCE as TRAINING_STATS
from .ood import SIZE_BOUND, statistics_reference, training_statistics, window_values
from .runtime import OnnxModel, load_model_dir
from .scoring.workers import broken_pool_error, usable_cores
from .simulate.observed import individuals_of, observed_sample

log = logging.getLogger("popgen_hub")

#: The fewest null loci calibrate stores: p-values then reach 1 / (n + 1) < 0.01.
MIN_NULL_LOCI = 100
#: Seeds the draws of the nulls by condition, one stream per condition and replicate:
#: [CONDITION_SEED, individuals, 1 + mean depth in thousandths of x (0: unknown), replicate],
#: so that neither --workers nor the rest of the grid changes a condition's null.
CONDITION_SEED = 1313


@dataclass(frozen=True)
class Condition:
    """A number of individuals read at a mean read depth (None: unknown, or genotypes)."""

    individuals: int
    depth: float | None

    def seed(self, replicate: int) -> list[int]:
        """The seed of a replicate's draw (:data:`CONDITION_SEED`)."""
        depth = 0 if self.depth is None else 1 + round(self.depth * 1000)
        return [CONDITION_SEED, self.individuals, depth, replicate]

    def seen(self, encoder: GenotypeMatrixEncoder) -> str:
        """What the encoder's model reads of the drawn individuals, in words."""
        if encoder.data_kinds[0] != "likelihoods":
            return "their genotypes"
        if self.depth is not None:
            return f"reads at {self.depth:g}x mean depth"
        low, high = encoder.depth_range  # a likelihood encoder's
        return f"reads at a mean depth log-uniform in {low:g}-{high:g}x, as in training"


def calibrate_model(model_dir: str | Path, data: str | Path, *, max_loci: int | None = None,
                    grid: ConditionGrid | None = None,
                    threshold: DecisionThreshold | None = None, device: str = "auto",
                    batch_size: int = 256, progress: bool = True, command: str = ""
                    ) -> ModelContract:
    """Score the neutral replicates of dataset ``data`` (at most ``max_loci``) with the model
    in ``model_dir`` and store them as its null, and for a model of individuals its nulls at
    the conditions of ``grid`` (default: :class:`ConditionGrid`'s), and the decision
    ``threshold`` if given; the new contract (with its sha256)."""
    grid = grid or ConditionGrid()
    require_onnx()  # before the work
    folder = ModelFolder(Path(model_dir))
    for option, loci in (("--max-loci", max_loci), ("--loci-per-condition", grid.loci)):
        if loci is not None and loci < MIN_NULL_LOCI:
            raise PopgenHubError(f"{option} {loci}: a null needs at least {MIN_NULL_LOCI} "
                                 f"loci (its smallest p-value is 1 / (n + 1))")
    if grid.workers < 1:
        raise PopgenHubError(f"--workers {grid.workers}: give 1 or more processes")
    with output_lock(folder.path, command):
        model = load_model_dir(folder.path, device=device)
        manifest = load_manifest(Path(data))
        conditions = _conditions(model, Path(data), manifest, grid)  # checked before the work
        inputs, labels = _neutral_inputs(model, Path(data), manifest, max_loci, progress)
        probabilities = predict_in_batches(model, inputs, batch_size, progress)
        references = {**model.contract.references,
                      NULL_SCORE: null_reference(log_odds(probabilities),
                                                 model.contract.labels[1],
                                                 _source(manifest, len(probabilities))),
                      # every replicate (all classes), as windows of the training data
                      TRAINING_STATS: training_statistics(data, encoder=model.encoder,
                                                          progress=progress)}
        if conditions:
            references[CONDITIONS] = _conditioned_nulls(model, Path(data), manifest, labels,
                                                        conditions, grid, batch_size, progress)
        contract = ModelContract.from_dict({**model.contract.to_dict(), "references": references},
                                           source=str(folder.config))
        return rewrite_contract(folder, with_threshold(contract, threshold) if threshold
                                else contract, device)


def _neutral_inputs(model: OnnxModel, data: Path, manifest: dict[str, Any],
                    max_loci: int | None, progress: bool) -> tuple[Inputs, np.ndarray]:
    """The dataset's label-0 replicates (at most ``max_loci``) encoded whole with the model's
    encoder, and the labels of all its replicates."""
    contract = model.contract
    null_class = manifest["labels"][0] if manifest["labels"] else None
    if contract.output_kind != "classes":
        raise PopgenHubError(f"{contract.name} is a {contract.output_kind} model: calibrate "
                             f"stores the null distribution of a classifier's score, and a "
                             f"{contract.output_kind} has none; calibrate a classifier")
    if null_class != contract.labels[0]:
        raise PopgenHubError(
            f"{data}: calibrate scores a dataset's class 0 with a classifier whose null class "
            f"has the same name; the dataset's class 0 is {null_class!r}, {contract.name}'s "
            f"{contract.labels[0]!r}")
    length = manifest["parameters"]["length"]
    if length != contract.input.window_bp:  # a scan reads the model's windows only
        raise PopgenHubError(f"{data}: its windows are {length:,.0f} bp and {contract.name} "
                             f"reads {contract.input.window_bp:,} bp; calibrate on a dataset of "
                             f"the model's window (`popgen-hub simulate ... --param "
                             f"length={contract.input.window_bp}`)")
    _warn_if_not_training_history(contract, manifest, data)
    inputs, labels = encode_dataset(data, model.encoder, progress=progress, manifest=manifest)
    chosen = np.flatnonzero(labels == 0)[:max_loci]
    if len(chosen) < MIN_NULL_LOCI:
        raise PopgenHubError(f"{data} has {len(chosen)} replicates of class {null_class!r}; a "
                             f"null needs at least {MIN_NULL_LOCI}: simulate a larger dataset")
    return take(inputs, chosen), labels


def _source(manifest: dict[str, Any], n: int) -> str:
    """Where ``n`` of a dataset's null-class replicates come from, in words (for the
    contract)."""
    parameters = manifest["parameters"]
    history = f", demography {parameters['demography']}" if "demography" in parameters else ""
    made = f", made by `{manifest['command']}`" if manifest.get("command") else ""
    return (f"{n} independent {manifest['labels'][0]!r} replicates of scenario "
            f"{manifest.get('scenario', 'unknown')}{history} (dataset seed "
            f"{manifest.get('seed', 'unknown')}{made})")


def _conditioned_nulls(model: OnnxModel, data: Path, manifest: dict[str, Any],
                       labels: np.ndarray, conditions: list[Condition], grid: ConditionGrid,
                       batch_size: int, progress: bool) -> list[dict[str, Any]]:
    """The ``references["null_by_condition"]`` records of a model of individuals (module
    doc). Each condition draws the dataset's replicates in order until ``grid.loci`` neutral
    ones are drawn, each once."""
    neutral = np.flatnonzero(labels == 0)
    if len(neutral) < grid.loci:
        log.warning("%s holds %d neutral replicates: each condition's null has that many, not "
                    "the %d asked for", data, len(neutral), grid.loci)
    if min(len(neutral), grid.loci) < TAIL_MIN_NULL:
        log.warning("nulls of %d loci per condition: no fitted tail (it needs %d), so p-values "
                    "stop at 1 / (n + 1)", min(len(neutral), grid.loci), TAIL_MIN_NULL)
    stop = int(neutral[:grid.loci][-1]) + 1
    drawn = _draw_conditions(model, data, conditions, stop, grid.workers, batch_size, progress)
    records = []
    for condition, (values, scores) in zip(conditions, drawn, strict=True):
        source = (f"{_source(manifest, len(scores))}; {condition.individuals} individuals of "
                  f"each drawn at random, {condition.seen(model.encoder)}, seeded by "
                  f"[{CONDITION_SEED}, individuals, depth, replicate]")
        records.append({**null_reference(scores, model.contract.labels[1], source),
                        "individuals": condition.individuals, "depth": condition.depth,
                        TRAINING_STATS: statistics_reference(
                            values, int(manifest["parameters"]["length"]),
                            leave_out=SIZE_BOUND)})
    return records


def _conditions(model: OnnxModel, data: Path, manifest: dict[str, Any], grid: ConditionGrid
                ) -> list[Condition]:
    """The conditions of a model of individuals (none for other models): the grid's sizes
    (and, for likelihood models, depths and depth unknown) within the contract's ranges and
    the dataset's individuals per replicate; what is left out is logged."""
    contract, encoder = model.contract, model.encoder
    if not isinstance(encoder, GenotypeMatrixEncoder):
        return []
    replicate = next(iter_replicates(data, manifest), None)
    if replicate is None:
        return []  # _neutral_inputs refuses a dataset without replicates, saying why
    rows = rows_for(encoder, time_points(manifest), source=str(data))
    per_replicate = len(individuals_of(encoder, replicate[1].take_columns(rows)).samples)
    least, most = contract.input.sample_size
    most = min(most or per_replicate, per_replicate)
    sizes = _within("--sample-sizes", grid.sample_sizes, least or 1, most,
                    f"the model's {least or 1}-{contract.input.sample_size[1] or 'any'} "
                    f"individuals and the {per_replicate} per replicate of {data}")
    if contract.input.data_kind != "likelihoods":
        return [Condition(k, None) for k in sizes]
    low, high = contract.input.depth
    depths = _within("--depths", grid.depths, low or 0.0, high or math.inf,
                     f"the model's {low or 0:g}-{high or math.inf:g}x mean read depths")
    return [Condition(k, depth) for k in sizes for depth in (*depths, None)]


def _within(option: str, values: tuple[float, ...], low: float, high: float, what: str
            ) -> list[Any]:
    """``values`` from ``low`` to ``high``, sorted; those left out logged, none an error."""
    kept = sorted({value for value in values if low <= value <= high})
    left = sorted(set(values) - set(kept))
    if not kept:
        fix = (f"give values from {low:g} to {high:g}" if low <= high else
               "simulate more individuals per replicate")
        raise PopgenHubError(f"{option} {','.join(f'{v:g}' for v in values)}: none is within "
                             f"{what}; {fix}")
    if left:
        log.info("%s: %s left out, outside %s", option, ", ".join(f"{v:g}" for v in left),
                 what)
    return kept


def _draw_conditions(model: OnnxModel, data: Path, conditions: list[Condition], stop: int,
                     workers: int, batch_size: int, progress: bool
                     ) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`_draw` of each condition, in order: in this process, or one condition per task
    on ``workers`` processes (each reads the dataset once; no task waits on another)."""
    workers = max(1, min(workers, usable_cores(), len(conditions)))
    with tqdm(total=stop * len(conditions), desc="nulls by condition", unit="rep",
              disable=not progress) as bar:
        if workers == 1:
            return [_draw(model, data, condition, stop, batch_size, bar)
                    for condition in conditions]
        drawn: list[Any] = [None] * len(conditions)
        # forkserver, as scans: forking would copy onnxruntime's threads into the workers
        with ProcessPoolExecutor(workers, mp_context=get_context("forkserver"),
                                 initializer=_start_worker,
                                 initargs=(model.path, model.contract, model.device)) as pool:
            jobs = {pool.submit(_draw_in_worker, data, condition, stop, batch_size): i
                    for i, condition in enumerate(conditions)}
            try:
                for job in as_completed(jobs):
                    drawn[jobs[job]] = job.result()
                    bar.update(stop)
            except BrokenProcessPool:
                pool.shutdown(wait=False, cancel_futures=True)
                raise broken_pool_error() from None
            except BaseException:  # one condition failed: do not draw the others first
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    return drawn


_WORKER: dict[str, OnnxModel] = {}


def _start_worker(onnx_path: Path, contract: ModelContract, device: str) -> None:
    _WORKER["model"] = OnnxModel(onnx_path, contract, device=device, threads=1)


def _draw_in_worker(data: Path, condition: Condition, stop: int, batch_size: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    return _draw(_WORKER["model"], data, condition, stop, batch_size, None)


def _draw(model: OnnxModel, data: Path, condition: Condition, stop: int, batch_size: int,
          bar: tqdm | None) -> tuple[np.ndarray, np.ndarray]:
    """The dataset's first ``stop`` replicates drawn at ``condition``, each once as a scan
    would read it: the :func:`~popgen_hub.ood.window_values` of each, and the scores of the
    neutral ones (scored in batches as they come, so that few are held)."""
    manifest = load_manifest(data)
    encoder = model.encoder
    rows = rows_for(encoder, time_points(manifest), source=str(data))
    length = manifest["parameters"]["length"]
    values, pending, scores = [], [], []
    with single_threaded_blas():
        for index, (label, block) in enumerate(islice(iter_replicates(data, manifest), stop)):
            observed = observed_sample(encoder, block.take_columns(rows),
                                       np.random.default_rng(condition.seed(index)),
                                       condition.individuals, condition.depth)
            encoded = encoder.encode(observed, (0, length))  # the same draw: one observation
            values.append(window_values(observed, 0, int(length), encoded.n_sites))
            if label == 0:
                pending.append(encoded.inputs)
            if len(pending) == batch_size or (pending and index == stop - 1):
                scores.append(log_odds(model.predict(stack_windows(pending))))
                pending = []
            if bar is not None:
                bar.update(1)
    return np.vstack(values), np.concatenate(scores)


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


def predict_in_batches(model: OnnxModel, inputs: Inputs, batch_size: int = 256,
                       progress: bool = False) -> np.ndarray:
    """``model``'s outputs for every window of ``inputs``, ``batch_size`` at a time."""
    n = len(next(iter(inputs.values())))
    batches = [np.arange(start, min(start + batch_size, n)) for start in range(0, n, batch_size)]
    return np.concatenate([model.predict(take(inputs, rows)) for rows in
                           tqdm(batches, desc="scoring", unit="batch", disable=not progress)])
