"""Neutral windows over a family of histories, each with its own recombination rate: the
training regime of the recombination-rate regression (ReLERNN; Adrion, Galloway & Kern 2020).

ReLERNN simulates, per dataset, windows with a uniform recombination rate drawn from a prior and
the user's mutation rate and (optionally) demography. A pretrained model serves users who
cannot simulate per dataset, so each replicate here draws a history — a published HomSap
population's pairwise-coalescence size history, jittered, or a random bottleneck and growth
(:mod:`..histories`, as the sweep models) —, a mutation rate from a narrow human prior and a
recombination rate log-uniform from cold (1e-10 per bp) to hot (1e-7) windows. The target is
the recombination rate in cM/Mb (1e8 times the rate per bp). Recombination and mutation rates
are confounded in linkage and diversity; the model knows the mutation rate only through its
prior (stated on the card).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import msprime
import numpy as np

from ..base import MSPRIME, Replicate, replicate_seeds
from ..histories import STDPOPSIM, HistoryFamily, drawn_history

RELERNN = ("Adrion JR, Galloway JG, Kern AD (2020). Predicting the landscape of recombination "
           "using deep learning. Mol Biol Evol 37:1790-1808.")


@dataclass(frozen=True)
class RecombinationRegime(HistoryFamily):
    """Neutral windows, each with a drawn history, mutation rate and recombination rate."""

    name: ClassVar[str] = "recombination_regime"
    labels: ClassVar[tuple[str, ...]] = ("recombination_rate_cM_per_Mb",)
    citations: ClassVar[tuple[str, ...]] = (RELERNN, STDPOPSIM, MSPRIME)
    #: what a regression learns: a replicate parameter, scaled (here per bp to cM/Mb), on a
    #: log10 scale in training (see popgen_hub.training.objectives)
    target: ClassVar[dict[str, Any]] = {"parameter": "recombination_rate", "factor": 1e8,
                                        "log10": True}

    length: int = 50_000  # window, bp
    n_haplotypes: int = 64
    mutation_rate_min: float = 1.1e-8  # uniform prior around human estimates (1.29e-8:
    mutation_rate_max: float = 1.5e-8  # stdpopsim's HomSap rate)
    recombination_rate_min: float = 1e-10  # per bp, log-uniform: 0.01 cM/Mb ...
    recombination_rate_max: float = 1e-7  # ... to 10 cM/Mb

    def __post_init__(self) -> None:
        problems = self.locus_problems() + self.history_problems()
        problems += [f"{name}_min..max = {low}..{high} must be positive and ordered"
                     for name, low, high in (
                         ("mutation_rate", self.mutation_rate_min, self.mutation_rate_max),
                         ("recombination_rate", self.recombination_rate_min,
                          self.recombination_rate_max)) if not 0 < low <= high]
        self.fail_if(problems)

    def draw(self, rng: np.random.Generator) -> dict[str, float]:
        """A replicate's history, mutation rate and recombination rate."""
        kind = rng.uniform()
        low, high = np.log(self.recombination_rate_min), np.log(self.recombination_rate_max)
        return {
            "history_index": float(rng.integers(len(self.histories))),
            "history_kind": (2.0 if kind < self.random_share else
                             1.0 if kind < self.random_share + self.jitter_share else 0.0),
            "mutation_rate": float(rng.uniform(self.mutation_rate_min, self.mutation_rate_max)),
            "recombination_rate": float(np.exp(rng.uniform(low, high))),
        }

    def simulate(self, index: int, seed: int) -> Replicate:
        ancestry_seed, mutation_seed, draw_seed = replicate_seeds(seed, index, self.stream)
        rng = np.random.default_rng(draw_seed)
        params = self.draw(rng)
        history = drawn_history(self.histories, params, rng, self.random_bottlenecks)
        ts = msprime.sim_ancestry(samples=self.n_haplotypes // 2, ploidy=2,
                                  demography=history.demography(), sequence_length=self.length,
                                  recombination_rate=params["recombination_rate"],
                                  random_seed=ancestry_seed)
        return self.with_mutations(ts, 0, params, mutation_seed)
