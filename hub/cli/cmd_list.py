"""The bundled pretrained models, or the trainable architectures.

examples:
  popgen-hub list
  popgen-hub list 'imagene*'
  popgen-hub list --architectures
"""

from __future__ import annotations

import argparse
import textwrap

from . import common

NAME, HELP = "list", "list bundled pretrained models"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("pattern", nargs="?", default="*", help="shell-style name filter")
    p.add_argument("--architectures", action="store_true",
                   help="list trainable architectures instead (needs the train extra)")


def run(args: argparse.Namespace) -> None:
    from ..registry import get_contract, list_models

    if args.architectures:
        common.require_train_extra()
        print("\n".join(list_models(args.pattern, pretrained=False)))
        return
    names = list_models(args.pattern)
    if not names:
        print(f"no bundled models match {args.pattern!r}")
        return
    rows = []
    for name in names:
        contract = get_contract(name)
        accuracy = (contract.test_accuracy() or (None,))[0]
        rows.append((name, "/".join(contract.labels),
                     f"{accuracy:.3f}" if accuracy is not None else "-",
                     textwrap.shorten(contract.description, 64, placeholder=" ...")))
    widths = [max(len(r[i]) for r in rows + [("model", "classes", "test acc.", "")])
              for i in range(3)]
    print(f"{'model':<{widths[0]}}  {'classes':<{widths[1]}}  {'test acc.':>{widths[2]}}  about")
    for name, classes, accuracy, about in rows:
        print(f"{name:<{widths[0]}}  {classes:<{widths[1]}}  {accuracy:>{widths[2]}}  {about}")
