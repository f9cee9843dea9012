"""Classic statistics as companion tracks: ``popgen-hub stats`` and ``scan --stats``.

Each statistic ``STAT`` gives ``STAT.tsv`` (columns ``contig``, then ``start`` and ``end`` for
the window statistics or ``position`` for the site statistics, 0-based, then its values) and
one BigWig per value column (``COLUMN.bw``): a window's value on its central ``step`` bp, as the
scan's tracks; a site's value on ``[position, position + 1)``; NaN left out.

=========== ====== ====================================================================
statistic   rows   columns (:mod:`popgen_hub.stats`, :mod:`popgen_hub.stats.ehh`)
=========== ====== ====================================================================
pi          window ``pi``: nucleotide diversity per bp
theta_w     window ``theta_w``: Watterson's theta per bp
tajima_d    window ``tajima_d``
h12         window ``h12``: Garud's H12 (phased haplotypes)
ihh         site   ``ihh_ancestral``, ``ihh_derived`` (REF ancestral, ALT derived)
ihs         site   ``ihs`` standardised over every site read, by derived allele frequency
                   (so genome-wide only over a genome), ``ihs_unstandardised``
nsl         site   ``nsl`` standardised the same way, ``nsl_unstandardised``
xpehh       site   ``xpehh``: first population against the second (two needed)
rsb         site   ``rsb``: the same
=========== ====== ====================================================================

A contig's sites are held in memory at once (sites x haplotypes bytes) for the EHH statistics,
which follow haplotypes along the whole contig.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .errors import PopgenHubError
from .files import Staging
from .genotypes import GenotypeBlock, Region, Samples, concatenate
from .readers import Reader, SampleSelection, haplotype_columns, input_name
from .readers.samples import SampleTable
from .scoring import ScanJob, sample_table, window_bin, window_starts
from .scoring.selection import check_listed
from .stats import ehh, windowed
from .version import __version__
from .writers.tracks import number_text, write_bigwig

log = logging.getLogger("popgen_hub")

#: statistic -> its value columns
STATISTICS: dict[str, tuple[str, ...]] = {
    "pi": ("pi",), "theta_w": ("theta_w",), "tajima_d": ("tajima_d",), "h12": ("h12",),
    "ihh": ("ihh_ancestral", "ihh_derived"), "ihs": ("ihs", "ihs_unstandardised"),
    "nsl": ("nsl", "nsl_unstandardised"),
    "xpehh": ("xpehh",), "rsb": ("rsb",)}
#: the window statistics and the :func:`popgen_hub.stats.windowed` field of each column
WINDOWED = {"pi": "pi_per_bp", "theta_w": "theta_w_per_bp", "tajima_d": "tajimas_d",
            "h12": "h12"}
#: statistics of two populations
CROSS = ("xpehh", "rsb")
#: statistics that need phased haplotypes
PHASED = ("h12", "ihh", "ihs", "nsl", "xpehh", "rsb")
DEFAULT_WINDOW = 80_000
#: Windows read at once when no EHH statistic needs the whole contig (memory: their sites)
WINDOW_CHUNK = 256


@dataclass(frozen=True)
class StatisticsTable:
    """The rows of one statistic: ``starts``/``ends`` of windows, or ``starts`` of sites
    (``ends`` one past); ``columns`` its values."""

    name: str
    contigs: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    columns: dict[str, np.ndarray]
    by_site: bool
    window: int = 0  # the windows' length and step (their bins: scoring.window_bin)
    step: int = 0


def parse_statistics(text: str | Iterable[str], option: str = "--stats") -> list[str]:
    """``pi,ihs`` (or several such) to statistic names, each once; a one-line error naming
    ``option`` for an unknown one."""
    items = [text] if isinstance(text, str) else list(text)
    names = [name.strip() for item in items for name in item.split(",") if name.strip()]
    unknown = [name for name in names if name not in STATISTICS]
    if unknown or not names:
        raise PopgenHubError(f"{option} {','.join(unknown) or '(empty)'}: not a statistic; "
                             f"choose from {','.join(STATISTICS)}")
    return list(dict.fromkeys(names))


def populations_of(table: SampleTable | None, populations: Sequence[str], names: Sequence[str],
                   reader: Reader) -> list[tuple[str, list[str]]]:
    """(label, samples) of each population the statistics read: two for XP-EHH and Rsb (the
    others read the first), else one; the samples in the input's order."""
    need = 2 if any(name in CROSS for name in names) else 1
    if len(populations) > 2:
        raise PopgenHubError(f"--population is given {len(populations)} times; the statistics "
                             f"read one population, or two for {' and '.join(CROSS)}")
    if need == 2 and (table is None or len(populations) != 2):
        raise PopgenHubError(f"{' and '.join(n for n in names if n in CROSS)} compare two "
                             f"populations: give --samples TABLE and --population A "
                             f"--population B")
    if table is None:
        return [("all samples", list(reader.samples))]
    picked = [table.pick(name) for name in populations[:need]] if populations else [
        table.pick(None)]  # a table of several populations needs one named
    groups = []
    for group in picked:
        check_listed(reader, group)
        wanted = set(group.samples)
        groups.append((group.describe(), [s for s in reader.samples if s in wanted]))
    return groups


def compute_statistics(reader: Reader, names: Sequence[str], regions: Sequence[Region], *,
                       groups: Sequence[tuple[str, list[str]]], window: int = DEFAULT_WINDOW,
                       step: int | None = None, progress: bool = True, to_ends: bool = False
                       ) -> list[StatisticsTable]:
    """The tables of ``names`` over ``regions`` of ``reader`` for the samples of ``groups``
    (:func:`populations_of`): a contig at a time for the EHH statistics, else
    :data:`WINDOW_CHUNK` windows at a time. ``to_ends``: see
    :func:`~popgen_hub.stats.ehh.ehh_scan`."""
    step = step or window
    selection, members = _selection(reader, names, groups)
    windows: dict[str, list[np.ndarray]] = {}
    scans: list[list[ehh.EhhScan]] = [[] for _ in groups]
    sites: list[tuple[str, np.ndarray]] = []
    bar = tqdm(total=None, desc="statistics", unit="site", disable=not progress)
    try:
        for region in regions:
            starts = np.array(window_starts(region, window, step))
            # the last window may run past the region, whose sites alone are read: per-bp
            # statistics divide by the part read
            spans = np.minimum(starts + window, region.end) - starts
            if not _needs_ehh(names):  # windows alone: a chunk of them at a time
                for first in range(0, len(starts), WINDOW_CHUNK):
                    chunk = slice(first, first + WINDOW_CHUNK)
                    part = Region(region.contig, int(starts[chunk][0]),
                                  min(int(starts[chunk][-1]) + window, region.end))
                    block = _read(reader, part, selection).take_columns(members[0])
                    windows.setdefault(region.contig, []).append(
                        windowed(block, starts[chunk], spans[chunk]))
                    bar.update(block.n_sites)
                continue
            block = _read(reader, region, selection)
            if any(name in WINDOWED for name in names):
                windows.setdefault(region.contig, []).append(
                    windowed(block.take_columns(members[0]), starts, spans))
            sites.append((region.contig, block.positions))
            for group, index in zip(scans, members, strict=True):
                group.append(ehh.ehh_scan(block.values[:, index], block.positions,
                                          tick=bar.update, to_ends=to_ends))  # 2 passes
    finally:
        bar.close()
    return [*_window_tables(names, windows, window, step), *_site_tables(names, sites, scans)]


def _selection(reader: Reader, names: Sequence[str], groups: Sequence[tuple[str, list[str]]]
               ) -> tuple[SampleSelection, list[np.ndarray]]:
    """What to read for ``names``: every sample of ``groups``, as phased haplotypes when a
    statistic needs them; and each group's columns of the blocks read."""
    phased = any(name in PHASED for name in names)
    if phased and "haplotypes" not in reader.kinds:
        raise PopgenHubError(
            f"{', '.join(n for n in names if n in PHASED)} need phased haplotypes, and "
            f"{input_name(reader)} gives {', '.join(reader.kinds)}; give a phased VCF, or ask "
            f"only for {', '.join(n for n in WINDOWED if n not in PHASED)}")
    columns = [(sample, slot) for sample, slot in haplotype_columns(reader)
               if any(sample in samples for _, samples in groups)]
    kind = "haplotypes" if phased else next(k for k in ("genotypes", "likelihoods", "haplotypes")
                                            if k in reader.kinds)
    selection = SampleSelection(tuple(columns), phased=phased, kind=kind)
    # each group's columns of the blocks read: haplotypes, or samples (unphased)
    units = [sample for sample, _ in columns] if kind == "haplotypes" else selection.samples
    return selection, [np.array([i for i, sample in enumerate(units) if sample in set(samples)])
                       for _, samples in groups]


def _read(reader: Reader, region: Region, selection: SampleSelection) -> GenotypeBlock:
    return concatenate(list(reader.blocks(region, selection, stats=reader.new_stats())),
                       like=_empty(selection, reader))


def _needs_ehh(names: Sequence[str]) -> bool:
    return any(name not in WINDOWED for name in names)


def _empty(selection: SampleSelection, reader: Reader) -> GenotypeBlock:
    """A block of no sites shaped like those the selection reads (a region without sites)."""
    ploidy = dict(zip(reader.samples, reader.ploidies, strict=True))
    samples = Samples(tuple(selection.samples), tuple(int(ploidy[s]) for s in selection.samples))
    if selection.kind == "haplotypes":
        return GenotypeBlock.from_haplotypes(np.zeros((len(selection.columns), 0), np.int8),
                                             np.zeros(0, np.int64), samples)
    if selection.kind == "genotypes":
        return GenotypeBlock(np.zeros(0, np.int64), np.zeros((0, len(samples)), np.int8),
                             "genotypes", samples)
    return GenotypeBlock(np.zeros(0, np.int64), np.zeros((0, len(samples), max(ploidy.values())
                                                          + 1), np.float32),
                         "likelihoods", samples, likelihood_scale="log10")


def _window_tables(names: Sequence[str], windows: dict[str, list[np.ndarray]],
                   window: int, step: int) -> list[StatisticsTable]:
    rows = [(contig, part) for contig, parts in windows.items() for part in parts]
    if not rows:
        return []
    contigs = np.concatenate([np.full(len(part), contig, dtype=object) for contig, part in rows])
    table = np.concatenate([part for _, part in rows])
    return [StatisticsTable(name, contigs, table["start"], table["end"],
                            {name: table[WINDOWED[name]]}, by_site=False, window=window,
                            step=step)
            for name in names if name in WINDOWED]


def _site_tables(names: Sequence[str], sites: list[tuple[str, np.ndarray]],
                 scans: list[list[ehh.EhhScan]]) -> list[StatisticsTable]:
    if not sites:
        return []
    contigs = np.concatenate([np.full(len(p), contig, dtype=object) for contig, p in sites])
    positions = np.concatenate([p for _, p in sites]).astype(np.int64)
    first, *second = [ehh.EhhScan(*(np.concatenate([getattr(s, f.name) for s in group])
                                    for f in fields(ehh.EhhScan))) for group in scans]
    values = {"ihh": lambda: {"ihh_ancestral": first.ihh_ancestral,
                              "ihh_derived": first.ihh_derived},
              "ihs": lambda: {"ihs": ehh.ihs(first),
                              "ihs_unstandardised": ehh.unstandardised_ihs(first)},
              "nsl": lambda: {"nsl": ehh.nsl(first),
                              "nsl_unstandardised": ehh.unstandardised_nsl(first)},
              "xpehh": lambda: {"xpehh": ehh.xpehh(first, second[0])},
              "rsb": lambda: {"rsb": ehh.rsb(first, second[0])}}
    return [StatisticsTable(name, contigs, positions, positions + 1, values[name](),
                            by_site=True) for name in names if name in values]


def statistics_files(names: Iterable[str]) -> list[str]:
    """The files the statistics ``names`` write."""
    return [file for name in names
            for file in (f"{name}.tsv", *(f"{column}.bw" for column in STATISTICS[name]))]


def write_statistics(tables: Sequence[StatisticsTable], staging: Staging,
                     lengths: dict[str, int], header: dict[str, str]) -> dict[str, str]:
    """``STAT.tsv`` and a BigWig per value column of each table into ``staging``; returns
    value column -> its BigWig's name."""
    bigwigs = {}
    for table in tables:
        _write_table(table, staging, header)
        for column, values in table.columns.items():
            bigwigs[column] = f"{column}.bw"
            _write_bigwig(table, values, staging.path(bigwigs[column]), lengths)
    return bigwigs


def _write_table(table: StatisticsTable, staging: Staging, header: dict[str, str]) -> None:
    coordinates = ["position"] if table.by_site else ["start", "end"]
    with open(staging.path(f"{table.name}.tsv"), "w") as out:
        for key, value in {"popgen-hub": __version__, **header,
                           "coordinates": "0-based" + ("" if table.by_site else
                                                       ", half-open windows")}.items():
            out.write(f"# {key}: {value}\n")
        out.write("\t".join(["contig", *coordinates, *table.columns]) + "\n")
        values = np.column_stack(list(table.columns.values()))
        for i, contig in enumerate(table.contigs):
            where = [table.starts[i]] if table.by_site else [table.starts[i], table.ends[i]]
            out.write("\t".join([contig, *map(str, where), *map(
                number_text, values[i])]) + "\n")


def _write_bigwig(table: StatisticsTable, values: np.ndarray, path, lengths: dict[str, int]
                  ) -> None:
    contigs = list(dict.fromkeys(table.contigs))

    def intervals(contig: str) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
        rows = (table.contigs == contig) & np.isfinite(values)
        starts, ends = table.starts[rows], table.ends[rows]
        if not table.by_site:  # each window on its central step, as the scan's
            starts, ends = window_bin(starts, table.window, table.step)
        return contig, starts, ends, values[rows]

    write_bigwig(path, {contig: lengths[contig] for contig in contigs}, map(intervals, contigs))


def contig_lengths(reader: Reader, tables: Sequence[StatisticsTable]) -> dict[str, int]:
    """Each contig's length from the input's header, else one past its last row."""
    lengths = {}
    for table in tables:
        for contig in dict.fromkeys(table.contigs):
            last = int(table.ends[table.contigs == contig].max())
            lengths[contig] = reader.contig_lengths.get(contig) or max(
                lengths.get(contig, 0), last)
    return lengths


def scan_statistics(names: Iterable[str]) -> list[str]:
    """The statistics of ``scan --stats``, checked before the scan: one population, so
    neither XP-EHH nor Rsb."""
    names = parse_statistics(names)
    cross = [name for name in names if name in CROSS]
    if cross:
        raise PopgenHubError(
            f"scan --stats {','.join(cross)}: these compare two populations and a scan reads "
            f"one; run `popgen-hub stats --samples TABLE --population A --population B --stat "
            f"{','.join(cross)} -o OUTDIR` and load its BigWigs beside the scan's tracks")
    return names


def write_scan_statistics(job: ScanJob, staging: Staging, names: Sequence[str],
                          options: dict[str, Any]) -> dict[str, str]:
    """The statistics ``names`` of the samples a scan read (its sample table and population,
    all of them: not only the model's subset) over its regions, windows and steps, into its
    staging folder; returns value column -> its BigWig's name."""
    table = sample_table(options.get("samples"), options.get("sample_column", "sample"),
                         options.get("age_column", "age_years"), options.get("population"),
                         options.get("population_column", "population"))
    groups = populations_of(table, [], names, job.reader)
    tables = compute_statistics(job.reader, names, job.regions, groups=groups,
                                window=job.window, step=job.step, progress=job.progress)
    header = {"model": job.model.contract.name, "input": input_name(job.reader, full=True),
              "regions": ", ".join(map(str, job.regions)), "populations": groups[0][0],
              "window_bp": str(job.window), "step_bp": str(job.step)}
    return write_statistics(tables, staging, contig_lengths(job.reader, tables), header)
