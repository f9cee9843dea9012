"""Choose and store a bundled sweep model's decision threshold (issue 12).

The threshold is the least P(primary) at which each neutral history and rate case of
benchmarks/calibration.py (5 chromosomes of 5 Mb x 128 haplotypes per case, or --replicates)
has at most 1 % of its windows above it, on seed 1's chromosomes, rounded up to two decimals.
It is then measured on fresh chromosomes, seed 2's or those of each --measure-seeds, and the
worst case there (over all of them together, and on any one seed) is written into the stored
source beside it (a warning says when the first is above 1 %): the card, `info`, scans and
reports show both. About 25 min per model and seed on 2 CPU cores with 5 chromosomes per case.
A chromosome's share moves by a percent or more from one to the next, so the worst of 42 cases
measured on 5 each is chance's as much as the model's; more chromosomes per case measure each
case's share more closely (15: under half an hour per seed on 2 cores; seed 6's run, with 450
planted sweeps besides, took 30 min), and more seeds measure it more closely still.

    python exporters/decision_threshold.py MODEL [--smoothing BP] [--replicates N]
        [--measure-seeds SEED ...] [--haplotypes H] [--work DIR] [--workers N] [--reuse]

MODEL is a bundled model's name: hub/pretrained/MODEL is rewritten by `popgen-hub calibrate`
(run with this interpreter), and its card rendered again from cards/MODEL.yaml. --reuse takes
the runs already in WORK (WORK/seedN, after an interruption) instead of making them again:
only for the same weights. With --smoothing BP the threshold is chosen and measured on P
smoothed over BP each side (benchmarks/calibration.py --smoothing) and stored with it
(--smoothing-bp).

A model of individuals (genotypes, likelihoods) reads any number of individuals, and the more
it reads the more neutral windows it calls. Its threshold is stored with the individuals it was
chosen at (H/2 of calibration.py's H haplotypes, 64 by default). With --haplotypes H (runs in
WORK/individualsN, N = H/2) the threshold chosen at H/2 individuals is stored beside the one
chosen at the default, and scans call windows at the one chosen nearest the individuals they
read.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from calibration import HAPLOTYPES, smoothed_name  # noqa: E402

CHOOSING_SEED = 1  # the threshold is chosen on its chromosomes, measured on others


def run(command: list[str], what: str) -> None:
    """A step in a subprocess; its failure ends the script in one line (its own output above)."""
    if subprocess.run([sys.executable, *command]).returncode:
        raise SystemExit(f"decision_threshold.py: {what} failed (its message is above)")


def matrix(name: str, seed: int, args: argparse.Namespace, thresholds: list[float]) -> dict:
    """calibration.py's summary of ``name`` on seed ``seed``'s neutral chromosomes,
    ``args.replicates`` per case of ``args.haplotypes`` haplotypes (None: calibration.py's
    default), and of its P smoothed over ``args.smoothing`` bp, if not 0."""
    out = args.work / f"seed{seed}"
    if not (args.reuse and (out / "calibration.json").is_file()):
        run([str(ROOT / "benchmarks" / "calibration.py"), name, "--seed", str(seed),
             "--replicates", str(args.replicates), "--neutral-only", "--workers",
             str(args.workers), "-o", str(out),
             *(["--thresholds", *map(str, thresholds)] if thresholds else []),
             *(["--smoothing", str(args.smoothing)] if args.smoothing else []),
             *(["--haplotypes", str(args.haplotypes)] if args.haplotypes else [])],
            f"benchmarks/calibration.py --seed {seed}")
    report = json.loads((out / "calibration.json").read_text())
    scored = smoothed_name(name, args.smoothing) if args.smoothing else name
    if (scored not in report["summary"] or report["replicates"] != args.replicates
            or report["seed"] != seed
            or report.get("haplotypes") != (args.haplotypes or HAPLOTYPES)
            or not set(thresholds) <= set(report.get("thresholds", []))):
        raise SystemExit(f"{out / 'calibration.json'} does not measure {scored} at "
                         f"{thresholds} with {args.replicates} chromosomes per case of seed "
                         f"{seed} of {args.haplotypes or HAPLOTYPES} haplotypes: remove it and "
                         f"run again")
    return report


def sample_text(haplotypes: int, individuals: bool) -> str:
    """A chromosome's sample: ``haplotypes`` haplotypes, read as individuals by a model of
    individuals."""
    return (f"{haplotypes // 2} individuals ({haplotypes} haplotypes)" if individuals
            else f"{haplotypes} haplotypes")


def rounded_up(value: float) -> float:
    """``value`` rounded up to two decimals (0.551 -> 0.56; 0.56 stays 0.56, although
    0.56 * 100 is 56.000000000000007 in floating point)."""
    return math.ceil(round(100 * value, 6)) / 100


def pooled_shares(name: str, measured: list[dict], value: float) -> dict[str, float]:
    """Each case's share of windows above ``value`` for model ``name``, over the chromosomes of
    every calibration.py report in ``measured`` together."""
    above, windows = collections.Counter(), collections.Counter()
    for report in measured:
        column = report["thresholds"].index(value)
        for row in report["summary"][name]["matrix"]:
            above[row["case"]] += round(row["share_p_above_at"][column] * row["windows"])
            windows[row["case"]] += row["windows"]
    return {case: above[case] / windows[case] for case in windows}


def source_text(name: str, chosen: dict, measured: list[dict], value: float,
                smoothing: int = 0, individuals: bool = False) -> str:
    """How the threshold was chosen and what it gives on fresh chromosomes (``measured``: one
    calibration.py report per seed), in one line; ``name`` is the model measured (with
    ``smoothing``: its smoothed P's name; ``individuals``: a model of individuals)."""
    least = chosen["summary"][name]["least_threshold"]
    shares = pooled_shares(name, measured, value)
    worst = max(shares, key=shares.get)
    seeds = [report["seed"] for report in measured]
    if shares[worst] > least["share"]:
        print(f"warning: at P > {value} {worst} has {100 * shares[worst]:.2f} % of its windows "
              f"above it on the chromosomes of seed(s) {seeds}", file=sys.stderr)
    score, option = ((f"mean P within {smoothing / 1e3:g} kb", f" --smoothing {smoothing}")
                     if smoothing else ("P", ""))
    if chosen["haplotypes"] != HAPLOTYPES:
        option += f" --haplotypes {chosen['haplotypes']}"
    text = (f"the least {score} at which each of {len(shares)} neutral histories and rate cases "
            f"of benchmarks/calibration.py --seed {CHOOSING_SEED}{option} "
            f"({chosen['replicates']} chromosomes of {chosen['length_bp'] / 1e6:g} Mb x "
            f"{sample_text(chosen['haplotypes'], individuals)} each) has at most "
            f"{100 * least['share']:g} % of its windows above it, {least['value']:.3f} "
            f"({least['case']}), rounded up; ")
    if len(measured) == 1:
        return text + (f"on the chromosomes of --seed {seeds[0]} the worst case is "
                       f"{100 * shares[worst]:.2f} % ({worst})")
    one_share, one_case, one_seed = max(
        (share, case, report["seed"]) for report in measured
        for case, share in pooled_shares(name, [report], value).items())
    return text + (f"on the chromosomes of --seed {', '.join(map(str, seeds[:-1]))} and "
                   f"{seeds[-1]} together ({sum(r['replicates'] for r in measured)} per case) "
                   f"the worst case is {100 * shares[worst]:.2f} % ({worst}), on one seed's "
                   f"{100 * one_share:.2f} % ({one_case}, --seed {one_seed})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a bundled model's name")
    parser.add_argument("--work", type=Path, help="runs' folder (default build/threshold/MODEL)")
    parser.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--smoothing", type=int, default=0, metavar="BP",
                        help="choose the threshold on P smoothed over BP each side (default 0)")
    parser.add_argument("--replicates", type=int, default=5, metavar="N",
                        help="chromosomes per case on each seed (default 5)")
    parser.add_argument("--measure-seeds", type=int, nargs="+", default=[2], metavar="SEED",
                        help="seeds of the fresh chromosomes it is measured on (default 2)")
    parser.add_argument("--haplotypes", type=int, metavar="H", help="models of individuals: "
                        "choose the threshold at H/2 individuals and store it beside the one "
                        "chosen at the default (runs in WORK/individualsN, N = H/2)")
    parser.add_argument("--reuse", action="store_true",
                        help="take the runs already in WORK (same weights only)")
    args = parser.parse_args()
    model_dir = ROOT / "hub" / "pretrained" / args.model
    card = ROOT / "cards" / f"{args.model}.yaml"
    for needed in (model_dir / "config.json", card):  # before the runs
        if not needed.is_file():
            raise SystemExit(f"decision_threshold.py: {needed} is missing; MODEL is a bundled "
                             f"model with a card source")
    if args.replicates < 1:
        raise SystemExit(f"decision_threshold.py: --replicates {args.replicates}: give at least "
                         f"1 chromosome per case")
    if CHOOSING_SEED in args.measure_seeds or len(set(args.measure_seeds)) < len(
            args.measure_seeds):
        raise SystemExit(f"decision_threshold.py: --measure-seeds {args.measure_seeds}: give "
                         f"distinct seeds other than {CHOOSING_SEED}, which chooses the "
                         f"threshold")
    kind = json.loads((model_dir / "config.json").read_text())["input"]["data_kind"]
    if args.haplotypes is not None and (kind == "haplotypes" or args.haplotypes < 2
                                        or args.haplotypes % 2):
        raise SystemExit(f"decision_threshold.py: --haplotypes {args.haplotypes}: only a model "
                         f"of individuals, with an even number of haplotypes (two each); "
                         f"{args.model} reads {kind}")
    args.work = args.work or ROOT / "build" / "threshold" / args.model
    if args.haplotypes:
        args.work /= f"individuals{args.haplotypes // 2}"
    scored = smoothed_name(args.model, args.smoothing) if args.smoothing else args.model
    chosen = matrix(args.model, CHOOSING_SEED, args, [])
    value = rounded_up(chosen["summary"][scored]["least_threshold"]["value"])
    if value >= 1:
        raise SystemExit(f"decision_threshold.py: {scored} needs P > {value:g} for every "
                         f"case to stay under 1 % (its scores saturate); no threshold stored")
    measured = [matrix(args.model, seed, args, [value]) for seed in args.measure_seeds]
    individuals = kind != "haplotypes"
    run(["-m", "popgen_hub", "calibrate", str(model_dir), "--decision-threshold", str(value),
         "--smoothing-bp", str(args.smoothing),
         "--threshold-source", source_text(scored, chosen, measured, value, args.smoothing,
                                           individuals),
         *(["--threshold-individuals", str(chosen["haplotypes"] // 2)] if individuals else []),
         "--card", str(card)], "popgen-hub calibrate")


if __name__ == "__main__":
    main()
