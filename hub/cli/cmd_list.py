"""The bundled pretrained models, or the trainable architectures.

examples:
  popgen-hub list
  popgen-hub list 'imagene*'
  popgen-hub list --architectures
  popgen-hub list --json
"""

from __future__ import annotations

import argparse
import json
import textwrap
from typing import TYPE_CHECKING, Any

from . import common

if TYPE_CHECKING:
    from ..contract import ModelContract

NAME, HELP = "list", "list bundled pretrained models"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("pattern", nargs="?", default="*", help="shell-style name filter")
    p.add_argument("--architectures", action="store_true",
                   help="list trainable architectures instead (needs the train extra)")
    p.add_argument("--json", action="store_true",
                   help="print a JSON array on stdout: one object per model (its name, "
                        "architecture, labels, data kind, accepted sample size, ploidy and "
                        "depth, window, stored null), or the architectures' names")


def run(args: argparse.Namespace) -> None:
    from ..registry import get_contract, list_models

    if args.architectures:
        common.require_train_extra()
        names = list_models(args.pattern, pretrained=False)
        print(json.dumps(names) if args.json else "\n".join(names))
        return
    names = list_models(args.pattern)
    if args.json:
        print(json.dumps([model_summary(get_contract(name)) for name in names], indent=1))
        return
    if not names:
        print(f"no bundled models match {args.pattern!r}")
        return
    rows = []
    for name in names:
        contract = get_contract(name)
        accuracy = (contract.test_accuracy() or (None,))[0]
        pearson = contract.metrics.get("test", {}).get("pearson")  # a regression's
        rows.append((name, "/".join(contract.labels),
                     f"{accuracy:.3f}" if accuracy is not None else
                     f"r {pearson:.3f}" if pearson is not None else "-",
                     textwrap.shorten(contract.description, 64, placeholder=" ...")))
    widths = [max(len(r[i]) for r in rows + [("model", "classes", "test acc.", "")])
              for i in range(3)]
    print(f"{'model':<{widths[0]}}  {'classes':<{widths[1]}}  {'test acc.':>{widths[2]}}  about")
    for name, classes, accuracy, about in rows:
        print(f"{name:<{widths[0]}}  {classes:<{widths[1]}}  {accuracy:>{widths[2]}}  {about}")


def model_summary(contract: ModelContract) -> dict[str, Any]:
    """What a model reads and gives, for ``list --json``: ranges are [min, max], null for no
    bound; ``sample_size`` counts haplotypes or individuals, as ``sample_unit`` says."""
    from ..calibration import NULL_SCORE
    from ..ood import REFERENCE

    spec = contract.input
    accuracy = contract.test_accuracy()
    threshold = contract.decision_threshold()
    # models of individuals storing thresholds chosen at several numbers of them
    sizes = threshold.sizes() if threshold and threshold.by_individuals else []
    return {"name": contract.name, "architecture": contract.architecture,
            "revision": contract.revision, "description": contract.description,
            "labels": contract.labels, "output": contract.output_kind,
            "data": spec.data_kind, "phased": spec.phased,
            "sample_size": spec.sample_size,
            "sample_unit": "haplotypes" if spec.data_kind == "haplotypes" else "individuals",
            "ploidy": spec.ploidy, "depth": spec.depth, "window_bp": spec.window_bp,
            "null": NULL_SCORE in contract.references,
            "training_statistics": REFERENCE in contract.references,
            # the P(labels[1]) scans call windows at; null for a regression or an embedding
            "decision_threshold": threshold.value if threshold else None,
            # bp each side the P it is applied to is averaged over (0: P itself)
            "decision_smoothing_bp": threshold.smoothing_bp if threshold else None,
            # planted sweeps whose site's window is called at it, where measured
            "decision_power": ({"found": threshold.power.found, "of": threshold.power.of}
                               if threshold and threshold.power else None),
            # models of individuals: individuals -> the threshold chosen at that many, where
            # more than one is stored (scans take the one chosen nearest the individuals read)
            "decision_threshold_by_individuals": (
                {str(size): threshold.chosen_at(size).value for size in sizes} or None),
            # the same: individuals -> what the threshold chosen at that many finds, where
            # measured (on the planted sweeps read as that many individuals)
            "decision_power_by_individuals": (
                {str(size): {"found": chosen.power.found, "of": chosen.power.of}
                 for size in sizes if (chosen := threshold.chosen_at(size)).power} or None),
            "test_accuracy": accuracy[0] if accuracy else None}
