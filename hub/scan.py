"""Scan a VCF/BCF with a model: read -> window -> encode -> run -> write tracks.

Windows are ``window`` bp long and start every ``step`` bp from the region start (for a whole
contig, from its first record rounded down to a multiple of ``step``); the last window is the
first that reaches the region's end. Each window is encoded exactly as in training, by the
encoder the model's contract describes, and scored in batches by onnxruntime.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from . import __version__
from .contract import HAPLOTYPE_RULES, ModelContract
from .encoders import single_threaded_blas
from .encoders.inputs import stack_windows
from .encoders.temporal_stack import MISSING_RULE
from .errors import PopgenHubError
from .outputs import Staging, staged_outputs
from .plugins import load_plugins
from .readers import open_reader
from .readers.samples import read_sample_table
from .readers.vcf import ReadStats, Region, SiteBlock, VcfReader
from .runtime import OnnxModel
from .writers import (
    render_snapshot,
    write_bigwigs,
    write_chrom_sizes,
    write_igv_batch,
    write_window_table,
)
from .writers.igv import snapshot_tools

CHROM_SIZES = "scan.chrom.sizes"
IGV_BATCH = "igv_batch.txt"
SNAPSHOT = "igv_snapshot.png"


def window_dtype(n_classes: int) -> np.dtype:
    return np.dtype([("contig", np.int32), ("start", np.int64), ("end", np.int64),
                     ("bin_start", np.int64), ("bin_end", np.int64), ("n_sites", np.int32),
                     ("n_informative", np.int32), ("probabilities", np.float32, (n_classes,))])


def window_starts(region: Region, window: int, step: int) -> range:
    """Starts of the windows of a region: every ``step`` bp from its start, up to and including
    the first window that reaches its end."""
    count = 1 + max(0, math.ceil((region.end - region.start - window) / step))
    return range(region.start, region.start + count * step, step)


def split_starts(starts: range, parts: int) -> list[range]:
    """``starts`` cut into at most ``parts`` runs of consecutive windows."""
    per = math.ceil(len(starts) / max(1, min(parts, len(starts))))
    return [starts[i:i + per] for i in range(0, len(starts), per)]


def iter_windows(blocks: Iterable[SiteBlock], starts: range, window: int
                 ) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Yield ``(start, positions, haplotypes)`` for each window start, ``haplotypes`` as
    sites x haplotypes; ``blocks`` must hold the sites of ``[starts[0], starts[-1] + window)``.

    Streams: only the sites of the windows in progress are held in memory.
    """
    blocks = iter(blocks)
    positions = np.empty(0, dtype=np.int64)
    matrix = np.empty((0, 0), dtype=np.int8)
    more = True
    for start in starts:
        end = start + window
        while more and (len(positions) == 0 or positions[-1] < end):
            block = next(blocks, None)
            if block is None:
                more = False
            else:
                positions = np.concatenate([positions, block.positions])
                matrix = (block.haplotypes if matrix.shape[1] == 0 else
                          np.concatenate([matrix, block.haplotypes]))
        first, stop = np.searchsorted(positions, start), np.searchsorted(positions, end)
        yield start, positions[first:stop], matrix[first:stop]
        positions, matrix = positions[first:], matrix[first:]


def choose_haplotypes(columns: list[tuple[str, int]], contract: ModelContract, seed: int,
                      source: str) -> list[tuple[str, int]]:
    """Apply the contract's haplotype rule (see :data:`popgen_hub.contract.HAPLOTYPE_RULES`)."""
    required = contract.input.n_haplotypes
    if len(columns) < required:
        raise PopgenHubError(
            f"{source} has {len(columns)} haplotypes but {contract.name} needs at least "
            f"{required}; {HAPLOTYPE_RULES[contract.input.haplotype_rule]}")
    if len(columns) == required:
        return columns
    chosen = np.sort(np.random.default_rng(seed).choice(len(columns), required, replace=False))
    return [columns[i] for i in chosen]


def choose_time_groups(reader: VcfReader, encoder: Any, ages: dict[str, float], seed: int,
                       table: str) -> tuple[list[tuple[str, int]], list[str], str]:
    """Haplotypes for a temporal model, grouped as its encoder reads them (present-day, then
    each ancient bin youngest first), the ancient (pseudo-haploid) samples, and a summary.

    Rule: a present-day sample (age 0) gives all its haplotypes (phased); an ancient sample
    gives one (its first allele; a heterozygous call is missing), as pseudo-haploid ancient
    DNA calls are. Each group is a seeded random subset of the size the model needs.
    """
    absent = [sample for sample in ages if sample not in reader.samples]
    if absent:
        raise PopgenHubError(
            f"{table} names {len(absent)} sample(s) that {reader.path.name} lacks "
            f"({', '.join(absent[:5])}{', ...' if len(absent) > 5 else ''}); remove them from "
            f"the table or use the VCF they were called in")
    outside = [f"{sample} ({age:g} y)" for sample, age in ages.items()
               if age > 0 and encoder.bin_of(age) is None]
    if outside:
        raise PopgenHubError(
            f"{table}: {len(outside)} sample(s) are older or younger than every time bin of the "
            f"model ({', '.join(encoder.bin_names())} years, or 0 for present-day): "
            f"{', '.join(outside[:5])}{', ...' if len(outside) > 5 else ''}; drop them from "
            f"the table")
    ploidy = dict(zip(reader.samples, reader.ploidies, strict=True))
    groups: list[list[tuple[str, int]]] = [[] for _ in encoder.group_sizes]
    for sample in reader.samples:  # VCF order, so a seed picks the same subset every time
        if sample not in ages:
            continue
        age = ages[sample]
        if age == 0:
            groups[0] += [(sample, slot) for slot in range(int(ploidy[sample]))]
        else:
            groups[encoder.bin_of(age) + 1].append((sample, 0))
    rng = np.random.default_rng(seed)
    chosen, notes = [], []
    names = ["present-day"] + [f"{name} y" for name in encoder.bin_names()]
    for index, (group, need, name) in enumerate(zip(groups, encoder.group_sizes, names,
                                                     strict=True)):
        unit = "haplotypes" if index == 0 else "samples"
        if len(group) < need:
            what = ("phased haplotypes of samples aged 0" if index == 0 else
                    "one haplotype per ancient sample")
            raise PopgenHubError(
                f"{table}: the {name} time bin has {len(group)} {unit} in {reader.path.name}, "
                f"the model needs {need} ({what}); add samples of that age or choose a model "
                f"with other time bins")
        picked = np.sort(rng.choice(len(group), need, replace=False))
        chosen += [group[i] for i in picked]
        notes.append(f"{name}: {need} of {len(group)} {unit}")
    ancient = [sample for sample, _ in chosen[encoder.group_sizes[0]:]]
    return chosen, ancient, "; ".join(notes)


@dataclass
class ScanResult:
    """Everything a scan produced, with the provenance every output carries."""

    contract: ModelContract
    vcf: Path
    regions: list[Region]
    window: int
    step: int
    seed: int
    n_available_haplotypes: int
    haplotypes: list[tuple[str, int]]
    provider: str
    contig_lengths: dict[str, int | None]
    windows: np.ndarray
    stats: ReadStats
    outputs: dict[str, Path] = field(default_factory=dict)
    #: temporal models: the haplotypes used per time bin, and the rules applied
    time_bins: str = ""

    @property
    def contigs(self) -> list[str]:
        """Contig names; ``windows["contig"]`` indexes this list."""
        return [region.contig for region in self.regions]

    def chrom_sizes(self) -> dict[str, int]:
        """Lengths for the track headers: from the VCF header, else the last bin's end."""
        sizes = {}
        for index, contig in enumerate(self.contigs):
            rows = self.windows[self.windows["contig"] == index]
            furthest = int(max(rows["bin_end"].max(), rows["end"].max())) if len(rows) else 1
            sizes[contig] = self.contig_lengths.get(contig) or furthest
        return sizes

    def scored(self) -> np.ndarray:
        return self.windows[~np.isnan(self.windows["probabilities"][:, 0])]

    def log_odds(self, windows: np.ndarray, label: str) -> np.ndarray:
        """log P(label) / P(null class) of scored windows.

        Probabilities near 1 saturate in float32 while the null class's stays resolvable
        (e.g. 1e-9), so windows are ranked by log-odds, not by probability.
        """
        probabilities = np.maximum(windows["probabilities"].astype(np.float64), 1e-300)
        column = self.contract.labels.index(label)
        return np.log(probabilities[:, column]) - np.log(probabilities[:, 0])

    def ranked(self, label: str | None = None) -> np.ndarray:
        """Scored windows, most likely ``label`` (default: the first track label) first."""
        scored = self.scored()
        odds = self.log_odds(scored, label or self.contract.track_labels[0])
        return scored[np.argsort(-odds, kind="stable")]

    def top_window(self) -> np.void:
        return self.ranked()[0]

    def header(self) -> dict[str, Any]:
        c = self.contract
        return {
            "popgen-hub": __version__,
            "model": f"{c.name} (revision {c.revision}, sha256 {c.weights.get('sha256', 'n/a')})",
            "labels": ", ".join(c.labels),
            "input": str(self.vcf.resolve()),
            "regions": ", ".join(map(str, self.regions)),
            "coordinates": "0-based half-open; the BigWig holds each window's score on "
                           "[bin_start, bin_end)",
            "window_bp": self.window,
            "step_bp": self.step,
            "haplotypes": (f"{len(self.haplotypes)}, by time bin (see time_bins)"
                           if self.time_bins else
                           f"{len(self.haplotypes)} of {self.n_available_haplotypes} "
                           f"(rule {c.input.haplotype_rule}, seed {self.seed})"),
            **({"time_bins": self.time_bins} if self.time_bins else {}),
            "encoder": c.encoder,
            "min_informative_sites": c.input.min_sites,
            "sites": asdict(self.stats),
            "execution_provider": self.provider,
        }


def scan_vcf(model: OnnxModel, vcf: str | os.PathLike, out_dir: str | os.PathLike, *,
             region: str | None = None, window: int | None = None, step: int | None = None,
             seed: int = 0, batch_size: int = 32, workers: int = 1, genome: str | None = None,
             snapshot: bool = False, writers: Sequence[str] = (),
             samples: str | os.PathLike | None = None, sample_column: str = "sample",
             age_column: str = "age_years", progress: bool = True) -> ScanResult:
    """Scan ``vcf`` and write BigWig track(s), a window table, chrom.sizes and an IGV batch.

    ``workers`` processes share the windows (each runs its own reader and onnxruntime session
    on one thread); the windows are the same for any number, the probabilities equal up to
    float rounding (onnxruntime may add in another order on another thread count).
    ``genome`` goes into the IGV batch script (``hg38``, a FASTA or chrom.sizes path); by
    default the chrom.sizes written beside the tracks, which works offline. ``snapshot`` also
    renders the batch script's view with IGV desktop to ``igv_snapshot.png``. ``writers``
    names extra track writers from plugins, each called as ``write(result, staging)``.
    A temporal model (present-day and ancient inputs) needs ``samples``, a table of the
    samples' ages (see :mod:`popgen_hub.readers.samples` and :func:`choose_time_groups`).
    """
    contract = model.contract
    window = window or contract.input.window_bp
    step = step or max(window // 8, 1)
    if window < 1 or step < 1:
        raise PopgenHubError("--window-size and --step must be positive")
    if step > window:
        raise PopgenHubError(f"--step {step} is larger than --window-size {window}: windows "
                             f"would leave gaps; use a step of at most the window size")
    if batch_size < 1 or workers < 1:
        raise PopgenHubError("--batch-size and --workers must be positive")
    if snapshot:
        snapshot_tools()  # fail before the work, not after
    extra_writers = _plugin_writers(writers)
    out_dir = Path(out_dir)
    reader = open_reader(vcf)
    regions = ([reader.region(region, grid=step)] if region else
               [reader.contig_region(c, grid=step) for c in reader.contigs_with_records()])
    if not regions:
        raise PopgenHubError(f"{reader.path} has no variant records")
    columns = reader.haplotype_columns()
    ancient: list[str] = []
    time_bins = ""
    if hasattr(model.encoder, "group_sizes"):
        if samples is None:
            raise PopgenHubError(
                f"{contract.name} reads present-day and ancient haplotypes: give --samples, a "
                f"table of the samples' ages in years (0 = present-day)")
        ages = read_sample_table(samples, sample_column, age_column)
        haplotypes, ancient, notes = choose_time_groups(reader, model.encoder, ages, seed,
                                                        Path(samples).name)
        time_bins = f"{notes} (seed {seed}); ancient samples give one haplotype each " \
                    f"(heterozygous calls missing); missing calls: {MISSING_RULE}"
    elif samples is not None:
        raise PopgenHubError(f"--samples is for temporal models; {contract.name} reads "
                             f"present-day haplotypes only")
    else:
        haplotypes = choose_haplotypes(columns, contract, seed, reader.path.name)
    with staged_outputs(out_dir) as staging:
        windows, stats = _score_regions(model, reader, regions, haplotypes, ancient, window,
                                        step, batch_size, workers, progress)
        result = ScanResult(contract=contract, vcf=reader.path, regions=regions, window=window,
                            step=step, seed=seed, n_available_haplotypes=len(columns),
                            haplotypes=haplotypes, provider=model.provider,
                            contig_lengths=reader.contig_lengths, windows=windows, stats=stats,
                            time_bins=time_bins)
        if not len(result.scored()):
            where = ", ".join(map(str, regions))
            if stats.kept_biallelic_snps == 0:
                raise PopgenHubError(
                    f"no biallelic SNPs in {where} of {reader.path.name}; check the region and "
                    f"that the file holds SNP genotypes")
            raise PopgenHubError(
                f"no window in {where} of {reader.path.name} has the {contract.input.min_sites} "
                f"informative sites {contract.name} needs ({stats.kept_biallelic_snps} SNPs kept)")
        tracks = {label: f"{contract.name}.{label}.bw" for label in contract.track_labels}
        write_bigwigs(result, {label: staging.path(name) for label, name in tracks.items()})
        write_window_table(result, staging.path(f"{contract.name}.windows.tsv"))
        # IGV recognises a chrom.sizes genome by the ".chrom.sizes" ending.
        write_chrom_sizes(result, staging.path(CHROM_SIZES))
        write_igv_batch(result, staging.path(IGV_BATCH),
                        genome=genome or str(staging.final(CHROM_SIZES)),
                        tracks={label: staging.final(name) for label, name in tracks.items()})
        if snapshot:  # the same view, of the staged files, rendered before anything is published
            staged_batch = staging.dir / "snapshot_batch.txt"
            write_igv_batch(result, staged_batch, genome=str(staging.dir / CHROM_SIZES),
                            tracks={label: staging.dir / name for label, name in tracks.items()})
            render_snapshot(staged_batch, staging.path(SNAPSHOT),
                            genome=staging.dir / CHROM_SIZES)
        else:
            staging.obsolete.append(SNAPSHOT)
        for name, write in extra_writers.items():
            try:
                write(result, staging)
            except PopgenHubError:
                raise
            except Exception as exc:  # someone else's code: name it, publish nothing
                raise PopgenHubError(f"writer {name!r} (a plugin) failed: "
                                     f"{type(exc).__name__}: {exc}") from exc
        result.outputs = {name: staging.final(name) for name in staging.names}
    return result


def _plugin_writers(names: Sequence[str]) -> dict[str, Callable[[ScanResult, Staging], None]]:
    if not names:
        return {}
    available = load_plugins("writers", {})
    unknown = [name for name in names if name not in available]
    if unknown:
        raise PopgenHubError(
            f"unknown writer {', '.join(map(repr, unknown))}; installed writers: "
            f"{', '.join(available) or 'none'} (writers come from plugins: `popgen-hub plugins`)")
    return {name: available[name] for name in names}


def _score_regions(model: OnnxModel, reader: VcfReader, regions: list[Region],
                   haplotypes: list[tuple[str, int]], ancient: list[str], window: int,
                   step: int, batch_size: int, workers: int, progress: bool
                   ) -> tuple[np.ndarray, ReadStats]:
    """Windows of every region (see :func:`window_dtype`) and what reading skipped."""
    # A few pieces per worker keep all of them busy to the end; one piece when working alone.
    # Pieces read overlapping stretches; each counts the records before the next one's start.
    pieces = []
    for index, region in enumerate(regions):
        runs = split_starts(window_starts(region, window, step), 4 * workers if workers > 1 else 1)
        owned_ends = [run[0] for run in runs[1:]] + [None]
        pieces += [(index, region.contig, run, end) for run, end in zip(runs, owned_ends,
                                                                        strict=True)]
    bar = tqdm(total=sum(len(run) for _, _, run, _ in pieces), desc="scanning", unit="win",
               disable=not progress)
    results = []
    try:
        if workers == 1:
            for index, contig, run, owned_end in pieces:
                results.append((index, *_score_piece(model, reader, contig, run, owned_end,
                                                     haplotypes, ancient, window, batch_size,
                                                     bar)))
        else:
            # forkserver: forking this process would copy onnxruntime's threads (and a CUDA
            # context) into the workers
            with ProcessPoolExecutor(workers, mp_context=get_context("forkserver"),
                                     initializer=_start_worker, initargs=(
                                         model.path, model.contract, model.device,
                                         reader.path)) as pool:
                jobs = [pool.submit(_score_piece_in_worker, contig, run, owned_end, haplotypes,
                                    ancient, window, batch_size)
                        for _, contig, run, owned_end in pieces]
                try:
                    for (index, _, run, _), job in zip(pieces, jobs, strict=True):
                        results.append((index, *job.result()))
                        bar.update(len(run))
                except BaseException:
                    pool.shutdown(cancel_futures=True)  # report an error now, not at the end
                    raise
    finally:
        bar.close()
    stats = ReadStats()
    for index, windows, piece_stats in results:
        windows["contig"] = index
        stats.add(piece_stats)
    return np.concatenate([windows for _, windows, _ in results]), stats


_WORKER: dict[str, Any] = {}


def _start_worker(onnx_path: Path, contract: ModelContract, device: str, vcf: Path) -> None:
    _WORKER["model"] = OnnxModel(onnx_path, contract, device=device, threads=1)
    _WORKER["reader"] = open_reader(vcf)


def _score_piece_in_worker(contig: str, starts: range, owned_end: int | None,
                           haplotypes: list[tuple[str, int]], ancient: list[str], window: int,
                           batch_size: int) -> tuple[np.ndarray, ReadStats]:
    return _score_piece(_WORKER["model"], _WORKER["reader"], contig, starts, owned_end,
                        haplotypes, ancient, window, batch_size, None)


def _score_piece(model: OnnxModel, reader: VcfReader, contig: str, starts: range,
                 owned_end: int | None, haplotypes: list[tuple[str, int]], ancient: list[str],
                 window: int, batch_size: int, bar: tqdm | None
                 ) -> tuple[np.ndarray, ReadStats]:
    """Read, encode and score the windows starting at ``starts``, in batches.

    Each window is read in full, past the region's end where the contig goes on. Windows
    without sites are left out; windows with fewer informative sites than the contract's
    minimum are kept with NaN probabilities. Records before ``owned_end`` (default: all) are
    counted in the returned stats.
    """
    contract, encoder = model.contract, model.encoder
    length = reader.contig_lengths.get(contig)
    end = starts[-1] + window if length is None else min(starts[-1] + window, length)
    stats = ReadStats()
    no_score = np.full(len(contract.labels), np.nan, dtype=np.float32)
    rows: list[tuple] = []
    batch_rows: list[int] = []
    images: list[Any] = []
    probabilities: list[np.ndarray] = []
    scored: list[int] = []

    def flush() -> None:
        if images:
            probabilities.append(model.predict(stack_windows(images)))
            scored.extend(batch_rows)
            batch_rows.clear()
            images.clear()

    blocks = reader.blocks(Region(contig, starts[0], end), haplotypes,
                           phased=contract.input.phased, stats=stats, count_before=owned_end,
                           pseudo_haploid=ancient)
    with single_threaded_blas():
        for start, positions, matrix in iter_windows(blocks, starts, window):
            if bar is not None:
                bar.update(1)
            if len(positions) == 0:
                continue
            encoded = encoder.encode(matrix.T, positions, (start, start + window))
            bin_start = start + (window - starts.step) // 2
            rows.append((0, start, start + window, bin_start, bin_start + starts.step,
                         len(positions), encoded.n_sites, no_score))
            if encoded.n_sites >= contract.input.min_sites:
                batch_rows.append(len(rows) - 1)
                images.append(encoded.image)
                if len(images) == batch_size:
                    flush()
        flush()
    windows = np.array(rows, dtype=window_dtype(len(contract.labels)))
    if scored:
        windows["probabilities"][scored] = np.concatenate(probabilities)
    return windows, stats
