r"""Explain a model's score on the window(s) of a region by occlusion, on the ONNX model (no
torch): each window is encoded as a scan encodes it, then scored again with blocks of its
image columns (sites) and of its rows (haplotypes) masked in turn; a block's attribution is
the drop of the log-odds of P(LABEL) against the other classes when it is masked. Temporal
models mask each time point in turn instead; models that read each window beside its genome's
background (stats_fc_genome) replace each statistic, and each sub-window's statistics, by the
genome's background in turn.

A region of at most one window gives the window centred on it; a longer one the scan's
windows, --step apart (at most 20). Writes into OUTDIR per window MODEL.CONTIG_START-END.png
(the encoded image beside the heat map of the column blocks' attributions, columns labelled
with the bp of their sites), .npz (the arrays) and .tsv (attribution per column block and its
bp span); temporal models .time_points.tsv and .time_points.png; statistics models a .png of
both, .tsv (per sub-window) and .statistics.tsv. Needs matplotlib
(pip install 'popgen-hub[explain]').

examples:
  popgen-hub explain imagene_cnn.sweep_hsap_eur --vcf sim.vcf.gz \
    --region chr1:1160001-1240000 -o explain_sweep
  popgen-hub explain imagene_cnn.sweep_hsap_eur --vcf chr2.bcf \
    --region chr2:135800001-136200000 --step 40000 --block-cols 2 -o lct
  popgen-hub explain temporal_balsel.hsap_eur --vcf loci.vcf.gz --samples loci.samples.tsv \
    --region chr1:1-50000 --label moderate_overdominance -o temporal
  popgen-hub explain stats_fc_genome.sweep_hsap_general --vcf chr1.vcf.gz \
    --region chr1:1160001-1240000 -o explain_genome
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from . import common

NAME, HELP = "explain", "occlusion attribution maps of a model's score on a region's windows"
log = logging.getLogger("popgen_hub")


def add_arguments(p: argparse.ArgumentParser) -> None:
    common.add_model_argument(p)
    p.add_argument("--vcf", required=True, help="bgzipped+indexed VCF or indexed BCF")
    p.add_argument("--region", required=True, help="chr:start-end (1-based, inclusive)")
    common.add_output(p, "OUTDIR", required=False, help="output directory (default: explain)")
    p.add_argument("--label", help="the class whose log-odds is explained (default: the "
                   "model's second label, e.g. sweep)")
    p.add_argument("--block-cols", type=int, default=4, help="image columns masked together "
                   "(default 4)")
    p.add_argument("--block-rows", type=int, default=8, help="image rows (haplotypes) masked "
                   "together (default 8)")
    p.add_argument("--fill", choices=("mean", "zero"), default="mean", help="masked values: "
                   "the image's mean (default; keeps its density of minor alleles) or 0 (the "
                   "major allele)")
    common.add_window_options(p)
    common.add_sample_table(p)
    common.add_device(p)
    p.add_argument("--threads", type=int, default=0, help="onnxruntime threads (0: all cores)")


def run(args: argparse.Namespace) -> None:
    from ..explain import explain
    from ..explain_output import write_explanations
    from ..registry import load
    from ..scoring.options import check_values

    check_values(args.window_size, args.step, seed=args.seed, threads=args.threads)
    common.require_explain_extra()
    model = load(args.model, device=args.device, threads=args.threads)
    explanations = explain(model, args.vcf, args.region, label=args.label,
                           block_cols=args.block_cols, block_rows=args.block_rows,
                           fill=args.fill, window=args.window_size, step=args.step,
                           seed=args.seed, samples=args.samples,
                           sample_column=args.sample_column, age_column=args.age_column,
                           population=args.population,
                           population_column=args.population_column)
    paths = write_explanations(explanations, args.output or "explain", model.contract.name,
                               args.fill, args.invocation)
    _report(explanations, paths)


def _report(explanations: list[Any], paths: list[Any]) -> None:
    """Per window its score and what supports it most, then the files written."""
    from ..genotypes.region import braced

    for e in explanations:
        print(f"{braced(e.contig)}:{e.start + 1}-{e.end}  log-odds P({e.label}) {e.score:6.2f}  "
              f"({e.n_sites} sites)")
        if e.kind == "time_points":
            print("  time points: " + ", ".join(
                f"{name} {value:+.2f}" for name, value in
                zip(e.time_points, e.time_attribution, strict=True)))
            continue
        col = e.col_attribution.argmax()
        start, end = e.col_spans[col]
        if e.kind == "statistics":
            top = e.statistic_attribution.argsort()[::-1][:3]
            print(f"  strongest sub-window: {braced(e.contig)}:{start + 1}-{end} "
                  f"({e.col_attribution[col]:+.2f}); statistics: " + ", ".join(
                      f"{e.statistics[i]} {e.statistic_attribution[i]:+.2f}" for i in top))
            continue
        row = e.row_attribution.argmax()
        print(f"  strongest column block: {braced(e.contig)}:{start + 1}-{end} "
              f"({e.col_attribution[col]:+.2f}); rows {e.row_blocks[row][0] + 1}-"
              f"{e.row_blocks[row][1]} ({e.row_attribution[row]:+.2f})")
    print("wrote:")
    for path in paths:
        print(f"  {path}")
