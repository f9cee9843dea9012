"""Per-site allele counts of any data kind, and which sites fall in which genomic windows.

Every statistic of :mod:`popgen_hub.stats` starts from the ALT-allele count ``k`` among the
``n`` called alleles of each site:

* haplotypes and genotypes: ``k`` and ``n`` are observed (:meth:`GenotypeBlock.alt_counts`);
  a missing call (-1) only lowers ``n``.
* likelihoods: each sample's genotype posterior under a flat prior
  (:meth:`GenotypeBlock.genotype_probabilities`); samples are independent, so ``k`` is a sum of
  independent per-sample dosages whose means and variances add. A sample whose likelihoods are
  all equal (missing, all NaN, or ``PL=0,0,0``) carries no information and counts as uncalled.

Windows are half-open, 0-based ``[start, end)`` like the block's positions.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..genotypes import GenotypeBlock

#: Values processed at once (sites x columns): bounds temporary arrays to some 100 MB.
CHUNK_VALUES = 1 << 22


@dataclass(frozen=True)
class SiteCounts:
    """Per site: called alleles ``n``, mean and variance of the ALT count ``k`` (variance 0 for
    hard calls), and the probability that the site segregates (0 < k < n)."""

    called: np.ndarray
    mean: np.ndarray
    variance: np.ndarray
    p_segregating: np.ndarray


def site_chunks(block: GenotypeBlock) -> Iterator[slice]:
    """Consecutive slices of the block's sites of at most :data:`CHUNK_VALUES` values each
    (one empty slice for an empty block)."""
    per_site = max(1, math.prod(block.values.shape[1:]))
    step = max(1, CHUNK_VALUES // per_site)
    for first in range(0, max(block.n_sites, 1), step):
        yield slice(first, first + step)


def site_counts(block: GenotypeBlock) -> SiteCounts:
    """The :class:`SiteCounts` of every site of ``block``, computed a chunk of sites at a time."""
    chunks = list(site_chunks(block))
    if len(chunks) == 1:  # a window's sites
        return SiteCounts(*_chunk_counts(block))
    parts = [_chunk_counts(block.take_sites(chunk)) for chunk in chunks]
    return SiteCounts(*(np.concatenate(column) for column in zip(*parts, strict=True)))


def _chunk_counts(block: GenotypeBlock) -> tuple[np.ndarray, ...]:
    if block.kind != "likelihoods":
        alt, called = block.alt_counts()
        alt = alt.astype(np.float64)
        segregating = ((alt > 0) & (alt < called)).astype(np.float64)
        return called.astype(np.int64), alt, np.zeros_like(alt), segregating
    probs, called = block.called_posteriors()
    ploidy = np.asarray(block.samples.ploidy)
    mean = posterior_moment(probs, 1)
    variance = posterior_moment(probs, 2) - mean**2
    # P(no ALT among the called samples) and P(only ALT): products of per-sample posteriors
    all_ref = np.prod(probs[:, :, 0], axis=1, where=called)
    hom_alt = np.take_along_axis(probs, np.broadcast_to(ploidy[None, :, None],
                                                        (len(probs), len(ploidy), 1)), axis=2)
    all_alt = np.prod(hom_alt[:, :, 0], axis=1, where=called)
    return ((called * ploidy).sum(axis=1), np.where(called, mean, 0.0).sum(axis=1),
            np.where(called, variance, 0.0).sum(axis=1), np.clip(1 - all_ref - all_alt, 0, 1))


def posterior_moment(probs: np.ndarray, power: int) -> np.ndarray:
    """``E[g**power]`` of the ALT count ``g`` per (site, sample) under genotype posteriors."""
    return sum(genotype**power * probs[:, :, genotype] for genotype in range(1, probs.shape[2]))


def dosages(block: GenotypeBlock) -> np.ndarray:
    """Float (sites, columns): the allele (haplotypes), ALT count (genotypes) or posterior mean
    ALT count (likelihoods) of each column, NaN where uncalled."""
    if block.kind != "likelihoods":
        return np.where(block.values >= 0, block.values, np.nan)
    probs, called = block.called_posteriors()
    return np.where(called, posterior_moment(probs, 1), np.nan)


def total_alleles(block: GenotypeBlock) -> int:
    """Alleles of the block's samples at a fully called site."""
    if block.kind == "haplotypes":
        return int(block.values.shape[1])
    return int(sum(block.samples.ploidy))


def site_bounds(positions: np.ndarray, starts: np.ndarray,
                ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Site index ranges ``[lo, hi)`` of the windows ``[starts, ends)`` over sorted
    ``positions``."""
    if (positions[1:] < positions[:-1]).any():
        raise ValueError("block positions must be sorted to be windowed")
    return (np.searchsorted(positions, starts, side="left"),
            np.searchsorted(positions, ends, side="left"))


def window_block(block: GenotypeBlock, start: int | None,
                 end: int | None) -> tuple[GenotypeBlock, int]:
    """The sites of ``block`` in ``[start, end)`` and the window's length in bp; ``start`` and
    ``end`` default to the first site and one past the last."""
    positions = block.positions
    start = (int(positions[0]) if len(positions) else 0) if start is None else int(start)
    end = (int(positions[-1]) + 1 if len(positions) else start) if end is None else int(end)
    if end < start:
        raise ValueError(f"window end {end} is before its start {start}")
    lo, hi = site_bounds(positions, np.array([start]), np.array([end]))
    return block.take_sites(slice(int(lo[0]), int(hi[0]))), end - start


def window_sums(per_site: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Sums of ``per_site`` (sites first) over the site ranges ``[lo, hi)``, which may
    overlap: differences of prefix sums."""
    order = "F" if per_site.flags.f_contiguous else "C"  # the running sums along memory
    prefix = np.zeros((len(per_site) + 1,) + per_site.shape[1:], order=order)
    np.cumsum(per_site, axis=0, dtype=np.float64, out=prefix[1:])
    return prefix[hi] - prefix[lo]
