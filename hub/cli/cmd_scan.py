r"""Slide windows along an indexed VCF/BCF, encode each exactly as in training, score it, and write
a BigWig per class, a window table (TSV), chrom.sizes and an IGV batch script into OUTDIR.
Coordinates in outputs are 0-based half-open; --region is 1-based inclusive (samtools style).
BAM/CRAM files (--bam, --bam-list; one individual each) are read as genotype likelihoods at
the SNPs their reads show, for models that read likelihoods.

examples:
  popgen-hub scan --vcf LCT.vcf.gz --model imagene_cnn.sweep_hsap_eur -o lct_scan
  popgen-hub scan --vcf chr2.bcf --model imagene_cnn.sweep_hsap_eur \
    --region chr2:134000000-138000000 --step 5000 -o chr2_scan
  popgen-hub scan --vcf genome.vcf.gz --model imagene_cnn.sweep_hsap_eur --workers 8 \
    -o genome_scan
  popgen-hub scan --vcf /shared/genome.vcf.gz --model imagene_cnn.sweep_hsap_eur \
    --scheduler tcp://10.0.0.5:8786 -o genome_scan   # on a Dask cluster
  popgen-hub scan --vcf x.vcf.gz --model local-dir:./my_model --genome hg38 -o out
  popgen-hub scan --vcf x.vcf.gz --model auto -o out   # the closest training data
  popgen-hub scan --vcf 1kg_chr2.vcf.gz --samples panel.tsv --population YRI \
    --model imagene_cnn.sweep_hsap_general -o yri_scan   # one population of a shared VCF
  popgen-hub scan --bam-list bams.txt --reference ref.fa --min-mapq 20 --min-baseq 20 \
    --model MODEL -o bam_scan   # a model that reads genotype likelihoods
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from . import common

NAME, HELP = "scan", "scan a VCF/BCF (or BAM/CRAM files) and write BigWig tracks"
log = logging.getLogger("popgen_hub")


def add_arguments(p: argparse.ArgumentParser) -> None:
    common.add_input_options(p)
    common.add_model_argument(p, option=True, auto=True)
    common.add_output(p, "OUTDIR", help="output directory")
    common.add_window_options(p)
    p.add_argument("--batch-size", type=int, default=32, help="windows per inference batch")
    common.add_device(p)
    _add_compute_options(p)
    _add_output_options(p)
    p.add_argument("--sha256", help="refuse the model unless its model.onnx has this sha256")
    common.add_sample_table(p)
    common.add_resume_options(p)


def _add_compute_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workers", type=int, default=1, help="processes sharing the windows, each "
                   "reading, encoding and scoring its part on one core (default 1)")
    p.add_argument("--threads", type=int, default=0, help="onnxruntime threads with one worker "
                   "(0: all cores)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="score on a Dask distributed "
                   "cluster instead, one piece per task; its workers need popgen-hub installed "
                   "(popgen-hub[cluster]) and the input files at the same path (the model is "
                   "sent to them)")


def _add_output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--genome", help="genome for the IGV batch script: an IGV id such as hg38, "
                   "or a FASTA/chrom.sizes path (default: the chrom.sizes written to OUTDIR); "
                   "an id also names the UCSC hub's assembly (default: recognised from the "
                   "contig lengths, hg38 or hg19)")
    p.add_argument("--snapshot", action="store_true", help="also render the top window with IGV "
                   "desktop to OUTDIR/igv_snapshot.png (needs igv, java and xvfb-run)")
    p.add_argument("--writer", action="append", metavar="NAME", help="also run this track "
                   "writer from a plugin (repeatable; see `popgen-hub plugins`)")
    p.add_argument("--stats", metavar="LIST", help="also write classic statistics of the samples "
                   "read, in the scan's windows: STAT.tsv and BigWigs (pi,theta_w,tajima_d,h12,"
                   "ihh,ihs,nsl; see `popgen-hub stats`)")


def run(args: argparse.Namespace) -> None:
    from ..registry import load
    from ..scoring import sample_table
    from ..scoring.options import check_values

    # the option values first: a mistyped value is named before the model loads
    check_values(args.window_size, args.step, args.batch_size, args.workers, args.seed,
                 args.threads, args.scheduler)
    # read once: it names the BAMs' individuals, and --model auto and the scan read its rows
    table = sample_table(args.samples, args.sample_column, args.age_column, args.population,
                         args.population_column)
    source = common.scan_input(args, table)  # a VCF path, or the BAM/CRAM files checked
    name = args.model
    if name == "auto":  # the model whose training data the selected individuals resemble most
        from ..auto import choose_model

        name = choose_model(source, region=args.region, seed=args.seed, samples=table).name
    model = load(name, device=args.device, threads=args.threads, sha256=args.sha256)
    result = model.scan(source, args.output, region=args.region, window=args.window_size,
                        step=args.step, seed=args.seed, batch_size=args.batch_size,
                        workers=args.workers, scheduler=args.scheduler, genome=args.genome,
                        snapshot=args.snapshot, writers=args.writer or (), samples=table,
                        stats=args.stats or (),
                        progress=not args.quiet,
                        resume=args.resume, clean=args.clean, command=args.invocation)
    _report(result)


def _report_significance(result: Any, n_scored: int) -> None:
    """How many windows pass q < 0.05, or that the model has no null to give p-values."""
    from ..calibration import Q_THRESHOLD

    if result.q_values is None:
        print(f"{result.contract.name} has no stored null distribution, so no p- or q-values "
              f"(the window table's p_value and q_value are NA)")
        return
    passing = int((result.q_values < Q_THRESHOLD).sum())  # NaN (unscored) compares False
    print(f"{passing} of {n_scored} scored windows pass q < {Q_THRESHOLD} (empirical p-values "
          f"against the model's stored null, Benjamini-Hochberg across the scan)")


def _report_flags(result: Any) -> None:
    """A warning with the windows unlike the training data by reason, or that the model has
    no training statistics to compare with (see popgen_hub.ood)."""
    from ..ood import REFERENCE, flag_summary

    name = result.contract.name
    if REFERENCE not in result.contract.references:
        how = ("`popgen-hub calibrate` stores them" if result.contract.output_kind == "classes"
               else "calibrate stores them for classifiers only")
        print(f"{name} stores no training statistics, so no window is flagged as unlike its "
              f"training data ({how})")
    elif line := flag_summary(name, result.windows["flags"]):
        log.warning("warning: %s", line)


def _report_depth(result: Any) -> None:
    """A warning when the reads' mean depth is outside the depths the model was trained on
    (the window table's header says it too: read_depth)."""
    from ..result import depth_outside

    if depth_outside(result.contract, result.stats.mean_depth()):
        log.warning("warning: %s", result.depth_note())


def _report(result: Any) -> None:
    """The summary, the top windows and the files written on stdout; how to view them in
    genome browsers as an information message."""
    from ..genotypes.region import braced
    from ..result import IGV_BATCH, IGV_SESSION, JBROWSE_CONFIG, JBROWSE_DIR

    scored = result.scored()
    label = result.contract.track_labels[0]
    column = result.contract.labels.index(label)
    top = result.ranked(label)[:5]
    print(f"scanned {len(result.windows)} windows ({len(scored)} scored) of "
          f"{result.window:,} bp every {result.step:,} bp with {result.contract.name} "
          f"on {result.provider}; {result.samples_read()}"
          + (f" ({result.population})" if result.population else ""))
    if threshold := result.threshold:
        print(f"{result.n_called()} of {len(scored)} scored windows have {threshold.text()}, "
              f"the model's decision threshold ({threshold.source})")
    _report_significance(result, len(scored))
    _report_flags(result)
    _report_depth(result)
    if result.contract.output_kind == "regression":
        import numpy as np

        values = scored["probabilities"][:, column]
        if len(values):
            low, middle, high = np.quantile(values, [0.05, 0.5, 0.95])
            print(f"{label}: median {middle:.3g} (5-95 %: {low:.3g}-{high:.3g}) over the "
                  f"scored windows; the highest:")
    else:
        print(f"top windows by the log-odds of P({label}):")
    for row, odds in zip(top, result.log_odds(top, label), strict=True):
        where = f"  {braced(result.contigs[row['contig']])}:{row['start'] + 1}-{row['end']}  "
        shown = (f"{label} = {odds:.3g}" if result.contract.output_kind == "regression" else
                 f"P({label}) = {row['probabilities'][column]:.3f}  log-odds {odds:5.1f}")
        print(f"{where}{shown}  ({row['n_informative']} sites)")
    print("wrote:")
    for name, path in result.outputs.items():
        print(f"  {path / Path(JBROWSE_CONFIG).name if name == JBROWSE_DIR else path}")
    folder = result.outputs[IGV_BATCH].parent
    log.info("to look at it: popgen-hub serve %s (report.html: igv.js; jbrowse/config.json: "
             "JBrowse 2), igv %s (IGV desktop), or its hub.txt on a public web server (UCSC)",
             folder, result.outputs[IGV_SESSION])
