"""Neutral loci under any catalogued demography, with optional ancient samples and priors.

One class: the null distribution for calibrating scores (false-positive rates of a scan) and
the neutral half of tasks built from several datasets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import msprime
import numpy as np

from ..base import MSPRIME, Replicate, Scenario, replicate_seeds
from ..demography import demography_info


@dataclass(frozen=True)
class Neutral(Scenario):
    """Neutral coalescent (msprime) in one population of a catalogued demography."""

    name: ClassVar[str] = "neutral"
    labels: ClassVar[tuple[str, ...]] = ("neutral",)
    citations: ClassVar[tuple[str, ...]] = (MSPRIME,)

    demography: str = "HomSap/OutOfAfrica_4J17"  # Jouganous et al. 2017, as in the review
    population: str = "CEU"
    length: int = 50_000  # bp; the review's locus
    n_haplotypes: int = 40  # present-day haplotypes; the review's present-day sample
    mutation_rate: float = 1.44e-8  # BaSe / the review (per bp per generation)
    mutation_rate_max: float = 0.0  # > mutation_rate: uniform prior between the two
    recombination_rate: float = 1e-8  # BaSe: r ~ N(1e-8, 1e-9)
    recombination_rate_sd: float = 0.0  # BaSe: 1e-9
    ancient_ages_years: tuple[float, ...] = ()  # e.g. (1000, 2000, 4000, 8000), the review's
    ancient_haplotypes: int = 10  # per ancient time point; the review's
    generation_time: float = 29.0  # years; BaSe / OutOfAfrica_4J17

    def __post_init__(self) -> None:
        self.fail_if(self.common_problems())

    def simulate(self, index: int, seed: int) -> Replicate:
        ancestry_seed, mutation_seed, draw_seed = replicate_seeds(seed, index, self.stream)
        params = self.draw_rates(np.random.default_rng(draw_seed))
        ts = msprime.sim_ancestry(
            samples=self.sample_sets(), ploidy=2,
            demography=demography_info(self.demography).build(),
            sequence_length=self.length, recombination_rate=params["recombination_rate"],
            random_seed=ancestry_seed)
        return self.with_mutations(ts, 0, params, mutation_seed)
