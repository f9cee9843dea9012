r"""One panel per run directory trained with --repeats: the row-normalised confusion matrix on held-
out test data, mean ± sd over the repeats.

examples:
  popgen-hub compare 'ancient only=runs/ancient' 'present only=runs/present' \
    both=runs/branched -o fig3.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import PopgenHubError
from ..files import RunFolder
from . import common
from .cmd_train import repeats_table

NAME, HELP = "compare", "figure of repeated runs side by side (the review's Fig. 3)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", metavar="[TITLE=]RUN_DIR")
    common.add_output(p, "PNG")
    p.add_argument("--title", default="held-out test data, mean ± sd over repeats")


def run(args: argparse.Namespace) -> None:
    common.require_train_extra()
    from ..training.plots import plot_repeat_panels

    panels = {}
    for spec in args.runs:
        title, sep, run_dir = spec.rpartition("=")
        path = RunFolder(Path(run_dir)).repeats
        if not path.is_file():
            raise PopgenHubError(f"{path} not found: train with `popgen-hub train ... --repeats "
                                 f"N -o {run_dir}` first")
        summary = json.loads(path.read_text())
        panels[title if sep else summary["architecture"]] = summary
        print(repeats_table(summary))
    plot_repeat_panels(panels, Path(args.output), title=args.title)
    print(f"wrote {args.output}")
