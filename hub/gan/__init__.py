"""``popgen-hub fit-demography``: a demographic model fitted to a VCF by a generative
adversarial network in the spirit of pg-gan (Wang et al. 2021): msprime is the generator, the
house's exchangeable network the discriminator (:mod:`popgen_hub.gan.fit`, the train extra).

This module is torch-free: the named demographic models and their parameter spaces, the
windows the discriminator reads (:mod:`popgen_hub.gan.windows`), and the fit record
(``fit.json``) as benchmarks and tests read it.

The model (:data:`MODELS`): ``two_epoch``, dadi's two-epoch model (Gutenkunst et al. 2009) in
absolute units, three free parameters: a population of ``N_ancestral`` diploids changed
instantly to ``N_present`` ``T_change`` generations ago (a bottleneck when smaller, growth when
larger). The bounds hold human-like histories (pg-gan's parameter ranges are of this order).
Mutation and recombination rates are fixed at human values (:data:`MUTATION_RATE`,
:data:`RECOMBINATION_RATE`), as pg-gan fixes them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import PopgenHubError
from ..schema import read_record

#: stdpopsim HomSap's genome-wide mean mutation rate, per bp per generation
MUTATION_RATE = 1.29e-8
#: pg-gan's recombination rate for human data (Wang et al. 2021), per bp per generation
RECOMBINATION_RATE = 1.25e-8
#: pg-gan's region length; windows of the VCF and of the generator alike
WINDOW_BP = 50_000
#: the null class first: the scan's score is P(unlike_fitted)
LABELS = ("fitted_model", "unlike_fitted")
FIT_RECORD, TRAJECTORY, DISCRIMINATOR = "fit.json", "trajectory.png", "discriminator"
#: the training run behind the exported discriminator (``popgen-hub export`` reads it)
DISCRIMINATOR_RUN = "discriminator_run"
WANG_2021 = ("Wang Z, Wang J, Kourakos M, Hoang N, Lee HH, Mathieson I, Mathieson S (2021) "
             "Automatic inference of demographic parameters using generative adversarial "
             "networks. Molecular Ecology Resources 21:2689-2705")
GUTENKUNST_2009 = ("Gutenkunst RN, Hernandez RD, Williamson SH, Bustamante CD (2009) Inferring "
                   "the joint demographic history of multiple populations from "
                   "multidimensional SNP frequency data. PLoS Genetics 5:e1000695")


@dataclass(frozen=True)
class Parameter:
    """A free parameter, searched between ``low`` and ``high`` on a log scale."""

    name: str
    low: float
    high: float
    description: str

    def clip(self, value: float) -> float:
        return min(self.high, max(self.low, value))

    def log_width(self) -> float:
        return math.log(self.high) - math.log(self.low)


@dataclass(frozen=True)
class DemographicModel:
    """A named one-population model: its free parameters and how msprime builds it."""

    name: str
    description: str
    citation: str
    parameters: tuple[Parameter, ...]
    build: Callable[[Mapping[str, float]], Any]

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.parameters]

    def bounds(self) -> dict[str, list[float]]:
        return {p.name: [p.low, p.high] for p in self.parameters}


def _two_epoch(values: Mapping[str, float]) -> Any:
    import msprime

    demography = msprime.Demography.isolated_model([values["N_present"]])
    demography.add_population_parameters_change(values["T_change"],
                                                initial_size=values["N_ancestral"])
    return demography


MODELS = {
    "two_epoch": DemographicModel(
        "two_epoch", "an instantaneous size change: N_ancestral diploids before T_change "
        "generations ago, N_present since", GUTENKUNST_2009,
        (Parameter("N_ancestral", 1_000, 50_000, "diploids before the change"),
         Parameter("N_present", 500, 100_000, "diploids since the change"),
         Parameter("T_change", 100, 10_000, "generations ago")),
        _two_epoch),
}


def demographic_model(name: str) -> DemographicModel:
    try:
        return MODELS[name]
    except KeyError:
        raise PopgenHubError(f"--demography {name!r} is not a known model; known: "
                             f"{', '.join(MODELS)}") from None


@dataclass(frozen=True)
class FitSettings:
    """The options of a fit; pg-gan's values (Wang et al. 2021): 300 iterations, 10 proposals,
    mini-batches of 50, 100 discriminator mini-batches per accepted iteration, up to 10
    pretraining trials (uniform starts) of 800 mini-batches each. ``individuals`` 0: all of
    the population's."""

    demography: str = "two_epoch"
    iterations: int = 40
    proposals: int = 5
    batch_size: int = 32
    disc_steps: int = 25
    pretrain_trials: int = 5
    pretrain_steps: int = 40
    learning_rate: float = 1e-3
    held_out: float = 0.2
    window_bp: int = WINDOW_BP
    individuals: int = 50
    seed: int = 0
    threads: int = 1

    def check(self) -> None:
        """One-line errors naming the option."""
        for option, value, least in (
                ("--iterations", self.iterations, 1), ("--proposals", self.proposals, 1),
                ("--batch-size", self.batch_size, 2), ("--disc-steps", self.disc_steps, 1),
                ("--pretrain-trials", self.pretrain_trials, 1),
                ("--pretrain-steps", self.pretrain_steps, 1), ("--threads", self.threads, 1),
                ("--window-bp", self.window_bp, 1000),
                *((("--individuals", self.individuals, 5),) if self.individuals else ())):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise PopgenHubError(f"{option} {value}: must be a whole number of at least "
                                     f"{least}")
        if not 0 < self.held_out < 0.9:
            raise PopgenHubError(f"--held-out {self.held_out}: must be a share above 0 and "
                                 f"below 0.9")
        if not 0 < self.learning_rate < 1:
            raise PopgenHubError(f"--learning-rate {self.learning_rate}: must be in (0, 1)")
        demographic_model(self.demography)


def propose(parameter: Parameter, value: float, temperature: float,
            rng: np.random.Generator) -> float:
    """A log-scale version of pg-gan's proposal (pg-gan steps linearly, sd (max - min) / 15
    x temperature): a normal step of the log of sd (log width / 15) x temperature, drawn again
    until it falls inside the bounds (at most 100 draws, then clipped)."""
    sd = parameter.log_width() / 15 * max(temperature, 1e-3)
    for _ in range(100):
        proposed = math.exp(rng.normal(math.log(value), sd))
        if parameter.low <= proposed <= parameter.high:
            return proposed
    return parameter.clip(proposed)


#: what benchmarks and tests read of fit.json, and the type of each
FIT_KEYS = {"demography": str, "parameters": dict[str, float], "bounds": dict[str, Any],
            "trajectory": list[dict[str, Any]], "settings": dict[str, Any],
            "data": dict[str, Any], "discriminator": dict[str, Any]}


def read_fit(path: str | Path) -> dict[str, Any]:
    """A fit record (``fit.json`` of ``popgen-hub fit-demography``), checked."""
    return read_record(Path(path), FIT_KEYS, "it is not the fit.json of `popgen-hub "
                       "fit-demography`; run it again")


def relative_errors(fitted: Mapping[str, float], truth: Mapping[str, float]) -> dict[str, float]:
    """|fitted - true| / true per parameter."""
    return {name: abs(fitted[name] - value) / value for name, value in truth.items()}
