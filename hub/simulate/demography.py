"""Demographic models used by the scenarios, each parameter named with its source.

Sizes are diploid individuals, times are generations before present. ImaGene's Marth et al.
European models are written out here; human out-of-Africa models come from stdpopsim's
catalogue (``HomSap/<model id>``), with their populations, generation times and citations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import msprime

from ..errors import PopgenHubError

MARTH_2004 = (
    "Marth GT, Czabarka E, Murvai J, Sherry ST (2004). The allele frequency spectrum in "
    "genome-wide human variation data reveals signals of differential demographic history in "
    "three large world populations. Genetics 166:351-372. Table 1, European sample; as used by "
    "ImaGene (Torada et al. 2019)."
)


def _marth2004_eur_1epoch() -> msprime.Demography:
    n_ancestral = 10_000  # N1, Table 1
    return msprime.Demography.isolated_model([n_ancestral])


def _marth2004_eur_2epoch() -> msprime.Demography:
    n_ancestral = 10_000  # N2, Table 1
    n_recent = 140_000  # N1, Table 1 (ImaGene: -eN 0 14 with Nref 10,000)
    t_growth = 2_000  # T1, Table 1 (ImaGene: -eN 0.05 in 4 Nref generations)
    demography = msprime.Demography.isolated_model([n_recent])
    demography.add_population_parameters_change(t_growth, initial_size=n_ancestral)
    return demography


def _marth2004_eur_3epoch() -> msprime.Demography:
    n_ancestral = 10_000  # N3, Table 1
    n_bottleneck = 2_000  # N2, Table 1 (ImaGene: -eN 0.075 0.2)
    n_recent = 20_000  # N1, Table 1 (ImaGene: -eN 0 2)
    t_recovery = 3_000  # T1, Table 1 (ImaGene: 0.075 x 4 Nref)
    t_bottleneck = 3_500  # T1 + T2 = 3,000 + 500 (ImaGene: 0.0875 x 4 Nref)
    demography = msprime.Demography.isolated_model([n_recent])
    demography.add_population_parameters_change(t_recovery, initial_size=n_bottleneck)
    demography.add_population_parameters_change(t_bottleneck, initial_size=n_ancestral)
    return demography


@dataclass(frozen=True)
class DemographyInfo:
    build: Callable[[], msprime.Demography]
    populations: tuple[str, ...]  # the first is the default sampled population
    generation_time: float  # years
    citation: str


def _stdpopsim(model_id: str) -> DemographyInfo:
    import stdpopsim

    model = stdpopsim.get_species("HomSap").get_demographic_model(model_id)
    citation = "; ".join(f"{c.author} ({c.year}) {c.doi}" for c in model.citations)
    populations = tuple(p.name for p in model.populations)
    default = ("CEU",) if "CEU" in populations else ()
    return DemographyInfo(lambda: model.model, default + tuple(p for p in populations
                                                               if p not in default),
                          float(model.generation_time),
                          f"stdpopsim HomSap/{model_id}: {citation}")


MARTH = ("pop_0",)
#: 25 years per generation for the Marth models, which are in generations only.
DEMOGRAPHIES: dict[str, Callable[[], DemographyInfo]] = {
    "marth2004_eur_1epoch": lambda: DemographyInfo(_marth2004_eur_1epoch, MARTH, 25.0, MARTH_2004),
    "marth2004_eur_2epoch": lambda: DemographyInfo(_marth2004_eur_2epoch, MARTH, 25.0, MARTH_2004),
    "marth2004_eur_3epoch": lambda: DemographyInfo(_marth2004_eur_3epoch, MARTH, 25.0, MARTH_2004),
    "HomSap/OutOfAfrica_3G09": lambda: _stdpopsim("OutOfAfrica_3G09"),
    "HomSap/OutOfAfrica_4J17": lambda: _stdpopsim("OutOfAfrica_4J17"),
}


def demography_info(name: str) -> DemographyInfo:
    try:
        return DEMOGRAPHIES[name]()
    except KeyError:
        raise PopgenHubError(
            f"unknown demography {name!r}; known demographies: {', '.join(DEMOGRAPHIES)}"
        ) from None


def get_demography(name: str) -> msprime.Demography:
    return demography_info(name).build()


def present_size(demography: msprime.Demography) -> float:
    """Size of the single population at time 0, the size a sweep ending now runs in."""
    return demography.populations[0].initial_size
