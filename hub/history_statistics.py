"""``popgen-hub calibrate MODEL_DIR --history-statistics N``: a model's training statistics
per training history, which ``scan --model auto`` matches an input against.

A model trained over a family of histories
(:class:`~popgen_hub.simulate.histories.HistoryFamily`, e.g. the sweep regime) stores the
statistics of its training windows pooled (``references["training_stats"]``, what
out-of-distribution flags compare with). An input like one of those histories may still lie
beyond the pooled quartiles when that history is unlike most: neutral chromosomes of
PapuansOutOfAfrica_10J19's YRI, CEU and CHB have about twice the pooled upper quartile of SNPs
per kb, so no model matched them although the general ones were trained on that history. So
``N`` neutral (class 0) windows of each published history of the contract's training scenario
are simulated afresh, with the scenario's own parameters: the history published or jittered
in the proportion training drew them, the mutation and recombination rates from the same
priors; where training had windows in genomes (sharing a history and a mutation rate), one
neutral window of each genome, so that the windows are independent draws. Random histories,
one per replicate, are no history of their own: the pooled reference keeps them. The
statistics are those of :mod:`popgen_hub.ood`, read through the model's encoder; they are
stored as ``references["training_stats_by_history"]``.

Models of individuals are left out: their statistics move with the individuals read and their
depth, which their references by condition follow (:data:`popgen_hub.calibration.CONDITIONS`).
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from .contract import ModelContract
from .contract_update import require_onnx, rewrite_contract
from .encoders import build_encoder, single_threaded_blas
from .errors import PopgenHubError
from .files import ModelFolder
from .genotypes import GenotypeBlock
from .locks import output_lock
from .ood import BY_HISTORY, training_statistics
from .runtime import load_model_dir

#: Seeds the simulated windows. The scenario's stream follows its parameters (the history
#: among them), so models of equal training parameters store the same statistics.
HISTORY_SEED = 2024
#: The fewest windows per history stored: quartiles of fewer move with the draw.
MIN_HISTORY_WINDOWS = 50


def history_plan(contract: ModelContract, windows: int, workers: int = 1
                 ) -> tuple[str, dict[str, Any]]:
    """The options checked and the scenario and parameters to simulate for ``contract``
    (:func:`history_scenario`), before any work; a :class:`PopgenHubError` in one line."""
    require_onnx()
    if windows < MIN_HISTORY_WINDOWS:
        raise PopgenHubError(f"--history-statistics {windows}: give at least "
                             f"{MIN_HISTORY_WINDOWS} windows per history (quartiles of fewer "
                             f"move with the draw)")
    if workers < 1:
        raise PopgenHubError(f"--workers {workers}: give 1 or more processes")
    return history_scenario(contract)


def store_history_statistics(model_dir: str | Path, windows: int, *, workers: int = 1,
                             progress: bool = True, command: str = "") -> ModelContract:
    """Simulate ``windows`` neutral windows of each training history of the model in
    ``model_dir`` (the module doc) and store their statistics in its contract; the new
    contract."""
    folder = ModelFolder(Path(model_dir))
    with output_lock(folder.path, command):
        contract = load_model_dir(folder.path, device="cpu").contract
        scenario, params = history_plan(contract, windows, workers)
        histories = params["histories"]
        tasks = [(scenario, {**params, "histories": [history]}, contract.encoder, windows)
                 for history in histories]
        with ProcessPoolExecutor(min(workers, len(tasks)),
                                 mp_context=get_context("spawn")) as pool:
            references = list(tqdm(pool.map(_history_reference, tasks), total=len(tasks),
                                   desc="statistics by history", unit="history",
                                   disable=not progress))
        record = {"windows": windows, "seed": HISTORY_SEED,
                  "source": f"{windows} neutral windows of each history simulated afresh by "
                            f"{scenario} with the training parameters (seed {HISTORY_SEED})",
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
    if scenario not in SCENARIOS or not issubclass(SCENARIOS[scenario], HistoryFamily):
        raise PopgenHubError(f"{name} was trained on {scenario or 'no recorded scenario'}, "
                             f"not on a family of histories: its pooled training statistics "
                             f"are those of its one history")
    family = SCENARIOS[scenario]
    params = {"histories": list(family.histories), **contract.training.get("parameters", {})}
    published = 1 - params.get("random_share", family.random_share)
    if published <= 0:
        raise PopgenHubError(f"{name}: every training replicate drew a random history; "
                             f"there is no published one to describe")
    jitter = min(1.0, params.get("jitter_share", family.jitter_share) / published)
    return scenario, {**params, "random_share": 0.0, "jitter_share": jitter}


def _history_reference(task: tuple[str, dict[str, Any], dict[str, Any], int]
                       ) -> dict[str, Any]:
    """The statistics of ``windows`` neutral windows of a scenario with one history."""
    from .simulate.scenarios import get_scenario

    name, params, encoder_config, windows = task
    scenario = get_scenario(name, **params)
    with single_threaded_blas():
        blocks = [GenotypeBlock.from_haplotypes(replicate.haplotypes, replicate.positions)
                  for replicate in (scenario.simulate(index, HISTORY_SEED)
                                    for index in neutral_replicates(scenario, windows))]
        return training_statistics(blocks, encoder=build_encoder(encoder_config),
                                   window_bp=scenario.length)


def neutral_replicates(scenario: Any, windows: int) -> range:
    """The indices of ``windows`` independent neutral replicates of ``scenario``: replicates
    take the classes in turn (class 0 is neutral), and where windows come in genomes (sharing
    a history and rates) a genome's windows are a multiple of them, so its first is neutral;
    one per genome."""
    step = getattr(scenario, "genome_windows", 0) or len(scenario.labels)
    return range(0, windows * step, step)
