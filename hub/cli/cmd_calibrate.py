r"""Store a model's null distribution, so that scans give each window a p-value and a q-value,
and its decision threshold, the P(primary class) its scans call windows at.

The neutral (class 0) replicates of DATASET, simulated under the model's training history with
a seed other than training's, are scored with the model; their log-odds of P(primary class)
against the other classes are stored, sorted, in the model folder's contract (config.json and
the ONNX file's metadata; the weights are untouched, the sha256 in config.json follows the
file), with the statistics of the dataset's windows that out-of-distribution flags use.

Models of individuals (exchangeable_cnn, exchangeable_cnn_gl) score neutral loci differently
with the number of individuals read and, for likelihoods, their read depth: they also get a
null and training statistics per condition, each sample size of --sample-sizes (and each
mean depth of --depths, plus depth unknown for VCF likelihoods), of --loci-per-condition
neutral replicates drawn as a scan reads them. A scan uses the condition nearest the
individuals it reads and their mean depth.

--decision-threshold stores the P(primary class) above which the model's scans call a window
(default 0.5), with --threshold-source saying how it was chosen: e.g. the least threshold at
which every neutral history of benchmarks/calibration.py keeps at most 1 % of its windows
above it, read from one seed's matrix and measured on another's. With --smoothing-bp the call
is made on each window's mean P(primary class) over the windows centred within that many bp of
its centre: scans write that smoothed score as a column and a track of its own. With
--threshold-power FOUND/OF and --power-source the threshold says what it finds: the site's
window of FOUND of OF planted sweeps called at it, and on which sweeps (`info` shows it, and
`scan --model auto` prefers, among the models whose training data match the input, the one
that finds the most; exporters/decision_power.py measures it for the bundled models). A
threshold of another value stored without them drops the one stored before, measured at the
old value; the same value stored again keeps it.

A model of individuals calls more neutral windows the more individuals it reads. With
--threshold-individuals N the threshold says it was chosen at N individuals; one chosen the
same way at another number is then stored beside it, and a scan calls windows at the one
chosen nearest the individuals it reads (on a log scale, as its nulls by condition). With
--threshold-power as well, what it finds (on sweeps read as N individuals) is stored with it,
and `scan --model auto` ranks the model by what the one it takes for the input finds.

--history-statistics N, for a model trained over a family of histories (the sweep regime),
simulates N neutral windows of each published training history afresh, with the training
parameters, and stores their statistics by history: `scan --model auto` then matches an input
like any one of them, not only one like the training windows pooled.

examples:
  popgen-hub simulate imagene_sweep --n 4000 --seed 7 -o null_data
  popgen-hub calibrate hub/pretrained/imagene_cnn.sweep_hsap_eur --data null_data
  popgen-hub calibrate my_model --data null_data --max-loci 2000
  popgen-hub calibrate my_gl_model --data null_data --sample-sizes 5,20,60 --workers 8
  popgen-hub calibrate my_model --card cards/my_model.yaml   # only render the card again
  popgen-hub calibrate my_regime_model --history-statistics 200 --workers 2
  popgen-hub calibrate my_model --decision-threshold 0.67 \
      --threshold-source "benchmarks/calibration.py --seed 1: least P with <= 1 % per case"
  popgen-hub calibrate my_model --decision-threshold 0.5 --smoothing-bp 50000 \
      --threshold-source "benchmarks/calibration.py --smoothing 50000: ..." \
      --threshold-power 143/150 --power-source "benchmarks/calibration.py --seed 8: ..."
  popgen-hub calibrate my_genotype_model --decision-threshold 0.84 --threshold-individuals 100 \
      --threshold-source "benchmarks/calibration.py --seed 1 --haplotypes 200: ..."
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..calibration import ConditionGrid
from . import common

if TYPE_CHECKING:
    from ..decision import DecisionThreshold

NAME, HELP = "calibrate", "store a model's null distribution (p/q-values), decision threshold"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model_dir", metavar="MODEL_DIR", help="model folder (model.onnx + "
                   "config.json), rewritten in place")
    p.add_argument("--data", metavar="DATASET", help="dataset folder from "
                   "`popgen-hub simulate` or `import`; its class 0 replicates are the null")
    p.add_argument("--card", metavar="SOURCE", help="model-card source (cards/*.yaml): render "
                   "the folder's README.md again from the (new) contract")
    p.add_argument("--decision-threshold", type=float, metavar="P", help="store P(primary "
                   "class) > P as the threshold the model's scans call windows at (default "
                   "0.5); needs --threshold-source")
    p.add_argument("--threshold-source", metavar="TEXT", help="how the threshold was chosen "
                   "(shown with it by scans, reports and the card)")
    p.add_argument("--smoothing-bp", type=int, default=0, metavar="BP", help="with "
                   "--decision-threshold: call windows on P(primary class) averaged over the "
                   "windows centred within BP of each window's centre (default 0: on P itself)")
    p.add_argument("--threshold-individuals", type=int, metavar="N", help="with "
                   "--decision-threshold, models of individuals: it was chosen at N "
                   "individuals; one chosen at another number than the stored one's is stored "
                   "beside it, and scans call windows at the one nearest the individuals read")
    p.add_argument("--threshold-power", type=_power_arg, metavar="FOUND/OF", help="with "
                   "--decision-threshold: it calls the site's window of FOUND of OF planted "
                   "sweeps; needs --power-source")
    p.add_argument("--power-source", metavar="TEXT", help="which sweeps, and how they were "
                   "scanned (shown with the power by `info`)")
    p.add_argument("--max-loci", type=int, metavar="N", help="use at most N null replicates "
                   "(default: all)")
    p.add_argument("--history-statistics", type=int, metavar="N", help="models trained over "
                   "a family of histories: simulate N neutral windows of each training history "
                   "afresh (the training parameters) and store their statistics per history, "
                   "which `scan --model auto` matches inputs against (--workers processes)")
    group = p.add_argument_group("models of individuals: nulls by condition")
    grid = ConditionGrid()
    group.add_argument("--sample-sizes", type=_numbers(int), default=grid.sample_sizes,
                       metavar="K,...", help=f"numbers of individuals (default "
                       f"{_text(grid.sample_sizes)}; those outside the model's range or the "
                       f"dataset's individuals are left out)")
    group.add_argument("--depths", type=_numbers(float), default=grid.depths, metavar="X,...",
                       help=f"likelihood models: mean read depths (default {_text(grid.depths)}, "
                       f"within the model's depth range; depth unknown is always added)")
    group.add_argument("--loci-per-condition", type=int, default=grid.loci, metavar="N",
                       help="neutral replicates per condition, each drawn once (default "
                       "%(default)s)")
    group.add_argument("--workers", type=int, default=grid.workers, metavar="N",
                       help="processes drawing and scoring the conditions, or simulating "
                       "--history-statistics (default %(default)s)")
    common.add_device(p)


def _threshold(args: argparse.Namespace) -> DecisionThreshold | None:
    """--decision-threshold, --threshold-source, --smoothing-bp, --threshold-power and
    --power-source, checked; None when no threshold is given (the label is the model's
    primary class, filled in when it is stored)."""
    from ..decision import DecisionThreshold, Power, source_problems, value_problems
    from ..errors import PopgenHubError

    value, source = args.decision_threshold, args.threshold_source
    if args.smoothing_bp < 0 or (args.smoothing_bp and value is None):
        raise PopgenHubError(f"--smoothing-bp {args.smoothing_bp}: give a number of bp of at "
                             f"least 0, with --decision-threshold P and --threshold-source TEXT")
    power = None
    if args.threshold_power is not None or args.power_source is not None:
        if value is None or args.threshold_power is None or args.power_source is None:
            raise PopgenHubError("--threshold-power FOUND/OF and --power-source TEXT go "
                                 "together, with the --decision-threshold they measure")
        if problems := source_problems(args.power_source, "which sweeps, and how"):
            raise PopgenHubError(f"--power-source: {problems[0]}")
        power = Power(*args.threshold_power, args.power_source)
    if value is None and source is None:
        if args.threshold_individuals is not None:
            raise PopgenHubError("--threshold-individuals N goes with the --decision-threshold "
                                 "P and --threshold-source TEXT chosen at N individuals")
        return None
    if value is None or source is None:
        raise PopgenHubError("--decision-threshold P and --threshold-source TEXT go together: "
                             "give the threshold and how it was chosen")
    if problems := value_problems(value, source):
        raise PopgenHubError(f"--decision-threshold {value:g} --threshold-source: "
                             f"{problems[0]}")
    if args.threshold_individuals is not None and args.threshold_individuals < 1:
        raise PopgenHubError(f"--threshold-individuals {args.threshold_individuals}: give the "
                             f"number of individuals the threshold was chosen at, at least 1")
    return DecisionThreshold("", value, source, smoothing_bp=args.smoothing_bp, power=power,
                             individuals=args.threshold_individuals)


def _power_arg(text: str) -> tuple[int, int]:
    """An argparse type: FOUND/OF, whole numbers with 0 <= FOUND <= OF and OF >= 1."""
    found, _, of = text.partition("/")
    if found.isdecimal() and of.isdecimal() and int(found) <= int(of) and int(of) >= 1:
        return int(found), int(of)
    raise argparse.ArgumentTypeError(f"{text!r} is not FOUND/OF, two whole numbers with FOUND "
                                     f"at most OF and OF at least 1, e.g. 143/150")


def _text(values: tuple[float, ...]) -> str:
    return ",".join(f"{value:g}" for value in values)


def _numbers(kind: Callable[[str], float]) -> Callable[[str], tuple[float, ...]]:
    """An argparse type: comma-separated positive numbers of ``kind``."""
    def parse(text: str) -> tuple[float, ...]:
        try:
            values = tuple(kind(value) for value in text.split(","))
        except ValueError:
            values = ()
        if not values or not all(math.isfinite(value) and value > 0 for value in values):
            raise argparse.ArgumentTypeError(f"{text!r} is not comma-separated positive "
                                             f"numbers ({kind.__name__}), e.g. 5,10,20")
        return values
    return parse


def run(args: argparse.Namespace) -> None:
    from ..calibrate import calibrate_model
    from ..calibration import CONDITIONS, NULL_SCORE, null_summary
    from ..contract_update import refresh_card, store_threshold
    from ..errors import PopgenHubError
    from ..history_statistics import history_plan, store_history_statistics
    from ..ood import BY_HISTORY, history_summary
    from ..runtime import load_model_dir

    threshold = _threshold(args)  # checked before the work
    if args.history_statistics is not None:  # so is what simulating the histories needs
        common.require_train_extra()
        history_plan(load_model_dir(Path(args.model_dir), device="cpu").contract,
                     args.history_statistics, args.workers)
    if args.data is None and args.card is None and threshold is None and \
            args.history_statistics is None:
        raise PopgenHubError("calibrate needs --data DATASET (store a null), "
                             "--decision-threshold P, --history-statistics N, --card SOURCE "
                             "(render the card again), or several")
    if args.data is not None:  # the threshold, if any, written with the null
        grid = ConditionGrid(sample_sizes=args.sample_sizes, depths=args.depths,
                             loci=args.loci_per_condition, workers=args.workers)
        contract = calibrate_model(args.model_dir, args.data, max_loci=args.max_loci,
                                   grid=grid, threshold=threshold, device=args.device,
                                   progress=not args.quiet, command=args.invocation)
    elif threshold is not None:
        contract = store_threshold(args.model_dir, threshold, command=args.invocation)
    if args.history_statistics is not None:
        contract = store_history_statistics(args.model_dir, args.history_statistics,
                                            workers=args.workers, progress=not args.quiet,
                                            command=args.invocation)
    if args.data is not None or threshold is not None or args.history_statistics is not None:
        print(f"stored in {args.model_dir} (config.json and model.onnx, sha256 "
              f"{contract.weights['sha256'][:12]}...):")
    if args.data is not None:
        print(null_summary(contract.references[NULL_SCORE],
                           contract.references.get(CONDITIONS)))
    if threshold is not None:
        stored = contract.decision_threshold()
        print(f"decision threshold {stored.text()} ({stored.source})"
              + (f"; it finds {stored.power.text()}: {stored.power.source}"
                 if stored.power else ""))
        if sizes := stored.sizes_text():
            print(sizes)
    if args.history_statistics is not None:
        print(history_summary(contract.references[BY_HISTORY]))
    if args.card:
        print(f"wrote {refresh_card(args.model_dir, args.card)}")
