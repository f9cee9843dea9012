"""Measure what bundled sweep models find at their decision thresholds, and store it (issue 12).

Every model is measured on the same planted hard sweeps, those of one
`benchmarks/calibration.py` run (``SWEEPS``): 2Ns 300 and 1,000, ended 0, 500 and 1,000
generations ago, 5 chromosomes of 5 Mb x 128 haplotypes per strength and age in a constant
10,000 and in four bottlenecked histories, each site uniform within 5 kb of the chromosome's
centre. Seed 8 is one no threshold, span or rule was chosen on. The figure is how many of those
sweeps have their site's window called at the model's stored decision threshold (on its
smoothed P where the threshold smooths). It is stored with the threshold (`popgen-hub calibrate
--threshold-power FOUND/OF --power-source TEXT`), `info` and the card show it, and
`scan --model auto` ranks the models whose training data match the input by it. One run scans
the chromosomes with every model named: about 10 min for seven models on 2 CPU cores, most
of it simulating the chromosomes.

A model of individuals reads the sweeps' haplotypes as individuals (64 by default). With
--haplotypes H it is measured on the same sweeps read as H/2 individuals (runs in
WORK/individualsN, N = H/2), at the threshold chosen at H/2 individuals
(exporters/decision_threshold.py --haplotypes H), and what it finds is stored with that one:
`scan --model auto` ranks it by what the threshold taken for the input's individuals finds.

    python exporters/decision_power.py MODEL [MODEL ...] [--haplotypes H] [--work DIR]
        [--workers N] [--reuse]

Each MODEL is a bundled model with a stored decision threshold (exporters/decision_threshold.py)
and a card source; hub/pretrained/MODEL is rewritten by `popgen-hub calibrate` (run with this
interpreter). --reuse takes the run already in WORK: only for the same weights.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from calibration import HAPLOTYPES, smoothed_name  # noqa: E402
from decision_threshold import sample_text  # noqa: E402

from popgen_hub.registry import get_contract  # noqa: E402

SEED = 8
SWEEPS = ["--replicates", "5", "--loc-replicates", "0", "--cases", "r=1e-9",
          "--strengths", "300", "1000", "--sweep-histories", "marth2004_eur_1epoch",
          "bottleneck", "HomSap/OutOfAfrica_3G09/CEU", "HomSap/OutOfAfrica_3G09/CHB",
          "HomSap/OutOfAfricaArchaicAdmixture_5R19/CHB", "--site-jitter", "5000"]


def run(command: list[str], what: str) -> None:
    """A step in a subprocess; its failure ends the script in one line (its own output above)."""
    if subprocess.run([sys.executable, *command]).returncode:
        raise SystemExit(f"decision_power.py: {what} failed (its message is above)")


def measured(models: list[str], thresholds: list[float], span: int,
             args: argparse.Namespace) -> dict:
    """calibration.py's report of ``models`` on the planted sweeps of ``args.haplotypes``
    haplotypes, at ``thresholds`` (and on P smoothed over ``span`` bp, if not 0)."""
    report_path = args.work / "calibration.json"
    if not (args.reuse and report_path.is_file()):
        run([str(ROOT / "benchmarks" / "calibration.py"), *models, "--seed", str(SEED),
             *SWEEPS, "--haplotypes", str(args.haplotypes), "--thresholds",
             *map(str, thresholds), *(["--smoothing", str(span)] if span else []),
             "--workers", str(args.workers), "-o", str(args.work)],
            "benchmarks/calibration.py")
    report = json.loads(report_path.read_text())
    if (report["seed"] != SEED or not set(thresholds) <= set(report["thresholds"])
            or not set(models) <= set(report["summary"])
            or report.get("haplotypes", HAPLOTYPES) != args.haplotypes):
        raise SystemExit(f"{report_path} does not measure {models} at {thresholds} on seed "
                         f"{SEED} with {args.haplotypes} haplotypes: remove it and run again")
    return report


def found_of(report: dict, scored: str, value: float) -> tuple[int, int]:
    """Of the report's planted sweeps, how many have their site's window above ``value`` for
    ``scored`` (a model, or its smoothed P), and how many there are."""
    column = report["thresholds"].index(value)
    runs = [run for row in report["summary"][scored]["sweeps"] for run in row["runs"]]
    return sum(run["hit_at"][column] for run in runs), len(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", metavar="MODEL", help="bundled models' names")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "power",
                        help="the run's folder (default build/power)")
    parser.add_argument("--haplotypes", type=int, metavar="H", help="models of individuals: "
                        "read the sweeps as H/2 individuals and measure the threshold chosen "
                        "at that many (runs in WORK/individualsN, N = H/2)")
    parser.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--reuse", action="store_true",
                        help="take the run already in WORK (same weights only)")
    args = parser.parse_args()
    if args.haplotypes is not None and (args.haplotypes < 2 or args.haplotypes % 2):
        raise SystemExit(f"decision_power.py: --haplotypes {args.haplotypes}: give an even "
                         f"number of haplotypes, two per individual")
    individuals = (args.haplotypes or HAPLOTYPES) // 2
    thresholds, kinds = {}, {}
    for name in args.models:
        card = ROOT / "cards" / f"{name}.yaml"
        if not (ROOT / "hub" / "pretrained" / name / "config.json").is_file() or not card.is_file():
            raise SystemExit(f"decision_power.py: {name} is not a bundled model with a card "
                             f"source (hub/pretrained/{name}, {card.relative_to(ROOT)})")
        contract = get_contract(name)
        threshold = contract.decision_threshold()
        if threshold is None or not threshold.stored:
            raise SystemExit(f"decision_power.py: {name} stores no decision threshold; choose "
                             f"one first (exporters/decision_threshold.py {name})")
        kinds[name] = contract.input.data_kind
        if args.haplotypes is not None and kinds[name] == "haplotypes":
            raise SystemExit(f"decision_power.py: --haplotypes {args.haplotypes}: only models "
                             f"of individuals read the sweeps as a number of individuals; "
                             f"{name} reads haplotypes (128)")
        # a model of individuals: the threshold chosen at as many as the sweeps are read as
        # (one that records no individuals: measured as it is, on the default sweeps)
        taken = threshold
        if kinds[name] != "haplotypes" and (threshold.individuals or args.haplotypes):
            taken = threshold.chosen_at(individuals)
        if taken is None:
            raise SystemExit(f"decision_power.py: {name} stores no threshold chosen at "
                             f"{individuals} individuals; choose one first "
                             f"(exporters/decision_threshold.py {name} --haplotypes "
                             f"{2 * individuals})")
        thresholds[name] = taken
    spans = {t.smoothing_bp for t in thresholds.values()} - {0}
    if len(spans) > 1:
        raise SystemExit(f"decision_power.py: the thresholds smooth over {sorted(spans)} bp; "
                         f"measure models of one span per run")
    span = spans.pop() if spans else 0
    if args.haplotypes:
        args.work /= f"individuals{individuals}"
    args.haplotypes = args.haplotypes or HAPLOTYPES
    report = measured(args.models, sorted({t.value for t in thresholds.values()}), span, args)
    command = shlex.join(["benchmarks/calibration.py", "--seed", str(SEED), *SWEEPS, *(
        ["--haplotypes", str(args.haplotypes)] if args.haplotypes != HAPLOTYPES else [])])
    for name, threshold in thresholds.items():
        sample = sample_text(args.haplotypes, individuals=kinds[name] != "haplotypes")
        scored = smoothed_name(name, span) if threshold.smoothing_bp else name
        found, of = found_of(report, scored, threshold.value)
        source = (f"planted hard sweeps of {command} (2Ns 300 and 1,000, ended 0, 500 and "
                  f"1,000 generations ago; a constant history and four bottlenecked ones, 5 "
                  f"chromosomes of 5 Mb x {sample} each), the same for every model "
                  f"exporters/decision_power.py measures")
        run(["-m", "popgen_hub", "calibrate", str(ROOT / "hub" / "pretrained" / name),
             "--decision-threshold", str(threshold.value), "--threshold-source",
             threshold.source, "--smoothing-bp", str(threshold.smoothing_bp),
             *(["--threshold-individuals", str(threshold.individuals)]
               if threshold.individuals else []),
             "--threshold-power", f"{found}/{of}", "--power-source", source,
             "--card", str(ROOT / "cards" / f"{name}.yaml")], f"popgen-hub calibrate {name}")


if __name__ == "__main__":
    main()
