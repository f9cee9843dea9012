"""How good is the sweep_regime scenario's approximation? msprime against fwdpy11.

The scenario runs a sweep in msprime in a one-population history: a published model reduced to
the inverse pairwise coalescence rate of its sampled population (``histories.published``),
held at its harmonic-mean size while the sweep runs. Here the same windows (80 kb, 128
haplotypes, a hard sweep of S = 2 N_ref s = 1000 at the centre: N_ref 10,000, additive,
heterozygote advantage 0.05) are simulated forward with fwdpy11 in the *full* model:

* ``ooa_eur``: stdpopsim's OutOfAfrica_2T12 (both populations, migration, EUR's growth; its
  demes graph), sampled in EUR; the scenario runs ``HomSap/OutOfAfrica_2T12/EUR``'s history.
* ``bottleneck``: 10,000 diploids, 1,500 from 1,000 to 400 generations ago (the sweep crosses
  its end, so the flattening matters); the scenario runs the same history, flattened.

fwdpy11 runs only the last ``--forward`` generations, seeded from msprime's exact past of the
full model, with sizes / Q and rates x Q (2Ns, theta and rho kept), as the balancing scenario
does; the beneficial mutation is added in the sampled deme at the centre and the run restarts
from the saved state until the sweep ended (all but one copy) 150-250 generations before
sampling (``done``, msprime: 200) or stands at 0.75-0.85 (``ongoing``, msprime: 0.8). Neutral
replicates compare fwdpy11 with msprime in the full model, in the reduced history, and in the
reduced history flattened as the scenario's neutral class is. Writes OUTDIR/approximation.md
and approximation.json (means, standard errors, run times). Measures; asserts nothing.

    python benchmarks/sweep_approximation.py [--cases ooa_eur bottleneck] [--replicates 30]
        [--msprime-replicates N] [--simulators ...] [--scaling 10] [--forward 3000] [-o OUTDIR]
    python benchmarks/sweep_approximation.py --smoke   # 2 replicates, Q = 50, < 60 s
"""

from __future__ import annotations

import argparse
import copy
import json
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import msprime
import numpy as np

from popgen_hub.genotypes import GenotypeBlock
from popgen_hub.simulate.base import replicate_seeds
from popgen_hub.simulate.catalogue.balancing import (
    deme_frequency,
    forward_from_msprime,
    scaled_graph,
    tree_sequence_of,
)
from popgen_hub.simulate.catalogue.sweep_regime import SweepRegime
from popgen_hub.simulate.histories import SizeHistory, published
from popgen_hub.stats import site_frequency_spectrum, windowed

ROOT = Path(__file__).resolve().parents[1]
LENGTH, HAPLOTYPES, MU, R = 80_000, 128, 1.25e-8, 1e-8
N_REF, STRENGTH = 10_000, 1000.0
S_HET = STRENGTH / (2 * N_REF)  # 0.05; homozygote 0.1 (msprime's s)
AGE, AGE_BAND = 200, (150, 250)  # generations since a finished sweep ended
END_FREQUENCY, FREQUENCY_BAND = 0.8, (0.75, 0.85)  # an ongoing sweep, at sampling
CENTRE = (LENGTH // 2 - 5_000, LENGTH // 2 + 5_000)
SFS_BINS = ((1, 1), (2, 10), (11, 64), (65, 117), (118, 127))  # derived-allele counts
KINDS = ("neutral", "done", "ongoing")
MAX_ATTEMPTS = 500
#: Pilot runs (OutOfAfrica_2T12, Q = 10) reached 0.8 one log-odds unit (20 generations) sooner
#: than the logistic from 1 / (4 N s_het) predicts; the onset of ongoing sweeps is moved so.
ONGOING_SHIFT = 1.0


@dataclass(frozen=True)
class Case:
    name: str
    graph: object  # the full model, a demes graph in generations
    deme: str  # the sampled population
    history: SizeHistory  # the scenario's one-population history


def make_case(name: str) -> Case:
    if name == "ooa_eur":
        import stdpopsim

        model = stdpopsim.get_species("HomSap").get_demographic_model("OutOfAfrica_2T12")
        return Case(name, model.model.to_demes(), "EUR",
                    published("HomSap/OutOfAfrica_2T12/EUR"))
    if name == "bottleneck":
        history = SizeHistory(np.array([0.0, 400.0, 1000.0]),
                              np.array([10_000.0, 1_500.0, 10_000.0]))
        return Case(name, history.demography().to_demes(), "pop_0", history)
    raise SystemExit(f"unknown case {name!r}; known: ooa_eur, bottleneck")


# --- msprime: the scenario's own code path, and the neutral references ----------------------

def scenario_params(kind: str) -> dict[str, float]:
    ongoing = kind == "ongoing"
    return {"mutation_rate": MU, "recombination_rate": R, "selection_strength": STRENGTH,
            "sweep_age": 0.0 if ongoing else float(AGE),
            "end_frequency": END_FREQUENCY if ongoing else 1.0, "start_frequency": 0.0,
            "distance": 1e6, "mirror": 0.0}


def msprime_scenario(case: Case, kind: str, seed: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """The scenario's ancestry (reduced, flattened history; sweep unless neutral) and window."""
    scenario = SweepRegime(length=LENGTH, n_haplotypes=HAPLOTYPES, reference_size=N_REF)
    label = "neutral" if kind == "neutral" else "sweep"
    params = scenario_params("done" if kind == "neutral" else kind)
    ancestry_seed, mutation_seed, _ = replicate_seeds(seed, 0, 0)
    replicate = scenario.replicate_in(case.history, scenario.labels.index(label), params,
                                      (ancestry_seed, mutation_seed))
    return replicate.haplotypes, replicate.positions, {
        "sweep_size": replicate.params["sweep_size"]}


def msprime_neutral(demography: msprime.Demography, deme: str, seed: int):
    ancestry_seed, mutation_seed, _ = replicate_seeds(seed, 0, 0)
    ts = msprime.sim_ancestry(samples={deme: HAPLOTYPES // 2}, demography=demography,
                              sequence_length=LENGTH, recombination_rate=R,
                              random_seed=ancestry_seed)
    ts = msprime.sim_mutations(ts, rate=MU, model=msprime.BinaryMutationModel(),
                               discrete_genome=False, random_seed=mutation_seed)
    return ts.genotype_matrix().T, ts.tables.sites.position, {}


# --- fwdpy11: the full model, the recent part forward ---------------------------------------

def forward_start(case: Case, q: float, t_forward: int, seed: int):
    """The scaled forward model of the last ``t_forward`` generations and its first population,
    seeded from msprime's past of the full model (the balancing scenario's recipe)."""
    model, pop = forward_from_msprime(scaled_graph(case.graph, q), round(t_forward / q),
                                      LENGTH, R * q, seed)
    deme = next(k for k, v in model.deme_labels.items() if v == case.deme)
    return model, pop, deme


def onset(case: Case, kind: str) -> float:
    """Generations ago to add the mutation: the logistic sojourn (rate s_het) from the
    established frequency 1 / (4 N s_het) to the end (1 - that, or 0.8), solved for N at the
    onset, plus the age (for ongoing sweeps less ONGOING_SHIFT); about the time the conditioned
    forward runs take."""
    end = 0 if kind == "ongoing" else AGE
    size = case.history.size_at(end)
    late = (np.log(END_FREQUENCY / (1 - END_FREQUENCY)) - ONGOING_SHIFT if kind == "ongoing"
            else np.log(4 * size * S_HET))
    t = end
    for _ in range(20):
        t = end + (late + np.log(4 * case.history.size_at(t) * S_HET)) / S_HET
    return float(t)


class Watch:
    """evolvets stopping criterion: stops a sweep run as soon as it cannot be accepted (lost,
    ended too early or too late) and remembers when it ended (all but one copy in the deme)."""

    def __init__(self, key: int, deme: int, final: int, kind: str, q: float) -> None:
        self.key, self.deme, self.final, self.kind = key, deme, final, kind
        self.band, self.rate = [round(a / q) for a in AGE_BAND], q * S_HET
        self.ended: int | None = None

    def __call__(self, pop, _simplified) -> bool:
        count = pop.mcounts[self.key]
        if count == 0:
            return True
        if self.ended is None:
            size = pop.deme_sizes(as_dict=True).get(self.deme, 0)
            if count >= 2 * size - 1 and deme_frequency(pop, self.key, self.deme) * 2 * size \
                    >= 2 * size - 1:
                self.ended = pop.generation
        if self.kind == "ongoing":
            return self.ended is not None or self.off_course(count, pop)
        if self.ended is not None:
            return self.final - self.ended > self.band[1]
        return self.final - pop.generation < self.band[0]

    def off_course(self, count: int, pop) -> bool:
        """An ongoing sweep whose log-odds, grown by Q s_het a generation from here, would end
        more than 0.7 outside the band (frequency from all copies over the deme's genomes:
        the few that migrated out are ignored; only once past 2%, when drift is small)."""
        share = count / (2 * pop.deme_sizes(as_dict=True).get(self.deme, 1))
        if not 0.02 < share < 0.98:
            return False
        low, high = (np.log(f / (1 - f)) for f in FREQUENCY_BAND)
        end = np.log(share / (1 - share)) + self.rate * (self.final - pop.generation)
        return not low - 0.7 < end < high + 0.7

    def accepted(self, pop) -> bool:
        if pop.generation != self.final or pop.mcounts[self.key] == 0:
            return False
        if self.kind == "ongoing":
            low, high = FREQUENCY_BAND
            return self.ended is None and low <= deme_frequency(pop, self.key, self.deme) <= high
        return self.ended is not None and self.band[0] <= self.final - self.ended <= self.band[1]


def selected_mutation(q: float, fitness: str):
    """The beneficial allele under Q. ``additive``: the usual rescaling, fitness 1, 1 + Q s_het,
    1 + 2 Q s_het (its allele grows by log(1 + Q s_het) a scaled generation, slower than
    Q s_het: a sweep 10-30% too slow at Q = 10). ``log-additive``: exp(Q s_het) a copy, so the
    allele's log-odds grow by s_het a real generation, as in msprime's (diffusion) sweep."""
    import fwdpy11

    x = q * S_HET
    if fitness == "additive":
        return fwdpy11.NewMutationData(effect_size=x, dominance=1.0)
    return fwdpy11.NewMutationData(effect_size=(np.exp(2 * x) - 1) / 2,
                                   dominance=2 / (np.exp(x) + 1))  # 1 + h s = exp(x)


def forward_replicate(case: Case, kind: str, seed: int, q: float, t_forward: int,
                      fitness: str = "log-additive"):
    import fwdpy11

    past_seed, mutation_seed, draw_seed = replicate_seeds(seed, 1, 0)
    model, pop, deme = forward_start(case, q, t_forward, past_seed)
    final = model.final_generation
    added = final - round(onset(case, kind) / q) if kind != "neutral" else final
    rng = np.random.default_rng(draw_seed)
    gsl = fwdpy11.GSLrng(int(rng.integers(1, 2**31)))

    def params(simlen: int):
        return fwdpy11.ModelParams(
            nregions=[], sregions=[], rates=(0.0, 0.0, None), recregions=[
                fwdpy11.PoissonInterval(0, LENGTH, R * q * LENGTH, discrete=True)],
            gvalue=fwdpy11.Additive(scaling=2.0), demography=copy.deepcopy(model),
            simlen=simlen, prune_selected=False)

    fwdpy11.evolvets(gsl, pop, params(added), 100)
    info: dict = {"attempts": 0}
    if kind != "neutral":
        saved = pop
        for attempt in range(1, MAX_ATTEMPTS + 1):
            pop = copy.deepcopy(saved)
            key = pop.add_mutation(gsl, window=(LENGTH / 2 + 0.01, LENGTH / 2 + 0.99),
                                   ndescendants=1, deme=deme, data=selected_mutation(q, fitness))
            watch = Watch(key, deme, final, kind, q)
            fwdpy11.evolvets(gsl, pop, params(final - added), 100, track_mutation_counts=True,
                             remove_extinct_variants=False, stopping_criterion=watch)
            if watch.accepted(pop):
                info = {"attempts": attempt, "frequency": deme_frequency(pop, key, deme),
                        "age": None if watch.ended is None else (final - watch.ended) * q}
                break
        else:
            raise RuntimeError(f"{case.name}/{kind}: no accepted sweep in {MAX_ATTEMPTS} runs")
    ts = msprime.sim_mutations(tree_sequence_of(pop), rate=MU * q, keep=False,
                               model=msprime.BinaryMutationModel(), discrete_genome=False,
                               random_seed=mutation_seed)
    metadata = np.array(pop.diploid_metadata, copy=False)
    chosen = rng.choice(np.flatnonzero(metadata["deme"] == deme), HAPLOTYPES // 2, replace=False)
    sampled = ts.simplify(samples=metadata["nodes"][np.sort(chosen)].ravel().astype(np.int32))
    return sampled.genotype_matrix().T, sampled.tables.sites.position, info


# --- statistics and the report --------------------------------------------------------------

def statistics(haplotypes: np.ndarray, positions: np.ndarray) -> dict[str, float]:
    block = GenotypeBlock.from_haplotypes(np.asarray(haplotypes, dtype=np.int8), positions)
    whole, centre = windowed(block, [0, CENTRE[0]], [LENGTH, CENTRE[1] - CENTRE[0]])
    sfs = site_frequency_spectrum(block, 0, LENGTH, project_to=HAPLOTYPES)
    shares = [sfs[lo:hi + 1].sum() / max(sfs[1:-1].sum(), 1) for lo, hi in SFS_BINS]
    values = {"pi_centre_per_kb": centre["pi_per_bp"] * 1e3,
              "pi_window_per_kb": whole["pi_per_bp"] * 1e3,
              "segregating_sites": whole["segregating_sites"], "h12_centre": centre["h12"],
              "tajimas_d": whole["tajimas_d"]}
    values |= {f"sfs_{lo}-{hi}" if lo < hi else f"sfs_{lo}": share
               for (lo, hi), share in zip(SFS_BINS, shares, strict=True)}
    return {name: float(value) for name, value in values.items()}


def simulators(kind: str) -> tuple[str, ...]:
    base = ("fwdpy11 full", "msprime scenario")
    return base + ("msprime full", "msprime reduced") if kind == "neutral" else base


def run_one(case: Case, kind: str, simulator: str, seed: int, args) -> tuple[dict, dict]:
    if simulator == "fwdpy11 full":
        out = forward_replicate(case, kind, seed, args.scaling, args.forward, args.fitness)
    elif simulator == "msprime scenario":
        out = msprime_scenario(case, kind, seed)
    elif simulator == "msprime full":
        out = msprime_neutral(msprime.Demography.from_demes(case.graph), case.deme, seed)
    else:
        out = msprime_neutral(case.history.demography(), "pop_0", seed)
    return statistics(out[0], out[1]), out[2]


def measure(case: Case, kind: str, simulator: str, args) -> dict:
    rows, infos, started = [], [], time.process_time()
    n = args.msprime_replicates if simulator.startswith("msprime") else args.replicates
    for index in range(n or args.replicates):
        seed = 1_000 * (KINDS.index(kind) + 1) + index + (0 if case.name == "ooa_eur" else 500)
        stats, info = run_one(case, kind, simulator, seed, args)
        rows.append(stats)
        infos.append(info)
    seconds = time.process_time() - started
    table = {name: np.array([row[name] for row in rows]) for name in rows[0]}
    summary = {name: {"mean": float(np.nanmean(v)),
                      "se": float(np.nanstd(v, ddof=1) / np.sqrt(np.isfinite(v).sum()))
                      if len(v) > 1 else float("nan")} for name, v in table.items()}
    attempts = [i["attempts"] for i in infos if "attempts" in i]
    extra = {key: float(np.mean([i[key] for i in infos if i.get(key) is not None]))
             for key in ("attempts", "frequency", "age", "sweep_size")
             if any(i.get(key) is not None for i in infos)}
    return {"case": case.name, "kind": kind, "simulator": simulator, "n": len(rows),
            "cpu_seconds": seconds, "seconds_per_replicate": seconds / len(rows),
            "attempts_total": int(sum(attempts)), **extra, "stats": summary}


def markdown(results: list[dict], command: str) -> str:
    lines = [f"Command: `{command}`", "", "Mean ± standard error over replicates; "
             "'Δ/se' is (msprime scenario − fwdpy11) over their combined standard error.", ""]
    columns = ("fwdpy11 full", "msprime scenario", "msprime full", "msprime reduced")
    lines += ["| case | kind | statistic | " + " | ".join(columns) + " | Δ/se |",
              "|" + "---|" * (len(columns) + 4)]
    groups: dict[tuple[str, str], dict[str, dict]] = {}
    for result in results:
        groups.setdefault((result["case"], result["kind"]), {})[result["simulator"]] = result
    for (case, kind), by_sim in groups.items():
        for stat in next(iter(by_sim.values()))["stats"]:
            cells = [(f"{by_sim[c]['stats'][stat]['mean']:.4g} ± "
                      f"{by_sim[c]['stats'][stat]['se']:.2g}") if c in by_sim else ""
                     for c in columns]
            a, b = (by_sim.get(c, {}).get("stats", {}).get(stat) for c in columns[:2])
            z = (b["mean"] - a["mean"]) / np.hypot(a["se"], b["se"]) if a and b else np.nan
            lines.append(f"| {case} | {kind} | {stat} | " + " | ".join(cells) + f" | {z:+.1f} |")
    lines += ["", "| case | kind | simulator | replicates | CPU s / replicate | forward runs "
              "| mean end age (gen) | mean end frequency | msprime sweep size |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['case']} | {r['kind']} | {r['simulator']} | {r['n']} | "
                     f"{r['seconds_per_replicate']:.2f} | {r['attempts_total'] or ''} | "
                     + " | ".join(f"{r[k]:.4g}" if k in r else "" for k in (
                         "age", "frequency", "sweep_size")) + " |")
    return "\n".join(lines) + "\n"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=["ooa_eur", "bottleneck"])
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument("--replicates", type=int, default=30)
    parser.add_argument("--msprime-replicates", type=int, default=0,
                        help="replicates of the (cheap) msprime runs; default --replicates")
    parser.add_argument("--simulators", nargs="+", default=list(simulators("neutral")),
                        choices=simulators("neutral"))
    parser.add_argument("--scaling", type=float, default=10.0, help="Q")
    parser.add_argument("--forward", type=int, default=3000,
                        help="generations run forward (older: msprime)")
    parser.add_argument("--fitness", choices=("log-additive", "additive"),
                        default="log-additive", help="the rescaled allele (selected_mutation)")
    parser.add_argument("-o", "--out", type=Path, default=ROOT / "build" / "bench")
    parser.add_argument("--smoke", action="store_true", help="2 replicates, Q = 50")
    args = parser.parse_args(argv)
    if args.smoke:
        args.replicates, args.scaling, args.forward = 2, 50.0, 1000
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    command = "python benchmarks/sweep_approximation.py " + shlex.join(
        sys.argv[1:] if argv is None else argv)
    results = []
    for name in args.cases:
        case = make_case(name)
        for kind in args.kinds:
            for simulator in [s for s in simulators(kind) if s in args.simulators]:
                results.append(measure(case, kind, simulator, args))
                print(f"{name} {kind} {simulator}: {results[-1]['cpu_seconds']:.1f} s",
                      file=sys.stderr, flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    report = markdown(results, command.strip())
    (args.out / "approximation.md").write_text(report)
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    (args.out / "approximation.json").write_text(json.dumps(
        {"config": config, "length": LENGTH, "haplotypes": HAPLOTYPES, "mutation_rate": MU,
         "recombination_rate": R, "strength": STRENGTH, "s_het": S_HET, "results": results},
        indent=1))
    print(report)


if __name__ == "__main__":
    main()
