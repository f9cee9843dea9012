r"""Train on a saved dataset (split by replicate into disjoint training, validation and test sets)
or on data simulated on the fly (a fresh batch every epoch, independent validation and test
streams). The validation set picks the epoch; the test set is used once, at the end.

examples:
  popgen-hub train imagene_cnn --data data/sweep --epochs 6 -o runs/sweep
  popgen-hub train imagene_cnn --simulate imagene_sweep --replicates-per-epoch 2000 \
    --epochs 10 --workers 2 -o runs/otf
  popgen-hub train temporal_balsel --data data/temporal --repeats 10 --optimizer adam \
    --epochs 30 -o runs/branched # mean ± sd over 10 splits
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from ..errors import PopgenHubError
from ..files import RunFolder
from . import common

NAME, HELP = "train", "train an architecture, report held-out test figures (train extra)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("architecture", help="architecture (see `popgen-hub list --architectures`)")
    common.add_output(p, "RUN_DIR")
    p.add_argument("--data", help="dataset directory from `popgen-hub simulate`")
    p.add_argument("--simulate", metavar="SCENARIO", help="simulate on the fly instead")
    _add_settings(p)
    p.add_argument("--validation-fraction", type=float, default=0.1)
    p.add_argument("--test-fraction", type=float, default=0.1)
    p.add_argument("--replicates-per-epoch", type=int, default=2000, help="on the fly")
    p.add_argument("--validation-replicates", type=int, default=500, help="on the fly")
    p.add_argument("--test-replicates", type=int, default=1000, help="on the fly")
    common.add_scenario_params(p, help="on the fly: override a scenario parameter (repeatable)")
    common.add_encoder_overrides(p, help="override a parameter of the architecture's "
                                 "encoder (repeatable)")
    p.add_argument("--repeats", type=int, metavar="N", help="with --data: train N times "
                   "(seeds SEED..SEED+N-1, each its own split) and report mean ± sd")
    p.add_argument("--workers", type=int, default=1, help="simulation processes (on the fly)")
    p.add_argument("--no-calibrate", dest="calibrate", action="store_false",
                   help="skip temperature scaling (by default one temperature, fitted on the "
                        "validation set, calibrates the exported probabilities)")
    common.add_resume_options(p)


def _add_settings(p: argparse.ArgumentParser) -> None:
    """The TrainSettings fields."""
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--optimizer", choices=("rmsprop", "adam", "adamw"), default="rmsprop")
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--schedule", choices=("constant", "cosine"), default="constant",
                   help="learning rate: constant, or cosine-annealed to zero over the epochs")
    p.add_argument("--seed", type=int, default=0, help="seed of splits, weights and batches")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                   help="PyTorch threads (default: all cores)")


def run(args: argparse.Namespace) -> None:
    common.require_train_extra()
    from ..training.loop import TrainSettings
    from ..training.train import train_from_dataset, train_on_the_fly

    settings = TrainSettings(epochs=args.epochs, batch_size=args.batch_size,
                             learning_rate=args.learning_rate, optimizer=args.optimizer,
                             weight_decay=args.weight_decay, schedule=args.schedule,
                             seed=args.seed, threads=args.threads)
    if bool(args.data) == bool(args.simulate):
        raise PopgenHubError("give exactly one of --data DIR or --simulate SCENARIO")
    if args.repeats is not None:
        _train_repeats(args, settings)
        return
    if args.data:
        record = train_from_dataset(args.architecture, args.data, args.output, settings,
                                    validation=args.validation_fraction,
                                    test=args.test_fraction,
                                    encoder_overrides=common.key_values(args.encoder, "--encoder"),
                                    progress=not args.quiet, command=args.invocation,
                                    resume=args.resume, clean=args.clean,
                                    calibrate=args.calibrate)
    else:
        record = train_on_the_fly(
            args.architecture, args.simulate, args.output, settings,
            replicates_per_epoch=args.replicates_per_epoch,
            validation_replicates=args.validation_replicates,
            test_replicates=args.test_replicates,
            scenario_params=common.key_values(args.param, "--param"),
            encoder=common.haplotype_encoder(args),
            workers=args.workers, progress=not args.quiet, command=args.invocation,
            resume=args.resume, clean=args.clean, calibrate=args.calibrate)
    test = record["metrics"]["test"]
    if record.get("output_kind") == "regression":
        from ..evaluate import format_metrics

        print(format_metrics({**test, "model": f"{args.architecture} (kept epoch "
                                                f"{record['best_epoch']})",
                              "data": "the held-out test set"}))
        figures = (RunFolder.FIGURES[0], RunFolder.predicted_figure)
        print(f"wrote {args.output}/{', '.join((RunFolder.weights, RunFolder.record, *figures))}")
        return
    print(f"held-out test accuracy {test['accuracy']:.4f} on {test['n']} replicates "
          f"(kept epoch {record['best_epoch']})")
    print("confusion matrix (rows true, columns predicted): " + ", ".join(test["labels"]))
    for label, row in zip(test["labels"], test["confusion_matrix"], strict=True):
        print(f"  {label:>12}: " + "  ".join(f"{c:>6}" for c in row))
    calibration = record["metrics"].get("calibration")
    if calibration:
        print(f"temperature {calibration['temperature']:.4f} (fitted on the validation set): "
              f"test ECE {calibration['ece_before']:.4f} -> {calibration['ece_after']:.4f}, "
              f"NLL {calibration['nll_before']:.4f} -> {calibration['nll_after']:.4f}")
    written = ", ".join((RunFolder.weights, RunFolder.record, *RunFolder.FIGURES,
                         *([RunFolder.reliability_figure] if calibration else [])))
    print(f"wrote {args.output}/{written}")


def _train_repeats(args: argparse.Namespace, settings: Any) -> None:
    """--repeats N: N runs on N splits of the one dataset, mean ± sd."""
    if not args.data:
        raise PopgenHubError("--repeats needs --data (a saved dataset to split each time)")
    from ..training.train import train_repeats

    summary = train_repeats(args.architecture, args.data, args.output, settings,
                            args.repeats, validation=args.validation_fraction,
                            test=args.test_fraction,
                            encoder_overrides=common.key_values(args.encoder, "--encoder"),
                            progress=not args.quiet, command=args.invocation,
                            resume=args.resume, clean=args.clean, calibrate=args.calibrate)
    print(repeats_table(summary))
    print(f"wrote {args.output}/repeat_*/, {RunFolder.repeats}, {RunFolder.repeats_figure}; the "
          f"repeat with the best validation accuracy ({summary['exported_repeat']}) is in "
          f"{args.output} for `popgen-hub export`")


def repeats_table(summary: dict[str, Any]) -> str:
    """The mean ± sd test accuracy and confusion matrix of ``train --repeats`` (and compare)."""
    accuracy = summary["accuracy"]
    lines = [f"{summary['architecture']}: held-out test accuracy {accuracy['mean']:.4f} ± "
             f"{accuracy['sd']:.4f} (mean ± sd over {summary['repeats']} repeats, each its own "
             f"split and seed)",
             "row-normalised confusion matrix, mean ± sd (rows true, columns predicted)"]
    for label, means, sds in zip(summary["labels"], summary["mean_normalised"],
                                 summary["sd_normalised"], strict=True):
        lines.append(f"  {label:>24}: " + "  ".join(f"{m:.3f} ± {d:.3f}"
                                                    for m, d in zip(means, sds, strict=True)))
    return "\n".join(lines)
