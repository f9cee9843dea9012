r"""Score any model on any labelled data: a dataset from `simulate` or `import`, or a folder of ms
files laid out like the review's (class folders with time-point subfolders, replicates paired by
file name). Each replicate is encoded with the model's own encoder. Runs on onnxruntime.

examples:
  popgen-hub evaluate temporal_balsel.hsap_eur data/temporal
  popgen-hub evaluate temporal_balsel.hsap_eur review/ --class neutral=neutral \
    --class weak_overdominance=dominance0025 --class moderate_overdominance=dominance05 \
    --time-points 8000,4000,2000,1000,0 --json scores.json
"""

from __future__ import annotations

import argparse

from . import common

NAME, HELP = "evaluate", "accuracy and confusion matrix of a model on labelled data"


def add_arguments(p: argparse.ArgumentParser) -> None:
    common.add_model_argument(p)
    p.add_argument("data", help="dataset directory, or a folder of ms files")
    p.add_argument("--class", dest="classes", action="append", metavar="LABEL=FOLDER",
                   help="ms folder: the subfolder holding each of the model's classes "
                   "(default: folders named like the classes)")
    common.add_time_points(p, help="ms folder: ages in years of the time-point subfolders, "
                           "in natural order (0 = present-day)")
    p.add_argument("--length", type=float, help="ms folder: locus length in bp (default: the "
                   "model's window)")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    common.add_device(p)


def run(args: argparse.Namespace) -> None:
    from ..evaluate import check_json_path, evaluate_model, format_metrics, write_json
    from ..registry import load

    if args.json:
        check_json_path(args.json)
    model = load(args.model, device=args.device)
    classes = common.key_values(args.classes, "--class") if args.classes else None
    result = evaluate_model(model, args.data, classes=classes, time_points=args.time_points,
                            length=args.length, progress=not args.quiet)
    print(format_metrics(result))
    if args.json:
        write_json(result, args.json)
        print(f"wrote {args.json}")
