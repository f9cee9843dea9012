"""``popgen-hub calibrate MODEL_DIR --history-statistics N``: a model's training statistics
per training history, which ``scan --model auto`` matches an input against.

A model trained over a family of histories (:class:`~popgen_hub.simulate.histories.HistoryFamily`,
e.g. the sweep regime) stores the statistics of its training windows pooled
(``references["training_stats"]``, what out-of-distribution flags compare with). An input like
one of those histories may still lie beyond the pooled quartiles when that history is unlike
most: neutral chromosomes of PapuansOutOfAfrica_10J19's YRI, CEU and CHB have about twice the
pooled upper quartile of SNPs per kb, so no model matched them although the general ones were
trained on that history. So ``N`` neutral (class 0) windows of each published history of the
contract's training scenario are simulated afresh, with the scenario's own parameters: the
history published or jittered in the proportion training drew them, the mutation and
recombination rates from the same priors, windows in genomes where training had them. Random
histories, one per replicate, are no history of their own: the pooled reference keeps them.
The statistics are those of :mod:`popgen_hub.ood`, read through the model's encoder; they are
stored as ``references["training_stats_by_history"]``.

Models of individuals are left out: their statistics move with the individuals read and their
depth, which their references by condition follow (:data:`popgen_hub.calibration.CONDITIONS`).
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .contract import ModelContract
from .contract_update import require_onnx, rewrite_contract
from .encoders import build_encoder, single_threaded_blas
from .errors import PopgenHubError
from .files import ModelFolder
from .genotypes import GenotypeBlock
from .locks import output_lock
from .ood import BY_HISTORY, statistics_reference, window_values
from .runtime import load_model_dir

#: Seeds the simulated windows (the same stream for every history and model).
HISTORY_SEED = 2024
#: The fewest windows per history stored: quartiles of fewer move with the draw.
MIN_HISTORY_WINDOWS = 50


def store_history_statistics(model_dir: str | Path, replicates: int, *, workers: int = 1,
                             progress: bool = True, command: str = "") -> ModelContract:
    """Simulate ``replicates`` neutral windows of each training history of the model in
    ``model_dir`` (the module doc) and store their statistics in its contract; the new
    contract."""
    require_onnx()  # before the work
    if replicates < MIN_HISTORY_WINDOWS:
        raise PopgenHubError(f"--history-statistics {replicates}: give at least "
                             f"{MIN_HISTORY_WINDOWS} windows per history (quartiles of fewer "
                             f"move with the draw)")
    if workers < 1:
        raise PopgenHubError(f"--workers {workers}: give 1 or more processes")
    folder = ModelFolder(Path(model_dir))
    with output_lock(folder.path, command):
        contract = load_model_dir(folder.path, device="cpu").contract
        scenario, params = history_scenario(contract)
        histories = params["histories"]
        tasks = [(scenario, {**params, "histories": [history]}, contract.encoder, replicates)
                 for history in histories]
        with ProcessPoolExecutor(min(workers, len(tasks)),
                                 mp_context=get_context("spawn")) as pool:
            references = list(tqdm(pool.map(_history_reference, tasks), total=len(tasks),
                                   desc="statistics by history", unit="history",
                                   disable=not progress))
        record = {"replicates": replicates, "seed": HISTORY_SEED,
                  "source": f"{replicates} neutral windows of each history simulated afresh "
                            f"by {scenario} with the training parameters (seed "
                            f"{HISTORY_SEED})",
                  "histories": dict(zip(histories, references, strict=True))}
        return rewrite_contract(folder, ModelContract.from_dict(
            {**contract.to_dict(), "references": {**contract.references, BY_HISTORY: record}},
            source="--history-statistics"))


def history_scenario(contract: ModelContract) -> tuple[str, dict[str, Any]]:
    """The contract's training scenario and its parameters with published histories only
    (jittered in training's proportion); a :class:`PopgenHubError` saying why a model has
    no statistics by history."""
    from .simulate.histories import HistoryFamily
    from .simulate.scenarios import SCENARIOS

    name = f"--history-statistics: {contract.name}"
    if contract.input.data_kind != "haplotypes":
        raise PopgenHubError(f"{name} reads {contract.input.data_kind}, whose statistics move "
                             f"with the individuals read; its references by condition follow "
                             f"them")
    scenario = contract.training.get("scenario")
    params = dict(contract.training.get("parameters") or {})
    if scenario not in SCENARIOS or not issubclass(SCENARIOS[scenario], HistoryFamily):
        raise PopgenHubError(f"{name} was trained on {scenario or 'no recorded scenario'}, "
                             f"not on a family of histories: its pooled training statistics "
                             f"are those of its one history")
    published = 1 - params.get("random_share", HistoryFamily.random_share)
    if published <= 0:
        raise PopgenHubError(f"{name}: every training replicate drew a random history; "
                             f"there is no published one to describe")
    jitter = params.get("jitter_share", HistoryFamily.jitter_share) / published
    return scenario, {**params, "random_share": 0.0, "jitter_share": jitter}


def _history_reference(task: tuple[str, dict[str, Any], dict[str, Any], int]) -> dict:
    """The statistics of ``replicates`` neutral windows of a scenario with one history."""
    from .simulate.scenarios import get_scenario

    name, params, encoder_config, replicates = task
    scenario = get_scenario(name, **params)
    encoder = build_encoder(encoder_config)
    rows = []
    with single_threaded_blas():  # replicates take the classes in turn: class 0 is neutral
        for index in range(0, replicates * len(scenario.labels), len(scenario.labels)):
            replicate = scenario.simulate(index, HISTORY_SEED)
            block = GenotypeBlock.from_haplotypes(replicate.haplotypes, replicate.positions)
            rows.append(window_values(block, 0, scenario.length,
                                      encoder.encode(block, (0, scenario.length)).n_sites))
    return statistics_reference(np.vstack(rows), scenario.length)
