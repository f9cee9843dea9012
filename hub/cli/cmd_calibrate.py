"""Store a model's null distribution, so that scans give each window a p-value and a q-value.

The neutral (class 0) replicates of DATASET, simulated under the model's training history with
a seed other than training's, are scored with the model; their log-odds of P(primary class)
against the other classes are stored, sorted, in the model folder's contract (config.json and
the ONNX file's metadata; the weights are untouched, the sha256 in config.json follows the
file), with the statistics of the dataset's windows that out-of-distribution flags use.

examples:
  popgen-hub simulate imagene_sweep --n 4000 --seed 7 -o null_data
  popgen-hub calibrate hub/pretrained/imagene_cnn.sweep_hsap_eur --data null_data
  popgen-hub calibrate my_model --data null_data --max-loci 2000
  popgen-hub calibrate my_model --card cards/my_model.yaml   # only render the card again
"""

from __future__ import annotations

import argparse

from . import common

NAME, HELP = "calibrate", "store a model's null distribution of scores (for p/q-values)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model_dir", metavar="MODEL_DIR", help="model folder (model.onnx + "
                   "config.json), rewritten in place")
    p.add_argument("--data", metavar="DATASET", help="dataset folder from "
                   "`popgen-hub simulate` or `import`; its class 0 replicates are the null")
    p.add_argument("--card", metavar="SOURCE", help="model-card source (cards/*.yaml): render "
                   "the folder's README.md again from the (new) contract")
    p.add_argument("--max-loci", type=int, metavar="N", help="use at most N null replicates "
                   "(default: all)")
    common.add_device(p)


def run(args: argparse.Namespace) -> None:
    from ..calibrate import calibrate_model, refresh_card
    from ..calibration import NULL_SCORE, null_summary
    from ..errors import PopgenHubError

    if args.data is None and args.card is None:
        raise PopgenHubError("calibrate needs --data DATASET (store a null), --card SOURCE "
                             "(render the card again), or both")
    if args.data is None:
        print(f"wrote {refresh_card(args.model_dir, args.card)}")
        return
    contract = calibrate_model(args.model_dir, args.data, max_loci=args.max_loci,
                               device=args.device, progress=not args.quiet,
                               command=args.invocation)
    print(f"stored in {args.model_dir} (config.json and model.onnx, sha256 "
          f"{contract.weights['sha256'][:12]}...):")
    print(null_summary(contract.references[NULL_SCORE]))
    if args.card:
        print(f"wrote {refresh_card(args.model_dir, args.card)}")
