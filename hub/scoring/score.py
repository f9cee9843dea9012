"""Score the windows of a reader's data for regions and a sample selection, in memory.

:func:`score` is the one scoring call: ``scan`` is it plus the writers, and chunked or
distributed scans, a server answering a browser's region and evaluation build on it. Each
window is encoded exactly as in training, by the encoder the model's contract describes, and
scored in batches by onnxruntime (beside the genome's background, measured once before the
windows are scored, for a model that reads one).
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
from tqdm.auto import tqdm

from .. import ood
from ..contract import ModelContract
from ..encoders import single_threaded_blas
from ..encoders.genome_statistics import background_tensor, with_background
from ..encoders.inputs import stack_windows
from ..errors import PopgenHubError
from ..genotypes import ReadStats, Region
from ..readers import Reader, SampleSelection, input_name
from ..result import ScanResult, window_dtype
from ..runtime import OnnxModel
from .cluster import score_on_cluster
from .windows import iter_windows, split_starts, window_bin, window_starts
from .workers import broken_pool_error

log = logging.getLogger("popgen_hub")


@dataclass(frozen=True)
class Piece:
    """A run of consecutive windows of one region, scored as one task; records before
    ``owned_end`` (None: all) are counted in its read statistics, so that overlapping pieces
    count each record once."""

    region_index: int
    contig: str
    starts: range
    owned_end: int | None


#: where a scan's time goes, summed over its pieces (``ScanResult.times``, and ``write``)
STAGES = ("read", "encode", "statistics", "infer")
#: batches scored while the next is encoded: two keep the model busy, and bound memory
BATCHES_IN_FLIGHT = 2
_END = object()
T = TypeVar("T")

#: a piece (scored as one task, and the unit a resumed scan does not score again) has at
#: most this many windows
PIECE_WINDOWS = 200


class PieceStore(Protocol):
    """Where finished pieces are kept, by their index in the plan (a resumable scan's)."""

    def load(self, index: int) -> tuple[np.ndarray, ReadStats] | None: ...

    def save(self, index: int, windows: np.ndarray, stats: ReadStats) -> None: ...


def plan_pieces(regions: list[Region], window: int, step: int, workers: int) -> list[Piece]:
    """Every region's windows cut into pieces: a few per worker keep all of them busy to the
    end, and none has more than :data:`PIECE_WINDOWS` windows."""
    pieces = []
    for index, region in enumerate(regions):
        starts = window_starts(region, window, step)
        parts = max(4 * workers if workers > 1 else 1, math.ceil(len(starts) / PIECE_WINDOWS))
        runs = split_starts(starts, parts)
        owned_ends = [run[0] for run in runs[1:]] + [None]
        pieces += [Piece(index, region.contig, run, end)
                   for run, end in zip(runs, owned_ends, strict=True)]
    return pieces


def score(model: OnnxModel, reader: Reader, regions: list[Region], selection: SampleSelection,
          *, window: int, step: int, batch_size: int = 32, workers: int = 1,
          scheduler: str | None = None, progress: bool = True,
          store: PieceStore | None = None, background: np.ndarray | None = None) -> ScanResult:
    """The windows of every region, scored, with what reading skipped and the provenance of
    the result (nothing is written). ``workers`` processes share the windows (each runs its
    own reader and onnxruntime session on one thread); the windows are the same for any
    number, the probabilities equal up to float rounding (onnxruntime may add in another
    order on another thread count). With a ``scheduler`` (a Dask distributed address), the
    cluster's workers score the pieces, planned for ``workers`` (:func:`prepare` gives the
    cluster's threads). With a ``store``, pieces it holds are not scored again and each piece
    scored is saved to it as soon as it is done. ``background``: the genome's, beside every
    window, for a model that reads one (:func:`~popgen_hub.scoring.genome_background`)."""
    if background is None and background_tensor(model.encoder) is not None:
        raise PopgenHubError(f"{model.contract.name} scores each window beside its genome's "
                             f"background: give score() the one genome_background() measures "
                             f"(prepare() does)")
    pieces = plan_pieces(regions, window, step, workers)
    done = {i: found for i in range(len(pieces))
            if store is not None and (found := store.load(i)) is not None}
    if done:
        log.info("resuming: %d of %d pieces of the scan already scored", len(done), len(pieces))
    todo = [(i, piece) for i, piece in enumerate(pieces) if i not in done]
    bar = tqdm(total=sum(len(p.starts) for p in pieces), desc="scanning", unit="win",
               initial=sum(len(pieces[i].starts) for i in done), disable=not progress)
    times = dict.fromkeys(STAGES, 0.0)
    try:
        for i, (windows, stats, piece_times) in _score_pieces(
                model, reader, todo, (selection, window, batch_size, background), workers, bar,
                scheduler):
            if store is not None:
                store.save(i, windows, stats)
            done[i] = windows, stats
            for stage, seconds in piece_times.items():
                times[stage] += seconds
    finally:
        bar.close()
    stats = reader.new_stats()
    for i, piece in enumerate(pieces):
        done[i][0]["contig"] = piece.region_index
        stats.add(done[i][1])
    return ScanResult(contract=model.contract, vcf=reader.path, regions=regions, window=window,
                      step=step, seed=selection.seed, n_available=selection.n_available,
                      haplotypes=list(selection.columns), provider=model.provider,
                      contig_lengths=reader.contig_lengths,
                      windows=np.concatenate([done[i][0] for i in range(len(pieces))]),
                      stats=stats, time_bins=selection.groups,
                      population=selection.population, input_files=input_name(reader, True),
                      times=times)


def _score_pieces(model: OnnxModel, reader: Reader, todo: list[tuple[int, Piece]],
                  args: tuple[SampleSelection, int, int, np.ndarray | None], workers: int,
                  bar: tqdm, scheduler: str | None = None
                  ) -> Iterator[tuple[int, tuple[np.ndarray, ReadStats, dict[str, float]]]]:
    """Each piece of ``todo`` scored (``args``: :func:`score_piece`'s after the piece),
    yielded as soon as it is done: in this process, on ``workers`` processes, or on the Dask
    cluster at ``scheduler``."""
    if scheduler is not None:
        yield from score_on_cluster(scheduler, score_piece, model, reader, todo, args, bar)
        return
    if workers == 1:
        for i, piece in todo:
            yield i, score_piece(model, reader, piece, *args, bar)
        return
    # forkserver: forking this process would copy onnxruntime's threads (and a CUDA context)
    # into the workers
    with ProcessPoolExecutor(workers, mp_context=get_context("forkserver"),
                             initializer=_start_worker,
                             initargs=(model.path, model.contract, model.device,
                                       reader)) as pool:
        jobs = {pool.submit(_score_piece_in_worker, piece, args): (i, piece)
                for i, piece in todo}
        try:
            for job in as_completed(jobs):
                i, piece = jobs[job]
                bar.update(len(piece.starts))
                yield i, job.result()
        except BrokenProcessPool:
            pool.shutdown(wait=False, cancel_futures=True)
            raise broken_pool_error() from None
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)  # report an error now, not at the end
            raise


_WORKER: dict[str, Any] = {}


def _start_worker(onnx_path: Path, contract: ModelContract, device: str, reader: Reader
                  ) -> None:
    _WORKER["model"] = OnnxModel(onnx_path, contract, device=device, threads=1)
    _WORKER["reader"] = reader  # pickled: as checked in the main process


def _score_piece_in_worker(piece: Piece, args: tuple
                           ) -> tuple[np.ndarray, ReadStats, dict[str, float]]:
    return score_piece(_WORKER["model"], _WORKER["reader"], piece, *args, None)


def score_piece(model: OnnxModel, reader: Reader, piece: Piece, selection: SampleSelection,
                window: int, batch_size: int, background: np.ndarray | None, bar: tqdm | None
                ) -> tuple[np.ndarray, ReadStats, dict[str, float]]:
    """Read, encode and score the windows of one piece, in batches, with the seconds spent in
    each of :data:`STAGES`.

    Each window is read in full, past the region's end where the contig goes on, and given to
    the model beside ``background`` when that is not None. Windows
    without sites are left out; windows with fewer informative sites than the contract's
    minimum are kept with NaN probabilities. Batches are scored in a thread beside the one that
    reads and encodes the next (onnxruntime lets go of the GIL while it runs).
    """
    contract, encoder, starts = model.contract, model.encoder, piece.starts
    length = reader.contig_lengths.get(piece.contig)
    end = starts[-1] + window if length is None else min(starts[-1] + window, length)
    stats = reader.new_stats()
    times = dict.fromkeys(STAGES, 0.0)
    no_score = np.full(len(contract.labels), np.nan, dtype=np.float32)
    # the windows' statistics, which ScanResult flags once the scan is merged
    flagged = ood.REFERENCE in contract.references
    no_statistics = np.full(len(ood.STATISTICS), np.nan)
    rows: list[tuple] = []
    blocks = reader.blocks(Region(piece.contig, starts[0], end), selection, stats=stats,
                           count_before=piece.owned_end)
    clock = time.perf_counter
    with single_threaded_blas(), _Batch(model, batch_size, times) as batch:
        for start, sites in _timed(iter_windows(blocks, starts, window), times, "read"):
            if bar is not None:
                bar.update(1)
            if sites is None or sites.n_sites == 0:
                continue
            started = clock()
            sites = ood.as_seen(encoder, sites)  # models of individuals: grouped once
            encoded = encoder.encode(sites, (start, start + window))
            encoded_at = clock()
            span_end = start + window if length is None else min(start + window, length)
            values = (ood.window_values(sites, start, span_end, encoded.n_sites) if flagged
                      else no_statistics)
            times["encode"] += encoded_at - started
            times["statistics"] += clock() - encoded_at
            rows.append((0, start, start + window, *window_bin(start, window, starts.step),
                         sites.n_sites, encoded.n_sites, no_score, values, 0))
            if encoded.n_sites >= contract.input.min_sites:
                batch.add(len(rows) - 1, with_background(encoded.inputs, background))
    windows = np.array(rows, dtype=window_dtype(len(contract.labels)))
    if batch.rows:
        windows["probabilities"][batch.rows] = np.concatenate(batch.probabilities)
    return windows, stats, times


def _timed(items: Iterator[T], times: dict[str, float], stage: str) -> Iterator[T]:
    """``items``, the seconds spent producing them added to ``times[stage]``."""
    while True:
        started = time.perf_counter()
        item = next(items, _END)
        times[stage] += time.perf_counter() - started
        if item is _END:
            return
        yield item


class _Batch:
    """Encoded windows gathered into batches of ``size``, each scored by the model in a thread
    while the next is gathered; at most :data:`BATCHES_IN_FLIGHT` wait, which bounds memory.
    The seconds the model runs are added to ``times["infer"]``."""

    def __init__(self, model: OnnxModel, size: int, times: dict[str, float]) -> None:
        self.model, self.size, self.times = model, size, times
        self.pending: list[dict[str, np.ndarray]] = []
        self.pending_rows: list[int] = []
        self.rows: list[int] = []
        self.probabilities: list[np.ndarray] = []
        self.running: deque[Future] = deque()
        self.thread = ThreadPoolExecutor(1, thread_name_prefix="popgen-hub-infer")

    def __enter__(self) -> _Batch:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        try:
            if kind is None:
                self.flush()
                while self.running:
                    self._collect()
        finally:
            self.thread.shutdown(wait=True, cancel_futures=True)

    def add(self, row: int, inputs: dict[str, np.ndarray]) -> None:
        self.pending.append(inputs)
        self.pending_rows.append(row)
        if len(self.pending) == self.size:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            while len(self.running) >= BATCHES_IN_FLIGHT:
                self._collect()
            self.running.append(self.thread.submit(self._predict, stack_windows(self.pending)))
            self.rows += self.pending_rows
            self.pending, self.pending_rows = [], []

    def _predict(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        started = time.perf_counter()
        try:
            return self.model.predict(inputs)
        finally:
            self.times["infer"] += time.perf_counter() - started

    def _collect(self) -> None:
        self.probabilities.append(self.running.popleft().result())
