"""Neutral vs hard vs soft sweeps at the locus centre, on a grid of strength and age.

Sweeps are msprime's structured coalescent (SweepGenicSelection): a hard sweep starts from one
copy (1/2N), a soft one from standing variation at a start frequency drawn per replicate.
Selection strength S = 2 N s and the sweep's age (generations since it ended) are drawn per
replicate from their grids, and recorded. msprime needs one population with no demographic or
sampling event while the sweep runs: use a single-population demography, and ancient samples
younger than the sweep's end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import msprime
import numpy as np
from msprime._msprime import LibraryError  # not re-exported by msprime

from ...errors import PopgenHubError
from ..base import MSPRIME, Replicate, Scenario, replicate_seeds, sweep_model
from ..demography import MARTH_2004, demography_info, present_size
from .imagene_sweep import IMAGENE


@dataclass(frozen=True)
class HardSoftSweeps(Scenario):
    """Neutral, hard-sweep and soft-sweep loci (msprime), strength and age from grids."""

    name: ClassVar[str] = "sweeps"
    labels: ClassVar[tuple[str, ...]] = ("neutral", "hard", "soft")
    citations: ClassVar[tuple[str, ...]] = (IMAGENE, MARTH_2004, MSPRIME)

    demography: str = "marth2004_eur_1epoch"  # constant size: sweeps of any age and strength
    population: str = ""
    reference_size: int = 10_000  # N in S = 2 N s; ImaGene NREF
    length: int = 80_000  # ImaGene LEN
    n_haplotypes: int = 128  # ImaGene NCHROMS
    mutation_rate: float = 1.5e-8  # ImaGene THETA 48 over 80 kb with NREF 10,000
    mutation_rate_max: float = 0.0
    recombination_rate: float = 1e-8  # ImaGene RHO 32
    recombination_rate_sd: float = 0.0
    selection_strengths: tuple[float, ...] = (100.0, 200.0, 300.0, 400.0)  # ImaGene's S grid
    sweep_ages: tuple[float, ...] = (0.0, 200.0, 500.0)  # generations since the sweep ended
    end_frequency: float = 0.99  # of the selected allele when the sweep ends
    soft_start_frequency_min: float = 0.01  # ImaGene's msms start frequency
    soft_start_frequency_max: float = 0.1
    ancient_ages_years: tuple[float, ...] = ()
    ancient_haplotypes: int = 10
    generation_time: float = 25.0

    def __post_init__(self) -> None:
        problems = self.common_problems()
        if not self.selection_strengths or min(self.selection_strengths) <= 0:
            problems.append(f"selection_strengths={list(self.selection_strengths)} must be "
                            f"positive (and at least one)")
        if not self.sweep_ages or min(self.sweep_ages) < 0:
            problems.append(f"sweep_ages={list(self.sweep_ages)} must be >= 0 (at least one)")
        if not 0 < self.end_frequency < 1:
            problems.append(f"end_frequency={self.end_frequency} must be in (0, 1)")
        if not (0 < self.soft_start_frequency_min <= self.soft_start_frequency_max
                < self.end_frequency):
            problems.append(f"soft_start_frequency_min..max = {self.soft_start_frequency_min}.."
                            f"{self.soft_start_frequency_max} must be ordered, > 0 and below "
                            f"end_frequency")
        if len(demography_info(self.demography).build().populations) != 1:
            problems.append(f"demography {self.demography} has several populations; msprime "
                            f"sweeps need one (use a marth2004_* model)")
        self.fail_if(problems)  # the check below needs valid ages and a generation time
        oldest_sample = max(p.generations for p in self.time_points)
        if self.ancient_ages_years and oldest_sample >= min(self.sweep_ages):
            problems.append(f"ancient samples up to {oldest_sample:.0f} generations old would "
                            f"fall during a sweep (youngest sweep_age {min(self.sweep_ages)}); "
                            f"msprime cannot sample during a sweep")
        self.fail_if(problems)

    def simulate(self, index: int, seed: int) -> Replicate:
        label = index % len(self.labels)
        ancestry_seed, mutation_seed, draw_seed = replicate_seeds(seed, index, self.stream)
        rng = np.random.default_rng(draw_seed)
        params = self.draw_rates(rng)
        params.update(selection_strength=0.0, sweep_age=0.0, start_frequency=0.0)
        demography = demography_info(self.demography).build()
        model = None
        if self.labels[label] != "neutral":
            size = present_size(demography)
            strength = float(rng.choice(self.selection_strengths))
            age = float(rng.choice(self.sweep_ages))
            start = (1.0 / (2 * size) if self.labels[label] == "hard" else
                     float(rng.uniform(self.soft_start_frequency_min,
                                       self.soft_start_frequency_max)))
            sweep = sweep_model(position=self.length / 2, start_frequency=start,
                                end_frequency=self.end_frequency, strength=strength,
                                reference_size=self.reference_size, size=size)
            model = ([msprime.StandardCoalescent(duration=age)] if age else []) + [
                sweep, msprime.StandardCoalescent()]
            params.update(selection_strength=strength, sweep_age=age, start_frequency=start)
        try:
            ts = msprime.sim_ancestry(
                samples=self.sample_sets(), ploidy=2, demography=demography,
                sequence_length=self.length, recombination_rate=params["recombination_rate"],
                model=model, random_seed=ancestry_seed)
        except LibraryError as exc:  # e.g. a size change while the sweep runs
            raise PopgenHubError(
                f"scenario {self.name}, replicate {index}: msprime cannot run this sweep "
                f"(S = {params['selection_strength']:g}, age {params['sweep_age']:g}) in "
                f"{self.demography}: {exc}; use a constant-size demography or other "
                f"strengths/ages") from None
        return self.with_mutations(ts, label, params, mutation_seed)
