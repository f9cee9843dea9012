"""Misspecification matrix of sweep models: false positives on neutral chromosomes simulated
under many human histories, and power and localisation on planted hard sweeps.

Each chromosome is simulated with msprime (one population sampled, phased diploids, JC69),
written as an indexed VCF, scanned with `popgen_hub.load(MODEL).scan(...)` (the model's window,
default step), and read back from the scan's `<model>.windows.tsv`: P(primary = the contract's
second label) and, where the table has them, `q_value` and `flag`. stdpopsim's demographies are
used as msprime Demography objects only: recombination 1e-8 and mutation 1.5e-8 per bp per
generation unless a case says otherwise. Sweeps run in a constant 10,000 by default; those of
``--sweep-histories`` (e.g. the bottlenecked Eurasian ones, where neutral windows are called
most) run in the history as the sweep_regime scenario's training sweeps do: the sampled
population's pairwise-coalescence size history, held at its harmonic mean while the sweep runs
(msprime allows no demographic event during a sweep). Figures at P > 0.5 and at each further
``--thresholds`` value, and the least threshold at which every neutral case calls at most
1 % of its windows (what `popgen-hub calibrate --decision-threshold` stores, chosen on one seed
and measured on another). With ``--consensus``, the models' consensus is measured as one more
model: a window is called only where every model calls it (its P is the least of theirs, on
the windows every model scored; it has no q-values, and a window is flagged where any model
flags it). With ``--smoothing BP``, each model's P smoothed over BP each side (the mean P of
the windows centred within BP of each window's centre, what a decision threshold stored with
``popgen-hub calibrate --smoothing-bp BP`` calls windows on) is measured as one more model.
Sweeps sit at the chromosome's centre, which is a window's centre; with ``--site-jitter BP``
each site is drawn uniformly within BP of it, as a real site falls anywhere between window
centres. A model of genotype likelihoods scans each chromosome as sequenced at ``--depth`` D:
each individual's mean depth drawn around D, reads drawn at its sites, SNPs discovered and
samtools likelihoods computed by the BAM reader's own code (`popgen_hub.simulate.reads.
sequenced`, as its training data were made), written as a VCF of PL (the other models scan the
calls themselves; the 1,000-haplotype localisation sweeps are sequenced too, slowly, though
such a model reads at most 100 individuals: give ``--loc-replicates 0``). Measures; asserts
nothing.

    python benchmarks/calibration.py MODEL [MODEL ...] [--replicates 2] [--length 5000000]
        [--haplotypes 128] [--depth D] [--workers N] [--subset] [--thresholds 0.5 0.65]
        [--sweep-histories marth2004_eur_1epoch bottleneck HomSap/OutOfAfrica_3G09/CHB]
        [--neutral-only] [--consensus] [--smoothing BP] [--site-jitter BP] [-o OUTDIR]
        # -> matrix.md, JSON, plots
    python benchmarks/calibration.py --smoke   # 3 cases + 1 sweep in 2 histories, 300 kb
"""

from __future__ import annotations

import argparse
import collections
import csv
import functools
import json
import math
import shlex
import sys
import tempfile
import time
import zlib
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

import matplotlib
import msprime
import numpy as np
import stdpopsim

import popgen_hub
from popgen_hub.decision import smoothed
from popgen_hub.errors import PopgenHubError
from popgen_hub.genotypes import concatenate
from popgen_hub.readers import SampleSelection, VcfReader, haplotype_columns
from popgen_hub.simulate.catalogue.sweep_regime import SweepRegime
from popgen_hub.simulate.demography import get_demography
from popgen_hub.simulate.genome import planted_sweep, simulate_to_vcf, write_indexed_vcf
from popgen_hub.simulate.histories import SizeHistory, published
from popgen_hub.simulate.reads import individual_depths, sequenced, write_likelihood_vcf

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODEL = "imagene_cnn.sweep_hsap_eur"
HAPLOTYPES = 128  # sampled per chromosome, unless --haplotypes
R, MU, N_REF = 1e-8, 1.5e-8, 10_000
MARTH3 = "marth2004_eur_3epoch"  # the rate cases' history
STRENGTHS, AGES = (100, 300, 1000), (0, 500, 1000)  # 2 N_ref s; generations since the end
# The sweeps run in a constant 10,000 (Marth's 1-epoch model) by default: msprime allows no
# demographic event during a sweep, and the 2Ns = 100 ones (thousands of generations) plus their
# ages cross the 3-epoch model's size change 3,000 generations ago. Other --sweep-histories run
# as the sweep_regime scenario's sweeps (module doc).
SWEEP_HISTORY = "marth2004_eur_1epoch"
# Populations left out although stdpopsim samples them at time 0 (default_sampling_time == 0):
# - NEA in OutOfAfricaExtendedNeandertalAdmixturePulse_3I21 ("Neandertals"): an archaic
#   population, the admixture source, sampled at 0 by the model only for convenience.
# - J in AshkSub_7G19 ("non-Ashkenazi Jewish"): the lineage the Ashkenazi split from (the
#   model's long description); issue 12 treats it as ancestral; WAJ and EAJ are sampled.
# Ghosts (default_sampling_time None: Ghost, Den1/Den2/Nea1, BasalEurasian, ArchaicAFR,
# Neanderthal) and ancient samples (> 0: all of AncientEurope_4A21, LBK, UstIshim, DenA, NeaA...)
# are left out by the time rule.
EXCLUDED = {"OutOfAfricaExtendedNeandertalAdmixturePulse_3I21": {"NEA"},
            "AshkSub_7G19": {"J"}}
SMOKE_CASES = ("HomSap/OutOfAfrica_3G09/CEU", "bottleneck", "r=1e-9")
BOTTLENECK = (N_REF, 500, 200, 300)  # the bottleneck case: size, its size, from, to (gen. ago)
#: The issue's target: at most this share of a neutral case's windows called a sweep.
TARGET_SHARE = 0.01
SUBSET = (*SMOKE_CASES, "HomSap/OutOfAfrica_3G09/CHB", "HomSap/OutOfAfrica_3G09/YRI", MARTH3)


def all_cases() -> list[dict]:
    """Every neutral case: name, history (for training marks), rates."""
    def case(name: str, history: str = "", r: float = R, mu: float = MU) -> dict:
        return {"name": name, "history": history or name, "r": r, "mu": mu}

    cases = [case(f"HomSap/{model.id}/{pop.name}")
             for model in stdpopsim.get_species("HomSap").demographic_models
             for pop in model.populations
             if pop.default_sampling_time == 0 and pop.name not in EXCLUDED.get(model.id, ())]
    cases += [case("marth2004_eur_1epoch = constant 10,000", "marth2004_eur_1epoch"),
              case("marth2004_eur_2epoch"), case(MARTH3), case("bottleneck"), case("growth"),
              case("r=1e-9", MARTH3, r=1e-9), case("r=2e-9", MARTH3, r=2e-9),
              case("mu=3e-8", MARTH3, mu=3e-8)]
    return cases


def demography(history: str):
    """(msprime Demography, the population sampled) of a case's history."""
    if history.startswith("HomSap/"):
        _, model_id, pop = history.split("/")
        return stdpopsim.get_species("HomSap").get_demographic_model(model_id).model, pop
    if history == "bottleneck":  # 500 individuals 200-300 generations ago, 10,000 otherwise
        return size_history(history).demography(), "pop_0"
    if history == "growth":  # exponential 10,000 -> 200,000 over the last 200 generations
        dem = msprime.Demography.isolated_model([200_000], growth_rate=[math.log(20) / 200])
        dem.add_population_parameters_change(200, initial_size=N_REF, growth_rate=0)
        return dem, "pop_0"
    return get_demography(history), "pop_0"


def size_history(history: str) -> SizeHistory:
    """The one-population size history a sweep of ``--sweep-histories`` runs in."""
    if history == "bottleneck":
        size, low, start, end = BOTTLENECK
        return SizeHistory(np.array([0.0, start, end]), np.array([size, low, size], float))
    return published(history)


def seeds(base: int, key: str, replicate: int) -> tuple[int, int]:
    """Ancestry and mutation seeds of chromosome ``replicate`` of case ``key``."""
    state = np.random.SeedSequence([base, zlib.crc32(key.encode()), replicate]).generate_state(2)
    return int(state[0]) % (2**31 - 1) + 1, int(state[1]) % (2**31 - 1) + 1


def simulate(task: dict, vcf: Path) -> None:
    if task.get("strength") and task["history"] != SWEEP_HISTORY:
        simulate_regime_sweep(task, vcf)
        return
    dem, pop = demography(task["history"])
    size = dem[pop].initial_size  # a hard sweep to fixation (1 - 1/2N)
    model = planted_sweep(task["site"], size, task["strength"], N_REF, 1.0 - 1.0 / (2 * size),
                          age=task["age"]) if task.get("strength") else None
    simulate_to_vcf(vcf, dem, {pop: task["haplotypes"] // 2}, length=task["length"],
                    recombination_rate=task["r"], mutation_rate=task["mu"],
                    seeds=task["seeds"], model=model)


def simulate_regime_sweep(task: dict, vcf: Path) -> None:
    """A hard sweep to fixation at ``task["site"]``, run as the sweep_regime scenario runs its
    training sweeps, in the size history of ``task["history"]`` (module doc)."""
    # the chromosome is the regime's "window"
    regime = SweepRegime(length=task["length"], n_haplotypes=task["haplotypes"],
                         reference_size=N_REF)
    params = {"recombination_rate": task["r"], "sweep_age": task["age"],
              "selection_strength": task["strength"], "start_frequency": 0.0,
              "end_frequency": 1.0, "site_offset": task["site"] - task["length"] // 2}
    ts, _ = regime.ancestry(size_history(task["history"]), "sweep", params, task["seeds"][0])
    ts = msprime.sim_mutations(ts, rate=task["mu"], random_seed=task["seeds"][1])
    write_indexed_vcf(ts, vcf, contig="chr1")


def sequenced_copy(vcf: Path, depth: float, chromosome_seeds: tuple[int, int]) -> Path:
    """The chromosome of ``vcf`` as sequenced at mean depth ``depth`` per individual, written
    beside it as a VCF of PL (module doc): its calls read as a scan reads them (phase dropped;
    sites it skips, e.g. multi-allelic ones, skipped), reads drawn from the chromosome's seeds."""
    reader = VcfReader(vcf)
    selection = SampleSelection(tuple(haplotype_columns(reader)), phased=False, kind="genotypes")
    region = reader.region(reader.contigs[0])
    calls = concatenate(list(reader.blocks(region, selection, stats=reader.new_stats())))
    rng = np.random.default_rng([*chromosome_seeds, round(1000 * depth)])
    reads = sequenced(calls, individual_depths(depth, len(calls.samples), rng), rng)
    return write_likelihood_vcf(reads, vcf.with_name("sequenced.vcf.gz"), contig=region.contig,
                                length=reader.contig_lengths[region.contig])


def read_table(path: Path, labels: list[str]) -> dict[str, np.ndarray]:
    """The scored windows of a window table: centre, P(primary), log-odds and, where the
    model gives them, q_value and flag (None where the table has no such column, or its
    header says the column is empty or NA for this model)."""
    lines = path.read_text().splitlines()
    notes = dict(line[2:].split(": ", 1) for line in lines if line[:2] == "# " and ": " in line)
    rows = [row for row in csv.DictReader((line for line in lines if line[0] != "#"),
                                          delimiter="\t") if row[f"p_{labels[1]}"] != "NA"]
    header = rows[0].keys() if rows else ()
    t = {name: np.array([np.nan if row[name] in ("NA", "") else float(row[name])
                         for row in rows]) if name in header else None
         for name in ("start", "end", "bin_start", "bin_end", "q_value",
                      f"p_{labels[0]}", f"p_{labels[1]}")}
    t["p"], null = t[f"p_{labels[1]}"], t[f"p_{labels[0]}"]
    t["odds"] = np.log(np.maximum(t["p"], 1e-300)) - np.log(np.maximum(null, 1e-300))
    t["centre"] = (t["start"] + t["end"]) / 2
    q = t["q_value"]
    t["q"] = None if q is None or np.isnan(q).all() else q  # all NA: the model has no null
    t["flag"] = (np.array([row["flag"].strip() not in ("", "0", "NA", ".") for row in rows])
                 if "flag" in header and not notes.get("flag", "").startswith("empty") else None)
    return t


@functools.cache
def load(name: str):
    """A model by name or folder, loaded once per process, one onnxruntime thread."""
    return popgen_hub.load(Path(name) if Path(name).is_dir() else name, device="cpu", threads=1)


def figures(t: dict, site: int | None, thresholds: list[float]) -> dict:
    """Of a neutral chromosome (``site`` None) or one with a sweep at ``site``; counts and
    hits at P > 0.5 and, as lists, at each of ``thresholds``."""
    q, flag, above = t["q"], t["flag"], t["p"] > 0.5
    if site is None:
        return {"windows": len(t["p"]), "p_above": int(above.sum()),
                "p_values": t["p"].tolist(),  # for the least threshold (not written out)
                "p_above_at": [int((t["p"] > x).sum()) for x in thresholds],
                "q_below": None if q is None else int((q < 0.05).sum()),
                "max_p": float(t["p"].max()) if len(t["p"]) else float("nan"),
                "flagged": None if flag is None else int(flag.sum())}
    at = np.flatnonzero((t["bin_start"] <= site) & (site < t["bin_end"]))[:1]
    cover = (t["start"] <= site) & (site < t["end"])
    distance = np.abs(t["centre"] - site)
    p_site = float(t["p"][at[0]]) if len(at) else float("nan")
    q_site = None if q is None or not len(at) else float(q[at[0]])
    max_covering = float(t["p"][cover].max()) if cover.any() else float("nan")
    return {"p_site": p_site, "q_site": q_site, "hit": bool(p_site > 0.5),
            "hit_at": [bool(p_site > x) for x in thresholds],
            "hit_any_at": [bool(max_covering > x) for x in thresholds],
            # a site window left unscored (too few sites: a complete sweep) is a miss, as for P
            "hit_q": None if q is None else bool(q_site is not None and p_site > 0.5
                                                 and q_site < 0.05),
            "max_p_covering": max_covering,
            "top_distance": float(distance[np.argmax(t["odds"])]),
            "beyond_1mb": int((distance > 1e6).sum()),
            "above_beyond_1mb": int((above & (distance > 1e6)).sum())}


def consensus_name(models: list[str]) -> str:
    return f"consensus of {' and '.join(models)}"


def consensus_of(tables: list[dict]) -> dict:
    """The window table of the models' consensus (module doc), from theirs (one contig's
    windows in order, as :func:`read_table` gives them)."""
    starts = functools.reduce(np.intersect1d, [t["start"] for t in tables])
    rows = [np.searchsorted(t["start"], starts) for t in tables]
    flags = [t["flag"][at] for t, at in zip(tables, rows, strict=True) if t["flag"] is not None]
    return {**{k: tables[0][k][rows[0]] for k in ("start", "end", "bin_start", "bin_end",
                                                  "centre")},
            **{k: np.min([t[k][at] for t, at in zip(tables, rows, strict=True)], axis=0)
               for k in ("p", "odds")},
            "q": None, "flag": np.any(flags, axis=0) if flags else None}


def smoothed_name(model: str, span: int) -> str:
    return f"{model}, mean P within {span / 1e3:g} kb"


def smoothed_table(t: dict, span: int) -> dict:
    """The window table of a model's P smoothed over ``span`` bp each side (module doc), from
    its own: the windows scored, each one's P the mean of those centred within ``span``."""
    p = smoothed(t["centre"], t["p"], span)
    return {**t, "p": p, "odds": p, "q": None}  # a float64 mean: ranked by itself


def run_task(task: dict) -> dict:
    """Simulate one chromosome, scan it with every model, return its figures by model (and
    by their consensus, when the task asks for it)."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="calibration-", dir=task["tmp"]) as tmp:
        vcf = Path(tmp) / "chrom.vcf.gz"
        simulate(task, vcf)
        reads = (sequenced_copy(vcf, task["depth"], task["seeds"])
                 if task["sequenced"] else None)
        simulated = time.perf_counter()
        found, tables = {}, []
        for name in task["models"]:
            model, out = load(name), Path(tmp) / "scan"
            model.scan(reads if name in task["sequenced"] else vcf, out, workers=1,
                       progress=False)
            tables.append(read_table(out / f"{model.contract.name}.windows.tsv",
                                     model.contract.labels))
            found[name] = figures(tables[-1], task.get("site"), task["thresholds"])
            if task["smoothing"]:
                found[smoothed_name(name, task["smoothing"])] = figures(
                    smoothed_table(tables[-1], task["smoothing"]), task.get("site"),
                    task["thresholds"])
        if task["consensus"]:
            found[consensus_name(task["models"])] = figures(consensus_of(tables),
                                                            task.get("site"), task["thresholds"])
    return {"key": task["key"], "replicate": task["replicate"], "seeds": task["seeds"],
            "site": task.get("site"), "simulate_s": simulated - started,
            "total_s": time.perf_counter() - started, "figures": found}


def mark(case: dict, contract) -> str:
    """"training" if the model was trained on the case's history at its rates: the contract's
    "histories" ("HomSap/<model>/<pop>", ...) if listed, else its scenario's demography."""
    params = (contract.training or {}).get("parameters") or {}
    history = str(params.get("demography", ""))
    if history.startswith("HomSap/") and params.get("population"):
        history += f"/{params['population']}"
    histories = set(params.get("histories") or [history])
    rates_match = all(math.isclose(case[k], params[p]) for k, p in
                      (("r", "recombination_rate"), ("mu", "mutation_rate")) if p in params)
    return "training" if case["history"] in histories and rates_match else "held-out"


def tasks_of(args, cases: list[dict]) -> list[dict]:
    """One task per chromosome: the neutral cases, then the sweeps (strength x age, at
    ``--haplotypes`` and, for localisation, ``--loc-haplotypes``)."""
    specs = [(c["name"], c["history"], c["r"], c["mu"], args.haplotypes, args.replicates, {})
             for c in cases]
    specs += [(sweep_key(h, s, a, n), h, R, MU, n, k, {"strength": s, "age": a})
              for h in ([] if args.neutral_only else args.sweep_histories)
              for n, k in ((args.haplotypes, args.replicates),
                           (args.loc_haplotypes, args.loc_replicates if h == SWEEP_HISTORY
                            else 0))
              for s in args.strengths for a in args.ages if k]
    return [{"models": args.models, "consensus": args.consensus, "smoothing": args.smoothing,
             "depth": args.depth, "sequenced": args.sequenced,
             "tmp": str(args.out),
             "length": args.length, "key": key,
             "thresholds": args.thresholds,
             "history": history, "r": r, "mu": mu, "haplotypes": n, "replicate": i,
             "seeds": (chromosome := seeds(args.seed, key, i)), **extra,
             **({"site": planted_site(args, chromosome)} if extra else {})}
            for key, history, r, mu, n, k, extra in specs for i in range(k)]


def planted_site(args, chromosome_seeds: tuple[int, int]) -> int:
    """The chromosome's centre, or with ``--site-jitter`` a position drawn (from its seeds)
    uniformly within that many bp of it: a real site falls anywhere between window centres."""
    jitter = args.site_jitter
    rng = np.random.default_rng(chromosome_seeds)
    return args.length // 2 + (int(rng.integers(-jitter, jitter + 1)) if jitter else 0)


def sweep_key(history: str, strength: int, age: int, haplotypes: int) -> str:
    """The case name (and seed key) of a sweep; those in the default history keep the names
    (and so the chromosomes) of earlier versions."""
    where = "" if history == SWEEP_HISTORY else f" in {history}"
    return f"sweep{where} 2Ns={strength} age={age} n={haplotypes}"


def run_all(tasks: list[dict], workers: int) -> list[dict]:
    """Run the tasks (in ``workers`` processes), a line on stderr as each case completes."""
    left = collections.Counter(task["key"] for task in tasks)
    started, done = time.perf_counter(), []
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:  # lazy start
        for result in (map(run_task, tasks) if workers == 1 else (future.result() for future in
                       as_completed([pool.submit(run_task, task) for task in tasks]))):
            done.append(result)
            left[key := result["key"]] -= 1
            if not left[key]:
                work = sum(r["total_s"] for r in done if r["key"] == key)
                print(f"[{len(done)}/{len(tasks)}] {key}: {work:.1f} s of work, elapsed "
                      f"{time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return sorted(done, key=lambda r: (r["key"], r["replicate"]))


def share(numerator, denominator) -> float | None:
    return None if numerator is None or not denominator else numerator / denominator  # n/a


def summarise(results: list[dict], cases: list[dict], args, contracts: dict) -> dict:
    """Figures by model: the neutral matrix, power and localisation rows."""
    summary = {}
    for name in contracts:
        matrix, sweeps = [], {}
        for case in cases:
            runs = [r["figures"][name] for r in results if r["key"] == case["name"]]
            total = {k: (None if any(run[k] is None for run in runs)
                         else sum(run[k] for run in runs))
                     for k in ("windows", "p_above", "q_below", "flagged")}
            above_at = [sum(run["p_above_at"][i] for run in runs)
                        for i in range(len(args.thresholds))]
            matrix.append({"case": case["name"], "set": mark(case, contracts[name]),
                           "r": case["r"], "mu": case["mu"], "replicates": len(runs), **total,
                           **{f"share_{k}": share(total[k], total["windows"])
                              for k in ("p_above", "q_below", "flagged")},
                           "share_p_above_at": [share(int(n), total["windows"])
                                                for n in above_at],
                           "max_p": max(run["max_p"] for run in runs),
                           "threshold_needed": threshold_needed(
                               [p for run in runs for p in run["p_values"]])})
        for r in results:
            if r["key"].startswith("sweep"):
                sweeps.setdefault(r["key"], []).append(r["figures"][name])
        rows = sorted((sweep_row(k, v) for k, v in sweeps.items()),
                      key=lambda w: (w["haplotypes"], w["history"] != SWEEP_HISTORY,
                                     w["history"], w["strength"], w["age"]))
        worst = max(matrix, key=lambda m: m["threshold_needed"])
        summary[name] = {"matrix": matrix, "sweeps": rows, "least_threshold": {
            "value": worst["threshold_needed"], "case": worst["case"], "share": TARGET_SHARE}}
    return summary


def threshold_needed(values: list[float]) -> float:
    """The least P at which at most TARGET_SHARE of ``values`` lie above it: the value with
    floor(TARGET_SHARE * n) values above it, sorted high to low."""
    ranked = sorted(values, reverse=True)
    allowed = math.floor(TARGET_SHARE * len(ranked))
    return ranked[allowed] if allowed < len(ranked) else 0.0


def sweep_row(key: str, runs: list[dict]) -> dict:
    strength, age, haplotypes = (int(part.split("=")[1]) for part in key.split()[-3:])
    col = {k: [run[k] for run in runs] for k in runs[0]}
    return {"history": key.split(" in ")[1].split()[0] if " in " in key else SWEEP_HISTORY,
            "strength": strength, "age": age, "haplotypes": haplotypes,
            "replicates": len(runs), "power": float(np.mean(col["hit"])),
            "power_at": [float(np.mean(hits)) for hits in zip(*col["hit_at"], strict=True)],
            "power_any_at": [float(np.mean(hits))
                             for hits in zip(*col["hit_any_at"], strict=True)],
            "power_q": None if None in col["hit_q"] else float(np.mean(col["hit_q"])),
            "mean_p_site": scored_mean(col["p_site"]),
            "mean_max_p_covering": scored_mean(col["max_p_covering"]),
            "power_any": float(np.mean(np.array(col["max_p_covering"]) > 0.5)),
            "top_distance_mean": float(np.mean(col["top_distance"])),
            "top_distance_median": float(np.median(col["top_distance"])),
            # the target: of the windows beyond 1 Mb of the site, the share above 0.5
            "share_above_beyond_1mb": share(sum(col["above_beyond_1mb"]), sum(col["beyond_1mb"])),
            "runs": runs}


def scored_mean(values: list[float]) -> float:
    """The mean over the chromosomes whose windows were scored (NaN: none was)."""
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


def fmt(value, spec: str = "%") -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %" if spec == "%" else f"{value:{spec}}"


def table(title: str, header: str, rows: list[list]) -> list[str]:
    cells = header.split(" | ")
    return ["", f"### {title}", "", f"| {header} |", "|" + "---|" * len(cells),
            *(f"| {' | '.join(map(str, row))} |" for row in rows)]


def markdown(summary: dict, args, command: str, elapsed: float) -> str:
    def sweep_head(w: dict) -> list:
        return [w["strength"], w["age"], w["haplotypes"], w["history"], w["replicates"]]

    extra = [f"{x:g}" for x in args.thresholds]
    elsewhere = [h for h in args.sweep_histories if h != SWEEP_HISTORY]
    lines = [f"Command: `{command}`", "",
             f"Seeds: chromosome k of case C uses ancestry and mutation seeds from "
             f"SeedSequence([{args.seed}, crc32(C), k]) (all listed in calibration.json). "
             f"Neutral: {args.replicates} replicate(s) x {args.length:,} bp x "
             f"{args.haplotypes} haplotypes per case; recombination {R:g}, mutation {MU:g} "
             f"per bp per generation unless the case says otherwise (stdpopsim's rates are "
             f"not used); "
             + ("no sweeps (--neutral-only)" if args.neutral_only else
                "sweeps to fixation (end frequency 1 - 1/2N) at the chromosome's centre"
                + (f" (each site drawn uniformly within {args.site_jitter:,} bp of it, off the "
                   f"windows' centres)" if args.site_jitter else "")
                + f", planted in {SWEEP_HISTORY}")
             + (f" and, as the sweep_regime scenario runs its sweeps (the sampled population's "
                f"size history, held at its harmonic mean while the sweep runs), in "
                f"{', '.join(elsewhere)}" if elsewhere and not args.neutral_only else "")
             + (f". {', '.join(args.sequenced)} scanned each chromosome as sequenced at mean "
                f"depth {args.depth:g}x per individual (reads drawn, SNPs discovered and "
                f"likelihoods computed as the BAM reader does; a VCF of PL)"
                if args.sequenced else "")
             + f". Scans: the model's window, default step. Run time {elapsed / 60:.1f} min, "
               f"{args.workers} worker(s)."]
    for name, s in summary.items():
        lines += table(f"{name}: neutral chromosomes", "case | set | windows | share P>0.5 | "
                       "share q<0.05 | max P | share flagged"
                       + "".join(f" | share P>{x}" for x in extra),
                       [[m["case"], m["set"], m["windows"], fmt(m["share_p_above"]),
                         fmt(m["share_q_below"]), fmt(m["max_p"], ".3f"),
                         fmt(m["share_flagged"]), *map(fmt, m["share_p_above_at"])]
                        for m in s["matrix"]])
        least = s["least_threshold"]
        lines += ["", f"Least threshold at which every neutral case has at most "
                  f"{least['share']:.0%} of its windows above it: P > {least['value']:.3f} "
                  f"(set by {least['case']})."]
        if not s["sweeps"]:  # --neutral-only
            continue
        head = "2Ns | age (gen.) | haplotypes | history | replicates | "
        lines += table(f"{name}: power (site window: the one whose bin holds the site)", head +
                       "power P>0.5 | power P>0.5 & q<0.05 | mean P, site window | power, any "
                       "window covering the site | mean max P of those"
                       + "".join(f" | power P>{x} | power P>{x}, any covering window"
                                 for x in extra),
                       [[*sweep_head(w), fmt(w["power"]), fmt(w["power_q"]),
                         fmt(w["mean_p_site"], ".3f"), fmt(w["power_any"]),
                         fmt(w["mean_max_p_covering"], ".3f"),
                         *(fmt(v) for pair in zip(w["power_at"], w["power_any_at"], strict=True)
                           for v in pair)]
                        for w in s["sweeps"] if w["haplotypes"] == args.haplotypes])
        lines += table(f"{name}: localisation", head + "top window to site, mean kb | median kb"
                       " | windows beyond 1 Mb with P>0.5", [[*sweep_head(w), fmt(
                           w["top_distance_mean"] / 1e3, ".1f"), fmt(w["top_distance_median"]
                           / 1e3, ".1f"), fmt(w["share_above_beyond_1mb"])] for w in s["sweeps"]])
    return "\n".join(lines) + "\n"


def plots(summary: dict, out: Path, haplotypes: int, history: str) -> None:
    """The false-positive heatmap, and power by age and strength of the sweeps in
    ``history``."""
    names = list(summary)
    cases = [m["case"] for m in summary[names[0]]["matrix"]]
    grid = np.array([[m["share_p_above"] or 0.0 for m in summary[n]["matrix"]] for n in names]).T
    fig, ax = plt.subplots(figsize=(5 + 1.5 * len(names), 2 + 0.25 * len(cases)))
    top = max(grid.max(), 0.01)
    image = ax.imshow(grid, aspect="auto", cmap="magma_r", vmin=0, vmax=top)
    for (i, j), value in np.ndenumerate(grid):
        ax.text(j, i, f"{100 * value:.1f} %", ha="center", va="center", fontsize=6,
                color="white" if value > top / 2 else "black")
    ax.set_xticks(range(len(names)), names, rotation=20, ha="right", fontsize=7)
    ax.set_yticks(range(len(cases)), cases, fontsize=7)
    fig.colorbar(image, ax=ax, label="neutral windows, P > 0.5")
    fig.savefig(out / "fp_heatmap.png", dpi=120, bbox_inches="tight"), plt.close(fig)
    if not summary[names[0]]["sweeps"]:  # --neutral-only
        return
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3.5), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        rows = [w for w in summary[name]["sweeps"]
                if w["haplotypes"] == haplotypes and w["history"] == history]
        for i, s in enumerate(sorted({w["strength"] for w in rows})):  # ages nudged apart
            points = sorted((w["age"] + 12 * i, w["power"]) for w in rows if w["strength"] == s)
            ax.plot(*zip(*points, strict=True), marker="o", label=f"2Ns = {s}")
        ax.set(title=f"{name}\nsweeps in {history}", xlabel="generations since the sweep ended",
               ylabel="power (P > 0.5)",
               ylim=(-0.05, 1.05)), ax.legend(fontsize=8)
    fig.tight_layout(), fig.savefig(out / "power.png", dpi=120), plt.close(fig)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=[MODEL], help="bundled names or folders")
    for flag, default, text in (
            ("--replicates", 2, "chromosomes per case"), ("--length", 5_000_000, "bp each"),
            ("--haplotypes", HAPLOTYPES, "sampled"),
            ("--workers", 1, "processes, over chromosomes"),
            ("--loc-haplotypes", 1000, "haplotypes of the extra localisation sweeps"),
            ("--loc-replicates", 1, "chromosomes per localisation sweep (0: none)"),
            ("--seed", 1, "base seed"),
            ("--site-jitter", 0, "bp: each sweep's site uniform within this of the centre")):
        parser.add_argument(flag, type=int, default=default, help=text)
    parser.add_argument("--depth", type=float, metavar="D", help="models of genotype "
                        "likelihoods: scan each chromosome sequenced at mean depth D per "
                        "individual (module doc)")
    parser.add_argument("--strengths", type=int, nargs="+", default=list(STRENGTHS))
    parser.add_argument("--ages", type=int, nargs="+", default=list(AGES))
    parser.add_argument("--cases", nargs="+", help="only these neutral cases (names as listed)")
    parser.add_argument("--thresholds", type=float, nargs="+", default=[],
                        help="P(primary) thresholds to give figures at besides 0.5")
    parser.add_argument("--sweep-histories", nargs="+", default=[SWEEP_HISTORY],
                        metavar="HISTORY", help=f"histories the sweeps run in: {SWEEP_HISTORY} "
                        f"(constant 10,000), bottleneck or HomSap/<model>/<population>")
    parser.add_argument("--neutral-only", action="store_true",
                        help="no sweeps: the neutral matrix and the least threshold only")
    parser.add_argument("--subset", action="store_true", help=f"cases {', '.join(SUBSET)}")
    parser.add_argument("--consensus", action="store_true",
                        help="also the windows every model calls (two models or more)")
    parser.add_argument("--smoothing", type=int, default=0, metavar="BP",
                        help="also each model's P smoothed over BP each side, as one more model")
    parser.add_argument("-o", "--out", type=Path, default=ROOT / "build" / "calibration")
    parser.add_argument("--smoke", action="store_true",
                        help="3 cases and 1 sweep, 300 kb, one replicate: checks the script")
    args = parser.parse_args()
    if args.replicates < 1:  # before --smoke sets its own
        raise SystemExit(f"--replicates {args.replicates}: give a number of chromosomes per case "
                         f"of at least 1")
    if args.smoke:
        args.replicates, args.length, args.loc_replicates = 1, 300_000, 0
        args.strengths, args.ages, args.cases = [1000], [0], list(SMOKE_CASES)
        args.sweep_histories, args.thresholds = [SWEEP_HISTORY, "bottleneck"], [0.65]
        args.out = args.out / "smoke" if args.out == ROOT / "build" / "calibration" else args.out
    elif args.subset:
        args.cases = list(SUBSET)
    args.sweep_histories = list(dict.fromkeys(args.sweep_histories))  # each once: its seeds
    return args


def main() -> None:
    args = parse_args()
    command = shlex.join(["python", "benchmarks/calibration.py", *sys.argv[1:]])
    cases = all_cases()
    if args.cases:
        unknown = set(args.cases) - {c["name"] for c in cases}
        if unknown:
            raise SystemExit(f"unknown case(s) {sorted(unknown)}; cases: "
                             f"{', '.join(c['name'] for c in cases)}")
        cases = [c for c in cases if c["name"] in args.cases]
    for history in set(args.sweep_histories) - {SWEEP_HISTORY}:
        try:
            size_history(history)
        except PopgenHubError as exc:
            raise SystemExit(f"--sweep-histories: {exc}") from None
    contracts = {name: load(name).contract for name in args.models}
    # the models that read likelihoods scan the chromosomes as sequenced at --depth
    args.sequenced = [name for name, c in contracts.items()
                      if c.input.data_kind == "likelihoods"]
    if args.sequenced and args.depth is None:
        raise SystemExit(f"--depth D: {', '.join(args.sequenced)} reads genotype likelihoods; "
                         f"give the mean read depth per individual to sequence the chromosomes "
                         f"at")
    if args.depth is not None and not args.sequenced:
        raise SystemExit(f"--depth {args.depth:g}: no model named reads genotype likelihoods; "
                         f"leave it out")
    if args.depth is not None and not args.depth > 0:
        raise SystemExit(f"--depth {args.depth:g}: give a mean read depth above 0")
    if args.consensus:
        if len(args.models) < 2 or len({c.labels[1] for c in contracts.values()}) > 1:
            raise SystemExit("--consensus: give two models or more of one primary class")
        # marked training or held-out as the first model
        contracts[consensus_name(args.models)] = contracts[args.models[0]]
    if args.smoothing < 0:
        raise SystemExit(f"--smoothing {args.smoothing}: give a number of bp of at least 0")
    if not 0 <= args.site_jitter < args.length // 2:
        raise SystemExit(f"--site-jitter {args.site_jitter}: give a number of bp from 0 to under "
                         f"half the chromosome ({args.length // 2:,})")
    for name in args.models if args.smoothing else []:
        contracts[smoothed_name(name, args.smoothing)] = contracts[name]
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results = run_all(tasks_of(args, cases), args.workers)
    elapsed = time.perf_counter() - started
    summary = summarise(results, cases, args, contracts)
    text = markdown(summary, args, command, elapsed)
    (args.out / "matrix.md").write_text(text)
    (args.out / "calibration.json").write_text(json.dumps(
        {"command": command, "seed": args.seed, "recombination_rate": R, "mutation_rate": MU,
         "replicates": args.replicates, "length_bp": args.length, "haplotypes": args.haplotypes,
         "depth": args.depth,
         "thresholds": args.thresholds,
         "elapsed_s": elapsed, "cases": cases, "summary": summary,
         "site_jitter": args.site_jitter,
         "chromosomes": [{k: r[k] for k in ("key", "replicate", "seeds", "site", "simulate_s",
                                            "total_s")} for r in results]},
        indent=1, default=float) + "\n")
    plots(summary, args.out, args.haplotypes, args.sweep_histories[0])
    print(text)
    print(f"wrote {args.out / 'matrix.md'}, calibration.json, fp_heatmap.png"
          + ("" if args.neutral_only else ", power.png"))


if __name__ == "__main__":
    main()
