"""Scan an input with a model and write its tracks: :func:`scan_vcf`.

Under the output folder's lock, the input is prepared and scored as
:func:`~popgen_hub.scoring.score_input` does, and each finished piece is kept in the run's
staging folder (:class:`PieceFiles`), so that a run interrupted and resumed scores only the
pieces left and gives the same windows; then the writers write the tracks, the folder's
shared files and its manifest (:mod:`popgen_hub.writers.folder`), published all or nothing.
"""

from __future__ import annotations

import json
import logging
import os
import time
import zipfile
from collections.abc import Sequence
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from .errors import PopgenHubError
from .files import Staging, atomic_files
from .genotypes import ReadStats
from .locks import output_lock
from .readers import Reader
from .readers.base import input_identity
from .result import ScanResult
from .resume import fingerprint, run_staging
from .runtime import OnnxModel, model_sha256
from .scoring import PIECE_WINDOWS, ScanJob, prepare
from .stats_tracks import scan_statistics, write_scan_statistics
from .writers import BUILTIN_WRITERS, WRITERS, IgvBatch, Writer, record_scan, snapshot_tools
from .writers.ucsc import ucsc_assembly, write_ucsc_hub

log = logging.getLogger("popgen_hub")

PIECES = ".pieces"  # in the staging folder; never published


def scan_vcf(model: OnnxModel, vcf: str | os.PathLike, out_dir: str | os.PathLike, *,
             genome: str | None = None, snapshot: bool = False, writers: Sequence[str] = (),
             resume: bool = False, clean: bool = False, command: str = "",
             stats: Sequence[str] = (), **options: Any) -> ScanResult:
    """Scan ``vcf`` and write BigWig track(s), a window table, chrom.sizes and an IGV batch.

    ``options`` are :func:`popgen_hub.scoring.prepare`'s (region, window, step, seed,
    samples, sample_column, age_column, population, population_column, batch_size, workers,
    scheduler, progress). ``genome`` goes into the IGV batch script (``hg38``, a FASTA or
    chrom.sizes path; default: the chrom.sizes written beside the tracks, which works
    offline), and, when it is no file, names the UCSC hub's assembly; ``snapshot`` also
    renders its view with IGV desktop to ``igv_snapshot.png``. ``writers`` names extra
    writers from plugins. ``resume`` / ``clean``: continue / discard what an interrupted scan
    of the same input, model and parameters into ``out_dir`` kept (see
    :mod:`popgen_hub.resume`); ``command`` is recorded in the folder's manifest and its lock.
    ``stats`` names classic statistics written beside the tracks
    (:mod:`popgen_hub.stats_tracks`), which every genome-browser file shows."""
    stats = scan_statistics(stats) if stats else []  # checked before the work
    if snapshot:
        snapshot_tools()  # fail before the work, not after
    # (name, writer, whether it is a plugin: someone else's code, whose failures we name)
    chosen = [(name, WRITERS.get(name), False) for name in BUILTIN_WRITERS]
    if assembly := ucsc_assembly(genome):
        chosen = [(name, partial(write_ucsc_hub, assembly=assembly) if name == "ucsc_hub"
                   else write, plugin) for name, write, plugin in chosen]
    chosen.append(("igv", IgvBatch(genome, snapshot), False))
    chosen += [(name, WRITERS.get(name), True) for name in dict.fromkeys(writers)
               if name not in BUILTIN_WRITERS]
    with output_lock(out_dir, command):
        job = prepare(model, vcf, **options)
        with run_staging(out_dir, run_key(job), resume=resume, clean=clean) as staging:
            result = job.score(PieceFiles(staging.dir / PIECES, job.reader))
            started = time.perf_counter()
            if stats:  # first, so that the writers (reports, hubs) find them in result.outputs
                result.statistics = write_scan_statistics(job, staging, stats, options)
                result.outputs = {file: staging.final(file) for file in staging.names}
            for name, write, plugin in chosen:
                _run_writer(name, write, plugin, result, staging)
                result.outputs = {file: staging.final(file) for file in staging.names}
            result.times["write"] = time.perf_counter() - started
            log.info("seconds by stage (summed over workers): %s", ", ".join(
                f"{stage} {seconds:.2f}" for stage, seconds in result.times.items()))
            record_scan(result, staging, {**job.parameters(), "genome": genome,
                                          "snapshot": snapshot, "writers": list(writers),
                                          "stats": stats},
                        command)
    return result


def _run_writer(name: str, write: Writer, plugin: bool, result: ScanResult,
                staging: Staging) -> None:
    try:
        write(result, staging)
    except Exception as exc:
        if not plugin or isinstance(exc, PopgenHubError):
            raise
        # someone else's code: name it, publish nothing
        raise PopgenHubError(f"writer {name!r} (a plugin) failed: "
                             f"{type(exc).__name__}: {exc}") from exc


def run_key(job: ScanJob) -> str:
    """The fingerprint of a scan, which names its staging folder. A resumed scan must share
    with the interrupted one every file the reader reads and its settings, the sample table,
    the model, how windows are cut into pieces, and the parameters (``workers``, the count the
    pieces are planned for, is the cluster's threads with a scheduler, whose address is left
    out: a scan resumed elsewhere reuses the pieces of the same plan)."""
    model = job.model
    files, settings = input_identity(job.reader)
    return fingerprint([*files, *([job.samples] if job.samples else [])],
                       command="scan", reader=settings, model=str(model.path.resolve()),
                       model_sha256=model_sha256(model.path, model.contract),
                       provider=model.provider, selection=asdict(job.selection),
                       piece_windows=PIECE_WINDOWS, **job.parameters())


class PieceFiles:
    """Finished pieces of a scan, one ``.npz`` each in the run's staging folder, so that a
    resumed scan scores only the pieces left (a :class:`~popgen_hub.scoring.PieceStore`)."""

    def __init__(self, folder: Path, reader: Reader) -> None:
        self.folder, self.reader = folder, reader
        folder.mkdir(exist_ok=True)

    def path(self, index: int) -> Path:
        return self.folder / f"piece-{index:06d}.npz"

    def save(self, index: int, windows: np.ndarray, stats: ReadStats) -> None:
        counts = json.dumps({"kept": stats.kept, "skipped": dict(stats.skipped),
                             "read_bases": stats.read_bases, "sample_bp": stats.sample_bp})
        with atomic_files(self.path(index)) as (tmp,), open(tmp, "wb") as handle:
            np.savez(handle, windows=windows, stats=np.array(counts))

    def load(self, index: int) -> tuple[np.ndarray, ReadStats] | None:
        """A piece an interrupted run finished (None: not there, or unreadable: score it
        again)."""
        path = self.path(index)
        if not path.is_file():
            return None
        stats = self.reader.new_stats()
        try:
            with np.load(path) as data:
                windows, counts = data["windows"], json.loads(str(data["stats"]))
            if "statistics" not in (windows.dtype.names or ()):
                raise KeyError("windows without their statistics")
            stats.kept, stats.read_bases, stats.sample_bp = (
                counts["kept"], counts["read_bases"], counts["sample_bp"])
            stats.skipped.update(counts["skipped"])
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:  # e.g. an older piece
            log.debug("scoring %s again: %s", path.name, exc)
            return None
        return windows, stats
