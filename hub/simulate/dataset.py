"""Simulated datasets (layout: :mod:`popgen_hub.datasets`): replicates simulated, encoded and
stored, on local processes or a Dask cluster.

A shard depends only on the seed, so datasets are identical whatever the number of workers; a
resumed run skips finished shards (each is written whole or not at all).
"""

from __future__ import annotations

import logging
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from importlib.metadata import version
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ..cluster import dask_client
from ..datasets import (
    shard_arrays,
    shard_images,
    shard_ranges,
    single_tensor,
    write_manifest,
    write_shard,
)
from ..encoders import Encoder, HaplotypeImageEncoder, build_encoder, single_threaded_blas
from ..encoders.inputs import Inputs
from ..errors import PopgenHubError
from ..files import DatasetFolder, Staging
from ..genotypes import GenotypeBlock
from ..resume import resumable_output, run_options
from ..version import __version__

log = logging.getLogger("popgen_hub")

#: option names of the recorded run options that are not ``--`` + the name with dashes
_OPTION_NAMES = {"scenario": "the scenario", "parameters": "--param", "encoder": "--encoder"}


def _provenance(simulators: tuple[str, ...] = ()) -> dict[str, str]:
    import msprime
    import tskit

    return {"popgen_hub": __version__, "msprime": msprime.__version__,
            "tskit": tskit.__version__, "numpy": np.__version__,
            **{name: version(name) for name in simulators}}


def simulator_description(manifest: dict[str, Any]) -> str:
    """The simulators (with versions) that made a dataset, for model cards."""
    from .scenarios import SCENARIOS

    if manifest.get("simulator"):  # imported datasets say what made them
        return manifest["simulator"]
    scenario = SCENARIOS.get(manifest["scenario"])
    names = scenario.simulators if scenario else ("msprime",)
    recorded = manifest.get("provenance", {})
    return ", ".join(f"{name} {recorded.get(name) or version(name)}" for name in names)


def simulate_arrays(scenario_name: str, scenario_params: dict[str, Any],
                    encoder_config: dict[str, Any], seed: int, start: int, stop: int
                    ) -> dict[str, np.ndarray]:
    """Simulate and encode replicates ``start..stop-1`` of stream ``seed`` (picklable for pools)."""
    from .scenarios import get_scenario

    scenario = get_scenario(scenario_name, **scenario_params)
    encoder = build_encoder(encoder_config)
    images, labels, blocks = [], [], []
    params: dict[str, list[float]] = {}
    n_present = scenario.time_points[0].n_haplotypes
    with single_threaded_blas():
        for index in range(start, stop):
            replicate = scenario.simulate(index, seed)
            block = GenotypeBlock.from_haplotypes(replicate.haplotypes, replicate.positions)
            # Image encoders see the present-day haplotypes; all are kept raw.
            encoded = encoder.encode(block.take_columns(np.arange(n_present)),
                                     (0, scenario.length))
            images.append(single_tensor(encoded, encoder))
            labels.append(replicate.label)
            blocks.append(block)
            for key, value in replicate.params.items():
                params.setdefault(key, []).append(value)
    arrays = shard_arrays(images, labels, start, blocks)
    arrays.update({f"param_{k}": np.asarray(v, dtype=np.float64) for k, v in params.items()})
    return arrays


def _map_chunks(task_args: list[tuple], workers: int, total: int, desc: str, progress: bool,
                scheduler: str | None = None):
    """Yield results of ``simulate_arrays`` over chunks, in order, with a progress bar.

    With ``scheduler`` (a Dask distributed address) the cluster's workers simulate and this
    process receives and writes the shards; the workers need popgen-hub's train extra.
    """
    bar = tqdm(total=total, desc=desc, unit="rep", disable=not progress)
    try:
        if scheduler:
            yield from _map_on_dask(task_args, scheduler, bar)
        elif workers <= 1:
            for args in task_args:
                result = simulate_arrays(*args)
                bar.update(len(result["labels"]))
                yield result
        else:
            # forkserver: training calls this with torch's thread pools already running
            with ProcessPoolExecutor(max_workers=workers,
                                     mp_context=get_context("forkserver")) as pool:
                for result in pool.map(simulate_arrays, *zip(*task_args, strict=True)):
                    bar.update(len(result["labels"]))
                    yield result
    finally:
        bar.close()


def _map_on_dask(task_args: list[tuple], scheduler: str, bar: tqdm):
    if not task_args:  # a finished dataset: nothing to send
        return
    with dask_client(scheduler) as client:
        # pure=False: equal arguments must still run (they never are, but Dask would cache)
        futures = client.map(simulate_arrays, *zip(*task_args, strict=True), pure=False)
        try:
            for i, future in enumerate(futures):
                result = future.result()
                futures[i] = None  # release it: the cluster need not keep written shards
                bar.update(len(result["labels"]))
                yield result
        finally:
            client.cancel([f for f in futures if f is not None])


def simulate_in_memory(scenario_name: str, scenario_params: dict[str, Any],
                       encoder: Encoder, n: int, seed: int, *, workers: int = 1,
                       progress: bool = True, desc: str = "simulating"
                       ) -> tuple[Inputs, np.ndarray]:
    """Encoded inputs and labels of ``n`` fresh replicates (ImaGene's simulation on the
    fly)."""
    chunk = max(1, min(200, -(-n // max(workers, 1))))
    args = [(scenario_name, scenario_params, encoder.to_config(), seed, a, b)
            for a, b in shard_ranges(n, chunk)]
    results = list(_map_chunks(args, workers, n, desc, progress))
    images = np.concatenate([shard_images(r) for r in results])
    return ({next(iter(encoder.shapes)): images},
            np.concatenate([r["labels"] for r in results]))


def simulate_dataset(scenario_name: str, out_dir: str | Path, *, n: int, seed: int,
                     scenario_params: dict[str, Any] | None = None,
                     encoder: Encoder | None = None, shard_size: int = 500,
                     workers: int = 1, scheduler: str | None = None, progress: bool = True,
                     command: str = "", resume: bool = False, clean: bool = False) -> Path:
    """Simulate ``n`` replicates of a scenario into a new dataset ``out_dir``, on ``workers``
    local processes or on the Dask cluster at ``scheduler`` (``tcp://host:port``).

    The dataset is staged and published whole (:mod:`popgen_hub.resume`): an interrupted run
    keeps its finished shards, ``resume`` simulates only the others (also the shards missing
    from a finished dataset of the same manifest in ``out_dir``), ``clean`` discards them;
    ``resume`` after an interrupted run with other options says which changed.
    """
    from .scenarios import get_scenario

    scenario = get_scenario(scenario_name, **(scenario_params or {}))
    encoder = encoder or HaplotypeImageEncoder()
    if n < 1 or shard_size < 1 or workers < 1:
        raise PopgenHubError(f"--n {n}, --shard-size {shard_size} and --workers {workers} must "
                             f"each be at least 1")
    manifest = {
        "scenario": scenario.name,
        "parameters": scenario.parameters,
        "labels": list(scenario.labels),
        "data_kind": "haplotypes",
        "encoder": encoder.to_config(),
        "time_points": [asdict(point) for point in scenario.time_points],
        "seed": seed,
        "n": n,
        "shard_size": shard_size,
        "citations": scenario.all_citations,
        # a regression's target (classification datasets keep the manifest they always had)
        **({"target": scenario.target} if scenario.target else {}),
    }
    out = Path(out_dir)
    key, options = run_options([], command="simulate", **manifest)
    with resumable_output(out, key, record=DatasetFolder.manifest, what="dataset",
                          resume=resume, clean=clean, command=command,
                          differs=lambda existing: _difference(manifest, existing),
                          options=options, option_names=_OPTION_NAMES
                          ) as (staging, existing):
        todo = _shards_to_simulate(staging, n, shard_size, existing is not None)
        done = n - sum(b - a for _, a, b in todo)
        if done:
            log.info(f"resuming: {done} of {n} replicates already simulated")
        args = [(scenario.name, scenario.parameters, encoder.to_config(), seed, a, b)
                for _, a, b in todo]
        chunks = _map_chunks(args, workers, n - done, scenario.name, progress, scheduler)
        for (shard, _, _), arrays in zip(todo, chunks, strict=True):
            write_shard(DatasetFolder(staging.dir).shard(shard), arrays)
        if existing is None:
            staging.path(DatasetFolder.manifest)  # published last
            write_manifest(staging.dir, {**manifest, "command": command,
                                         "provenance": _provenance(scenario.simulators)})
    return out


def _difference(manifest: dict[str, Any], existing: dict[str, Any]) -> str | None:
    # keys an older popgen-hub did not write do not make a dataset different
    differing = [k for k in manifest if k in existing and existing[k] != manifest[k]]
    return (f"{existing.get('scenario')}; differs in {', '.join(differing)}" if differing
            else None)


def _shards_to_simulate(staging: Staging, n: int, shard_size: int, into_existing: bool
                        ) -> list[tuple[int, int, int]]:
    """``(shard, first, stop)`` of the shards neither in the dataset already there nor kept
    by an interrupted run; every shard this run publishes is named to ``staging``."""
    there = DatasetFolder(staging.out_dir)
    kept = DatasetFolder(staging.dir)
    todo = []
    for shard, (a, b) in enumerate(shard_ranges(n, shard_size)):
        if into_existing and there.shard(shard).exists():
            continue
        staging.path(kept.shard(shard).name)
        if not kept.shard(shard).exists():
            todo.append((shard, a, b))
    return todo
