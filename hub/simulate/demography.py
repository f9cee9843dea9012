"""Demographic models used by the scenarios, each parameter named with its source.

Sizes are diploid individuals, times are generations before present.
"""

from __future__ import annotations

from collections.abc import Callable

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


DEMOGRAPHIES: dict[str, Callable[[], msprime.Demography]] = {
    "marth2004_eur_1epoch": _marth2004_eur_1epoch,
    "marth2004_eur_2epoch": _marth2004_eur_2epoch,
    "marth2004_eur_3epoch": _marth2004_eur_3epoch,
}


def get_demography(name: str) -> msprime.Demography:
    try:
        return DEMOGRAPHIES[name]()
    except KeyError:
        raise PopgenHubError(
            f"unknown demography {name!r}; known demographies: {', '.join(DEMOGRAPHIES)}"
        ) from None


def present_size(demography: msprime.Demography) -> float:
    """Size of the single population at time 0, the size a sweep ending now runs in."""
    return demography.populations[0].initial_size
