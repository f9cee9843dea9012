"""Sweeps over a family of histories and rates: neutral, sweep at the centre, linked sweep.

The training regime of the bundled sweep models (issue 12). Each replicate draws a history —
a published HomSap population reduced to its pairwise-coalescence size history, jittered, or
a random one with a bottleneck and growth (:mod:`..histories`) —, a mutation rate (uniform
prior), a recombination rate (log-uniform, down to 1e-9 for cold regions) and a sweep: hard
(from one copy) or soft (from standing variation), strength 2 N_ref s log-uniform, ended up
to ``age_max`` generations ago or still under way at a lower frequency. Label ``sweep`` has
the selected site at the window's centre; ``linked`` has it at a log-uniform distance from the
centre, on either side (outside the window, or inside it where the window is wider than twice
the least distance); ``neutral`` has none. Every class draws the same
parameters and runs in the same history, so nothing but the sweep tells the classes apart.

Selection is msprime's structured coalescent, which needs one population and no demographic
event while the sweep runs: the history is held at its harmonic-mean size over the sweep's
expected duration (for every class alike). That approximation, and msprime's for soft sweeps,
is what the cards state.

With ``genome_windows`` = G > 0, replicates come in genomes of G consecutive windows that share
their history, mutation rate and a recombination scale (each window's rate log-normal around
it, as rates vary along a chromosome), so that a network can be given the genome's neutral
windows as a background (``param_genome`` names each replicate's genome).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

import msprime
import numpy as np
from msprime._msprime import LibraryError  # not re-exported by msprime

from ..base import MSPRIME, Replicate, replicate_seeds, survives_abort
from ..histories import STDPOPSIM, HistoryFamily, SizeHistory, drawn_history
from .imagene_sweep import IMAGENE

log = logging.getLogger("popgen_hub")

GAP_BP = 1_000  # the stretch standing in for the distance to a linked sweep
ABORT_RETRIES = 3  # further seeds a sweep is tried with when msprime aborts
SPREAD = 1.0  # sd of a window's log recombination rate around its genome's scale


@dataclass(frozen=True)
class SweepRegime(HistoryFamily):
    """Neutral / sweep-at-centre / linked-sweep windows over histories, rates and sweeps."""

    name: ClassVar[str] = "sweep_regime"
    labels: ClassVar[tuple[str, ...]] = ("neutral", "sweep", "linked")
    citations: ClassVar[tuple[str, ...]] = (IMAGENE, STDPOPSIM, MSPRIME)
    # independent windows (genome_windows 0) keep the manifests made before genomes were
    later_fields: ClassVar[dict[str, tuple[str, ...]]] = {
        **HistoryFamily.later_fields, "genome_windows": ("recombination_spread",)}

    length: int = 80_000  # window, bp (ImaGene LEN)
    n_haplotypes: int = 128
    mutation_rate_min: float = 1e-8  # uniform prior; human estimates 1.1e-8 to 2.5e-8
    mutation_rate_max: float = 2.5e-8
    recombination_rate_min: float = 1e-9  # log-uniform prior: cold regions ...
    recombination_rate_max: float = 3e-8  # ... to hot ones
    reference_size: int = 10_000  # N_ref in S = 2 N_ref s
    strength_min: float = 100.0  # S = 2 N_ref s, log-uniform
    strength_max: float = 2_000.0
    age_max: float = 1_500.0  # generations since a finished sweep ended (uniform)
    ongoing_share: float = 0.3  # sweeps still under way, at end_frequency_min..1
    end_frequency_min: float = 0.6
    soft_share: float = 0.3  # sweeps from standing variation
    soft_start_min: float = 0.005
    soft_start_max: float = 0.05
    linked_distance_min: float = 60_000.0  # bp from the window's centre, log-uniform
    linked_distance_max: float = 2_000_000.0
    genome_windows: int = 0  # G > 0: windows in genomes of G sharing history and rates
    recombination_spread: float = SPREAD  # sd of a window's log(rate) around its genome's

    def __post_init__(self) -> None:
        problems = self.locus_problems() + self.history_problems()
        pairs = [("mutation_rate", self.mutation_rate_min, self.mutation_rate_max),
                 ("recombination_rate", self.recombination_rate_min,
                  self.recombination_rate_max),
                 ("strength", self.strength_min, self.strength_max),
                 ("soft_start", self.soft_start_min, self.soft_start_max),
                 ("linked_distance", self.linked_distance_min, self.linked_distance_max)]
        problems += [f"{name}_min..max = {low}..{high} must be positive and ordered"
                     for name, low, high in pairs if not 0 < low <= high]
        if not all(0 <= s <= 1 for s in (self.ongoing_share, self.soft_share)):
            problems.append("ongoing_share and soft_share must be in [0, 1]")
        if self.genome_windows < 0 or self.genome_windows % len(self.labels):
            problems.append(f"genome_windows={self.genome_windows} must be 0 or a positive "
                            f"multiple of {len(self.labels)} (one window of each class in turn)")
        if self.recombination_spread < 0 or (
                not self.genome_windows and self.recombination_spread != SPREAD):
            problems.append(f"recombination_spread={self.recombination_spread} must be at least "
                            f"0, and is given with genome_windows (the windows of a genome)")
        if not 0 < self.end_frequency_min < 1 or self.age_max < 0:
            problems.append("end_frequency_min must be in (0, 1) and age_max >= 0")
        self.fail_if(problems)

    def draw(self, rng: np.random.Generator) -> dict[str, float]:
        """Every parameter of a replicate, whatever its class."""
        def log_uniform(low: float, high: float) -> float:
            return float(np.exp(rng.uniform(np.log(low), np.log(high))))

        kind = rng.uniform()
        ongoing = rng.uniform() < self.ongoing_share
        return {
            "history_index": float(rng.integers(len(self.histories))),
            "history_kind": (2.0 if kind < self.random_share else
                             1.0 if kind < self.random_share + self.jitter_share else 0.0),
            "mutation_rate": float(rng.uniform(self.mutation_rate_min, self.mutation_rate_max)),
            "recombination_rate": log_uniform(self.recombination_rate_min,
                                              self.recombination_rate_max),
            "selection_strength": log_uniform(self.strength_min, self.strength_max),
            "sweep_age": 0.0 if ongoing else float(rng.uniform(0, self.age_max)),
            "end_frequency": float(rng.uniform(self.end_frequency_min, 1)) if ongoing else 1.0,
            "start_frequency": (log_uniform(self.soft_start_min, self.soft_start_max)
                                if rng.uniform() < self.soft_share else 0.0),
            "distance": log_uniform(self.linked_distance_min, self.linked_distance_max),
            "mirror": float(rng.uniform() < 0.5),
        }

    def simulate(self, index: int, seed: int) -> Replicate:
        label = index % len(self.labels)
        ancestry_seed, mutation_seed, draw_seed = replicate_seeds(seed, index, self.stream)
        rng = np.random.default_rng(draw_seed)
        params = self.draw(rng)
        if self.genome_windows:
            history, shared = self._genome(index // self.genome_windows, seed)
            r = shared["recombination_scale"] * np.exp(rng.normal(0, self.recombination_spread))
            params.update(shared, recombination_rate=float(np.clip(
                r, self.recombination_rate_min, self.recombination_rate_max)))
        else:
            history = drawn_history(self.histories, params, rng, self.random_bottlenecks)
        return self.replicate_in(history, label, params, (ancestry_seed, mutation_seed))

    def _genome(self, genome: int, seed: int) -> tuple[SizeHistory, dict[str, float]]:
        """The history and the parameters genome ``genome``'s windows share (drawn from a
        stream of their own, the same for each of its windows)."""
        rng = np.random.default_rng(replicate_seeds(seed, genome, self.stream + 1, 1)[0])
        drawn = self.draw(rng)
        shared = {key: drawn[key] for key in ("history_index", "history_kind", "mutation_rate")}
        shared["recombination_scale"] = drawn["recombination_rate"]
        shared["genome"] = float(genome)
        return drawn_history(self.histories, drawn, rng, self.random_bottlenecks), shared

    def replicate_in(self, history: SizeHistory, label: int, params: dict[str, float],
                     seeds: tuple[int, int]) -> Replicate:
        """A replicate of class ``label`` with drawn ``params`` in ``history``, from
        (ancestry, mutation) seeds (also what benchmarks/sweep_approximation.py runs)."""
        ts, params = self.ancestry(history, self.labels[label], params, seeds[0])
        return self._window(ts, label, params, seeds[1])

    def ancestry(self, history: SizeHistory, label: str, params: dict[str, float], seed: int):
        """The tree sequence of the window (and the gap before a linked sweep outside it) and
        the params with the sweep's size; the sweep's era is held at a constant size, widened
        until msprime's sweep fits in it (also how benchmarks/calibration.py plants sweeps in
        bottlenecked histories, where ``params["site_offset"]``, bp from the centre, may move
        the site off it). Where msprime aborts on a sweep (a rare assertion in its C library),
        the next seed is taken."""
        outside = label == "linked" and params["distance"] >= self.length / 2
        gap = GAP_BP if outside else 0
        length = self.length + gap
        r = params["recombination_rate"]
        recombination = msprime.RateMap(position=[0, gap, length], rate=[
            r * (params["distance"] - self.length / 2) / GAP_BP, r]) if outside else r
        if outside:
            site = 0.0  # the start of the gap stretch
        elif label == "linked":
            site = self.length / 2 - params["distance"]  # left of the centre; a mirror may flip it
        else:
            site = self.length / 2 + params.get("site_offset", 0.0)
        if label == "neutral":  # no sweep model: nothing that aborts
            return self._fitted_ancestry(history, label, params, recombination, length, site,
                                         seed)
        for attempt in range(ABORT_RETRIES + 1):  # each in a child process that may abort
            found, outcome = survives_abort(partial(
                self._fitted_ancestry, history, label, params, recombination, length, site,
                seed + attempt))
            if found:
                return outcome
            log.warning("msprime aborted on a %s sweep with seed %d (a rare assertion in its "
                        "sweep model, above)%s", label, seed + attempt,
                        f"; trying seed {seed + attempt + 1}" if attempt < ABORT_RETRIES else "")
        raise RuntimeError(f"{self.name}: msprime aborted on {ABORT_RETRIES + 1} seeds from "
                           f"{seed} ({params})")

    def _fitted_ancestry(self, history: SizeHistory, label: str, params: dict[str, float],
                         recombination: Any, length: float, site: float, seed: int):
        """:meth:`ancestry` with one seed."""
        age = params["sweep_age"]
        for widen in (1.5, 3.0, 6.0):
            duration = self._duration(params, history.size_at(age))
            flat = history.flattened(age, age + widen * duration + 20)
            size = flat.size_at(age)
            model = None
            if label != "neutral":
                start = params["start_frequency"] or 1 / (2 * size)
                end = min(params["end_frequency"], 1 - 1 / (2 * size))
                sweep = msprime.SweepGenicSelection(
                    position=site, start_frequency=start, end_frequency=max(end, start * 1.01),
                    s=params["selection_strength"] / self.reference_size, dt=1 / (40 * size))
                model = ([msprime.StandardCoalescent(duration=age)] if age else []) + [
                    sweep, msprime.StandardCoalescent()]
            try:
                ts = msprime.sim_ancestry(
                    samples=self.n_haplotypes // 2, ploidy=2, demography=flat.demography(),
                    sequence_length=length, recombination_rate=recombination, model=model,
                    random_seed=seed)
                return ts, {**params, "sweep_size": size, "widen": widen}
            except LibraryError:  # the sweep outlasted the flattened era: widen it
                continue
        raise RuntimeError(f"{self.name}: a sweep did not fit in its era ({params})")

    def _duration(self, params: dict[str, float], size: float) -> float:
        """The deterministic duration of the sweep (additive, het. advantage s/2), in
        generations."""
        s = params["selection_strength"] / self.reference_size
        start = params["start_frequency"] or 1 / (2 * size)
        end = min(params["end_frequency"], 1 - 1 / (2 * size))
        return (2 / s) * math.log(end * (1 - start) / (start * (1 - end)))

    def _window(self, ts, label: int, params: dict[str, float], seed: int) -> Replicate:
        gap = ts.sequence_length - self.length
        rates = msprime.RateMap(position=[0, gap, ts.sequence_length],
                                rate=[0, params["mutation_rate"]]) if gap else \
            params["mutation_rate"]
        ts = msprime.sim_mutations(ts, rate=rates, discrete_genome=False,
                                   model=msprime.BinaryMutationModel(), random_seed=seed)
        haplotypes = ts.genotype_matrix().T.astype(np.uint8)
        positions = ts.tables.sites.position - gap
        if params["mirror"]:  # the linked sweep on the right instead of the left
            positions = (self.length - positions)[::-1]
            haplotypes = haplotypes[:, ::-1]
        return Replicate(label, np.ascontiguousarray(haplotypes), np.ascontiguousarray(
            positions), params, self.time_points)
