"""A real sweep beside simulated neutral loci of its size: issue 12's "LCT in CEU still high;
simulated neutral African and East Asian loci of the same size not".

Each model scores the real region (default: the 80 kb of 1000 Genomes CEU around rs4988235 in
../shared/data) on --subsets seeded sets of its haplotypes, as `scan --seed` picks them. Then
neutral loci of the region's length and haplotype count are simulated under each of --cases
(benchmarks/calibration.py's cases, simulation and seeds; default four African and four East
Asian populations of stdpopsim HomSap models) and scored the same way. Per model and case: the
share of neutral loci as extreme as the region, by P(neutral) (at or below the region's
highest over its subsets) and by P(sweep) (at or above its lowest). Measures; asserts nothing.

    python benchmarks/known_sweep.py [MODEL ...] [--vcf FILE --region CONTIG:START-END]
        [--subsets 3] [--replicates 100] [--cases CASE ...] [--seed 7] [--workers N] [-o DIR]
        # -> known_sweep.md, known_sweep.json
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
    """(P(neutral), P(sweep)) of the one window each model scores in ``vcf``."""
    found = {}
    for name in models:
        model = load(name)
        windows = model.score(vcf, region=region, seed=seed, progress=False).scored()
        if len(windows) != 1:
            raise SystemExit(f"{name} scores {len(windows)} windows in {vcf} {region or ''}; "
                             f"give a region of one window of the model")
        labels = model.contract.labels
        p = windows["probabilities"][0]
        found[name] = [float(p[labels.index("neutral")]), float(p[labels.index("sweep")])]
    return found


def neutral_locus(task: dict) -> dict:
    """Simulate one neutral locus of ``task["case"]`` and score it as the region is."""
    with tempfile.TemporaryDirectory(prefix="known-sweep-") as tmp:
        vcf = Path(tmp) / "locus.vcf.gz"
        simulate(task, vcf)
        return {"case": task["case"], "replicate": task["replicate"],
                "scores": scores(task["models"], vcf, None, 0)}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=list(MODELS), help="bundled names or folders")
    parser.add_argument("--vcf", type=Path, default=LCT, help="the real region's VCF (indexed)")
    parser.add_argument("--region", default=LCT_REGION, help="CONTIG:START-END, one window")
    for flag, default, text in (("--subsets", 3, "haplotype sets of the region (scan seeds)"),
                                ("--replicates", 100, "neutral loci per case"),
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
             "| model | the region: P(neutral) / P(sweep) over its sets | case | neutral loci "
             "with P(neutral) at or below the region's highest | with P(sweep) at or above "
             "its lowest |", "|---|---|---|---|---|"]
    for name in args.models:
        neutral = max(r[name][0] for r in region)
        sweep = min(r[name][1] for r in region)
        shown = (f"{min(r[name][0] for r in region):.4f}-{neutral:.4f} / "
                 f"{sweep:.3f}-{max(r[name][1] for r in region):.3f}")
        for case in args.cases:
            got = np.array([locus["scores"][name] for locus in loci
                            if locus["case"] == case["name"]])
            lines.append(f"| {name} | {shown} | {case['name']} | "
                         f"{int((got[:, 0] <= neutral).sum())} of {len(got)} | "
                         f"{int((got[:, 1] >= sweep).sum())} of {len(got)} |")
    text = "\n".join(lines) + "\n"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "known_sweep.md").write_text(text)
    (args.out / "known_sweep.json").write_text(json.dumps(
        {"command": command, "region": region, "loci": loci}, indent=1) + "\n")
    print(text)
    print(f"wrote {args.out / 'known_sweep.md'}, known_sweep.json")


if __name__ == "__main__":
    main()
