r"""Read replicates simulated by other tools, one class per --class, encode them like `simulate`
does and write a dataset `train --data` reads. ms format: ms, msms, discoal, scrm, mspms output
(many replicates per file); trees: tskit tree sequences from msprime, SLiM or fwdpy11 (one per
file).

examples:
  popgen-hub import ms --class neutral=sims/neutral --class sweep=sims/sweep --length 80000 \
    -o data/mine
  popgen-hub import trees --class neutral='slim/neutral_*.trees' \
    --class balancing='slim/bal_*.trees' --length 50000 -o data/slim
  popgen-hub import ms --class neutral=review/neutral \
    --class weak_overdominance=review/dominance0025 \
    --class moderate_overdominance=review/dominance05 --time-points 8000,4000,2000,1000,0 \
    --length 50000 -o data/review # the review's layout: CLASS/1..5/*.txt, paired by file name
"""

from __future__ import annotations

import argparse
import json

from ..errors import PopgenHubError
from . import common

NAME = "import"
HELP = "make a dataset of simulations from elsewhere: ms, msms, discoal, .trees (train extra)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("format", choices=("ms", "trees"))
    p.add_argument("--class", dest="classes", action="append", metavar="LABEL=PATH",
                   required=True, help="a class and its files: a file, a folder or a quoted "
                   "glob (repeat; the first class is the null class, e.g. neutral)")
    p.add_argument("--length", type=float, required=True,
                   help="locus length in bp (ms positions are fractions of it)")
    common.add_output(p, "DIR")
    common.add_encoder_overrides(p)
    common.add_time_points(p, help="temporal data: each class is a folder with one subfolder "
                           "per time point; AGES are their ages in years (0 = present-day), "
                           "comma-separated, in the subfolders' natural order; files are "
                           "paired across them by name")
    common.add_shard_size(p)
    p.add_argument("--simulator", default="", help="what made the files, for provenance "
                   "(e.g. 'SLiM 4.0.1'); shown on model cards")
    common.add_resume_options(p)


def run(args: argparse.Namespace) -> None:
    common.require_train_extra()
    from ..files import DatasetFolder
    from ..simulate.importers import class_sources, import_dataset

    classes: dict[str, list] = {}
    for spec in args.classes:
        label, sep, where = spec.partition("=")
        if not sep or not label or not where:
            raise PopgenHubError(f"--class {spec!r} must look like LABEL=PATH")
        if label in classes:
            raise PopgenHubError(f"--class {label} is given twice")
        classes[label] = class_sources(where, args.format, args.time_points)
    out = import_dataset(args.format, classes, args.output, length=args.length,
                         encoder=common.haplotype_encoder(args),
                         time_points=args.time_points, shard_size=args.shard_size,
                         simulator=args.simulator, progress=not args.quiet,
                         command=args.invocation, resume=args.resume, clean=args.clean)
    sources = json.loads(DatasetFolder(out).manifest.read_text())["sources"]
    counts = ", ".join(f"{label}: {len(found)} replicates" for label, found in sources.items())
    print(f"imported {counts} into {out}; train with `popgen-hub train ARCH --data {out}`")
