r"""Score any model on any labelled data: a dataset from `simulate` or `import`, or a folder of ms
files laid out like the review's (class folders with time-point subfolders, replicates paired by
file name). Each replicate is encoded with the model's own encoder. Runs on onnxruntime.
An embedding model (`popgen-hub embed`) is judged on a VCF and a samples table with a population
column: the share of samples whose population their 5 nearest neighbours in the latent space
recover (leave-one-out).

examples:
  popgen-hub evaluate temporal_balsel.hsap_eur data/temporal
  popgen-hub evaluate temporal_balsel.hsap_eur review/ --class neutral=neutral \
    --class weak_overdominance=dominance0025 --class moderate_overdominance=dominance05 \
    --time-points 8000,4000,2000,1000,0 --json scores.json
  popgen-hub evaluate vae.embed_hsap cohort.vcf.gz --samples panel.tsv --region 1:1-5000000
"""

from __future__ import annotations

import argparse

from . import common

NAME, HELP = "evaluate", "accuracy and confusion matrix of a model on labelled data"


def add_arguments(p: argparse.ArgumentParser) -> None:
    common.add_model_argument(p)
    p.add_argument("data", help="dataset directory, or a folder of ms files (an embedding "
                   "model: a VCF or BCF)")
    p.add_argument("--class", dest="classes", action="append", metavar="LABEL=FOLDER",
                   help="ms folder: the subfolder holding each of the model's classes "
                   "(default: folders named like the classes)")
    common.add_time_points(p, help="ms folder: ages in years of the time-point subfolders, "
                           "in natural order (0 = present-day)")
    p.add_argument("--length", type=float, help="ms folder: locus length in bp (default: the "
                   "model's window)")
    p.add_argument("--samples", metavar="TABLE", help="embedding models: a tab-separated table "
                   "with columns sample and population, the samples judged")
    p.add_argument("--region", help="embedding models: chr:start-end or a contig of the VCF "
                   "(default: every contig with records)")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    common.add_device(p)


def run(args: argparse.Namespace) -> None:
    from ..errors import PopgenHubError
    from ..evaluate import (
        check_json_path,
        evaluate_embedding,
        evaluate_model,
        format_embedding_metrics,
        format_metrics,
        write_json,
    )
    from ..registry import load

    if args.json:
        check_json_path(args.json)
    model = load(args.model, device=args.device)
    embedding = model.contract.output_kind == "embedding"
    wrong = [option for option, value, applies in (
        ("--samples", args.samples, embedding), ("--region", args.region, embedding),
        ("--class", args.classes, not embedding), ("--time-points", args.time_points,
                                                    not embedding),
        ("--length", args.length, not embedding)) if value is not None and not applies]
    if wrong:
        kind = {"embedding": "an embedding model", "regression": "a regression model",
                "classes": "a classifier"}[model.contract.output_kind]
        raise PopgenHubError(f"{', '.join(wrong)}: not for {kind} ({model.contract.name}); "
                             f"leave {'it' if len(wrong) == 1 else 'them'} out")
    if embedding:
        result = evaluate_embedding(model, args.data, args.samples, args.region)
        print(format_embedding_metrics(result))
    else:
        classes = common.key_values(args.classes, "--class") if args.classes else None
        result = evaluate_model(model, args.data, classes=classes, time_points=args.time_points,
                                length=args.length, progress=not args.quiet)
        print(format_metrics(result))
    if args.json:
        write_json(result, args.json)
        print(f"wrote {args.json}")
