"""ImaGene's task: neutral loci vs a hard sweep at the centre (Torada et al. 2019).

The bundled model ``imagene_cnn.sweep_hsap_eur`` was trained on this scenario; its parameters
(and so its replicates) must not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import msprime
import numpy as np

from ..base import MSPRIME, Replicate, Scenario, TimePoint, replicate_seeds, sweep_model
from ..demography import MARTH_2004, get_demography, present_size

IMAGENE = (
    "Torada L, Lorenzon L, Beddis A, Isildak U, Pattini L, Mathieson S, Fumagalli M (2019). "
    "ImaGene: a convolutional neural network to quantify natural selection from genomic data. "
    "BMC Bioinformatics 20:337."
)


@dataclass(frozen=True)
class SweepVsNeutral(Scenario):
    """Neutral loci vs a hard selective sweep at the locus centre, ImaGene's settings.

    The sweep is a new mutation (start frequency 1/2N) under additive selection with strength
    S = 2 N_ref s (s = heterozygote advantage; S = 300 means s = 1.5 %, ImaGene's strong class),
    simulated with msprime's structured coalescent (SweepGenicSelection). It ends at the
    present at a frequency drawn per replicate uniformly from [end_frequency_min,
    end_frequency_max], so partial, ongoing sweeps such as LCT in Europeans are in the class.
    """

    name: ClassVar[str] = "imagene_sweep"
    labels: ClassVar[tuple[str, ...]] = ("neutral", "sweep")
    citations: ClassVar[tuple[str, ...]] = (IMAGENE, MARTH_2004, MSPRIME)

    demography: str = "marth2004_eur_3epoch"  # ImaGene Reproduce/simulate.sh, MARTH3
    reference_size: int = 10_000  # ImaGene NREF
    length: int = 80_000  # ImaGene LEN, bp
    mutation_rate: float = 1.5e-8  # ImaGene THETA = 48 = 4 NREF mu LEN
    recombination_rate: float = 1e-8  # ImaGene RHO = 32 = 4 NREF r LEN
    n_haplotypes: int = 128  # ImaGene NCHROMS
    selection_strength: float = 300.0  # ImaGene SELRANGE strong class, S = 2 NREF s
    end_frequency_min: float = 0.6
    end_frequency_max: float = 1.0

    @property
    def time_points(self) -> tuple[TimePoint, ...]:
        return (TimePoint(0.0, 0.0, self.n_haplotypes),)

    def __post_init__(self) -> None:
        problems = self.locus_problems()
        if self.selection_strength <= 0:
            problems.append(f"selection_strength={self.selection_strength} must be positive")
        if not 0 < self.end_frequency_min <= self.end_frequency_max <= 1:
            problems.append(
                f"end_frequency_min={self.end_frequency_min}, end_frequency_max="
                f"{self.end_frequency_max} must satisfy 0 < min <= max <= 1"
            )
        self.fail_if(problems)
        get_demography(self.demography)

    def simulate(self, index: int, seed: int) -> Replicate:
        label = index % len(self.labels)
        ancestry_seed, mutation_seed, draw_seed = replicate_seeds(seed, index, self.stream)
        demography = get_demography(self.demography)
        params: dict[str, float] = {"selection_strength": 0.0, "end_frequency": 0.0}
        model: Any = None
        if self.labels[label] == "sweep":
            size = present_size(demography)
            end_frequency = float(np.random.default_rng(draw_seed).uniform(
                self.end_frequency_min, self.end_frequency_max))
            end_frequency = min(end_frequency, 1.0 - 1.0 / (2 * size))
            model = [sweep_model(position=self.length / 2, start_frequency=1.0 / (2 * size),
                                 end_frequency=end_frequency, strength=self.selection_strength,
                                 reference_size=self.reference_size, size=size),
                     msprime.StandardCoalescent()]
            params = {"selection_strength": self.selection_strength, "end_frequency": end_frequency}
        ts = msprime.sim_ancestry(
            samples=self.n_haplotypes // 2,
            ploidy=2,
            demography=demography,
            sequence_length=self.length,
            recombination_rate=self.recombination_rate,
            model=model,
            random_seed=ancestry_seed,
        )
        ts = msprime.sim_mutations(
            ts,
            rate=self.mutation_rate,
            model=msprime.BinaryMutationModel(),
            discrete_genome=False,
            random_seed=mutation_seed,
        )
        haplotypes = ts.genotype_matrix().T.astype(np.uint8)
        positions = ts.tables.sites.position.copy()
        return Replicate(label, haplotypes, positions, params, self.time_points)
