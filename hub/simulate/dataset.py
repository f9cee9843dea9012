"""Simulated datasets: replicates simulated, encoded and stored as compressed ``.npz`` shards.

Layout of a dataset directory::

    manifest.json        scenario, parameters, encoder, seed, size, provenance
    shard-000000.npz     images (as bits when 0/1), labels, replicate index, parameters,
    shard-000001.npz     raw haplotypes (bit-packed) with site offsets and positions
    ...

A shard holds replicates ``[k * shard_size, (k + 1) * shard_size)`` and depends only on the
seed, so datasets are identical whatever the number of workers. Shards are written to a
temporary name and renamed when complete: a re-run skips finished shards and never reads a
half-written one.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from importlib.metadata import version
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .. import __version__
from ..encoders import (
    HaplotypeImageEncoder,
    build_encoder,
    encoder_rows,
    single_threaded_blas,
)
from ..encoders.inputs import Inputs, stack_windows
from ..errors import PopgenHubError

MANIFEST = "manifest.json"


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
    images, labels, replicates = [], [], []
    params: dict[str, list[float]] = {}
    with single_threaded_blas():
        for index in range(start, stop):
            replicate = scenario.simulate(index, seed)
            # Image encoders see the present-day haplotypes; all are kept raw.
            present = replicate.haplotypes[:scenario.time_points[0].n_haplotypes]
            images.append(encoder.encode(present, replicate.positions,
                                         (0, scenario.length)).image)
            labels.append(replicate.label)
            replicates.append((replicate.haplotypes, replicate.positions))
            for key, value in replicate.params.items():
                params.setdefault(key, []).append(value)
    arrays = shard_arrays(images, labels, start, replicates,
                          sum(point.n_haplotypes for point in scenario.time_points))
    arrays.update({f"param_{k}": np.asarray(v, dtype=np.float64) for k, v in params.items()})
    return arrays


def shard_arrays(images: list[np.ndarray], labels: list[int], start: int,
                 replicates: list[tuple[np.ndarray, np.ndarray]], n_haplotypes: int
                 ) -> dict[str, np.ndarray]:
    """The arrays of one shard: encoded images, labels, replicate numbers from ``start``, and
    the raw (haplotypes, positions) of each replicate, bit-packed with site offsets."""
    offsets = np.cumsum([0] + [haplotypes.shape[1] for haplotypes, _ in replicates])
    stacked = np.stack(images)
    # 0/1 images (binarised encoders) are stored as bits: writing them is most of the cost
    # outside the simulator for fast scenarios, and bits compress 2.5x faster
    binary = bool(np.isin(stacked, (0, 1)).all())
    return {
        **({"images_bits": np.packbits(stacked.astype(bool), axis=-1),
            "image_shape": np.asarray(stacked.shape[1:], dtype=np.int64)} if binary else
           {"images": stacked}),
        "labels": np.asarray(labels, dtype=np.int64),
        "index": np.arange(start, start + len(labels), dtype=np.int64),
        "haplotypes_packed": np.concatenate([np.packbits(h.T, axis=1) for h, _ in replicates]),
        "site_offsets": offsets.astype(np.int64),
        "positions": np.concatenate([positions for _, positions in replicates]),
        "n_haplotypes": np.int64(n_haplotypes),
    }


def _ranges(n: int, chunk: int) -> list[tuple[int, int]]:
    return [(start, min(start + chunk, n)) for start in range(0, n, chunk)]


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
    try:
        from distributed import Client
    except ImportError:
        raise PopgenHubError("--scheduler needs Dask: pip install 'distributed'") from None
    try:
        client = Client(scheduler, timeout=30)
    except OSError as exc:
        raise PopgenHubError(f"cannot connect to the Dask scheduler at {scheduler}: {exc}; "
                             f"start one (`dask scheduler`) or check the address") from None
    with client:
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
                       encoder: HaplotypeImageEncoder, n: int, seed: int, *, workers: int = 1,
                       progress: bool = True, desc: str = "simulating"
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels of ``n`` fresh replicates (ImaGene's simulation on the fly)."""
    chunk = max(1, min(200, -(-n // max(workers, 1))))
    args = [(scenario_name, scenario_params, encoder.to_config(), seed, a, b)
            for a, b in _ranges(n, chunk)]
    results = list(_map_chunks(args, workers, n, desc, progress))
    return (np.concatenate([shard_images(r) for r in results]),
            np.concatenate([r["labels"] for r in results]))


def _write_npz_atomic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez_compressed(handle, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def simulate_dataset(scenario_name: str, out_dir: str | Path, *, n: int, seed: int,
                     scenario_params: dict[str, Any] | None = None,
                     encoder: HaplotypeImageEncoder | None = None, shard_size: int = 500,
                     workers: int = 1, scheduler: str | None = None, progress: bool = True,
                     command: str = "") -> Path:
    """Simulate ``n`` replicates of a scenario into ``out_dir`` (resumable), on ``workers``
    local processes or on the Dask cluster at ``scheduler`` (``tcp://host:port``)."""
    from .demography import demography_info
    from .scenarios import get_scenario

    scenario = get_scenario(scenario_name, **(scenario_params or {}))
    encoder = encoder or HaplotypeImageEncoder()
    if n < 1 or shard_size < 1:
        raise PopgenHubError("--n and --shard-size must be positive")
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PopgenHubError(f"cannot create output directory {out}: {exc.strerror}") from None
    manifest = {
        "scenario": scenario.name,
        "parameters": scenario.parameters,
        "labels": list(scenario.labels),
        "encoder": encoder.to_config(),
        "time_points": [asdict(point) for point in scenario.time_points],
        "seed": seed,
        "n": n,
        "shard_size": shard_size,
        "citations": list(dict.fromkeys(
            [*scenario.citations, demography_info(scenario.demography).citation])),
    }
    manifest_path = out / MANIFEST
    if manifest_path.exists():
        existing = json.loads(manifest_path.read_text())
        # keys an older popgen-hub did not write do not make a dataset different
        differing = [k for k in manifest if k in existing and existing[k] != manifest[k]]
        if differing:
            raise PopgenHubError(
                f"{out} already holds a different dataset ({existing.get('scenario')}; differs "
                f"in {', '.join(differing)}); choose another -o directory or delete it"
            )
    else:
        _write_text_atomic(manifest_path, json.dumps(
            {**manifest, "command": command, "provenance": _provenance(scenario.simulators)},
            indent=2))
    todo = [(i, a, b) for i, (a, b) in enumerate(_ranges(n, shard_size))
            if not shard_path(out, i).exists()]
    done = n - sum(b - a for _, a, b in todo)
    if done:
        print(f"resuming: {done} of {n} replicates already in {out}")
    args = [(scenario.name, scenario.parameters, encoder.to_config(), seed, a, b)
            for _, a, b in todo]
    chunks = _map_chunks(args, workers, n - done, scenario.name, progress, scheduler)
    for (shard, _, _), arrays in zip(todo, chunks, strict=True):
        _write_npz_atomic(shard_path(out, shard), arrays)
    return out


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def shard_images(arrays) -> np.ndarray:
    """The float32 images of a shard (or of ``shard_arrays``' result), unpacked if stored as
    bits."""
    if "images" in arrays:
        return arrays["images"]
    shape = tuple(int(n) for n in arrays["image_shape"])
    bits = np.unpackbits(arrays["images_bits"], axis=-1, count=shape[-1])
    return bits.astype(np.float32)


def shard_path(out: Path, shard: int) -> Path:
    return out / f"shard-{shard:06d}.npz"


@dataclass
class Dataset:
    """A loaded dataset: encoded images, labels and replicate indices, in replicate order."""

    images: np.ndarray
    labels: np.ndarray
    index: np.ndarray
    manifest: dict[str, Any]

    @property
    def encoder(self) -> HaplotypeImageEncoder:
        return build_encoder(self.manifest["encoder"])


def load_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest of a complete dataset directory; refuses incomplete datasets."""
    path = Path(path)
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise PopgenHubError(
            f"{path} is not a popgen-hub dataset (no {MANIFEST}); make one with "
            f"`popgen-hub simulate SCENARIO --n N -o {path}`"
        )
    manifest = json.loads(manifest_path.read_text())
    n_shards = len(_ranges(manifest["n"], manifest["shard_size"]))
    missing = [i for i in range(n_shards) if not shard_path(path, i).exists()]
    if missing:
        raise PopgenHubError(
            f"{path} is incomplete: {len(missing)} of {n_shards} shards missing; re-run the same "
            f"`popgen-hub simulate` command to finish it"
        )
    return manifest


def load_dataset(path: str | Path) -> Dataset:
    """Load every shard of a dataset directory; refuses incomplete datasets."""
    path = Path(path)
    manifest = load_manifest(path)
    n_shards = len(_ranges(manifest["n"], manifest["shard_size"]))
    images, labels, index = [], [], []
    for i in range(n_shards):
        with np.load(shard_path(path, i)) as shard:
            images.append(shard_images(shard))
            labels.append(shard["labels"])
            index.append(shard["index"])
    return Dataset(np.concatenate(images), np.concatenate(labels), np.concatenate(index), manifest)


def iter_replicates(path: str | Path) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """``(label, haplotypes, positions)`` of every replicate of a dataset, in order, with all
    the raw haplotypes (every time point, rows as in the manifest's ``time_points``)."""
    path = Path(path)
    manifest = load_manifest(path)
    for i in range(len(_ranges(manifest["n"], manifest["shard_size"]))):
        with np.load(shard_path(path, i)) as shard:
            offsets, packed = shard["site_offsets"], shard["haplotypes_packed"]
            n_haplotypes, positions = int(shard["n_haplotypes"]), shard["positions"]
            for k, label in enumerate(shard["labels"]):
                a, b = offsets[k], offsets[k + 1]
                sites = np.unpackbits(packed[a:b], axis=1, count=n_haplotypes)
                yield int(label), np.ascontiguousarray(sites.T), positions[a:b]


def encode_dataset(path: str | Path, encoder: Any, progress: bool = True
                   ) -> tuple[Inputs, np.ndarray]:
    """Encode a dataset's raw haplotypes with ``encoder`` (any encoder; a temporal one takes
    its rows from each time point): the inputs (one array, or one per tensor name) and labels.
    """
    manifest = load_manifest(path)
    rows = encoder_rows(encoder, manifest.get("time_points") or [
        {"age_years": 0.0, "n_haplotypes": manifest["parameters"]["n_haplotypes"]}],
        source=str(path))
    length = manifest["parameters"]["length"]
    encoded, labels = [], []
    with single_threaded_blas():
        for label, haplotypes, positions in tqdm(
                iter_replicates(path), total=manifest["n"], desc="encoding", unit="rep",
                disable=not progress):
            encoded.append(encoder.encode(haplotypes[rows], positions, (0, length)).image)
            labels.append(label)
    return stack_windows(encoded), np.asarray(labels, dtype=np.int64)
