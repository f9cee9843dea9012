"""Haplotype homozygosity: H1, H12, H123 and H2/H1 (Garud et al. 2015, PLoS Genet
11:e1005004).

With ``p_1 >= p_2 >= ...`` the frequencies of the distinct haplotypes of a window:
``H1 = sum p_i^2``; ``H12 = (p_1 + p_2)^2 + sum_{i>2} p_i^2`` (the two commonest pooled, which
catches soft sweeps); ``H123`` pools the three commonest; ``H2/H1 = (H1 - p_1^2) / H1`` (high
for soft, low for hard sweeps). The same definitions as scikit-allel's ``garud_h``.

* haplotypes: the distinct haplotypes are the columns' allele strings over the window.
* genotypes: unphased multilocus genotypes (MLGs), the columns' ALT-count strings, giving
  G1, G12, G123 and G2/G1 of Harris, Sackman & Jensen (2018, Genetics 210:1429).
* likelihoods: refused (:class:`~popgen_hub.errors.PopgenHubError`); distinct haplotypes need
  hard calls, and calling genotypes of low-coverage data makes most of them unique.

Missing data: only columns called at every site of the window count (complete cases);
``n`` says how many. A window without sites has ``n = 0`` and NaN statistics. Identical strings
are found by a 64-bit random-weighted hash per column and window (two distinct strings collide
with probability ~2^-63).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import PopgenHubError
from ..genotypes import GenotypeBlock
from .sites import CHUNK_VALUES, window_block

#: Seeds the random per-site hash weights (any fixed value: hashes are compared within a call).
HASH_SEED = 20150226


@dataclass(frozen=True)
class GarudH:
    """H statistics of one window; ``n`` columns (haplotypes or samples) were complete."""

    h1: float
    h12: float
    h123: float
    h2_h1: float
    n: int


def garud_h(block: GenotypeBlock, start: int | None = None, end: int | None = None) -> GarudH:
    """H1, H12, H123 and H2/H1 of the sites in ``[start, end)`` (module doc); all NaN when no
    column is complete."""
    window, _ = window_block(block, start, end)
    values = homozygosity_windows(window, np.array([0]), np.array([window.n_sites]))
    return GarudH(**{name: column[0].item() for name, column in values.items()})


def homozygosity_windows(block: GenotypeBlock, lo: np.ndarray,
                         hi: np.ndarray) -> dict[str, np.ndarray]:
    """Per window of sites ``[lo, hi)``: ``h1``, ``h12``, ``h123``, ``h2_h1`` and ``n``; a
    group of windows at a time, to bound memory."""
    if block.kind == "likelihoods":
        raise PopgenHubError("haplotype homozygosity (H12) needs hard calls, not genotype "
                             "likelihoods: call genotypes first (e.g. bcftools call) or read "
                             "the VCF's GT field")
    weights = hash_weights(block.n_sites)
    step = max(1, CHUNK_VALUES // max(1, block.values.shape[1]))
    groups = [_homozygosity(*_column_hashes(block.values, weights, lo[g:g + step],
                                            hi[g:g + step]))
              for g in range(0, max(len(lo), 1), step)]
    if len(groups) == 1:
        return groups[0]
    return {name: np.concatenate([group[name] for group in groups]) for name in groups[0]}


#: Hash weights kept for blocks of up to this many sites (more are drawn for each call).
WEIGHTS_CACHED = 1 << 20
_WEIGHTS = [np.empty(0, dtype=np.uint64)]


def _draw_weights(n_sites: int) -> np.ndarray:
    weights = np.random.default_rng(HASH_SEED).integers(
        0, np.iinfo(np.uint64).max, size=n_sites, dtype=np.uint64, endpoint=True)
    weights |= np.uint64(1)  # odd weights: a difference at one site always changes the hash
    return weights


def hash_weights(n_sites: int) -> np.ndarray:
    """The random per-site weights of the column hashes of a block of ``n_sites`` sites.

    Each weight over the full 64-bit range is one output of the generator, so the weights of
    fewer sites are the first ones of more: one read-only table is kept and grown (a test
    checks that it gives the weights drawn afresh)."""
    weights = _WEIGHTS[0]
    if len(weights) < n_sites:
        size = max(n_sites, min(2 * len(weights) or 4096, WEIGHTS_CACHED))
        weights = _draw_weights(size)
        if size <= WEIGHTS_CACHED:
            weights.flags.writeable = False
            _WEIGHTS[0] = weights
    return weights[:n_sites]


def _column_hashes(values: np.ndarray, weights: np.ndarray, lo: np.ndarray,
                   hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(windows, columns): each column's hash ``sum_sites weight * value`` (modulo 2^64) over
    the window's sites, and whether it is called at all of them (never in a window without
    sites). Sums over the stretches
    between consecutive window bounds are accumulated, so overlapping windows cost no more.
    Hashes of columns not called at every site are left unspecified (they are not used)."""
    if len(lo) == 1:  # one window (a scan's): its sites are the one stretch
        sites = values[lo[0]:hi[0]]
        if len(sites) == 0:
            return (np.zeros((1, values.shape[1]), dtype=np.uint64),
                    np.zeros((1, values.shape[1]), dtype=bool))
        return ((weights[lo[0]:hi[0]] @ sites.astype(np.uint64))[None],
                (sites.min(axis=0) >= 0)[None])
    bounds = np.unique(np.concatenate([lo, hi]))
    stretch_hash = np.zeros((len(bounds), values.shape[1]), dtype=np.uint64)
    # whether a stretch misses a call of the column: a window is complete without any
    stretch_missing = np.zeros(stretch_hash.shape, dtype=np.int64)
    for k in range(1, len(bounds)):
        stretch = slice(bounds[k - 1], bounds[k])
        stretch_hash[k] = weights[stretch] @ values[stretch].astype(np.uint64)
        stretch_missing[k] = values[stretch].min(axis=0) < 0
    prefix_hash = stretch_hash.cumsum(axis=0, dtype=np.uint64)
    prefix_missing = stretch_missing.cumsum(axis=0)
    at_lo, at_hi = np.searchsorted(bounds, lo), np.searchsorted(bounds, hi)
    return (prefix_hash[at_hi] - prefix_hash[at_lo],
            (prefix_missing[at_hi] == prefix_missing[at_lo]) & (hi > lo)[:, None])


def _homozygosity(hashes: np.ndarray, complete: np.ndarray) -> dict[str, np.ndarray]:
    """The H statistics per row (window) of the distinct hashes among complete columns."""
    n = complete.sum(axis=1)
    # incomplete columns become 0, sorted first; complete ones an odd, so non-zero, key
    keys = np.sort(np.where(complete, hashes | np.uint64(1), np.uint64(0)), axis=1)
    new_run = np.empty(keys.shape, dtype=bool)
    new_run[:, :1] = True
    np.not_equal(keys[:, 1:], keys[:, :-1], out=new_run[:, 1:])
    new_run &= keys != 0
    starts = np.flatnonzero(new_run)
    columns = keys.shape[1]
    ends = np.minimum(np.append(starts[1:], keys.size), (starts // columns + 1) * columns)
    sizes = np.zeros(keys.size)
    sizes[starts] = ends - starts
    sizes = sizes.reshape(keys.shape)
    kept = min(3, columns)
    top = np.zeros((len(keys), 3))
    # the largest run sizes, largest first (whole numbers: any way of picking them is exact)
    top[:, :kept] = np.sort(sizes, axis=1)[:, ::-1][:, :kept]
    with np.errstate(divide="ignore", invalid="ignore"):
        top /= n[:, None]
        h1 = (sizes**2).sum(axis=1) / n**2
        return {"h1": h1, "h12": h1 - (top[:, :2]**2).sum(axis=1) + top[:, :2].sum(axis=1)**2,
                "h123": h1 - (top**2).sum(axis=1) + top.sum(axis=1)**2,
                "h2_h1": (h1 - top[:, 0]**2) / h1, "n": n}
