"""All scalar statistics over many windows of one contig at once.

Per-site quantities are computed once and summed per window by prefix sums, so windows may
overlap at no extra cost for the diversity statistics; haplotype homozygosity costs one pass
over each window's sites.
"""

from __future__ import annotations

import numpy as np

from ..genotypes import GenotypeBlock
from .diversity import diversity_windows
from .homozygosity import homozygosity_windows
from .sites import site_bounds, site_counts

#: The columns of :func:`windowed` and keys of :func:`window_statistics`, with their meaning.
FIELDS: dict[str, str] = {
    "start": "window start, 0-based, inclusive",
    "end": "window end, exclusive",
    "n_sites": "sites in the window",
    "called_alleles": "mean called alleles per site (NaN without sites)",
    "pi": "nucleotide diversity, summed over the window's sites",
    "pi_per_bp": "pi / (end - start)",
    "theta_w": "Watterson's theta, summed over the window's sites",
    "theta_w_per_bp": "theta_w / (end - start)",
    "segregating_sites": "segregating sites (likelihoods: expected)",
    "tajimas_d": "Tajima's D (NaN without segregating sites)",
    "h1": "haplotype homozygosity H1 (genotypes: G1; likelihoods: NaN)",
    "h12": "H12 (genotypes: G12; likelihoods: NaN)",
    "h123": "H123 (genotypes: G123; likelihoods: NaN)",
    "h2_h1": "H2/H1 (genotypes: G2/G1; likelihoods: NaN)",
    "h_n": "haplotypes (genotypes: samples) called at every site, behind the H statistics "
           "(0 without sites)",
}
_INTEGER_FIELDS = ("start", "end", "n_sites", "h_n")
DTYPE = np.dtype([(name, np.int64 if name in _INTEGER_FIELDS else np.float64)
                  for name in FIELDS])


def windowed(block: GenotypeBlock, starts: np.ndarray | list[int],
             window: int | np.ndarray) -> np.ndarray:
    """A structured array (:data:`DTYPE`, one row per window) of the :data:`FIELDS` of the
    windows ``[starts, starts + window)`` over ``block``, whose sites must be sorted (one
    contig)."""
    starts = np.asarray(starts, dtype=np.int64)
    ends = starts + np.asarray(window, dtype=np.int64)
    lo, hi = site_bounds(block.positions, starts, ends)
    first, last = (int(lo.min()), int(hi.max())) if len(lo) else (0, 0)
    sites = block.take_sites(slice(first, last))
    lo, hi = lo - first, hi - first
    columns = {"start": starts, "end": ends, "n_sites": hi - lo,
               **diversity_windows(site_counts(sites), lo, hi, ends - starts)}
    if block.kind == "likelihoods":
        columns |= {name: np.full(len(starts), np.nan) for name in ("h1", "h12", "h123", "h2_h1")}
        columns["h_n"] = np.zeros(len(starts), dtype=np.int64)
    else:
        homozygosity = homozygosity_windows(sites, lo, hi)
        columns |= {"h_n": homozygosity.pop("n"), **homozygosity}
    table = np.empty(len(starts), dtype=DTYPE)
    for name in FIELDS:
        table[name] = columns[name]
    return table


def window_statistics(block: GenotypeBlock, start: int, end: int) -> dict[str, float]:
    """The :data:`FIELDS` of the window ``[start, end)`` as a dict (integers for the counts)."""
    row = windowed(block, [start], end - start)[0]
    return dict(zip(FIELDS, row.tolist(), strict=True))  # Python ints and floats, as .item()

