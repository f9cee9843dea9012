"""What every scenario shares: replicates, seeds, temporal sampling and per-replicate priors.

A scenario is a frozen dataclass whose fields are its parameters (each commented with its
source) and whose ``simulate(index, seed)`` returns replicate ``index`` of the stream ``seed``.
Replicate ``i`` has label ``i % n_classes`` and depends only on ``(seed, i)`` and the
parameters, so a dataset is the same whatever the number of workers that made it.
"""

from __future__ import annotations

import faulthandler
import hashlib
import json
import os
import pickle
import resource
import signal
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

import msprime
import numpy as np

from ..errors import PopgenHubError
from .demography import demography_info

MSPRIME = ("Baumdicker F et al. (2022). Efficient ancestry and mutation simulation with msprime "
           "1.0. Genetics 220:iyab229.")


@dataclass(frozen=True)
class TimePoint:
    """A group of haplotypes sampled at one time: the present (age 0) or an ancient one."""

    age_years: float
    generations: float
    n_haplotypes: int


@dataclass(frozen=True)
class Replicate:
    """One simulated locus: haplotypes x sites, 0 = ancestral, 1 = derived.

    Rows are grouped by time point, present-day first, in the order of ``time_points``.
    """

    label: int
    haplotypes: np.ndarray  # uint8 (n_haplotypes, n_sites)
    positions: np.ndarray  # float64, base pairs from the locus start
    params: dict[str, float]
    time_points: tuple[TimePoint, ...]


def replicate_seeds(seed: int, index: int, stream: int, n: int = 3) -> list[int]:
    """Independent 31-bit seeds (never 0) for replicate ``index`` of ``seed``'s ``stream``."""
    state = np.random.SeedSequence(entropy=seed, spawn_key=(stream, index)).generate_state(n)
    return [int(s) % (2**31 - 2) + 1 for s in state]


def survives_abort(run: Callable[[], Any]) -> tuple[bool, Any]:
    """``(True, run())`` computed in a forked child process, or ``(False, None)`` when the
    child aborted (SIGABRT). msprime's sweep model, on rare seeds, fails an assertion in its
    C library and aborts the whole process (e.g. tskit-dev/msprime#942); a child lets the
    caller try another seed instead of losing the run. An exception ``run`` raises is raised
    here; a child killed otherwise (out of memory) is an error. The child only runs ``run``
    and writes its result: call this from a process without other threads that hold locks
    ``run`` needs (simulation workers are such processes)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: whatever happens, it leaves here, without Python's clean-up
        try:
            os.close(read)
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # an abort leaves no core file
            faulthandler.disable()  # nor a traceback (the caller warns when it takes a seed)
            try:
                outcome: tuple[bool, Any] = (True, run())
            except BaseException as exc:  # noqa: BLE001 (raised again in the parent)
                outcome = (False, exc)
            try:
                sent = pickle.dumps(outcome)
            except Exception as exc:  # noqa: BLE001 (a result that does not pickle)
                sent = pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
            with os.fdopen(write, "wb") as pipe:
                pipe.write(sent)
        finally:
            os._exit(0)
    os.close(write)
    try:
        with os.fdopen(read, "rb") as pipe:
            sent = pipe.read()
    except BaseException:  # interrupted: no child left running
        os.kill(pid, signal.SIGKILL)
        raise
    finally:  # nor unreaped
        _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGABRT:
        return False, None
    if not sent:
        death = (signal.Signals(os.WTERMSIG(status)).name if os.WIFSIGNALED(status)
                 else f"exit status {os.WEXITSTATUS(status)}")
        raise RuntimeError(f"a simulation's child process died ({death})")
    done, value = pickle.loads(sent)
    if not done:
        raise value
    return True, value


def sweep_model(*, position: float, start_frequency: float, end_frequency: float,
                strength: float, reference_size: int, size: float) -> msprime.SweepGenicSelection:
    """msprime's sweep of an allele with selection strength S = 2 N_ref s (s: heterozygote
    advantage), in a population of ``size`` diploids."""
    return msprime.SweepGenicSelection(
        position=position, start_frequency=start_frequency, end_frequency=end_frequency,
        s=2 * strength / (2 * reference_size),  # msprime's s: homozygote advantage, W_BB = 1 + s
        dt=1.0 / (40 * size))


class Scenario:
    """Behaviour shared by the catalogue's dataclasses (mixed in; holds no fields itself).

    Scenarios using the helpers below declare the fields ``demography``, ``population``,
    ``length``, ``n_haplotypes``, ``mutation_rate``, ``mutation_rate_max``,
    ``recombination_rate``, ``recombination_rate_sd``, ``ancient_ages_years``,
    ``ancient_haplotypes`` and ``generation_time``.
    """

    name: ClassVar[str]
    labels: ClassVar[tuple[str, ...]]
    #: The simulators a replicate goes through (their versions are recorded in datasets).
    simulators: ClassVar[tuple[str, ...]] = ("msprime",)
    citations: ClassVar[tuple[str, ...]]
    #: None: a classifier's scenario (label i % n_classes); else what a regression learns of
    #: each replicate: ``{"parameter": NAME, "factor": F, "log10": bool}`` (F * params[NAME])
    target: ClassVar[dict[str, Any] | None] = None
    #: Fields added after datasets were made with the scenario, each with the fields that go
    #: with it: while it is at its default, it and they are left out of ``parameters``, so
    #: those datasets' stream, seeds and manifests are kept.
    later_fields: ClassVar[dict[str, tuple[str, ...]]] = {}

    @property
    def parameters(self) -> dict[str, Any]:
        """The fields as JSON values (tuples become lists), as stored in manifests, less
        ``later_fields`` at their defaults."""
        parameters = json.loads(json.dumps(asdict(self)))  # type: ignore[call-overload]
        defaults = {field.name: field.default for field in fields(self)}  # type: ignore[arg-type]
        for name, companions in self.later_fields.items():
            if getattr(self, name) == defaults[name]:
                for left_out in (name, *companions):
                    del parameters[left_out]
        return parameters

    @property
    def stream(self) -> int:
        """A number for this scenario and its parameters, mixed into every replicate's seeds:
        datasets of different scenarios or parameters never share a replicate."""
        text = json.dumps({"scenario": self.name, **self.parameters}, sort_keys=True)
        return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")

    @property
    def all_citations(self) -> list[str]:
        """The scenario's citations, then its demography's."""
        return list(dict.fromkeys([*self.citations, demography_info(self.demography).citation]))

    def fail_if(self, problems: list[str]) -> None:
        if problems:
            raise PopgenHubError(f"scenario {self.name}: " + "; ".join(problems))

    # ------------------------------------------------------------ shared checks
    def locus_problems(self) -> list[str]:
        problems = []
        if self.n_haplotypes < 4 or self.n_haplotypes % 2:
            problems.append(f"n_haplotypes={self.n_haplotypes} must be an even number >= 4")
        if self.length <= 0:
            problems.append(f"length={self.length} must be positive")
        return problems

    def common_problems(self) -> list[str]:
        info = demography_info(self.demography)
        problems = []
        if self.population and self.population not in info.populations:
            problems.append(f"population={self.population!r} is not in {self.demography} "
                            f"(populations: {', '.join(info.populations)})")
        problems += self.locus_problems()
        if self.mutation_rate <= 0:
            problems.append(f"mutation_rate={self.mutation_rate} must be positive")
        if self.mutation_rate_max and self.mutation_rate_max < self.mutation_rate:
            problems.append(f"prior mutation_rate..mutation_rate_max = {self.mutation_rate}.."
                            f"{self.mutation_rate_max} is empty: the maximum must be larger")
        if self.recombination_rate < 0 or not 0 <= self.recombination_rate_sd:
            problems.append("recombination_rate and recombination_rate_sd must be >= 0")
        if self.recombination_rate_sd > self.recombination_rate:
            problems.append(f"recombination_rate_sd={self.recombination_rate_sd} exceeds the "
                            f"mean {self.recombination_rate}: the prior would be mostly cut at 0")
        if any(age <= 0 for age in self.ancient_ages_years):
            problems.append(f"ancient_ages_years={list(self.ancient_ages_years)} must be > 0 "
                            f"(present-day samples are n_haplotypes)")
        if self.ancient_ages_years and (self.ancient_haplotypes < 1 or self.generation_time <= 0):
            problems.append("ancient_haplotypes and generation_time must be positive")
        return problems

    @property
    def sampled_population(self) -> str:
        return self.population or demography_info(self.demography).populations[0]

    @property
    def time_points(self) -> tuple[TimePoint, ...]:
        """Present-day haplotypes, then each ancient age, youngest first."""
        present = TimePoint(0.0, 0.0, self.n_haplotypes)
        return (present, *(TimePoint(float(age), age / self.generation_time,
                                     self.ancient_haplotypes)
                           for age in sorted(self.ancient_ages_years)))

    def sample_sets(self, ploidy: int = 1) -> list[msprime.SampleSet]:
        return [msprime.SampleSet(point.n_haplotypes // ploidy, population=self.sampled_population,
                                  time=point.generations, ploidy=ploidy)
                for point in self.time_points]

    def draw_rates(self, rng: np.random.Generator) -> dict[str, float]:
        """This replicate's mutation and recombination rates (priors: uniform mutation rate
        between ``mutation_rate`` and ``mutation_rate_max``; recombination rate normal around
        ``recombination_rate`` with ``recombination_rate_sd``, redrawn until positive)."""
        mu = (float(rng.uniform(self.mutation_rate, self.mutation_rate_max))
              if self.mutation_rate_max else self.mutation_rate)
        r = self.recombination_rate
        while self.recombination_rate_sd:
            r = float(rng.normal(self.recombination_rate, self.recombination_rate_sd))
            if r > 0:
                break
        return {"mutation_rate": mu, "recombination_rate": r}

    def with_mutations(self, ts, label: int, params: dict[str, float], seed: int) -> Replicate:
        """Neutral 0/1 mutations on ``ts``; haplotypes ordered by time point, present first."""
        ts = msprime.sim_mutations(ts, rate=params["mutation_rate"], discrete_genome=False,
                                   model=msprime.BinaryMutationModel(), random_seed=seed)
        haplotypes = ts.genotype_matrix(samples=self.ordered_samples(ts)).T.astype(np.uint8)
        return Replicate(label, haplotypes, ts.tables.sites.position.copy(), params,
                         self.time_points)

    def ordered_samples(self, ts) -> np.ndarray:
        """Sample nodes, youngest first (stable within a time), matching ``time_points``."""
        samples = ts.samples()
        return samples[np.argsort(ts.tables.nodes.time[samples], kind="stable")]
