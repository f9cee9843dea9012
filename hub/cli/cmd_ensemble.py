r"""Combine published classifiers of the same classes and windows into one model.

The members' class probabilities are multiplied with equal weights (the mean of their
log-probabilities) and renormalised, in one ONNX graph that runs every member on its own
input; a window is then called only where the members agree. One temperature is fitted on
half of DATASET (held-out replicates of the members' training scenario, simulated with another
seed) and the other half gives the test figures, the confusion matrix and the reliability
diagram. Store its null and training statistics with `popgen-hub calibrate` afterwards.

examples:
  popgen-hub simulate sweep_regime --n 6000 --seed 11 --workers 2 -o heldout
  popgen-hub ensemble imagene_cnn.sweep_hsap_general stats_fc.sweep_hsap_general \
    --data heldout --name ensemble.sweep_hsap_general -o models/ensemble
  popgen-hub calibrate models/ensemble --data null_data
"""

from __future__ import annotations

import argparse

from . import common

NAME, HELP = "ensemble", "combine classifiers into one model (product of their probabilities)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("members", nargs="+", metavar="MODEL", help="bundled names or model folders "
                   "(two or more)")
    p.add_argument("--data", required=True, metavar="DATASET", help="held-out dataset of the "
                   "members' scenario (another seed than their training data's)")
    p.add_argument("--name", required=True, help="model name, ensemble.TAG")
    common.add_output(p, "OUTDIR")
    p.add_argument("--card", help="model-card source (YAML, see cards/)")


def run(args: argparse.Namespace) -> None:
    common.require_train_extra()
    from ..training.ensemble import build_ensemble

    out = build_ensemble(args.members, args.data, args.name, args.output,
                         card_source=args.card, progress=not args.quiet,
                         command=args.invocation)
    print(f"wrote {args.name} to {out}: model.onnx, config.json, figures"
          + (", README.md" if args.card else "") + f"; store its null with `popgen-hub "
          f"calibrate {out} --data NULL_DATASET`")
