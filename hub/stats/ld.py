"""Linkage-disequilibrium decay: mean r² of site pairs, binned by their distance in bp.

r² is the squared Pearson correlation, over the columns called at both sites, of

* haplotypes: the alleles (0/1), the classical r² of Hill & Robertson (1968);
* genotypes: the ALT counts (dosages), the composite r² of Rogers & Huff (2009, Genetics
  182:839), which needs no phase; scikit-allel's ``rogers_huff_r`` squared;
* likelihoods: the posterior mean ALT counts (flat prior), an approximation that shrinks r²
  towards 0 as genotype uncertainty grows.

Pairs whose r² is undefined (a site monomorphic among the shared calls) are left out of the
means. When more than ``max_pairs`` pairs fall within the bins, a seeded uniform sample of
``max_pairs`` of them is used, so the cost is bounded and the result reproducible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..genotypes import GenotypeBlock
from .sites import CHUNK_VALUES, dosages, window_block

#: Default distance bins (bp): bin ``b`` holds pairs ``edges[b] <= distance < edges[b + 1]``.
DEFAULT_LD_BINS = (1, 100, 300, 1_000, 3_000, 10_000, 30_000, 100_000)


@dataclass(frozen=True)
class LDDecay:
    """Mean r² per distance bin, the pairs behind each mean, and the candidate pairs there
    were before subsampling."""

    bin_edges: np.ndarray
    mean_r2: np.ndarray
    n_pairs: np.ndarray
    candidate_pairs: int


def ld_decay(block: GenotypeBlock, start: int | None = None, end: int | None = None, *,
             bin_edges: Sequence[int] = DEFAULT_LD_BINS, max_pairs: int = 50_000,
             seed: int = 0) -> LDDecay:
    """Mean r² of pairs of sites in ``[start, end)`` per distance bin (module doc)."""
    edges = np.asarray(bin_edges, dtype=np.int64)
    if len(edges) < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError(f"bin_edges must be at least two increasing distances, got {bin_edges}")
    window, _ = window_block(block, start, end)
    first, second, candidates = site_pairs(window.positions, int(edges[0]), int(edges[-1]),
                                           max_pairs, seed)
    r2 = pair_r2(window, first, second)
    defined = ~np.isnan(r2)
    bins = np.searchsorted(edges, window.positions[second] - window.positions[first],
                           side="right")[defined] - 1
    n_pairs = np.bincount(bins, minlength=len(edges) - 1)
    sums = np.bincount(bins, weights=r2[defined], minlength=len(edges) - 1)
    with np.errstate(invalid="ignore"):
        mean = np.where(n_pairs > 0, sums / n_pairs, np.nan)
    return LDDecay(edges, mean, n_pairs, candidates)


def site_pairs(positions: np.ndarray, min_distance: int, max_distance: int, max_pairs: int,
               seed: int = 0) -> tuple[np.ndarray, np.ndarray, int]:
    """Site index pairs ``i < j`` with ``min_distance <= positions[j] - positions[i] <
    max_distance`` over sorted ``positions``: all of them, or a seeded uniform sample of
    ``max_pairs`` (in order); also how many there were."""
    index = np.arange(len(positions))
    first_partner = np.maximum(np.searchsorted(positions, positions + min_distance), index + 1)
    partners = np.maximum(np.searchsorted(positions, positions + max_distance) - first_partner, 0)
    offsets = np.concatenate([[0], np.cumsum(partners)])
    total = int(offsets[-1])
    picks = (np.arange(total) if total <= max_pairs else
             np.sort(np.random.default_rng(seed).choice(total, size=max_pairs, replace=False)))
    first = np.searchsorted(offsets, picks, side="right") - 1
    return first, first_partner[first] + picks - offsets[first], total


def pair_r2(block: GenotypeBlock, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """r² (module doc) of each site pair ``(first[p], second[p])`` of ``block``; NaN where
    undefined. Pairs are processed in chunks to bound memory."""
    r2 = np.empty(len(first))
    step = max(1, CHUNK_VALUES // max(1, int(np.prod(block.values.shape[1:]))))
    for chunk in range(0, len(first), step):
        pairs = slice(chunk, chunk + step)
        r2[pairs] = _correlation_squared(dosages(block.take_sites(first[pairs])),
                                         dosages(block.take_sites(second[pairs])))
    return r2


def _correlation_squared(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise squared Pearson correlation of ``a`` and ``b`` over columns where neither is
    NaN."""
    both = ~(np.isnan(a) | np.isnan(b))
    if both.all():  # every column called at both sites (simulations, complete data): no masks
        a = a - a.mean(axis=1, keepdims=True)
        b = b - b.mean(axis=1, keepdims=True)
    else:
        n = np.maximum(both.sum(axis=1), 1)
        a, b = np.where(both, a, 0.0), np.where(both, b, 0.0)
        a = np.where(both, a - (a.sum(axis=1) / n)[:, None], 0.0)
        b = np.where(both, b - (b.sum(axis=1) / n)[:, None], 0.0)
    var_a, var_b = (a * a).sum(axis=1), (b * b).sum(axis=1)
    defined = (var_a > 1e-10) & (var_b > 1e-10)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(defined, (a * b).sum(axis=1) ** 2 / (var_a * var_b), np.nan)
