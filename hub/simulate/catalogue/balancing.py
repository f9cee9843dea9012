"""Recent balancing selection (overdominance) at the centre, simulated forward with fwdpy11.

BaSe's recipe (Isildak et al. 2021), as the review's temporal task uses it: a new mutation
arises at the locus centre ``onset_years`` ago in the sampled population and is overdominant
(fitness 1, 1 + h s, 1 + s for zero, one, two copies; h > 1). A run is restarted from the state
just before the mutation whenever the allele is lost or its present-day frequency in the
population ends outside ``[frequency_min, frequency_max]``. Neutral replicates run the same
pipeline without the mutation.

Speed: all history older than the onset is msprime's (exact and fast), loaded into fwdpy11
(``DiploidPopulation.create_from_tskit``); only the last ``onset`` generations run forward,
with sizes divided and rates multiplied by ``scaling`` Q (the usual forward-simulation
rescaling, theta, rho and 2Ns unchanged). Ancient samples are kept by a recorder in the
forward part, so they must be younger than the onset. Neutral mutations are added afterwards
with msprime.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, ClassVar

import msprime
import numpy as np
import tskit

from ...errors import PopgenHubError
from ..base import MSPRIME, Replicate, Scenario, replicate_seeds
from ..demography import demography_info

BASE = ("Isildak U, Stella A, Fumagalli M (2021). Distinguishing between recent balancing "
        "selection and incomplete sweep using deep neural networks. Mol Ecol Resour "
        "21:2706-2718.")
FWDPY11 = ("Thornton KR (2014). A C++ template library for efficient forward-time population "
           "genetic simulation of large populations. Genetics 198:157-166.")
REVIEW = ("Korfmann K, Gaggiotti OE, Fumagalli M (2023). Deep learning in population genetics. "
          "Genome Biol Evol 15:evad008.")
CENTRE_WINDOW = (0.01, 0.99)  # added inside [L/2, L/2 + 1): fwdpy11 rejects a window edge
# that falls exactly on a (integer) recombination breakpoint


@dataclass(frozen=True)
class OverdominanceVsNeutral(Scenario):
    """Neutral loci vs a young overdominant allele at the centre (fwdpy11, BaSe's recipe)."""

    name: ClassVar[str] = "balancing"
    labels: ClassVar[tuple[str, ...]] = ("neutral", "overdominance")
    citations: ClassVar[tuple[str, ...]] = (REVIEW, BASE, FWDPY11, MSPRIME)
    simulators: ClassVar[tuple[str, ...]] = ("fwdpy11", "msprime")

    demography: str = "HomSap/OutOfAfrica_4J17"  # Jouganous et al. 2017, as in the review
    population: str = "CEU"
    length: int = 50_000  # BaSe / the review
    n_haplotypes: int = 40  # present-day; the review
    mutation_rate: float = 1.44e-8  # BaSe
    mutation_rate_max: float = 0.0
    recombination_rate: float = 1e-8  # BaSe: r ~ N(1e-8, 1e-9)
    recombination_rate_sd: float = 1e-9
    selection_coefficient: float = 0.001  # s; BaSe's overdominance runs
    dominance: float = 40.0  # h > 1 is overdominance; equilibrium frequency (h-1)/(2h-1)
    onset_years: float = 10_000.0  # the review: the mutation arose about 10,000 years ago
    # Priors: when set above the value before them, each replicate draws uniformly between.
    selection_coefficient_max: float = 0.0
    dominance_max: float = 0.0
    onset_years_max: float = 0.0
    frequency_min: float = 0.4  # BaSe's band for the present-day frequency
    frequency_max: float = 0.6
    ancient_ages_years: tuple[float, ...] = (1000.0, 2000.0, 4000.0, 8000.0)  # the review
    ancient_haplotypes: int = 10  # per ancient time point; the review
    generation_time: float = 29.0  # BaSe
    scaling: float = 10.0  # Q
    max_attempts: int = 5_000

    def __post_init__(self) -> None:
        problems = self.common_problems()
        if self.selection_coefficient <= 0 or self.dominance <= 1:
            problems.append(f"selection_coefficient={self.selection_coefficient} must be > 0 "
                            f"and dominance={self.dominance} > 1 (overdominance)")
        if not 0 < self.frequency_min < self.frequency_max < 1:
            problems.append(f"frequency_min..max = {self.frequency_min}..{self.frequency_max} "
                            f"must be ordered inside (0, 1)")
        for name in ("selection_coefficient", "dominance", "onset_years"):
            low, high = getattr(self, name), getattr(self, f"{name}_max")
            if high and high < low:
                problems.append(f"prior {name}..{name}_max = {low}..{high} is empty: the "
                                f"maximum must be larger")
        if self.scaling < 1:
            problems.append(f"scaling={self.scaling} must be >= 1")
        if self.onset_generations < 2:
            problems.append(f"onset_years={self.onset_years} is under two scaled generations")
        if self.ancient_ages_years and max(self.ancient_ages_years) >= self.onset_years:
            problems.append(f"ancient_ages_years up to {max(self.ancient_ages_years)} must be "
                            f"younger than onset_years={self.onset_years}")
        if self.n_haplotypes % 2 or self.ancient_haplotypes % 2:
            problems.append("n_haplotypes and ancient_haplotypes must be even (diploids)")
        scaled = [self._generations(age) for age in self.ancient_ages_years if age > 0]
        if len(set(scaled)) != len(scaled) or 0 in scaled:
            problems.append(f"ancient_ages_years={list(self.ancient_ages_years)} must fall in "
                            f"distinct generations after scaling by {self.scaling} (and not "
                            f"today): space them more or lower scaling")
        self.fail_if(problems)

    @property
    def onset_generations(self) -> int:
        """The youngest onset the prior allows, in scaled generations."""
        return self._generations(self.onset_years)

    def _generations(self, years: float) -> int:
        return round(years / self.generation_time / self.scaling)

    def class_dominance(self, label: int, dominance: float) -> float:
        """The dominance h of class ``label``'s allele, given the replicate's drawn h."""
        return dominance

    def _draw(self, rng: np.random.Generator, name: str) -> float:
        low, high = getattr(self, name), getattr(self, f"{name}_max")
        return float(rng.uniform(low, high)) if high else float(low)

    def simulate(self, index: int, seed: int) -> Replicate:
        import fwdpy11

        label = index % len(self.labels)
        ancestry_seed, mutation_seed, draw_seed = replicate_seeds(seed, index, self.stream)
        rng = np.random.default_rng(draw_seed)
        params = self.draw_rates(rng)
        drawn = {name: self._draw(rng, name)
                 for name in ("selection_coefficient", "dominance", "onset_years")}
        drawn["dominance"] = self.class_dominance(label, drawn["dominance"])
        q, onset = self.scaling, self._generations(drawn["onset_years"])
        graph = scaled_graph(demography_info(self.demography).build().to_demes(), q)
        forward, start = forward_from_msprime(graph, onset, self.length,
                                              params["recombination_rate"] * q, ancestry_seed)
        deme = next(k for k, v in forward.deme_labels.items() if v == self.sampled_population)
        final = forward.final_generation
        sample_at = {final - round(p.generations / q): p for p in self.time_points[1:]}
        model = fwdpy11.ModelParams(
            nregions=[], sregions=[], rates=(0.0, 0.0, None),
            recregions=[fwdpy11.PoissonInterval(
                0, self.length, params["recombination_rate"] * q * self.length, discrete=True)],
            gvalue=fwdpy11.Multiplicative(scaling=1.0),  # 1, 1 + h s, 1 + s (SLiM's, BaSe's)
            demography=forward, simlen=final, prune_selected=False)
        gsl = fwdpy11.GSLrng(int(rng.integers(1, 2**31)))
        selected = label > 0  # the first class is neutral
        for attempt in range(1, self.max_attempts + 1):
            pop = copy.deepcopy(start)
            mutation = None
            if selected:
                mutation = pop.add_mutation(
                    gsl, window=tuple(self.length / 2 + x for x in CENTRE_WINDOW),
                    ndescendants=1, deme=deme, data=fwdpy11.NewMutationData(
                        effect_size=drawn["selection_coefficient"] * q,
                        dominance=drawn["dominance"]))
                if mutation is None:
                    continue
            recorder = _AncientSampler(sample_at, deme, self.ancient_haplotypes // 2, rng)
            fwdpy11.evolvets(
                gsl, pop, copy.deepcopy(model), 100, recorder=recorder,
                track_mutation_counts=selected, remove_extinct_variants=False,
                stopping_criterion=_lost(mutation) if selected else None)
            if not selected:
                break
            if pop.generation == final and pop.mcounts[mutation] > 0:
                frequency = deme_frequency(pop, mutation, deme)
                if self.frequency_min <= frequency <= self.frequency_max:
                    params.update(present_frequency=frequency, attempts=float(attempt))
                    break
        else:
            raise PopgenHubError(
                f"scenario {self.name}: replicate {index} found no trajectory ending in "
                f"{self.frequency_min}..{self.frequency_max} after {self.max_attempts} attempts; "
                f"widen the band, raise max_attempts, or strengthen selection")
        params.update({name: value if selected else 0.0 for name, value in drawn.items()})
        params.setdefault("present_frequency", 0.0)
        params.setdefault("attempts", 1.0)
        ts = msprime.sim_mutations(tree_sequence_of(pop), rate=params["mutation_rate"] * q,
                                   model=msprime.BinaryMutationModel(), discrete_genome=False,
                                   keep=True, random_seed=mutation_seed)
        nodes = self._sampled_nodes(ts, deme, final, sample_at, rng)
        sampled = ts.simplify(samples=nodes, filter_sites=True)
        haplotypes = sampled.genotype_matrix().T.astype(np.uint8)
        segregating = (haplotypes.sum(axis=0) > 0) & (haplotypes.sum(axis=0) < len(nodes))
        return Replicate(label, haplotypes[:, segregating],
                         sampled.tables.sites.position[segregating], params, self.time_points)

    def _sampled_nodes(self, ts: tskit.TreeSequence, deme: int, final: int,
                       sample_at: dict, rng: np.random.Generator) -> np.ndarray:
        """Present-day haplotypes drawn from the deme, then each ancient group, youngest first."""
        in_deme = ((ts.nodes_flags & tskit.NODE_IS_SAMPLE) > 0) & (ts.nodes_population == deme)
        groups = [np.sort(rng.choice(np.flatnonzero(in_deme & (ts.nodes_time == 0)),
                                     self.n_haplotypes, replace=False))]
        for generation in sorted(sample_at, reverse=True):  # youngest (latest) first
            groups.append(np.flatnonzero(in_deme & (ts.nodes_time == final - generation)))
        return np.concatenate(groups).astype(np.int32)


class _AncientSampler:
    """fwdpy11 recorder: keeps ``n`` random diploids of ``deme`` at each chosen generation."""

    def __init__(self, generations: dict, deme: int, n: int, rng: np.random.Generator) -> None:
        self.generations, self.deme, self.n, self.rng = set(generations), deme, n, rng

    def __call__(self, pop, sampler) -> None:
        if pop.generation in self.generations:
            demes = np.array(pop.diploid_metadata, copy=False)["deme"]
            chosen = self.rng.choice(np.flatnonzero(demes == self.deme), self.n, replace=False)
            sampler.assign(np.sort(chosen).astype(np.uint32))


def _lost(mutation: int):
    """An evolvets stopping criterion: stop once ``mutation`` has no copies left."""
    return lambda pop, _simplified: pop.mcounts[mutation] == 0


def deme_frequency(pop, mutation: int, deme: int) -> float:
    """Frequency of ``mutation`` among the genomes of the living individuals of ``deme``."""
    demes = np.array(pop.diploid_metadata, copy=False)["deme"]
    genomes = pop.haploid_genomes
    copies = sum((mutation in genomes[pop.diploids[i].first].smutations)
                 + (mutation in genomes[pop.diploids[i].second].smutations)
                 for i in np.flatnonzero(demes == deme))
    return copies / (2 * int((demes == deme).sum()))


def tree_sequence_of(pop) -> tskit.TreeSequence:
    """The population's tables as a tree sequence (nodes, edges, the selected mutation).

    Same tables as ``pop.dump_tables_to_tskit()`` without its individual metadata, which it
    validates row by row (about 20 s per replicate here).
    """
    nodes = np.array(pop.tables.nodes, copy=False)
    edges = np.array(pop.tables.edges, copy=False)
    tables = tskit.TableCollection(pop.tables.genome_length)
    tables.time_units = "generations"
    for _ in range(int(nodes["deme"].max()) + 1):
        tables.populations.add_row()
    flags = np.zeros(len(nodes), dtype=np.uint32)
    flags[np.concatenate([pop.alive_nodes, pop.ancient_sample_nodes]).astype(int)] = (
        tskit.NODE_IS_SAMPLE)
    tables.nodes.set_columns(flags=flags, time=pop.generation - nodes["time"],
                             population=nodes["deme"].astype(np.int32))
    tables.edges.set_columns(left=edges["left"], right=edges["right"], parent=edges["parent"],
                             child=edges["child"])
    for record in pop.tables.mutations:
        mutation = pop.mutations[record.key]
        site = tables.sites.add_row(position=mutation.pos, ancestral_state="0")
        tables.mutations.add_row(site=site, node=record.node, derived_state="1",
                                 time=pop.generation - mutation.g)
    tables.sort()
    return tables.tree_sequence()


def forward_from_msprime(graph: Any, start: int, length: float, recombination_rate: float,
                         seed: int) -> tuple[Any, Any]:
    """fwdpy11's model of the last ``start`` generations of (scaled) demes ``graph`` and its
    population at their beginning, whose ancestry is msprime's (exact and fast) of the older
    past; the msprime time ``start`` becomes forward time 0."""
    import fwdpy11

    forward = fwdpy11.ForwardDemesGraph.from_demes(
        younger_than(graph, start), burnin=0, burnin_is_exact=True,
        round_non_integer_sizes=True)
    roots = [d.name for d in graph.demes if d.start_time > start >= d.end_time]
    past = msprime.sim_ancestry(
        samples=[msprime.SampleSet(size, population=name, time=start, ploidy=2)
                 for name, size in zip(roots, forward.initial_sizes, strict=True)],
        demography=msprime.Demography.from_demes(graph), sequence_length=length,
        recombination_rate=recombination_rate, random_seed=seed)
    tables = past.dump_tables()
    tables.nodes.time = tables.nodes.time - start
    return forward, fwdpy11.DiploidPopulation.create_from_tskit(tables.tree_sequence())


def scaled_graph(graph, q: float):
    """A demes graph in generations with sizes / q, times / q (rounded) and migration * q."""
    import demes

    data = graph.in_generations().asdict()

    def time(t: float) -> float:
        return t if t == float("inf") else float(round(t / q))

    for deme in data["demes"]:
        deme["start_time"] = time(deme["start_time"])
        for epoch in deme["epochs"]:
            epoch.update(end_time=time(epoch["end_time"]), start_size=epoch["start_size"] / q,
                         end_size=epoch["end_size"] / q)
    for migration in data.get("migrations", []):
        migration["rate"] *= q
        for key in ("start_time", "end_time"):
            if key in migration:
                migration[key] = time(migration[key])
    for pulse in data.get("pulses", []):
        pulse["time"] = time(pulse["time"])
    return demes.Graph.fromdict(data)


def younger_than(graph, t: float):
    """The part of ``graph`` after time ``t``: demes alive at ``t`` become constant-size roots
    before it (so forward generation 0 is ``t``); migrations are clipped at ``t``."""
    import demes

    data: dict = {"time_units": "generations", "demes": [], "migrations": []}
    for deme in graph.demes:
        epochs = [dict(start_size=deme.size_at(t) if e.start_time > t else e.start_size,
                       end_size=e.end_size, end_time=e.end_time, size_function=e.size_function)
                  for e in deme.epochs if e.end_time < t]
        if deme.start_time > t >= deme.end_time:  # alive at t
            data["demes"].append(dict(name=deme.name, epochs=[
                dict(start_size=deme.size_at(t), end_time=t), *epochs]))
        elif deme.start_time <= t:  # born after t (demes gone before t are dropped)
            data["demes"].append(dict(name=deme.name, start_time=deme.start_time,
                                      ancestors=deme.ancestors, proportions=deme.proportions,
                                      epochs=epochs))
    for migration in graph.migrations:
        if migration.end_time < t:
            data["migrations"].append(dict(source=migration.source, dest=migration.dest,
                                           rate=migration.rate, end_time=migration.end_time,
                                           start_time=min(migration.start_time, t)))
    return demes.Graph.fromdict(data)


@dataclass(frozen=True)
class TemporalOverdominance(OverdominanceVsNeutral):
    """The review's temporal task: neutral vs weak vs moderate overdominance, 40 present-day
    haplotypes plus 10 at each of 1, 2, 4 and 8 thousand years ago.

    The review names its classes "dominance 0.25" and "0.5" without a fitness model that makes
    them overdominant, so the two strengths here are BaSe's parameterisation (s = 0.001, h > 1):
    moderate h = 120 and weak h = 40, a heterozygote advantage h s of 0.12 and 0.04. They were
    chosen from the selected allele's frequency in the review's own replicates (the site at the
    centre): its weak class is absent 8,000 years ago and near 0.5 from 2,000 years ago, its
    moderate class already common 8,000 years ago; our weak class rises later and our moderate
    one about as early (measured frequencies: docs/temporal_balancing.md).
    """

    name: ClassVar[str] = "temporal_balancing"
    labels: ClassVar[tuple[str, ...]] = ("neutral", "weak_overdominance", "moderate_overdominance")

    dominance: float = 120.0  # h of the moderate class; h s = 0.12 (see above)
    weak_dominance: float = 40.0  # h of the weak class; h s = 0.04, BaSe's s with h = 40

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 < self.weak_dominance < self.dominance:
            self.fail_if([f"weak_dominance={self.weak_dominance} must be above 1 and below "
                          f"dominance={self.dominance} (the moderate class)"])

    def class_dominance(self, label: int, dominance: float) -> float:
        return self.weak_dominance if self.labels[label] == "weak_overdominance" else dominance
