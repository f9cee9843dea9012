"""A real sweep beside simulated neutral loci of its size: issue 12's "LCT in CEU still high;
simulated neutral African and East Asian loci of the same size not".

Each model scores the real region (default: the 80 kb of 1000 Genomes CEU around rs4988235 in
../shared/data) on --subsets seeded sets of its haplotypes, as `scan --seed` picks them. Then
neutral loci of the region's length and haplotype count are simulated under each of --cases
(benchmarks/calibration.py's cases, simulation and seeds; default four African and four East
Asian populations of stdpopsim HomSap models) and scored the same way. Per model and case: the
share of neutral loci as extreme as the region, by P(neutral) (at or below the region's
highest over its subsets) and by P(sweep) (at or above its lowest); and how often the region
and the loci are called, at P(sweep) > 0.5, at the model's stored decision threshold and at
p < 0.05 against its stored null (a scan of one window: its q-value is its p-value).
Measures; asserts nothing.

    python benchmarks/known_sweep.py [MODEL ...] [--vcf FILE --region CONTIG:START-END]
        [--subsets 3] [--replicates 300] [--cases CASE ...] [--seed 7] [--workers N] [-o DIR]
        # -> known_sweep.md, known_sweep.json, known_sweep.png
    python benchmarks/known_sweep.py --smoke   # one model, two cases, two loci each
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pysam
from calibration import all_cases, load, seeds, simulate

from popgen_hub.errors import PopgenHubError
from popgen_hub.genotypes.region import parse_region

ROOT = Path(__file__).resolve().parents[1]
LCT = ROOT.parent / "shared" / "data" / "real" / "lct_ceu_grch38" / "LCT.CEU.GRCh38.vcf.gz"
LCT_REGION = "2:135811083-135891047"
MODELS = ("imagene_cnn.sweep_hsap_general", "stats_fc.sweep_hsap_general",
          "ensemble.sweep_hsap_general", "imagene_cnn.sweep_hsap_european")
CASES = ("HomSap/OutOfAfrica_3G09/YRI", "HomSap/OutOfAfricaArchaicAdmixture_5R19/YRI",
         "HomSap/OutOfAfrica_4J17/YRI", "HomSap/AmericanAdmixture_4B18/AFR",
         "HomSap/OutOfAfrica_3G09/CHB", "HomSap/OutOfAfricaArchaicAdmixture_5R19/CHB",
         "HomSap/OutOfAfrica_4J17/JPT", "HomSap/AmericanAdmixture_4B18/ASIA")


def scores(models: list[str], vcf: Path, region: str | None, seed: int) -> dict[str, list]:
    """(P(neutral), P(sweep), p-value or None without a stored null) of the one window each
    model scores in ``vcf``."""
    found = {}
    for name in models:
        model = load(name)
        result = model.score(vcf, region=region, seed=seed, progress=False)
        windows = result.scored()
        if len(windows) != 1:
            raise SystemExit(f"{name} scores {len(windows)} windows in {vcf} {region or ''}; "
                             f"give a region of one window of the model")
        labels = model.contract.labels
        p = windows["probabilities"][0]
        found[name] = [float(p[labels.index("neutral")]), float(p[labels.index("sweep")]),
                       None if result.p_values is None else float(result.p_values[0])]
    return found


def calls(triples: list[list], threshold: float) -> list[int | None]:
    """How many of ``triples`` (see :func:`scores`) are called at P(sweep) > 0.5, at
    P(sweep) > ``threshold`` and at p < 0.05 (None: no stored null)."""
    sweep = np.array([t[1] for t in triples])
    p = [t[2] for t in triples]
    return [int((sweep > 0.5).sum()), int((sweep > threshold).sum()),
            None if None in p else int((np.array(p) < 0.05).sum())]


def span(values: list[float], digits: int) -> str:
    return f"{min(values):.{digits}f}-{max(values):.{digits}f}"


def neutral_locus(task: dict) -> dict:
    """Simulate one neutral locus of ``task["case"]`` and score it as the region is."""
    with tempfile.TemporaryDirectory(prefix="known-sweep-") as tmp:
        vcf = Path(tmp) / "locus.vcf.gz"
        simulate(task, vcf)
        return {"case": task["case"], "replicate": task["replicate"],
                "scores": scores(task["models"], vcf, None, 0)}


def called(counts: list[int | None], total: int) -> str:
    return " / ".join("-" if c is None else str(c) for c in counts) + f" of {total}"


def short(case: str) -> str:
    """A stdpopsim case by its model's tag and population (HomSap/OutOfAfrica_3G09/YRI:
    3G09 YRI); other cases as named."""
    parts = case.split("/")
    return f"{parts[1].split('_')[-1]} {parts[2]}" if len(parts) == 3 else case


def plot(region: list[dict], loci: list[dict], cases: list[str], thresholds: dict[str, float],
         path: Path) -> None:
    """Per model, the neutral loci's P(sweep) by case beside the region's (a band over its
    sets), the 0.5 line and the stored threshold."""
    fig, axes = plt.subplots(1, len(thresholds), figsize=(3.2 * len(thresholds) + 1, 3.8),
                             sharey=True, squeeze=False)
    jitter = np.random.default_rng(0)
    for ax, (name, threshold) in zip(axes[0], thresholds.items(), strict=True):
        for i, case in enumerate(cases):
            got = [locus["scores"][name][1] for locus in loci if locus["case"] == case]
            ax.scatter(i + jitter.uniform(-0.3, 0.3, len(got)), got, s=3, alpha=0.4,
                       color="tab:blue")
        ours = [r[name][1] for r in region]
        ax.axhspan(min(ours), max(ours), color="tab:red", alpha=0.3, label="the region")
        ax.axhline(0.5, color="black", lw=0.8, ls="--", label="0.5")
        ax.axhline(threshold, color="tab:red", lw=0.8, ls=":", label="stored threshold")
        ax.set_xticks(range(len(cases)), [short(c) for c in cases], rotation=45, ha="right",
                      fontsize=7)
        ax.set_title(name, fontsize=8)
    axes[0][0].set_ylabel("P(sweep)")
    axes[0][0].legend(fontsize=6, loc="upper left")
    fig.tight_layout(), fig.savefig(path, dpi=100), plt.close(fig)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=list(MODELS), help="bundled names or folders")
    parser.add_argument("--vcf", type=Path, default=LCT, help="the real region's VCF (indexed)")
    parser.add_argument("--region", default=LCT_REGION, help="CONTIG:START-END, one window")
    for flag, default, text in (("--subsets", 3, "haplotype sets of the region (scan seeds)"),
                                ("--replicates", 300, "neutral loci per case"),
                                ("--seed", 7, "base seed of the loci (calibration.py's)"),
                                ("--workers", 1, "processes, over loci")):
        parser.add_argument(flag, type=int, default=default, help=text)
    parser.add_argument("--cases", nargs="+", default=list(CASES), help="calibration.py's cases")
    parser.add_argument("-o", "--out", type=Path, default=ROOT / "build" / "known_sweep")
    parser.add_argument("--smoke", action="store_true", help="one model, two cases, two loci")
    args = parser.parse_args()
    if args.smoke:
        args.models, args.cases = args.models[:1], list(CASES[::4])
        args.subsets, args.replicates = 1, 2
    for flag in ("subsets", "replicates", "workers"):
        if getattr(args, flag) < 1:
            raise SystemExit(f"--{flag} {getattr(args, flag)}: give at least 1")
    if not args.vcf.is_file():
        raise SystemExit(f"--vcf {args.vcf}: no such file (the default is ../shared/data's LCT "
                         f"in CEU, beside the repository)")
    known = {c["name"]: c for c in all_cases()}
    unknown = sorted(set(args.cases) - set(known))
    if unknown:
        raise SystemExit(f"--cases: unknown {unknown}; calibration.py's cases: "
                         f"{', '.join(known)}")
    args.cases = [known[name] for name in args.cases]
    try:
        _, start, end = parse_region(args.region)
        for name in args.models:  # before any scoring: each must be a sweep model
            labels = load(name).contract.labels
            if not {"neutral", "sweep"} <= set(labels):
                raise SystemExit(f"{name} has labels {', '.join(labels)}: give sweep models "
                                 f"(neutral and sweep among their labels)")
    except PopgenHubError as exc:
        raise SystemExit(f"known_sweep.py: {exc}") from None
    if start is None or end is None:
        raise SystemExit(f"--region {args.region}: give CONTIG:START-END")
    args.length = end - start
    return args


def main() -> None:
    args = parse_args()
    command = shlex.join(["python", "benchmarks/known_sweep.py", *sys.argv[1:]])
    started = time.perf_counter()
    try:
        region = [scores(args.models, args.vcf, args.region, seed)
                  for seed in range(args.subsets)]
    except PopgenHubError as exc:  # the VCF or a region the models cannot score
        raise SystemExit(f"known_sweep.py: {exc}") from None
    with pysam.VariantFile(str(args.vcf)) as vcf:
        haplotypes = 2 * len(vcf.header.samples)
    tasks = [{"models": args.models, "case": case["name"], "history": case["history"],
              "r": case["r"], "mu": case["mu"], "haplotypes": haplotypes, "length": args.length,
              "replicate": i, "seeds": seeds(args.seed, case["name"], i)}
             for case in args.cases for i in range(args.replicates)]
    if args.workers == 1:
        loci = [neutral_locus(task) for task in tasks]
    else:
        with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
            loci = list(pool.map(neutral_locus, tasks))
    lines = [f"Command: `{command}`", "", f"The region: {args.vcf.name} {args.region}, "
             f"{haplotypes} haplotypes, scored on {args.subsets} haplotype set(s) (scan seeds "
             f"0-{args.subsets - 1}). Neutral loci: {args.replicates} per case, "
             f"{args.length:,} bp x {haplotypes} haplotypes, seeds as calibration.py "
             f"--seed {args.seed}. Run time {(time.perf_counter() - started) / 60:.1f} min.", "",
             "| model | the region: P(neutral) | P(sweep) | p-value | its sets called at "
             "P(sweep) > 0.5 / at the stored threshold / at p < 0.05 |", "|---|---|---|---|---|"]
    thresholds = {name: load(name).contract.decision_threshold().value for name in args.models}
    for name in args.models:
        got = [r[name] for r in region]
        p = [t[2] for t in got]
        lines.append(f"| {name} | {span([t[0] for t in got], 4)} | {span([t[1] for t in got], 3)} "
                     f"| {'no stored null' if None in p else span(p, 4)} | "
                     f"{called(calls(got, thresholds[name]), len(got))} |")
    lines += ["", "| model | case | neutral loci with P(neutral) at or below the region's "
              "highest | with P(sweep) at or above its lowest | called at P(sweep) > 0.5 / at "
              "the stored threshold / at p < 0.05 |", "|---|---|---|---|---|"]
    for name in args.models:
        neutral = max(r[name][0] for r in region)
        sweep = min(r[name][1] for r in region)
        for case in args.cases:
            got = [locus["scores"][name] for locus in loci if locus["case"] == case["name"]]
            lines.append(f"| {name} | {case['name']} | "
                         f"{sum(t[0] <= neutral for t in got)} of {len(got)} | "
                         f"{sum(t[1] >= sweep for t in got)} of {len(got)} | "
                         f"{called(calls(got, thresholds[name]), len(got))} |")
    lines += ["", "Stored thresholds on P(sweep): " + ", ".join(
        f"{name} {value:g}" for name, value in thresholds.items()) + "."]
    text = "\n".join(lines) + "\n"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "known_sweep.md").write_text(text)
    (args.out / "known_sweep.json").write_text(json.dumps(
        {"command": command, "region": region, "loci": loci}, indent=1) + "\n")
    plot(region, loci, [case["name"] for case in args.cases], thresholds,
         args.out / "known_sweep.png")
    print(text)
    print(f"wrote {args.out / 'known_sweep.md'}, known_sweep.json, known_sweep.png")


if __name__ == "__main__":
    main()
