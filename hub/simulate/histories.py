"""Families of one-population size histories: what a sweep model is trained over.

A published multi-population model (stdpopsim's HomSap catalogue) is reduced to the size
history its sampled population *looks like* from inside: the inverse of the pairwise
coalescence rate of two lineages sampled there (msprime's ``DemographyDebugger``), as
piecewise-constant epochs. That history gives the sampled population's coalescence times,
and so its diversity, site-frequency spectrum and haplotype lengths, up to the effects of
population structure on more than two lineages. It is the documented approximation the sweep
scenario needs, because msprime runs a sweep only in one population with no demographic event
while it runs (cards say so). Random histories (bottlenecks, growth, jitter of a published one)
widen the family around the published ones.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from typing import ClassVar

import msprime
import numpy as np

from ..errors import PopgenHubError
from .base import Scenario, TimePoint

STDPOPSIM = ("Adrion JR et al. (2020). A community-maintained standard library of population "
             "genetic models. eLife 9:e54967; Lauterbur ME et al. (2023) eLife 12:RP84874.")

#: Present-day populations of stdpopsim 0.3.0's HomSap models, as "HomSap/<model>/<pop>".
#: Archaic, ghost, ancestral and ancient-only populations are left out: NEA of
#: OutOfAfricaExtendedNeandertalAdmixturePulse_3I21 (Neanderthal, sampled at 0 only by
#: default), J of AshkSub_7G19 (the ancestral Jewish population, not a sampled one) and every
#: population with another default sampling time.
PRESENT_DAY = {
    "OutOfAfricaExtendedNeandertalAdmixturePulse_3I21": ("YRI", "CEU"),
    "OutOfAfrica_3G09": ("YRI", "CEU", "CHB"),
    "OutOfAfrica_2T12": ("AFR", "EUR"),
    "Africa_1T12": ("AFR",),
    "AmericanAdmixture_4B18": ("AFR", "EUR", "ASIA", "ADMIX"),
    "OutOfAfricaArchaicAdmixture_5R19": ("YRI", "CEU", "CHB"),
    "Zigzag_1S14": ("generic",),
    "AncientEurasia_9K19": ("Mbuti", "Sardinian", "Han"),
    "PapuansOutOfAfrica_10J19": ("YRI", "CEU", "CHB", "Papuan"),
    "AshkSub_7G19": ("YRI", "CHB", "CEU", "ME", "WAJ", "EAJ"),
    "OutOfAfrica_4J17": ("YRI", "CEU", "CHB", "JPT"),
    "Africa_1B08": ("African_Americans",),
}
ALL_HOMSAP = tuple(f"HomSap/{m}/{p}" for m, pops in PRESENT_DAY.items() for p in pops)
#: Kept out of every bundled model's training, to test on.
HELD_OUT_MODELS = ("OutOfAfrica_3G09", "AmericanAdmixture_4B18", "Africa_1B08")
TRAINING_HOMSAP = tuple(h for h in ALL_HOMSAP if h.split("/")[1] not in HELD_OUT_MODELS)
#: Present-day populations by ancestry group, for the per-group bundled models.
ANCESTRY_GROUPS = {
    "european": ("CEU", "EUR", "Sardinian"),
    "east_asian": ("CHB", "JPT", "Han"),
    "african": ("YRI", "AFR", "Mbuti"),
}


def training_histories(group: str) -> tuple[str, ...]:
    """The training HomSap histories of one ancestry group (every one for "general")."""
    if group == "general":
        return TRAINING_HOMSAP
    if group not in ANCESTRY_GROUPS:
        raise PopgenHubError(f"unknown ancestry group {group!r}; known: general, "
                             f"{', '.join(ANCESTRY_GROUPS)}")
    return tuple(h for h in TRAINING_HOMSAP if h.split("/")[2] in ANCESTRY_GROUPS[group])

#: Epoch starts (generations): 0, then log-spaced to 200,000 (older ones keep the last size).
EPOCH_STARTS = np.concatenate([[0.0], np.geomspace(20, 200_000, 48)])
MIN_SIZE, MAX_SIZE = 100.0, 1e6


@dataclass(frozen=True)
class SizeHistory:
    """Piecewise-constant diploid sizes: ``sizes[i]`` from ``starts[i]`` generations ago."""

    starts: np.ndarray
    sizes: np.ndarray

    def size_at(self, time: float) -> float:
        return float(self.sizes[np.searchsorted(self.starts, time, side="right") - 1])

    def harmonic_mean(self, begin: float, end: float) -> float:
        """Harmonic mean size over [begin, end): the constant size with the same expected
        coalescence of a pair over the interval."""
        edges = np.clip(np.append(self.starts, np.inf), begin, end)
        lengths = np.diff(edges)
        return float(lengths.sum() / (lengths / self.sizes).sum())

    def flattened(self, begin: float, end: float) -> SizeHistory:
        """The same history with one constant size (the harmonic mean) over [begin, end), so
        that a sweep can run there without a demographic event."""
        size = self.harmonic_mean(begin, end)
        after = self.size_at(end)
        keep = (self.starts < begin) | (self.starts > end)
        starts = np.concatenate([self.starts[keep], [begin, end]])
        sizes = np.concatenate([self.sizes[keep], [size, after]])
        order = np.argsort(starts, kind="stable")
        return SizeHistory(starts[order], sizes[order])

    def demography(self) -> msprime.Demography:
        demography = msprime.Demography.isolated_model([float(self.sizes[0])])
        for start, size in zip(self.starts[1:], self.sizes[1:], strict=True):
            demography.add_population_parameters_change(float(start), initial_size=float(size))
        return demography


@functools.cache
def published(history: str) -> SizeHistory:
    """The pairwise-coalescence size history of ``HomSap/<model>/<population>``."""
    import stdpopsim

    parts = history.split("/")
    if len(parts) != 3 or parts[0] != "HomSap" or parts[2] not in PRESENT_DAY.get(parts[1], ()):
        raise PopgenHubError(f"history {history!r} is not 'HomSap/<model>/<population>' with a "
                             f"present-day population; known: {', '.join(ALL_HOMSAP)}")
    model = stdpopsim.get_species("HomSap").get_demographic_model(parts[1]).model
    with warnings.catch_warnings():  # msprime's step-doubling check; the grid is fixed
        warnings.simplefilter("ignore", UserWarning)
        rates, _ = model.debug().coalescence_rate_trajectory(EPOCH_STARTS,
                                                            lineages={parts[2]: 2})
    rates = np.where(np.isfinite(rates) & (rates > 0), rates, np.nan)
    sizes = 1 / (2 * rates)
    sizes = _fill_forward(sizes)
    return SizeHistory(EPOCH_STARTS.copy(), np.clip(sizes, MIN_SIZE, MAX_SIZE))


def _fill_forward(sizes: np.ndarray) -> np.ndarray:
    """Undefined sizes (no pair left to coalesce) take the last defined one."""
    sizes = sizes.copy()
    first = np.flatnonzero(~np.isnan(sizes))
    if not len(first):
        raise PopgenHubError("a history has no defined coalescence rate")
    sizes[: first[0]] = sizes[first[0]]
    for i in range(1, len(sizes)):
        if np.isnan(sizes[i]):
            sizes[i] = sizes[i - 1]
    return sizes


@dataclass(frozen=True)
class HistoryFamily(Scenario):
    """What the scenarios whose replicates each draw a history of the family share (the
    sweep and recombination regimes): the histories to draw from and the shares of jittered
    and random ones, their checks, one present-day sample."""

    histories: tuple[str, ...] = TRAINING_HOMSAP  # "HomSap/<model>/<population>"
    random_share: float = 0.3  # replicates in a random bottleneck/growth history
    jitter_share: float = 0.3  # replicates in a jittered published history
    random_bottlenecks: int = 1  # B: a random history has 1 to B bottlenecks (equally likely)
    later_fields: ClassVar[dict[str, tuple[str, ...]]] = {"random_bottlenecks": ()}

    def history_problems(self) -> list[str]:
        problems = []
        unknown = [h for h in self.histories if h not in ALL_HOMSAP]
        if unknown or not self.histories:
            problems.append(f"histories {unknown or '()'} are not HomSap present-day "
                            f"populations; known: {', '.join(ALL_HOMSAP)}")
        if not (0 <= self.random_share and 0 <= self.jitter_share
                and self.random_share + self.jitter_share <= 1):
            problems.append("random_share and jitter_share must be in [0, 1], their sum at "
                            "most 1")
        if self.random_bottlenecks not in (1, 2):
            problems.append(f"random_bottlenecks={self.random_bottlenecks} must be 1 or 2")
        return problems

    @property
    def all_citations(self) -> list[str]:
        return list(self.citations)  # the histories' models are named in the parameters

    @property
    def time_points(self) -> tuple[TimePoint, ...]:
        return (TimePoint(0.0, 0.0, self.n_haplotypes),)


def drawn_history(histories: tuple[str, ...], params: dict[str, float],
                  rng: np.random.Generator, random_bottlenecks: int = 1) -> SizeHistory:
    """A replicate's history from its drawn ``history_index`` and ``history_kind`` (0: the
    published one, 1: it jittered, 2: a random one with 1 to ``random_bottlenecks``)."""
    history = published(histories[int(params["history_index"])])
    if params["history_kind"] == 1:
        return jittered(history, rng)
    if params["history_kind"] == 2:
        return random_history(rng, random_bottlenecks)
    return history


def jittered(base: SizeHistory, rng: np.random.Generator) -> SizeHistory:
    """``base`` with its times stretched by a factor in [0.7, 1.4] and each size multiplied
    by a smooth random factor (log-normal, sd 0.3, correlated over neighbouring epochs)."""
    noise = np.convolve(rng.normal(0, 0.3, len(base.sizes) + 4), np.ones(5) / np.sqrt(5),
                        mode="valid")
    stretch = float(np.exp(rng.uniform(np.log(0.7), np.log(1.4))))
    return SizeHistory(base.starts * stretch,
                       np.clip(base.sizes * np.exp(noise), MIN_SIZE, MAX_SIZE))


def random_history(rng: np.random.Generator, max_bottlenecks: int = 1) -> SizeHistory:
    """An ancestral size, one bottleneck of random depth, age and length, and a recent
    exponential growth or decline (discretised on the epoch grid). With ``max_bottlenecks``
    2, half of them have an older bottleneck as well, 10-5,000 generations before the first
    (the shape of a Eurasian history: out of Africa, then a founding of its own); its draws
    come after the others, so a history of one bottleneck is the same either way."""
    ancestral = float(np.exp(rng.uniform(np.log(5_000), np.log(30_000))))
    sizes = np.full(len(EPOCH_STARTS), ancestral)
    start = float(np.exp(rng.uniform(np.log(100), np.log(10_000))))
    length = float(np.exp(rng.uniform(np.log(50), np.log(2_000))))
    depth = float(np.exp(rng.uniform(np.log(300), np.log(ancestral))))
    sizes[(EPOCH_STARTS >= start) & (EPOCH_STARTS < start + length)] = depth
    recent = EPOCH_STARTS < start
    present = float(np.exp(rng.uniform(np.log(depth / 2), np.log(200_000))))
    if recent.any():  # log-linear from the bottleneck's size at its start to the present
        share = EPOCH_STARTS[recent] / start
        sizes[recent] = np.exp(np.log(present) * (1 - share) + np.log(depth) * share)
    if max_bottlenecks == 2 and rng.uniform() < 0.5:
        older = start + length + float(np.exp(rng.uniform(np.log(10), np.log(5_000))))
        older_length = float(np.exp(rng.uniform(np.log(50), np.log(2_000))))
        older_depth = float(np.exp(rng.uniform(np.log(300), np.log(ancestral))))
        sizes[(EPOCH_STARTS >= older) & (EPOCH_STARTS < older + older_length)] = older_depth
    return SizeHistory(EPOCH_STARTS.copy(), np.clip(sizes, MIN_SIZE, MAX_SIZE))
