"""A window as the sequence of its SNPs, for recurrent networks (ReLERNN, Adrion et al. 2020).

ReLERNN reads a window's haplotypes SNP by SNP with their positions. This encoder gives each
segregating site (in order along the window) features that do not depend on the order of the
haplotypes, so that any ``n_haplotypes`` of a sample read alike:

- ``present`` (1; 0 in the padding after the last site), the site's position in the window
  (0-1), log10 of the gap from the previous site (or the window's start), and its minor allele
  frequency;
- for each of the next ``neighbours`` sites: r² with it, whether the pair shows all four
  gametes (a recombination, or a recurrent mutation, since their common ancestor: Hudson and
  Kaplan's test) and log10 of the distance to it.

Distances are in bp over 10^5, as logs (``log10(1 + bp) / 5``), so a density of sites, which
tells the population's size when the mutation rate is known, is read beside the linkage that
tells its recombination. Windows with more than ``max_sites`` segregating sites keep an evenly
spaced subset of them (features computed on the subset); the rest of the tensor is zeros.
A missing call lowers its site's called alleles; r² and the four-gamete test use the
haplotypes called at both sites.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import PopgenHubError
from ..genotypes import GenotypeBlock
from ..stats.ld import pair_r2
from ..stats.sites import site_counts
from .base import ENCODERS, DataclassEncoder, EncodedWindow

TENSOR = "snp_sequence"
SITE_FEATURES = ("present", "position", "log_gap", "maf")
PAIR_FEATURES = ("r2", "four_gametes", "log_distance")
LOG_SCALE = 5.0  # log10(1 + bp) / 5: 100 kb is 1


@ENCODERS.register()
@dataclass(frozen=True)
class SnpSequenceEncoder(DataclassEncoder):
    """The SNPs of one window of phased haplotypes, in order, with their linkage (module doc)."""

    name = "snp_sequence"
    missing_rule = ("a missing call lowers its site's called alleles; r² and the four-gamete "
                    "test use the haplotypes called at both sites")

    max_sites: int = 256
    neighbours: int = 6

    def __post_init__(self) -> None:
        if self.max_sites < 2 or self.neighbours < 1:
            raise PopgenHubError(f"snp_sequence encoder: max_sites={self.max_sites} must be at "
                                 f"least 2 and neighbours={self.neighbours} positive")

    @property
    def feature_names(self) -> list[str]:
        """The name of each feature of a site, in order."""
        return [*SITE_FEATURES, *(f"{name}_{k}" for k in range(1, self.neighbours + 1)
                                  for name in PAIR_FEATURES)]

    @property
    def shapes(self) -> dict[str, tuple[int, int]]:
        return {TENSOR: (self.max_sites, len(self.feature_names))}

    def encode(self, block: GenotypeBlock, window: tuple[float, float] | None = None
               ) -> EncodedWindow:
        """The sites of ``window`` (default: the span of the block's sites)."""
        self.check_kind(block)
        counts = site_counts(block)
        segregating = np.flatnonzero(counts.p_segregating > 0)
        n_segregating = len(segregating)
        if n_segregating > self.max_sites:
            segregating = segregating[np.linspace(0, n_segregating - 1, self.max_sites
                                                  ).round().astype(np.int64)]
        sites = block.take_sites(segregating)
        positions = np.asarray(sites.positions, dtype=np.float64)
        start, end = window if window else (
            (positions[0], positions[-1] + 1) if len(positions) else (0.0, 1.0))
        n = len(segregating)
        features = np.zeros((self.max_sites, len(self.feature_names)), dtype=np.float32)
        if n:
            frequency = counts.mean[segregating] / np.maximum(counts.called[segregating], 1)
            gaps = np.diff(positions, prepend=start)
            features[:n, :len(SITE_FEATURES)] = np.stack([
                np.ones(n), (positions - start) / max(end - start, 1),
                np.log10(1 + np.maximum(gaps, 0)) / LOG_SCALE,
                np.minimum(frequency, 1 - frequency)], axis=1)
            features[:n, len(SITE_FEATURES):] = self._pairs(sites, positions).reshape(n, -1)
        return EncodedWindow({TENSOR: features}, n_segregating)

    def _pairs(self, sites: GenotypeBlock, positions: np.ndarray) -> np.ndarray:
        """(sites, neighbours, PAIR_FEATURES) of each site with each of the next sites (zeros
        past the last)."""
        n = len(positions)
        out = np.zeros((n, self.neighbours, len(PAIR_FEATURES)))
        values = np.asarray(sites.values)
        for k in range(1, min(self.neighbours, n - 1) + 1):
            first, second = np.arange(n - k), np.arange(k, n)
            a, b = values[first], values[second]
            called = (a >= 0) & (b >= 0)
            gametes = [((a == x) & (b == y) & called).any(axis=1) for x in (0, 1) for y in (0, 1)]
            out[first, k - 1, 0] = np.nan_to_num(pair_r2(sites, first, second))
            out[first, k - 1, 1] = np.all(gametes, axis=0)
            out[first, k - 1, 2] = np.log10(1 + positions[second] - positions[first]) / LOG_SCALE
        return out
