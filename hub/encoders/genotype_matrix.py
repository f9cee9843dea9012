"""Per-individual matrices of unphased genotypes (``genotype_matrix``) or genotype likelihoods
(``likelihood_matrix``), for exchangeable networks that take any number of individuals.

A window becomes one tensor, (individuals, channels, n_sites): a row per individual in the
block's order. The sites and the allele counted are chosen from all the window's individuals
together, and do not depend on their order; each row is then one individual's calls at those
sites, so a network that pools rows with a symmetric function (mean, max:
:mod:`popgen_hub.models.exchangeable`) gives the same output in any order.

Individuals: one per sample of a ``genotypes`` or ``likelihoods`` block. A ``haplotypes``
block (a simulated dataset) is read unphased: every ``ploidy`` consecutive haplotype columns
are one individual (simulators keep an individual's haplotypes together, msprime's diploids),
its ALT count their sum, missing if any of them is; a trailing incomplete group is dropped.

Sites: the informative ones, polymorphic among the window's called individuals (a copy of
each allele; likelihoods: at least half a copy of each expected under a flat genotype prior)
with a minor-allele frequency of at least ``min_maf``. Windows with more or fewer sites than
the ``n_sites`` columns follow the temporal stack's rule
(:func:`~popgen_hub.encoders.temporal_stack.central_run`): with more, the run of ``n_sites``
consecutive sites around the window's middle, column ``n_sites // 2`` holding the first site
at or after the middle (shifted to stay inside the sites near an edge); with fewer, all of
them, empty columns padding the left edge when the left side runs short, the rest on the
right. Empty columns are 0 in every channel (a real column always has a called individual).

Channels, per individual and column (:data:`CHANNELS`):

0. ``dosage``: the count of the polarised allele over the ploidy; ``polarise="minor"``: the
   allele rarer among the window's called individuals (ALT at exactly 50 %), as the haplotype
   image; ``"alt"``: ALT. Likelihoods: the expected count under a flat prior. 0 when missing.
1. ``called``: 1 for a call (likelihoods: not all equal), else 0. An individual without a
   call in any column is left out of the network's pooling.
2. ``gap``: bp from the previous informative site (from the window's start for the first),
   times ``n_sites`` over the window's length (default: the sites' span): about 1 when the
   sites are evenly spread. The same in every row.
3. .. ``likelihood_matrix`` only: the probability of 0 .. ``ploidy`` copies of the polarised
   allele under a flat prior (a sharp 0/1 for called genotypes; equal when missing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import PopgenHubError
from ..genotypes import GenotypeBlock, Samples
from .base import ENCODERS, DataclassEncoder, EncodedWindow
from .temporal_stack import central_run

TENSOR = "genotype_matrix"
CHANNELS = ("dosage", "called", "gap")
#: the channels' indices; CALLED says which individuals have calls (the pooling's weights)
DOSAGE, CALLED, GAP = range(len(CHANNELS))
POLARISATIONS = ("minor", "alt")


@ENCODERS.register()
@dataclass(frozen=True)
class GenotypeMatrixEncoder(DataclassEncoder):
    """Unphased genotypes of any number of individuals (module doc). Encoders of individuals
    declare ``ploidy`` and ``min_individuals``, which a model's contract states as the ploidy
    and the least sample size it accepts."""

    name = "genotype_matrix"
    data_kinds = ("genotypes", "haplotypes")
    missing_rule = ("a missing call is 0 with a 0 in the 'called' channel; individuals with no "
                    "call in the window's columns are left out of the pooling over individuals")

    n_sites: int = 64
    #: the fewest individuals a model reads (non-model species: small samples are the rule)
    min_individuals: int = 5
    ploidy: int = 2
    polarise: str = "minor"
    min_maf: float = 0.0

    def __post_init__(self) -> None:
        problems = []
        if self.n_sites < 4 or self.min_individuals < 1 or self.ploidy < 1:
            problems.append("n_sites must be at least 4, min_individuals and ploidy positive")
        if self.polarise not in POLARISATIONS:
            problems.append(f"polarise={self.polarise!r} is not one of {POLARISATIONS}")
        if not 0.0 <= self.min_maf < 0.5:
            problems.append(f"min_maf={self.min_maf} must be in [0, 0.5)")
        if problems:
            raise PopgenHubError(f"{self.name} encoder: {'; '.join(problems)}")

    @property
    def channels(self) -> tuple[str, ...]:
        return CHANNELS

    @property
    def shapes(self) -> dict[str, tuple[int | None, ...]]:
        """None: any number of individuals."""
        return {TENSOR: (None, len(self.channels), self.n_sites)}

    def as_individuals(self, block: GenotypeBlock) -> GenotypeBlock:
        """``block`` with one column per individual: a haplotype block's consecutive
        haplotypes grouped by ``ploidy`` into unphased ALT counts (module doc); others as
        they are, once their samples are checked to be of the encoder's ploidy."""
        self.check_kind(block)
        if block.kind != "haplotypes":
            wrong = set(block.samples.ploidy) - {self.ploidy}
            if wrong:
                raise PopgenHubError(f"the {self.name} encoder reads individuals of ploidy "
                                     f"{self.ploidy}, not {', '.join(map(str, sorted(wrong)))}")
            return block
        n = block.values.shape[1] // self.ploidy
        grouped = block.values[:, :n * self.ploidy].reshape(block.n_sites, n, self.ploidy)
        counts = np.where((grouped < 0).any(axis=2), -1, grouped.sum(axis=2)).astype(np.int8)
        owners = block.haplotype_sample[:n * self.ploidy:self.ploidy]
        samples = Samples([block.samples.names[i] for i in owners], [self.ploidy] * n)
        return GenotypeBlock(block.positions, counts, "genotypes", samples)

    def encode(self, block: GenotypeBlock, window: tuple[float, float] | None = None
               ) -> EncodedWindow:
        """Encode one window of every individual of ``block`` (module doc)."""
        individuals = self.as_individuals(block)
        dosage, called, probabilities = self._dosages(individuals)
        if called.flags.c_contiguous and dosage.flags.c_contiguous and called.all():
            # every call made: the same counts, and the same sums of the same (C-ordered) array
            n_called = np.full(len(called), called.shape[1], dtype=np.int_)
            alt_count = dosage.sum(axis=1) * self.ploidy
        else:
            n_called = called.sum(axis=1)
            alt_count = np.where(called, dosage, 0.0).sum(axis=1) * self.ploidy
        alleles = n_called * self.ploidy
        alt = alt_count / np.maximum(alleles, 1)
        flip = (alt > 0.5) if self.polarise == "minor" else np.zeros(len(alt), dtype=bool)
        minor = np.minimum(alt_count, alleles - alt_count)
        keep = (minor >= 0.5) & (minor >= self.min_maf * alleles)
        positions = np.asarray(individuals.positions, dtype=np.float64)[keep]
        first, left = central_run(positions, window, self.n_sites)
        run = np.flatnonzero(keep)[first:first + self.n_sites]
        columns = slice(left, left + len(run))
        tensor = np.zeros((dosage.shape[1], len(self.channels), self.n_sites), np.float32)
        dosage, called, flip = dosage[run].T, called[run].T, flip[run]
        tensor[:, DOSAGE, columns] = np.where(called, np.where(flip, 1.0 - dosage, dosage), 0.0)
        tensor[:, CALLED, columns] = called
        start = window[0] if window else (positions[0] if len(positions) else 0.0)
        length = (window[1] - window[0]) if window else (
            positions[-1] - positions[0] + 1 if len(positions) else 1.0)
        # np.diff(positions, prepend=start).clip(min=0), of the run's sites only
        kept = positions[first:first + self.n_sites]
        previous = (positions[first - 1:first - 1 + len(kept)] if first else
                    np.concatenate([np.array([start], dtype=np.float64), kept[:-1]])[:len(kept)])
        gaps = np.maximum(kept - previous, 0.0)
        tensor[:, GAP, columns] = gaps * self.n_sites / length
        if probabilities is not None:
            chosen = probabilities[run].transpose(1, 2, 0)  # (individuals, genotypes, sites)
            tensor[:, len(CHANNELS):, columns] = np.where(flip, chosen[:, ::-1], chosen)
        return EncodedWindow({TENSOR: tensor}, int(keep.sum()))

    def _dosages(self, block: GenotypeBlock
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(sites, individuals) ALT count over the ploidy, and called mask; no genotype
        probabilities (this encoder has no channels for them)."""
        called = block.values >= 0
        return block.values / self.ploidy, called, None


@ENCODERS.register()
@dataclass(frozen=True)
class LikelihoodMatrixEncoder(GenotypeMatrixEncoder):
    """Genotype likelihoods of any number of individuals: the genotype matrix's channels, the
    dosage expected under a flat prior, plus each genotype's probability (module doc)."""

    name = "likelihood_matrix"
    data_kinds = ("likelihoods", "genotypes", "haplotypes")
    missing_rule = ("a call whose likelihoods are all equal (or missing) is missing: 0 dosage, "
                    "a 0 in the 'called' channel and equal genotype probabilities; individuals "
                    "with no call in the window's columns are left out of the pooling over "
                    "individuals")

    #: mean read depths per individual the model is trained for (its contract's depth range):
    #: training draws reads at them; encoding does not use them
    depth_min: float = 0.5
    depth_max: float = 20.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 < self.depth_min <= self.depth_max:
            raise PopgenHubError(f"{self.name} encoder: depth_min={self.depth_min} and "
                                 f"depth_max={self.depth_max} must be positive, in order")

    @property
    def depth_range(self) -> tuple[float, float]:
        return self.depth_min, self.depth_max

    @property
    def channels(self) -> tuple[str, ...]:
        return (*CHANNELS, *(f"p{copies}" for copies in range(self.ploidy + 1)))

    def _dosages(self, block: GenotypeBlock) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Expected dosage over the ploidy, called mask and genotype probabilities (sites,
        individuals, genotypes); called genotypes give sharp probabilities."""
        if block.kind == "likelihoods":
            probabilities, called = block.called_posteriors()
            if probabilities.shape[2] != self.ploidy + 1:
                raise PopgenHubError(f"the {self.name} encoder reads {self.ploidy + 1} "
                                     f"genotype likelihoods per call, not "
                                     f"{probabilities.shape[2]}")
        else:
            called = block.values >= 0
            genotypes = np.arange(self.ploidy + 1)
            probabilities = np.where(called[..., None], block.values[..., None] == genotypes,
                                     1.0 / len(genotypes))
        dosage = probabilities @ np.arange(self.ploidy + 1) / self.ploidy
        return dosage, called, probabilities.astype(np.float32)
