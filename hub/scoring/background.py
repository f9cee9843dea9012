"""Windows sampled evenly over a scan's regions, and from them the genome's background of a
model that reads one (the ``genome_statistics`` encoder,
:mod:`popgen_hub.encoders.genome_statistics`)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np

from ..contract import ModelContract
from ..encoders import EncodedWindow, Encoder
from ..encoders.genome_statistics import background, background_tensor
from ..errors import PopgenHubError
from ..genotypes import GenotypeBlock, ReadStats, Region
from ..ood import as_seen
from ..readers import Reader, SampleSelection, input_name
from .windows import iter_windows, window_starts

log = logging.getLogger("popgen_hub")

#: windows sampled to measure a genome's background, and the least that must have enough sites
BACKGROUND_WINDOWS = 100
MIN_BACKGROUND_WINDOWS = 10


def sample_starts(regions: list[Region], window: int, n: int) -> list[tuple[str, int]]:
    """``n`` window starts (or all, when fewer) evenly spread over the regions' windows."""
    starts = [(r.contig, s) for r in regions for s in window_starts(r, window, window)]
    picked = np.unique(np.linspace(0, len(starts) - 1, min(n, len(starts))).astype(int))
    return [starts[i] for i in picked]


def sampled_window(reader: Reader, selection: SampleSelection, encoder: Encoder, contig: str,
                   start: int, window: int, stats: ReadStats
                   ) -> tuple[int, GenotypeBlock, EncodedWindow] | None:
    """``(end, sites, encoded)`` of the window at ``start``, read and encoded as a scan reads
    and encodes it (``end``: where the window or its contig ends), or None without sites;
    what reading it kept and skipped is added to ``stats``."""
    end = min(start + window, reader.contig_lengths.get(contig) or start + window)
    reading = reader.blocks(Region(contig, start, end), selection, stats=stats)
    _, block = next(iter_windows(reading, range(start, start + 1), window))
    if block is None or not block.n_sites:
        return None
    seen = as_seen(encoder, block)  # models of individuals: grouped once
    return end, seen, encoder.encode(seen, (start, start + window))


def sampled_windows(reader: Reader, regions: list[Region], selection: SampleSelection,
                    encoder: Encoder, window: int, n: int, stats: ReadStats
                    ) -> Iterator[tuple[int, int, GenotypeBlock, EncodedWindow]]:
    """``(start, end, sites, encoded)`` of up to ``n`` windows evenly spread over the regions
    (:func:`sample_starts`) that hold sites (:func:`sampled_window`)."""
    for contig, start in sample_starts(regions, window, n):
        found = sampled_window(reader, selection, encoder, contig, start, window, stats)
        if found is not None:
            yield start, *found


def genome_background(contract: ModelContract, encoder: Encoder, reader: Reader,
                      selection: SampleSelection, window: int) -> np.ndarray | None:
    """The background of the input's genome for a model that reads one (None for the
    others): the median statistics of :data:`BACKGROUND_WINDOWS` windows spread over every
    contig of the input (whatever region a scan scores), of those with the model's least
    informative sites. A contig or window that cannot be read (another ploidy, records past
    its length) is left out of it, and the log says how many were."""
    of = background_tensor(encoder)
    if of is None:
        return None
    least, stats = contract.input.min_sites, reader.new_stats()
    regions, problems = [], []
    for contig in reader.contigs_with_records():
        try:
            regions.append(reader.contig_region(contig, grid=window))
        except PopgenHubError as exc:
            problems.append(str(exc))
    encoded = []
    for contig, start in sample_starts(regions, window, BACKGROUND_WINDOWS):
        try:
            found = sampled_window(reader, selection, encoder, contig, start, window, stats)
        except PopgenHubError as exc:
            problems.append(str(exc))
            continue
        if found is not None and found[2].n_sites >= least:
            encoded.append(found[2].inputs[of])
    if problems:
        log.warning("%s: %d contigs or windows of %s left out of the genome's background (the "
                    "first: %s)", contract.name, len(problems), input_name(reader), problems[0])
    if len(encoded) < MIN_BACKGROUND_WINDOWS:
        raise PopgenHubError(
            f"{contract.name} compares each window with its genome's background, the median "
            f"of up to {BACKGROUND_WINDOWS} windows spread over the input; "
            f"{input_name(reader)} has {len(encoded)} such windows with {least} informative "
            f"sites, and it needs {MIN_BACKGROUND_WINDOWS}: give it an input of at least "
            f"{MIN_BACKGROUND_WINDOWS * window / 1e6:g} Mb with variants (a whole chromosome "
            f"is best)")
    log.info("%s: the genome's background is the median of %d windows spread over %s",
             contract.name, len(encoded), input_name(reader))
    return background(np.stack(encoded))
