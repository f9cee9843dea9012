"""Recombination maps recovered by a scan: a recombination-rate regression (ReLERNN-style,
e.g. ``relernn_gru.recomb_hsap``) on simulated chromosomes whose map is known, under training
histories and histories the model never saw.

Maps (one per replicate k, the same for every history, drawn from SeedSequence([seed, k])):
- background: consecutive segments of log-uniform 100-500 kb, each at a rate log-uniform in
  0.1-3 cM/Mb (1 cM/Mb = 1e-8 per bp per generation);
- cold regions: one per started 2.5 Mb, each log-uniform 200 kb - 1 Mb long (at most a third of
  the chromosome), placed uniformly, at 1e-10 per bp (the model's prior floor);
- hotspots outside cold regions: 1-2 kb wide, 10-100x (log-uniform) the background they sit
  in, one every 75 kb on average (2 kb plus exponential gaps), as human hotspots are spaced.
Each chromosome: msprime (Hudson, JC69 mutations at 1.29e-8, stdpopsim's HomSap rate) under
the stdpopsim multi-population model itself, sampling ``--haplotypes`` / 2 diploids of one
population at time 0 (a constant 10,000 for "constant"), written by
`popgen_hub.simulate.genome.write_indexed_vcf`; ancestry and mutation seeds of replicate k of
case C from SeedSequence([seed, crc32(C), haplotypes, k]). Scanned with
``popgen_hub.load(MODEL).scan(...)`` in tiled windows (step = the model's window), read back
from ``MODEL.windows.tsv``. Truth of a window or bin: the map's mean rate over it. Bins of
250 kb and 1 Mb: the mean predicted rate of the scored windows centred inside (a bin needs half
of its windows scored), against the map's mean over the bin. A case is "training" when the
contract's training histories list it. Figures: Pearson r of log10 rates, Spearman (ties at
their mean rank), RMSE (and, in the JSON, bias) in log10, and by true rate: the median
predicted / true ratio and the RMSE in log10 (predictions floored at 1e-6 cM/Mb only).
Measures; asserts nothing.

    python benchmarks/recombination.py [--model relernn_gru.recomb_hsap] [--replicates 6]
        [--length 5000000] [--haplotypes 64 128] [--workers N] [-o OUTDIR]
        # -> OUTDIR/matrix.md, recombination.json, maps.png, scatter.png
    python benchmarks/recombination.py --smoke   # 600 kb, one history, one replicate
"""

from __future__ import annotations

import argparse
import collections
import csv
import functools
import json
import math
import operator
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
from popgen_hub.evaluate import average_ranks
from popgen_hub.simulate.genome import write_indexed_vcf
from popgen_hub.simulate.histories import ALL_HOMSAP

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODEL = "relernn_gru.recomb_hsap"
MU, CONSTANT_SIZE, CM_PER_MB = 1.29e-8, 10_000, 1e8  # cM/Mb = rate per bp x 1e8
BACKGROUND_BP, BACKGROUND_RATE = (100_000, 500_000), (0.1e-8, 3e-8)
COLD_BP, COLD_RATE, COLD_EVERY = (200_000, 1_000_000), 1e-10, 2_500_000
HOTSPOT_BP, HOTSPOT_FOLD, HOTSPOT_GAP = (1_000, 2_000), (10, 100), 75_000
SCALES = {"windows": 0, "250 kb": 250_000, "1 Mb": 1_000_000}  # 0: the scan's windows
RATE_BINS = (0, 0.1, 0.5, 1, 2, 5, math.inf)  # true rate, cM/Mb
TRAINING_CASES = ("HomSap/OutOfAfrica_4J17/CEU", "HomSap/Africa_1T12/AFR")
HELD_OUT_CASES = ("HomSap/OutOfAfrica_3G09/YRI", "HomSap/OutOfAfrica_3G09/CEU",
                  "HomSap/OutOfAfrica_3G09/CHB", "HomSap/AmericanAdmixture_4B18/ADMIX",
                  "HomSap/Africa_1B08/African_Americans", "constant")


def log_uniform(rng: np.random.Generator, bounds: tuple[float, float],
                size: int | None = None) -> np.ndarray:
    return np.exp(rng.uniform(*np.log(bounds), size=size))


def recombination_map(length: int, seed: int, replicate: int) -> msprime.RateMap:
    """Replicate ``replicate``'s map of ``length`` bp (the module docstring's recipe)."""
    rng = np.random.default_rng([seed, replicate])
    ends = [0]
    while ends[-1] < length:
        ends.append(ends[-1] + int(log_uniform(rng, BACKGROUND_BP)))
    ends[-1] = length
    background = log_uniform(rng, BACKGROUND_RATE, len(ends) - 1)
    cold = []
    for _ in range(math.ceil(length / COLD_EVERY)):
        size = int(min(log_uniform(rng, COLD_BP), length / 3))
        start = int(rng.integers(0, length - size + 1))
        cold.append((start, start + size))
    gaps = HOTSPOT_BP[1] + rng.exponential(HOTSPOT_GAP - HOTSPOT_BP[1], length // 1000)
    starts = np.cumsum(gaps).astype(np.int64)
    widths = rng.integers(HOTSPOT_BP[0], HOTSPOT_BP[1] + 1, len(starts))
    folds = log_uniform(rng, HOTSPOT_FOLD, len(starts))
    keep = starts + widths <= length
    keep &= ~np.any([(starts < e) & (starts + widths > s) for s, e in cold], axis=0)
    starts, widths, folds = starts[keep], widths[keep], folds[keep]
    breaks = np.unique(np.concatenate([ends, np.ravel(cold), starts, starts + widths]))
    middle = (breaks[:-1] + breaks[1:]) / 2
    rate = background[np.searchsorted(ends, middle, side="right") - 1]
    spot = np.searchsorted(starts, middle, side="right") - 1
    inside = (spot >= 0) & (middle < starts[spot] + widths[spot])
    rate[inside] *= folds[spot[inside]]
    for start, end in cold:
        rate[(middle >= start) & (middle < end)] = COLD_RATE
    return msprime.RateMap(position=breaks, rate=rate)


def mean_rate(rate_map: msprime.RateMap, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The map's mean rate over each [start, end), in cM/Mb."""
    mass = rate_map.get_cumulative_mass
    starts, ends = np.asarray(starts, float), np.asarray(ends, float)
    return (mass(ends) - mass(starts)) / (ends - starts) * CM_PER_MB


def demography(case: str) -> tuple[msprime.Demography, str]:
    """(the msprime Demography, the population sampled) of a case."""
    if case == "constant":
        return msprime.Demography.isolated_model([CONSTANT_SIZE]), "pop_0"
    _, model_id, population = case.split("/")
    return stdpopsim.get_species("HomSap").get_demographic_model(model_id).model, population


def seeds(base: int, case: str, haplotypes: int, replicate: int) -> tuple[int, int]:
    state = np.random.SeedSequence([base, zlib.crc32(case.encode()), haplotypes, replicate])
    return tuple(int(s) % (2**31 - 1) + 1 for s in state.generate_state(2))


@functools.cache
def load(name: str) -> popgen_hub.Model:
    """A model by name or folder, loaded once per process, one onnxruntime thread."""
    return popgen_hub.load(Path(name) if Path(name).is_dir() else name, device="cpu", threads=1)


def read_windows(path: Path, label: str) -> dict[str, np.ndarray]:
    """start, end and the predicted rate (NaN where unscored) of a scan's window table."""
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    rows = list(csv.DictReader(lines, delimiter="\t"))
    return {"start": np.array([int(r["start"]) for r in rows]),
            "end": np.array([int(r["end"]) for r in rows]),
            "predicted": np.array([np.nan if r[label] == "NA" else float(r[label])
                                   for r in rows])}


def binned(windows: dict, rate_map: msprime.RateMap, size: int) -> dict[str, np.ndarray]:
    """Truth and prediction per window (``size`` 0) or per whole bin of ``size`` bp: the mean
    predicted rate of the scored windows whose centre falls in it, where half are scored."""
    if not size:
        scored = ~np.isnan(windows["predicted"])
        return {"start": windows["start"][scored], "predicted": windows["predicted"][scored],
                "true": mean_rate(rate_map, windows["start"][scored], windows["end"][scored])}
    starts = np.arange(0, int(rate_map.sequence_length) - size + 1, size)
    which = (windows["start"] + windows["end"]) // 2 // size
    predicted = np.full(len(starts), np.nan)
    for b in range(len(starts)):
        inside = windows["predicted"][which == b]
        if np.sum(~np.isnan(inside)) >= max(1, len(inside) / 2):
            predicted[b] = np.nanmean(inside)
    kept = ~np.isnan(predicted)
    return {"start": starts[kept], "predicted": predicted[kept],
            "true": mean_rate(rate_map, starts[kept], starts[kept] + size)}


def run_task(task: dict) -> dict:
    """Simulate one chromosome, scan it, return its windows and bins with their truth."""
    started = time.perf_counter()
    rate_map = recombination_map(task["length"], task["seed"], task["replicate"])
    dem, population = demography(task["case"])
    ts = msprime.sim_ancestry(samples={population: task["haplotypes"] // 2}, ploidy=2,
                              demography=dem, sequence_length=task["length"],
                              recombination_rate=rate_map, random_seed=task["seeds"][0])
    ts = msprime.sim_mutations(ts, rate=MU, random_seed=task["seeds"][1])
    with tempfile.TemporaryDirectory(prefix="recombination-", dir=task["tmp"]) as tmp:
        vcf = write_indexed_vcf(ts, Path(tmp) / "chrom.vcf.gz", contig="chr1")
        simulated = time.perf_counter()
        model = load(task["model"])
        window = model.contract.input.window_bp
        model.scan(vcf, Path(tmp) / "scan", step=window, workers=1, progress=False)
        windows = read_windows(Path(tmp) / "scan" / f"{model.contract.name}.windows.tsv",
                               model.contract.labels[0])
    return {**{k: task[k] for k in ("order", "case", "haplotypes", "replicate", "seeds")},
            "sites": ts.num_sites, "window": window, "simulate_s": simulated - started,
            "scan_s": time.perf_counter() - simulated, "windows": len(windows["start"]),
            "bins": {scale: {k: v.tolist() for k, v in binned(windows, rate_map, size).items()}
                     for scale, size in SCALES.items()}}


def run_all(tasks: list[dict], workers: int) -> list[dict]:
    """Run the tasks (in ``workers`` processes), a line on stderr as each case completes."""
    key = operator.itemgetter("case", "haplotypes")
    left = collections.Counter(map(key, tasks))
    started, done = time.perf_counter(), []
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:  # lazy start
        for result in (map(run_task, tasks) if workers == 1 else (future.result() for future in
                       as_completed([pool.submit(run_task, task) for task in tasks]))):
            done.append(result)
            left[key(result)] -= 1
            if not left[key(result)]:
                print(f"[{len(done)}/{len(tasks)}] {result['case']} n={result['haplotypes']}: "
                      f"elapsed {time.perf_counter() - started:.0f} s", file=sys.stderr,
                      flush=True)
    return sorted(done, key=operator.itemgetter("order"))


def figures(true: np.ndarray, predicted: np.ndarray) -> dict:
    """Pearson r of log10 rates and Spearman (n/a under 3 points or without spread), the
    log10 RMSE and bias, and by true rate the median predicted / true and the log10 RMSE."""
    true, predicted = np.asarray(true), np.asarray(predicted)
    logs = np.log10(np.maximum(predicted, 1e-6))
    error = logs - np.log10(true)
    found = {"n": len(true), "rmse": float(np.sqrt(np.mean(error ** 2))) if len(true) else None,
             "bias": float(np.mean(error)) if len(true) else None}
    if len(true) >= 3 and np.ptp(true) > 0 and np.ptp(predicted) > 0:
        found["pearson"] = float(np.corrcoef(np.log10(true), logs)[0, 1])
        found["spearman"] = float(np.corrcoef(average_ranks(true),
                                              average_ranks(predicted))[0, 1])
    which = np.searchsorted(RATE_BINS, true, side="right") - 1
    found["by_rate"] = []
    for b, (low, high) in enumerate(zip(RATE_BINS[:-1], RATE_BINS[1:], strict=True)):
        inside = error[which == b]
        entry = {"low": low, "high": None if math.isinf(high) else high, "n": len(inside)}
        if len(inside):
            entry.update(median_ratio=float(10 ** np.median(inside)),
                         rmse_log10=float(np.sqrt(np.mean(inside ** 2))))
        found["by_rate"].append(entry)
    return found


def summarise(results: list[dict], training: set[str]) -> list[dict]:
    """Per case and sample size, then pooled by set (training / held-out) and sample size."""
    def row(name: str, kind: str, haplotypes: int, runs: list[dict]) -> dict:
        return {"case": name, "set": kind, "haplotypes": haplotypes, "chromosomes": len(runs),
                "window": runs[0]["window"],
                "windows": sum(r["windows"] for r in runs),
                "scales": {scale: figures(*(np.concatenate([r["bins"][scale][k] for r in runs])
                                            for k in ("true", "predicted")))
                           for scale in SCALES}}

    groups = collections.defaultdict(list)
    for r in results:
        groups[(r["case"], r["haplotypes"])].append(r)
    rows = [row(case, "training" if case in training else "held-out", n, runs)
            for (case, n), runs in groups.items()]
    for kind in ("training", "held-out"):
        for n in sorted({r["haplotypes"] for r in results}):
            runs = [r for r in results if r["haplotypes"] == n
                    and (r["case"] in training) == (kind == "training")]
            if runs:
                rows.append(row(f"all {kind}", kind, n, runs))
    return rows


def fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def table(title: str, header: list[str], rows: list[list]) -> list[str]:
    return ["", f"### {title}", "", f"| {' | '.join(header)} |", "|" + "---|" * len(header),
            *(f"| {' | '.join(map(str, row))} |" for row in rows)]


def markdown(rows: list[dict], args, name: str, command: str, elapsed: float) -> str:
    lines = [f"Command: `{command}`", "",
             f"Model {name}; {args.replicates} chromosome(s) of {args.length:,} bp per case and "
             f"sample size, maps and seeds as in benchmarks/recombination.py (seed {args.seed}); "
             f"scan windows of {rows[0]['window']:,} bp, tiled; log10 figures. Run time "
             f"{elapsed / 60:.1f} min, {args.workers} worker(s)."]
    head = ["case", "set", "haplotypes", "chromosomes", "windows"]
    lines += table("Correlation with the true map (Pearson r of log10 rates / Spearman)",
                   head + [f"{s} r / rho" for s in SCALES] + [f"{s} RMSE" for s in SCALES],
                   [[r["case"], r["set"], r["haplotypes"], r["chromosomes"], r["windows"],
                     *(f"{fmt(f.get('pearson'))} / {fmt(f.get('spearman'))}"
                       for f in r["scales"].values()),
                     *(fmt(f.get("rmse")) for f in r["scales"].values())] for r in rows])
    labels = [f"{low:g}-{high:g}" if high < math.inf else f">= {low:g}"
              for low, high in zip(RATE_BINS[:-1], RATE_BINS[1:], strict=True)]
    for scale in SCALES:
        lines += table(f"Error by true rate, {scale} (cM/Mb): median predicted/true, "
                       f"RMSE log10 (n)", ["case", "haplotypes", *labels],
                       [[r["case"], r["haplotypes"],
                         *(f"{b['median_ratio']:.2f}, {b['rmse_log10']:.2f} ({b['n']})"
                           if b["n"] else "—" for b in r["scales"][scale]["by_rate"])]
                        for r in rows])
    return "\n".join(lines) + "\n"


def plots(results: list[dict], out: Path) -> None:
    """maps.png: truth and prediction along replicate 0 of each case (first sample size);
    scatter.png: predicted against true rate at each scale, by case."""
    first = [r for r in results if r["replicate"] == 0
             and r["haplotypes"] == min(x["haplotypes"] for x in results)]
    fig, axes = plt.subplots(len(first), 1, figsize=(10, 1.8 * len(first) + 0.6),
                             squeeze=False, sharex=True)
    for ax, r in zip(axes[:, 0], first, strict=True):
        for scale, style in (("windows", "-"), ("250 kb", "-o")):
            bins = r["bins"][scale]
            if bins["start"]:
                step = SCALES[scale] or r["window"]
                centre = (np.array(bins["start"]) + step / 2) / 1e6
                for key, colour in (("true", "k"), ("predicted", "C3")):
                    ax.plot(centre, bins[key], colour + style, lw=0.8, ms=3, alpha=0.8,
                            drawstyle="steps-mid", label=f"{key}, {scale}")
        ax.set_yscale("log"), ax.set_ylabel("cM/Mb"), ax.set_title(r["case"], fontsize=8)
    axes[0, 0].legend(fontsize=6, ncol=4)
    axes[-1, 0].set_xlabel("position (Mb)")
    fig.tight_layout(), fig.savefig(out / "maps.png", dpi=110), plt.close(fig)
    fig, axes = plt.subplots(1, len(SCALES), figsize=(4.2 * len(SCALES), 4), squeeze=False)
    cases = list(dict.fromkeys(r["case"] for r in results))
    values = [v for r in results for k in ("true", "predicted") for v in r["bins"]["windows"][k]]
    limits = (min(values, default=0.01) / 1.5, max(values, default=10) * 1.5)
    for ax, scale in zip(axes[0], SCALES, strict=True):
        for i, case in enumerate(cases):
            runs = [r["bins"][scale] for r in results if r["case"] == case]
            ax.scatter(np.concatenate([b["true"] for b in runs]),
                       np.concatenate([b["predicted"] for b in runs]), s=5, alpha=0.5,
                       color=f"C{i % 10}", label=case)
        ax.axline((1, 1), slope=1, color="k", lw=0.7)
        ax.set(xscale="log", yscale="log", title=scale, xlabel="true rate (cM/Mb)",
               ylabel="predicted rate (cM/Mb)", xlim=limits, ylim=limits)
    axes[0, 0].legend(fontsize=5)
    fig.tight_layout(), fig.savefig(out / "scatter.png", dpi=110), plt.close(fig)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=MODEL, help="bundled name, local-dir: or folder")
    for flag, default, text in (("--replicates", 6, "chromosomes per case and sample size"),
                                ("--length", 5_000_000, "bp each"),
                                ("--workers", 1, "processes, over chromosomes"),
                                ("--seed", 1, "base seed")):
        parser.add_argument(flag, type=int, default=default, help=text)
    parser.add_argument("--haplotypes", type=int, nargs="+", default=[64, 128],
                        help="sample sizes simulated (each case at each)")
    parser.add_argument("--cases", nargs="+", default=[*TRAINING_CASES, *HELD_OUT_CASES],
                        help="HomSap/<model>/<population> or constant")
    parser.add_argument("-o", "--out", type=Path, default=ROOT / "build" / "recombination")
    parser.add_argument("--smoke", action="store_true",
                        help="600 kb, one history, one replicate, 64 haplotypes")
    args = parser.parse_args()
    unknown = [case for case in args.cases if case not in ("constant", *ALL_HOMSAP)]
    if unknown:
        parser.error(f"--cases {' '.join(unknown)}: not a case; use constant or "
                     f"HomSap/<model>/<population>, one of {', '.join(ALL_HOMSAP)}")
    if any(n < 2 or n % 2 for n in args.haplotypes):
        parser.error(f"--haplotypes {' '.join(map(str, args.haplotypes))}: diploids are "
                     f"simulated, so each must be an even number, e.g. 64")
    if args.smoke:
        args.replicates, args.length, args.haplotypes = 1, 600_000, [64]
        args.cases = [TRAINING_CASES[0]]
        args.out = args.out / "smoke" if args.out == ROOT / "build" / "recombination" else args.out
    return args


def main() -> None:
    args = parse_args()
    command = shlex.join(["python", "benchmarks/recombination.py", *sys.argv[1:]])
    args.out.mkdir(parents=True, exist_ok=True)
    contract = load(args.model).contract
    if args.length < contract.input.window_bp:
        raise SystemExit(f"--length {args.length}: shorter than {contract.name}'s window of "
                         f"{contract.input.window_bp} bp; simulate at least one window")
    training = set(((contract.training or {}).get("parameters") or {}).get("histories") or ())
    chromosomes = [(case, n, k) for case in args.cases for n in args.haplotypes
                   for k in range(args.replicates)]
    tasks = [{"order": i, "model": args.model, "tmp": str(args.out), "length": args.length,
              "case": case, "haplotypes": n, "replicate": k, "seed": args.seed,
              "seeds": seeds(args.seed, case, n, k)} for i, (case, n, k) in enumerate(chromosomes)]
    started = time.perf_counter()
    results = run_all(tasks, args.workers)
    elapsed = time.perf_counter() - started
    rows = summarise(results, training)
    text = markdown(rows, args, contract.name, command, elapsed)
    (args.out / "matrix.md").write_text(text)
    maps = [recombination_map(args.length, args.seed, k) for k in range(args.replicates)]
    (args.out / "recombination.json").write_text(json.dumps(
        {"command": command, "model": contract.name, "window_bp": contract.input.window_bp,
         "seed": args.seed, "mutation_rate": MU, "length_bp": args.length,
         "elapsed_s": elapsed, "summary": rows,
         "maps": [{"position": m.position.tolist(), "rate": m.rate.tolist()} for m in maps],
         "chromosomes": results}, default=float) + "\n")
    plots(results, args.out)
    print(text)
    print(f"wrote {args.out / 'matrix.md'}, recombination.json, maps.png, scatter.png")


if __name__ == "__main__":
    main()
