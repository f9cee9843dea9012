"""Blocks of sites in one of three data kinds, the samples they cover, and read statistics."""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

KINDS = ("haplotypes", "genotypes", "likelihoods")
#: How likelihoods are stored: log10 (VCF GL), phred (VCF PL, -10 log10) or linear.
SCALES = ("log10", "phred", "linear")


@dataclass(frozen=True)
class Samples:
    """The samples a block covers, in column order; population and age where known."""

    names: tuple[str, ...]
    ploidy: tuple[int, ...]
    population: tuple[str | None, ...] | None = None
    age_years: tuple[float, ...] | None = None  # years before present; 0 = present-day

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(self.names))
        object.__setattr__(self, "ploidy", tuple(int(p) for p in self.ploidy))
        for extra in ("population", "age_years"):
            value = getattr(self, extra)
            if value is not None:
                object.__setattr__(self, extra, tuple(value))
                if len(value) != len(self.names):
                    raise ValueError(f"{extra} has {len(value)} entries for "
                                     f"{len(self.names)} samples")
        if len(self.ploidy) != len(self.names):
            raise ValueError(f"ploidy has {len(self.ploidy)} entries for {len(self.names)} "
                             f"samples")

    def __len__(self) -> int:
        return len(self.names)

    def take(self, index: np.ndarray) -> Samples:
        """The samples at ``index``, in that order."""
        def pick(values: tuple | None) -> tuple | None:
            return None if values is None else tuple(values[i] for i in index)
        return Samples(pick(self.names), pick(self.ploidy), pick(self.population),
                       pick(self.age_years))

    @classmethod
    def anonymous(cls, n: int, ploidy: int = 1) -> Samples:
        """``n`` unnamed samples (simulated data): ``s0``, ``s1``, ..."""
        return cls(tuple(f"s{i}" for i in range(n)), (ploidy,) * n)


@dataclass(frozen=True)
class GenotypeBlock:
    """Consecutive sites (0-based ``positions``) of ``samples`` in one data kind (module doc of
    :mod:`popgen_hub.genotypes`)."""

    positions: np.ndarray
    values: np.ndarray
    kind: str
    samples: Samples
    #: haplotypes: index into ``samples`` of each column
    haplotype_sample: np.ndarray | None = None
    #: likelihoods: one of :data:`SCALES`
    likelihood_scale: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"data kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if len(self.positions) != len(self.values):
            raise ValueError(f"{len(self.positions)} positions for {len(self.values)} sites")
        expected_dims = 3 if self.kind == "likelihoods" else 2
        if self.values.ndim != expected_dims:
            raise ValueError(f"{self.kind} values must be {expected_dims}-D, got "
                             f"{self.values.shape}")
        if self.kind == "haplotypes" and (self.haplotype_sample is None or
                                          len(self.haplotype_sample) != self.values.shape[1]):
            raise ValueError("haplotypes need haplotype_sample, one sample index per column")
        if self.kind != "haplotypes" and self.values.shape[1] != len(self.samples):
            raise ValueError(f"{self.kind}: {self.values.shape[1]} columns for "
                             f"{len(self.samples)} samples")
        if (self.kind == "likelihoods") != (self.likelihood_scale is not None):
            raise ValueError("likelihoods, and only they, state a likelihood_scale")
        if self.likelihood_scale is not None and self.likelihood_scale not in SCALES:
            raise ValueError(f"likelihood scale {self.likelihood_scale!r} is not one of "
                             f"{', '.join(SCALES)}")

    @property
    def n_sites(self) -> int:
        return len(self.positions)

    @classmethod
    def from_haplotypes(cls, haplotypes: np.ndarray, positions: np.ndarray | None = None,
                        samples: Samples | None = None) -> GenotypeBlock:
        """A haplotype block from a (haplotypes, sites) matrix, as simulators give it; without
        ``samples``, each haplotype is its own haploid sample."""
        matrix = np.asarray(haplotypes)
        if matrix.ndim != 2:
            raise ValueError(f"haplotypes must be 2-D (haplotypes x sites), got {matrix.shape}")
        positions = (np.arange(matrix.shape[1]) if positions is None else np.asarray(positions))
        if samples is None:
            samples = Samples.anonymous(matrix.shape[0])
            owner = np.arange(matrix.shape[0])
        else:
            owner = np.repeat(np.arange(len(samples)), samples.ploidy)
        return cls(positions, matrix.T, "haplotypes", samples, haplotype_sample=owner)

    def take_sites(self, index: slice | np.ndarray) -> GenotypeBlock:
        """The same samples at a subset of sites."""
        return GenotypeBlock(self.positions[index], self.values[index], self.kind, self.samples,
                             self.haplotype_sample, self.likelihood_scale)

    def take_columns(self, index: np.ndarray) -> GenotypeBlock:
        """The same sites for the haplotype columns (haplotypes) or samples (other kinds) at
        ``index``, in that order."""
        index = np.asarray(index, dtype=np.int64)
        if self.kind == "haplotypes":
            return GenotypeBlock(self.positions, self.values[:, index], self.kind, self.samples,
                                 self.haplotype_sample[index], self.likelihood_scale)
        return GenotypeBlock(self.positions, self.values[:, index], self.kind,
                             self.samples.take(index), None, self.likelihood_scale)

    def with_sites(self, positions: np.ndarray, values: np.ndarray) -> GenotypeBlock:
        """The same samples and kind at other sites."""
        return GenotypeBlock(positions, values, self.kind, self.samples, self.haplotype_sample,
                             self.likelihood_scale)

    def unphased(self) -> GenotypeBlock:
        """Haplotypes as genotypes, phase dropped: each sample's ALT count, -1 where one of
        its alleles is missing; the block must hold every haplotype of its samples."""
        if self.kind != "haplotypes":
            raise ValueError(f"{self.kind} blocks have no phase to drop")
        order = np.argsort(self.haplotype_sample, kind="stable")
        owners, starts, counts = np.unique(self.haplotype_sample[order], return_index=True,
                                           return_counts=True)
        samples = self.samples.take(owners)
        if counts.tolist() != list(samples.ploidy):
            raise ValueError("unphased genotypes need every haplotype of each sample")
        values = self.values[:, order]
        alt = np.add.reduceat(values, starts, axis=1)
        missing = np.minimum.reduceat(values, starts, axis=1) < 0
        return GenotypeBlock(self.positions, np.where(missing, -1, alt).astype(np.int8),
                             "genotypes", samples)

    def alt_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """Per site, ALT alleles and called alleles among the block's samples (likelihoods:
        the expected counts under a flat genotype prior, over the samples whose likelihoods
        carry information; see :meth:`called_posteriors`)."""
        if self.kind == "haplotypes":
            complete = self.values.size and self.values.min() >= 0
            return _count_per_site(self.values == 1), (
                np.full(len(self.values), self.values.shape[1], dtype=np.int_) if complete
                else _count_per_site(self.values >= 0))
        ploidy = np.asarray(self.samples.ploidy)
        if self.kind == "genotypes":
            if self.values.size and self.values.min() >= 0:  # every call made: the same sums
                return (self.values.sum(axis=1),
                        np.full(len(self.values), np.sum(ploidy), dtype=np.int_))
            called = self.values >= 0
            return (np.where(called, self.values, 0).sum(axis=1),
                    (called * ploidy).sum(axis=1))
        posterior, called = self.called_posteriors()
        dosage = sum(genotype * posterior[:, :, genotype]
                     for genotype in range(1, posterior.shape[2]))
        return np.where(called, dosage, 0).sum(axis=1), (called * ploidy).sum(axis=1)

    def called_posteriors(self) -> tuple[np.ndarray, np.ndarray]:
        """Genotype posteriors (sites, samples, genotypes) under a flat prior, and which
        (site, sample) calls carry information: likelihoods not all equal over the genotypes
        the sample can have, 0..its ploidy (all equal, or all missing, is an uncalled sample:
        a haploid sample's flat call in a file of diploids is too)."""
        with warnings.catch_warnings():  # all-NaN likelihoods: a missing call, not a problem
            warnings.simplefilter("ignore", RuntimeWarning)
            probs = self.genotype_probabilities()
        possible = np.arange(probs.shape[2]) <= np.asarray(self.samples.ploidy)[:, None]
        informative = np.zeros(probs.shape[:2], dtype=bool)
        for genotype in range(1, probs.shape[2]):  # slices: numpy reduces a short axis slowly
            informative |= (probs[:, :, genotype] != probs[:, :, 0]) & possible[:, genotype]
        return probs, informative

    def genotype_probabilities(self) -> np.ndarray:
        """Likelihoods normalised per sample and site (a flat prior): (sites, samples,
        genotypes); a sample without information (all equal, or all missing) gets equal
        probabilities. Reductions run over slices of the short genotype axis, which is much
        faster in numpy than reducing along it."""
        if self.kind != "likelihoods":
            raise ValueError(f"{self.kind} blocks carry no likelihoods")
        values = self.values.astype(np.float64)
        genotypes = [values[..., k] for k in range(values.shape[2])]
        if self.likelihood_scale != "linear":
            scale = -0.1 if self.likelihood_scale == "phred" else 1.0
            top = genotypes[0] * scale
            for column in genotypes[1:]:
                top = np.fmax(top, column * scale)
            genotypes = [np.power(10.0, column * scale - top) for column in genotypes]
        genotypes = [np.nan_to_num(column, nan=0.0) for column in genotypes]
        total = sum(genotypes)
        informative = total > 0
        flat = 1.0 / len(genotypes)
        return np.stack([np.where(informative, column / np.where(informative, total, 1), flat)
                         for column in genotypes], axis=2)


def _count_per_site(mask: np.ndarray) -> np.ndarray:
    """The true values of each row of a (sites, columns) boolean matrix, as ``np.int_``
    (summed in 16 bits where the columns fit, faster than numpy's default)."""
    if mask.shape[1] < np.iinfo(np.int16).max:
        return mask.sum(axis=1, dtype=np.int16).astype(np.int_)
    return mask.sum(axis=1)


def concatenate(blocks: list[GenotypeBlock], like: GenotypeBlock | None = None) -> GenotypeBlock:
    """One block of the sites of ``blocks`` in order (all of the same samples and kind); with
    no blocks, an empty block shaped like ``like``."""
    if not blocks:
        if like is None:
            raise ValueError("concatenate needs blocks or a block to shape an empty one like")
        return like.take_sites(slice(0, 0))
    first = blocks[0]
    if len(blocks) == 1:
        return first
    return first.with_sites(np.concatenate([b.positions for b in blocks]),
                            np.concatenate([b.values for b in blocks]))


@dataclass
class ReadStats:
    """Sites a reader kept and skipped (by reason), and what readers of reads read (the mean
    depth), for the output headers."""

    kept: int = 0
    skipped: Counter = field(default_factory=Counter)
    #: what a kept site is, for the header (e.g. "biallelic_snps")
    kept_name: str = "sites"
    #: the reasons the reader skips sites for, listed in the header even at 0
    reasons: tuple[str, ...] = ()
    #: readers of reads: the read bases counted (after the read filters), and the base pairs
    #: some read covers times the individuals read (their ratio is the mean depth per
    #: individual at covered positions)
    read_bases: int = 0
    sample_bp: int = 0
    of_reads: bool = False  # a reader of reads (BAM/CRAM): the counts above mean something

    def add(self, other: ReadStats) -> None:
        self.kept += other.kept
        self.skipped.update(other.skipped)
        self.read_bases += other.read_bases
        self.sample_bp += other.sample_bp

    def mean_depth(self) -> float | None:
        """Read bases per covered base pair per individual (0 without any read); None for
        readers of calls."""
        if not self.of_reads:
            return None
        return self.read_bases / self.sample_bp if self.sample_bp else 0.0

    def to_dict(self) -> dict[str, Any]:
        """``kept_<what>`` and ``skipped_<reason>`` counts, and ``mean_depth`` for reads."""
        counts = {reason: 0 for reason in self.reasons} | dict(self.skipped)
        depth = self.mean_depth()
        return {f"kept_{self.kept_name}": self.kept,
                **{f"skipped_{reason}": n for reason, n in counts.items()},
                **({"mean_depth": round(depth, 3)} if depth is not None else {})}
