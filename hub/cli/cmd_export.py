r"""A training run to onnx, config.json and a model card.

examples:
  popgen-hub export runs/sweep --name imagene_cnn.sweep_hsap_eur \
    --card cards/imagene_cnn.sweep_hsap_eur.yaml -o models/sweep
"""

from __future__ import annotations

import argparse

from . import common

NAME, HELP = "export", "export a training run to ONNX + config.json + model card (train extra)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="run directory from `popgen-hub train`")
    p.add_argument("--name", required=True, help="model name, architecture.tag")
    common.add_output(p, "OUTDIR")
    p.add_argument("--card", help="model-card source (YAML, see cards/)")
    p.add_argument("--revision", default="bundled", help="revision recorded in the contract")


def run(args: argparse.Namespace) -> None:
    common.require_train_extra()
    from ..training.export import export_run

    out = export_run(args.run, args.name, args.output, card_source=args.card,
                     revision=args.revision)
    print(f"exported {args.name} to {out}: model.onnx, config.json"
          + (", README.md" if args.card else ""))
