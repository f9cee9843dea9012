"""Genotype likelihoods from read bases, and SNP discovery, for reads from BAM/CRAM files and for
reads simulated from known genotypes alike: the likelihood networks train on simulated reads
passed through this very code (:func:`popgen_hub.simulate.reads.sequenced`).

A :class:`Pileup` holds one entry per read base at a site: its sample, base, quality and strand.
The BAM reader (:mod:`popgen_hub.readers.pileup`) and
:func:`popgen_hub.simulate.reads.simulate_pileup` both make one.

**Genotype likelihoods** (:func:`genotype_likelihoods`): the samtools model, as htslib's
``errmod_cal`` computes it for ``bcftools mpileup`` and ANGSD's ``-GL 1``: errors at a site are
not independent; the k-th base of one kind (in decreasing quality) counts with weight
``fk = 0.83^k' * 0.97 + 0.03`` (k' its rank on its strand) times the phred of the binomial
tail ratio ``beta(q, n, k)``; a heterozygote's reads of its two alleles are binomial(1/2).
Diploid and biallelic: for the two alleles of the site (REF, ALT) the three genotypes 0, 1, 2
ALT alleles, in log10 (the data model's ``log10`` scale). Differences from htslib: qualities
are capped to 4..63 as there; ``N`` bases are not counted; at a depth above 255 in one sample
the 255 bases of highest quality are used (htslib draws 255 at random).

**Site discovery** (:func:`call_sites`): per site, the pooled base counts give the two alleles
(REF: the reference base where it is known, else the most counted base; ALT: the most counted
other base); sites outside the depth limits, or without an ALT read, are skipped; then the
likelihood-ratio test of ANGSD's SNP p-value (``-doMaf 1 -SNP_pval``): the allele frequency
``f`` maximising the likelihood of the samples' genotype likelihoods under Hardy-Weinberg,
``LRT = 2 (ln L(f) - ln L(0))``, against a chi-square with 1 degree of freedom; a site is a SNP
when its p-value is below :attr:`SiteFilter.snp_pval` (default 1e-6, LRT > 23.9).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from functools import cache, cached_property

import numpy as np

#: base codes of a pileup: A C G T (N is not counted)
BASES = "ACGT"
#: the sites skipped for their pooled depth (given sites, too), and every kind of site
#: :func:`call_sites` skips, by reason
DEPTH_SKIP_REASONS = ("low_depth", "high_depth")
SKIP_REASONS = (*DEPTH_SKIP_REASONS, "monomorphic", "snp_p_value")
_DEPENDENCY, _ETA = 0.83, 0.03  # htslib errmod_init(1 - 0.83): fk = 0.83^k (1 - eta) + eta
_MAX_DEPTH = 255  # the depth errmod's tables reach
#: read bases whose likelihoods are computed at once (about 70 bytes each)
LIKELIHOOD_BATCH = 500_000
_PHRED_PER_LN = 4.343  # htslib's -10 / ln(10), as it writes it
_FLOOR = -30.0  # log10 likelihood, relative to the best genotype, below which the SNP test
#                 counts a genotype as impossible as 1e-30


@dataclass(frozen=True)
class Pileup:
    """Read bases at ``positions`` (0-based, increasing) of ``n_samples`` samples: one entry per
    base, giving its site (index into ``positions``), sample, base (0..3: A C G T), phred
    quality (a BAM's base quality capped at the read's mapping quality) and strand."""

    positions: np.ndarray
    n_samples: int
    site: np.ndarray
    sample: np.ndarray
    base: np.ndarray
    quality: np.ndarray
    reverse: np.ndarray

    def take(self, keep: np.ndarray) -> Pileup:
        """The bases at the sites where ``keep`` (a mask over sites) is true, sites renumbered."""
        new_index = np.cumsum(keep) - 1
        entries = np.flatnonzero(keep[self.site])  # indices: few are kept, taken fast
        return Pileup(self.positions[keep], self.n_samples, new_index[self.site[entries]],
                      *(values.take(entries) for values in (self.sample, self.base,
                                                            self.quality, self.reverse)))

    def counts(self) -> np.ndarray:
        """Reads of each base per site, all samples pooled: (sites, 4)."""
        n_sites = len(self.positions)
        return np.bincount(self.site * 4 + self.base, minlength=n_sites * 4).reshape(n_sites, 4)


@dataclass(frozen=True)
class SiteFilter:
    """Which sites :func:`call_sites` keeps: pooled depth (reads of the samples that pass the
    read filters) within [min_depth, max_depth] (None: no upper limit) and, when discovering
    SNPs, a SNP p-value below ``snp_pval``."""

    min_depth: int = 1
    max_depth: int | None = None
    snp_pval: float = 1e-6

    def __post_init__(self) -> None:
        if not 0 < self.snp_pval <= 1:
            raise ValueError(f"snp_pval {self.snp_pval} is not a p-value in (0, 1]")

    @cached_property
    def lrt_threshold(self) -> float:
        return lrt_threshold(self.snp_pval)


@dataclass(frozen=True)
class SiteCalls:
    """The sites kept: positions, their alleles (REF, ALT base codes), genotype likelihoods
    (sites, samples, 3) in log10, and how many sites were skipped by reason (at positions
    before ``counted_before`` of :func:`call_sites`)."""

    positions: np.ndarray
    alleles: np.ndarray
    likelihoods: np.ndarray
    skipped: Counter


# ------------------------------------------------------------------ htslib errmod tables
@cache
def _tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """htslib's ``fk`` (256), ``beta`` (64 qualities x 256 depths x 256 ranks, phred) and
    ``lhet`` (256 x 256, natural log of binomial(n, k) / 2^n)."""
    fk = np.full(_MAX_DEPTH + 1, 1.0)
    fk[1:] = _DEPENDENCY ** np.arange(1, _MAX_DEPTH + 1) * (1 - _ETA) + _ETA
    lf = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, _MAX_DEPTH + 1)))])  # ln n!
    n, k = np.meshgrid(np.arange(_MAX_DEPTH + 1), np.arange(_MAX_DEPTH + 1), indexing="ij")
    valid = k <= n
    log_choose = np.where(valid, lf[n] - lf[k] - lf[np.where(valid, n - k, 0)], 0.0)
    beta = np.zeros((64, _MAX_DEPTH + 1, _MAX_DEPTH + 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        for q in range(1, 64):
            e = 10.0 ** (-q / 10.0)
            log_pmf = np.where(valid, log_choose + k * math.log(e) + (n - k) * math.log1p(-e),
                               -np.inf)
            # log P(X >= k) for X ~ binomial(n, e): a reversed running log-sum-exp over k
            tail = np.logaddexp.accumulate(log_pmf[:, ::-1], axis=1)[:, ::-1]
            next_tail = np.concatenate([tail[:, 1:], np.full((_MAX_DEPTH + 1, 1), -np.inf)],
                                       axis=1)
            beta[q] = np.where(k < n, -10.0 / math.log(10) * (next_tail - tail), np.inf)
    lhet = log_choose - math.log(2) * n
    return fk, beta, lhet


def _offsets_in_runs(values: np.ndarray) -> np.ndarray:
    """Each entry's offset from the start of its run of equal ``values`` (sorted)."""
    starts = np.flatnonzero(np.concatenate([[True], values[1:] != values[:-1]]))
    return np.arange(len(values)) - np.repeat(starts, np.diff(np.append(starts, len(values))))


def genotype_likelihoods(pileup: Pileup, alleles: np.ndarray) -> np.ndarray:
    """The samtools model's likelihoods of 0, 1 and 2 copies of ``alleles[:, 1]`` (against
    ``alleles[:, 0]``) per site and sample: (sites, samples, 3) float32, log10; a sample without
    reads at a site gets 0, 0, 0 (no information). Computed for runs of sites of about
    :data:`LIKELIHOOD_BATCH` bases at a time (about 70 bytes each)."""
    if len(pileup.site) <= LIKELIHOOD_BATCH:
        return _likelihoods(pileup, alleles)
    per_site = np.bincount(pileup.site, minlength=len(pileup.positions))
    batch = np.cumsum(per_site) // LIKELIHOOD_BATCH
    return np.concatenate([_likelihoods(pileup.take(batch == b), alleles[batch == b])
                           for b in np.unique(batch)])


def _likelihoods(pileup: Pileup, alleles: np.ndarray) -> np.ndarray:
    """:func:`genotype_likelihoods` in one sort: bases by cell (sample, site), base and
    htslib's order (decreasing quality, then reverse strand first)."""
    fk, beta, lhet = _tables()
    n_sites, n_samples = len(pileup.positions), pileup.n_samples
    n_cells = n_sites * n_samples
    cell = pileup.sample.astype(np.int64) * n_sites + pileup.site  # sample-major: runs of reads
    code = (np.clip(pileup.quality, 4, 63).astype(np.int64) << 5
            | pileup.reverse.astype(np.int64) << 4 | pileup.base)
    if len(cell) and np.bincount(cell).max() > _MAX_DEPTH:  # htslib reads 255 bases at most
        order = np.argsort(cell << 11 | 2047 - code, kind="stable")
        kept = order[_offsets_in_runs(cell[order]) < _MAX_DEPTH]
        cell, code = cell[kept], code[kept]
    by_base = cell * 4 + (code & 3)
    order = np.argsort(by_base << 11 | 2047 - code, kind="stable")
    by_base, code = by_base[order], code[order]
    same_base = _offsets_in_runs(by_base)  # the base's rank among the cell's of its kind
    reverse = code >> 4 & 1
    reverse_before = np.cumsum(reverse) - reverse
    reverse_before -= np.repeat(reverse_before[same_base == 0],
                                np.diff(np.append(np.flatnonzero(same_base == 0), len(code))))
    same_strand = np.where(reverse == 1, reverse_before, same_base - reverse_before)
    depth = np.bincount(cell, minlength=n_cells)
    weight = fk[same_strand] * beta[code >> 5, depth[by_base >> 2], same_base]
    phred_sum = np.bincount(by_base, weights=weight, minlength=n_cells * 4).reshape(-1, 4)
    count = np.bincount(by_base, minlength=n_cells * 4).reshape(-1, 4)
    ref, alt = (np.tile(alleles[:, column], n_samples) for column in (0, 1))
    cells = np.arange(n_cells)
    total = phred_sum.sum(axis=1)
    ref_sum, alt_sum = phred_sum[cells, ref], phred_sum[cells, alt]
    n_ref, n_alt = count[cells, ref], count[cells, alt]
    phred = np.stack([total - ref_sum,
                      -_PHRED_PER_LN * lhet[n_ref + n_alt, n_alt] + total - ref_sum - alt_sum,
                      total - alt_sum], axis=1)
    log10 = (-np.maximum(phred, 0.0) / 10.0).reshape(n_samples, n_sites, 3)
    return log10.transpose(1, 0, 2).astype(np.float32)


#: The scale every likelihoods block read from BAMs or VCFs is stored on.
SCALE = "log10"


# ------------------------------------------------------------------ SNP discovery
def lrt_threshold(p_value: float) -> float:
    """The likelihood-ratio statistic whose chi-square (1 df) p-value is ``p_value``:
    solves ``erfc(sqrt(x / 2)) = p`` by bisection."""
    low, high = 0.0, 1e4
    for _ in range(200):
        middle = (low + high) / 2
        low, high = (middle, high) if math.erfc(math.sqrt(middle / 2)) > p_value else (low,
                                                                                      middle)
    return (low + high) / 2


def _hwe_priors(freq: np.ndarray) -> np.ndarray:
    """Genotype frequencies (..., 3) under Hardy-Weinberg for ALT allele frequencies (...)."""
    return np.stack([(1 - freq) ** 2, 2 * freq * (1 - freq), freq ** 2], axis=-1)


def snp_test(likelihoods: np.ndarray, grid_points: int = 11, em_steps: int = 10
             ) -> tuple[np.ndarray, np.ndarray]:
    """The ALT allele frequency that maximises the likelihood of each site's (sites, samples, 3)
    log10 genotype likelihoods under Hardy-Weinberg, and the likelihood-ratio statistic of that
    frequency against 0 (ANGSD's ``-doMaf 1`` and ``-SNP_pval``): the best of a grid of
    frequencies, then EM steps from it (each step raises the likelihood). Arrays are laid out
    (genotype, sample, site), so that numpy's loops run along the sites."""
    by_genotype = [likelihoods[..., genotype].T for genotype in range(3)]  # (samples, sites)
    top = np.maximum(np.maximum(by_genotype[0], by_genotype[1]), by_genotype[2])
    # relative to each sample's best genotype, floored at 1e-30 (subnormal floats are ~100x
    # slower); the floor lowers only statistics far beyond any threshold (LRT > 138 per sample)
    scaled = np.stack([10.0 ** np.maximum(g - top, _FLOOR).astype(np.float64)
                       for g in by_genotype])
    tail = np.geomspace(1e-3, 0.5, grid_points // 2)  # as fine near 0 as near 1; EM from a
    grid = np.unique(np.concatenate([[0.0], tail, 1 - tail]))  # point of 0 or 1 stays there
    on_grid = np.stack([_log_likelihood(scaled, np.full(scaled.shape[2], f)) for f in grid])
    freq = grid[on_grid.argmax(axis=0)]
    for _ in range(em_steps):
        joint = scaled * _hwe_priors(freq).T[:, None, :]
        total = joint[0] + joint[1] + joint[2]
        freq = ((joint[1] + 2 * joint[2]) / np.maximum(total, 1e-300)).mean(axis=0) / 2
    null = np.log(np.maximum(scaled[0], 1e-300)).sum(axis=0)
    return freq, np.maximum(2 * (_log_likelihood(scaled, freq) - null), 0.0)


def _log_likelihood(scaled: np.ndarray, freq: np.ndarray) -> np.ndarray:
    """ln L per site of (genotype, sample, site) likelihoods at one frequency per site."""
    prior = _hwe_priors(freq).T[:, None, :]
    return np.log(np.maximum((scaled * prior).sum(axis=0), 1e-300)).sum(axis=0)


def choose_alleles(counts: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """(REF, ALT) base codes per site from pooled (sites, 4) counts: REF the ``reference``
    base where it is A, C, G or T (codes 0..3; 4 for N), else the most counted base; ALT the
    most counted other base (ties: in the order A C G T)."""
    ref = counts.argmax(axis=1)
    if reference is not None:
        ref = np.where(reference < 4, reference, ref)
    others = counts.copy()
    others[np.arange(len(counts)), ref] = -1
    return np.stack([ref, others.argmax(axis=1)], axis=1)


def call_sites(pileup: Pileup, site_filter: SiteFilter, *, reference: np.ndarray | None = None,
               alleles: np.ndarray | None = None, counted_before: int | None = None
               ) -> SiteCalls:
    """The sites of ``pileup`` kept by ``site_filter``, with their likelihoods. ``alleles``
    (sites, 2): the sites are given (e.g. from a VCF) and only the depth limits apply; else SNPs
    are discovered (module doc), with REF from ``reference`` (base codes per site) where given.
    Skipped sites are counted at positions before ``counted_before`` (default: all)."""
    counts = pileup.counts()
    depth = counts.sum(axis=1)
    too_high = (depth > site_filter.max_depth if site_filter.max_depth is not None else
                np.zeros(len(depth), dtype=bool))
    reasons = dict(zip(DEPTH_SKIP_REASONS, (depth < site_filter.min_depth, too_high),
                       strict=True))
    discover = alleles is None
    if discover:
        alleles = choose_alleles(counts, reference)
        reasons["monomorphic"] = counts[np.arange(len(counts)), alleles[:, 1]] == 0
    skipped = np.zeros(len(depth), dtype=np.int8)  # 1 + index of the first reason, 0: kept
    for index, mask in reversed(list(enumerate(reasons.values()))):
        skipped[mask] = index + 1
    candidates = skipped == 0
    subset, kept_alleles = pileup.take(candidates), alleles[candidates]
    likelihoods = genotype_likelihoods(subset, kept_alleles)
    keep = np.ones(len(subset.positions), dtype=bool)
    if discover:
        keep = snp_test(likelihoods)[1] > site_filter.lrt_threshold
        skipped[np.flatnonzero(candidates)[~keep]] = len(reasons) + 1
    counted = pileup.positions < (np.inf if counted_before is None else counted_before)
    names = [*reasons, "snp_p_value"]
    tally = np.bincount(skipped[counted], minlength=len(names) + 1)[1:]
    return SiteCalls(subset.positions[keep], kept_alleles[keep], likelihoods[keep],
                     Counter({name: int(n) for name, n in zip(names, tally, strict=True) if n}))
