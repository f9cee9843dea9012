"""The ``popgen-hub`` command line. Inference commands never import torch or the simulators."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .errors import PopgenHubError

if TYPE_CHECKING:
    from .encoders import HaplotypeImageEncoder

TRAIN_EXTRA_HINT = "this command needs the training extra: pip install 'popgen-hub[train]'"
PUBLISH_EXTRA_HINT = "push needs the publish extra: pip install 'popgen-hub[publish]'"


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def _key_values(pairs: list[str] | None, what: str) -> dict[str, Any]:
    """``k=v`` strings to a dict, values parsed as JSON when they can be (numbers, booleans)."""
    result: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise PopgenHubError(f"{what} {pair!r} must look like name=value")
        try:
            result[key] = json.loads(value)
        except json.JSONDecodeError:
            result[key] = value
    return result


def _encoder(args: argparse.Namespace) -> HaplotypeImageEncoder:
    """The haplotype-image encoder with the ``--encoder name=value`` overrides."""
    from .encoders import build_encoder

    encoder = build_encoder({"name": "haplotype_image",
                             **_key_values(args.encoder, "--encoder")})
    if isinstance(encoder.shape, dict):
        raise PopgenHubError(
            f"--encoder name={encoder.name}: datasets store one image per replicate; they also "
            f"keep every haplotype, and `popgen-hub train ARCH --data DIR` encodes them with "
            f"{encoder.name} for the architectures that read it")
    return encoder


# ---------------------------------------------------------------- list / info
def cmd_list(args: argparse.Namespace) -> None:
    from .registry import get_contract, list_models

    if args.architectures:
        try:
            names = list_models(args.pattern, pretrained=False)
        except ImportError:
            raise PopgenHubError(TRAIN_EXTRA_HINT) from None
        print("\n".join(names))
        return
    names = list_models(args.pattern)
    if not names:
        print(f"no bundled models match {args.pattern!r}")
        return
    rows = []
    for name in names:
        contract = get_contract(name)
        accuracy = contract.metrics.get("test", {}).get("accuracy")
        rows.append((name, "/".join(contract.labels),
                     f"{accuracy:.3f}" if accuracy is not None else "-",
                     textwrap.shorten(contract.description, 64, placeholder=" ...")))
    widths = [max(len(r[i]) for r in rows + [("model", "classes", "test acc.", "")])
              for i in range(3)]
    print(f"{'model':<{widths[0]}}  {'classes':<{widths[1]}}  {'test acc.':>{widths[2]}}  about")
    for name, classes, accuracy, about in rows:
        print(f"{name:<{widths[0]}}  {classes:<{widths[1]}}  {accuracy:>{widths[2]}}  {about}")


def cmd_info(args: argparse.Namespace) -> None:
    from .encoders import build_encoder
    from .registry import get_contract, model_card

    contract = get_contract(args.model)
    if args.json:
        print(contract.to_json())
        return
    print(f"{contract.name}  (architecture {contract.architecture}, revision {contract.revision})")
    print(textwrap.fill(contract.description, 88))
    print(f"\nclasses: {', '.join(contract.labels)}  (tracks: {', '.join(contract.track_labels)})")
    spec = contract.input
    try:
        encoder = build_encoder(contract.encoder)
    except PopgenHubError:  # a plugin's encoder that is not installed: the shapes are unknown
        encoder = None
    shape = getattr(encoder, "shape", None)
    shapes = shape if isinstance(shape, dict) else {spec.tensor_name: shape}
    tensors = ", ".join(f"{name!r}" + (f" (batch, {', '.join(map(str, shapes[name]))})"
                                       if shapes.get(name) else "") for name in spec.names)
    print(f"input: {spec.n_haplotypes} {'phased ' if spec.phased else ''}"
          f"{'present-day ' if hasattr(encoder, 'ancient_bins') else ''}haplotypes, "
          f"{spec.window_bp:,} bp windows; tensors {tensors}")
    if hasattr(encoder, "ancient_bins"):
        bins = ", ".join(encoder.bin_names())
        print(f"ancient time bins (years): {bins}; {encoder.ancient_haplotypes} haplotypes each "
              f"(scan with --samples TABLE of sample ages)")
    print("encoder: " + ", ".join(f"{k}={v}" for k, v in contract.encoder.items()))
    test = contract.metrics.get("test")
    if test:
        print(f"held-out test accuracy: {test['accuracy']:.4f} (n = {test['n']})")
    card = model_card(args.model)
    if card:  # the card's body, without its YAML front matter
        print("\n" + card.split("\n---\n", 1)[-1].strip())


# ---------------------------------------------------------------- scan
def cmd_scan(args: argparse.Namespace) -> None:
    from .registry import load
    from .scan import IGV_BATCH

    model = load(args.model, device=args.device, threads=args.threads, sha256=args.sha256)
    result = model.scan(args.vcf, args.output, region=args.region, window=args.window_size,
                        step=args.step, seed=args.seed, batch_size=args.batch_size,
                        workers=args.workers, genome=args.genome, snapshot=args.snapshot,
                        writers=args.writer or (), samples=args.samples,
                        sample_column=args.sample_column, age_column=args.age_column,
                        progress=not args.quiet)
    scored = result.scored()
    label = result.contract.track_labels[0]
    column = result.contract.labels.index(label)
    top = result.ranked(label)[:5]
    print(f"scanned {len(result.windows)} windows ({len(scored)} scored) of "
          f"{result.window:,} bp every {result.step:,} bp with {result.contract.name} "
          f"on {result.provider}; {len(result.haplotypes)} of {result.n_available_haplotypes} "
          f"haplotypes")
    print(f"top windows by the log-odds of P({label}):")
    for row, odds in zip(top, result.log_odds(top, label), strict=True):
        print(f"  {result.contigs[row['contig']]}:{row['start'] + 1}-{row['end']}  "
              f"P({label}) = {row['probabilities'][column]:.3f}  log-odds {odds:5.1f}  "
              f"({row['n_informative']} sites)")
    print("wrote:")
    for path in result.outputs.values():
        print(f"  {path}")
    batch = result.outputs[IGV_BATCH]
    print(f"to look at the track in IGV desktop: Tools > Run Batch Script > {batch}\n"
          f"  (or start IGV with: igv -b {batch})")


# ---------------------------------------------------------------- simulate
def cmd_simulate(args: argparse.Namespace) -> None:
    try:
        from .simulate.scenarios import SCENARIOS, get_scenario
    except ImportError:
        raise PopgenHubError(TRAIN_EXTRA_HINT) from None
    if args.list or not args.scenario:
        from .simulate.demography import DEMOGRAPHIES, demography_info

        for name, cls in SCENARIOS.items():
            print(f"{name}: classes {', '.join(cls.labels)}")
            print(textwrap.indent(textwrap.fill(" ".join((cls.__doc__ or "").split()), 84), "    "))
            parameters = ", ".join(f"{k}={v}" for k, v in cls().parameters.items())
            print(textwrap.indent(textwrap.fill("parameters: " + parameters, 84,
                                                subsequent_indent="  "), "    "))
            for citation in cls.citations:
                print(textwrap.indent(textwrap.shorten(citation, 84, placeholder=" ..."),
                                      "    cite: "))
        print("demographies (--param demography=NAME --param population=POP):")
        for name in DEMOGRAPHIES:
            info = demography_info(name)
            print(f"  {name}: populations {', '.join(info.populations)}; "
                  f"{info.generation_time:g} years per generation")
        return
    scenario = get_scenario(args.scenario, **_key_values(args.param, "--param"))
    if args.vcf and len(scenario.time_points) > 1:
        from .simulate.genome import simulate_temporal_vcf

        path, table = simulate_temporal_vcf(args.vcf, scenario, seed=args.seed,
                                            classes=args.loci, missing=args.missing,
                                            contig=args.contig)
        print(f"wrote {path} and its index ({len(args.loci or scenario.labels)} loci of "
              f"{scenario.length:,} bp end to end: {', '.join(args.loci or scenario.labels)}) "
              f"and the sample ages in {table}")
        return
    if args.vcf:
        from .simulate.genome import simulate_vcf

        path = simulate_vcf(args.vcf, scenario, length=args.length, seed=args.seed,
                            sweep_at=args.sweep_at, end_frequency=args.end_frequency,
                            contig=args.contig)
        print(f"wrote {path} and its index ({scenario.n_haplotypes // 2} diploid samples, "
              f"{args.length:,} bp" + (f", sweep at {args.sweep_at:,}" if args.sweep_at else "")
              + ")")
        return
    if not args.output:
        raise PopgenHubError("give -o DIR for a dataset, or --vcf FILE.vcf.gz for a VCF")
    from .simulate.dataset import simulate_dataset

    out = simulate_dataset(scenario.name, args.output, n=args.n, seed=args.seed,
                           scenario_params=scenario.parameters, encoder=_encoder(args),
                           shard_size=args.shard_size, workers=args.workers,
                           scheduler=args.scheduler, progress=not args.quiet,
                           command=args.invocation)
    print(f"wrote {args.n} replicates of {scenario.name} to {out}")


def _ages(text: str) -> list[float]:
    try:
        return [float(age) for age in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not comma-separated ages in years, e.g. "
                                         f"8000,4000,2000,1000,0") from None


def cmd_import(args: argparse.Namespace) -> None:
    try:
        from .simulate.importers import class_sources, import_dataset
    except ImportError:
        raise PopgenHubError(TRAIN_EXTRA_HINT) from None
    classes: dict[str, list] = {}
    for spec in args.classes:
        label, sep, where = spec.partition("=")
        if not sep or not label or not where:
            raise PopgenHubError(f"--class {spec!r} must look like LABEL=PATH")
        if label in classes:
            raise PopgenHubError(f"--class {label} is given twice")
        classes[label] = class_sources(where, args.format, args.time_points)
    out = import_dataset(args.format, classes, args.output, length=args.length,
                         encoder=_encoder(args), time_points=args.time_points,
                         shard_size=args.shard_size,
                         simulator=args.simulator, progress=not args.quiet,
                         command=args.invocation)
    sources = json.loads((out / "manifest.json").read_text())["sources"]
    counts = ", ".join(f"{label}: {len(found)} replicates" for label, found in sources.items())
    print(f"imported {counts} into {out}; train with `popgen-hub train ARCH --data {out}`")


# ---------------------------------------------------------------- train / export
def cmd_train(args: argparse.Namespace) -> None:
    try:
        from .training.loop import TrainSettings
        from .training.train import train_from_dataset, train_on_the_fly
    except ImportError:
        raise PopgenHubError(TRAIN_EXTRA_HINT) from None
    settings = TrainSettings(epochs=args.epochs, batch_size=args.batch_size,
                             learning_rate=args.learning_rate, optimizer=args.optimizer,
                             weight_decay=args.weight_decay, schedule=args.schedule,
                             seed=args.seed, threads=args.threads)
    if bool(args.data) == bool(args.simulate):
        raise PopgenHubError("give exactly one of --data DIR or --simulate SCENARIO")
    if args.repeats is not None:
        if not args.data:
            raise PopgenHubError("--repeats needs --data (a saved dataset to split each time)")
        from .training.train import train_repeats

        summary = train_repeats(args.architecture, args.data, args.output, settings,
                                args.repeats, validation=args.validation_fraction,
                                test=args.test_fraction,
                                encoder_overrides=_key_values(args.encoder, "--encoder"),
                                progress=not args.quiet, command=args.invocation)
        print(_repeats_table(summary))
        print(f"wrote {args.output}/repeat_*/, repeats.json, repeats.png; the repeat with the "
              f"best validation accuracy ({summary['exported_repeat']}) is in {args.output} "
              f"for `popgen-hub export`")
        return
    if args.data:
        record = train_from_dataset(args.architecture, args.data, args.output, settings,
                                    validation=args.validation_fraction,
                                    test=args.test_fraction,
                                    encoder_overrides=_key_values(args.encoder, "--encoder"),
                                    progress=not args.quiet, command=args.invocation)
    else:
        record = train_on_the_fly(
            args.architecture, args.simulate, args.output, settings,
            replicates_per_epoch=args.replicates_per_epoch,
            validation_replicates=args.validation_replicates,
            test_replicates=args.test_replicates,
            scenario_params=_key_values(args.param, "--param"), encoder=_encoder(args),
            workers=args.workers, progress=not args.quiet, command=args.invocation)
    test = record["metrics"]["test"]
    print(f"held-out test accuracy {test['accuracy']:.4f} on {test['n']} replicates "
          f"(kept epoch {record['best_epoch']})")
    print("confusion matrix (rows true, columns predicted): " + ", ".join(test["labels"]))
    for label, row in zip(test["labels"], test["confusion_matrix"], strict=True):
        print(f"  {label:>12}: " + "  ".join(f"{c:>6}" for c in row))
    print(f"wrote {args.output}/model.pt, run.json, training_curve.png, confusion_matrix.png")


def _repeats_table(summary: dict[str, Any]) -> str:
    accuracy = summary["accuracy"]
    lines = [f"{summary['architecture']}: held-out test accuracy {accuracy['mean']:.4f} ± "
             f"{accuracy['sd']:.4f} (mean ± sd over {summary['repeats']} repeats, each its own "
             f"split and seed)",
             "row-normalised confusion matrix, mean ± sd (rows true, columns predicted)"]
    for label, means, sds in zip(summary["labels"], summary["mean_normalised"],
                                 summary["sd_normalised"], strict=True):
        lines.append(f"  {label:>24}: " + "  ".join(f"{m:.3f} ± {d:.3f}"
                                                    for m, d in zip(means, sds, strict=True)))
    return "\n".join(lines)


def cmd_compare(args: argparse.Namespace) -> None:
    try:
        from .training.plots import plot_repeat_panels
    except ImportError:
        raise PopgenHubError(TRAIN_EXTRA_HINT) from None
    panels = {}
    for spec in args.runs:
        title, sep, run = spec.rpartition("=")
        path = Path(run) / "repeats.json"
        if not path.is_file():
            raise PopgenHubError(f"{path} not found: train with `popgen-hub train ... --repeats "
                                 f"N -o {run}` first")
        summary = json.loads(path.read_text())
        panels[title if sep else summary["architecture"]] = summary
        print(_repeats_table(summary))
    plot_repeat_panels(panels, Path(args.output), title=args.title)
    print(f"wrote {args.output}")


def cmd_evaluate(args: argparse.Namespace) -> None:
    from .evaluate import evaluate_model, format_metrics, write_json
    from .registry import load

    model = load(args.model, device=args.device)
    classes = _key_values(args.classes, "--class") if args.classes else None
    result = evaluate_model(model, args.data, classes=classes, time_points=args.time_points,
                            length=args.length, progress=not args.quiet)
    print(format_metrics(result))
    if args.json:
        write_json(result, args.json)
        print(f"wrote {args.json}")


def cmd_export(args: argparse.Namespace) -> None:
    try:
        from .training.export import export_run
    except ImportError:
        raise PopgenHubError(TRAIN_EXTRA_HINT) from None
    out = export_run(args.run, args.name, args.output, card_source=args.card,
                     revision=args.revision)
    print(f"exported {args.name} to {out}: model.onnx, config.json"
          + (", README.md" if args.card else ""))


# ---------------------------------------------------------------- push / plugins
def cmd_push(args: argparse.Namespace) -> None:
    try:
        from .publish.push import build_repo_folder, push
    except ImportError:
        raise PopgenHubError(PUBLISH_EXTRA_HINT) from None
    if args.dry_run:
        if not args.output:
            raise PopgenHubError("--dry-run writes the repo folder to -o DIR; give -o")
        folder = build_repo_folder(args.model, args.output, repo_id=args.repo,
                                   card_source=args.card)
        print(f"wrote the {args.repo} repo folder to {folder} (not uploaded): "
              + ", ".join(sorted(p.name for p in folder.iterdir())))
        return
    url = push(args.model, args.repo, revision=args.revision, private=args.private,
               card_source=args.card)
    print(f"pushed {args.model} to {args.repo}: {url}\n"
          f"load it with: popgen-hub info hf-hub:{args.repo}"
          + (f"@{args.revision}" if args.revision else ""))


def cmd_plugins(args: argparse.Namespace) -> None:
    from .plugins import DISABLE_VARIABLE, installed_plugins, plugins_disabled

    if plugins_disabled():
        print(f"plugins are disabled ({DISABLE_VARIABLE} is set)")
        return
    plugins = installed_plugins()
    if not plugins:
        print("no plugins installed (see docs/plugins.md to write one)")
        return
    for plugin in plugins:
        state = f"FAILED: {plugin.error}" if plugin.error else "ok"
        print(f"{plugin.group:<9} {plugin.name:<20} {plugin.target:<40} "
              f"({plugin.distribution})  {state}")


# ---------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="popgen-hub", formatter_class=_formatter,
        description="Pretrained deep-learning models for population genetics.",
        epilog=_examples("popgen-hub list",
                         "popgen-hub scan --vcf chr2.vcf.gz --model imagene_cnn.sweep_hsap_eur "
                         "-o scan_out"))
    parser.add_argument("--version", action="version", version=f"popgen-hub {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("list", help="list bundled pretrained models", formatter_class=_formatter,
                       epilog=_examples("popgen-hub list", "popgen-hub list 'imagene*'",
                                        "popgen-hub list --architectures"))
    p.add_argument("pattern", nargs="?", default="*", help="shell-style name filter")
    p.add_argument("--architectures", action="store_true",
                   help="list trainable architectures instead (needs the train extra)")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("info", help="show a model's contract and model card",
                       formatter_class=_formatter,
                       epilog=_examples("popgen-hub info imagene_cnn.sweep_hsap_eur",
                                        "popgen-hub info imagene_cnn.sweep_hsap_eur --json",
                                        "popgen-hub info hf-hub:my-lab/sweep-ceu@v1.0"))
    p.add_argument("model", help="model name, hf-hub:org/repo[@revision], local-dir:/path or "
                   "a .onnx file")
    p.add_argument("--json", action="store_true", help="print the contract as JSON")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser(
        "scan", help="scan a VCF/BCF and write BigWig tracks", formatter_class=_formatter,
        description="Slide windows along an indexed VCF/BCF, encode each exactly as in "
                    "training, score it, and write a BigWig per class, a window table (TSV), "
                    "chrom.sizes and an IGV batch script into OUTDIR. Coordinates in outputs "
                    "are 0-based half-open; --region is 1-based inclusive (samtools style).",
        epilog=_examples(
            "popgen-hub scan --vcf LCT.vcf.gz --model imagene_cnn.sweep_hsap_eur -o lct_scan",
            "popgen-hub scan --vcf chr2.bcf --model imagene_cnn.sweep_hsap_eur "
            "--region chr2:134000000-138000000 --step 5000 -o chr2_scan",
            "popgen-hub scan --vcf genome.vcf.gz --model imagene_cnn.sweep_hsap_eur "
            "--workers 8 -o genome_scan",
            "popgen-hub scan --vcf x.vcf.gz --model local-dir:./my_model --genome hg38 -o out"))
    p.add_argument("--vcf", required=True, help="bgzipped+indexed VCF or indexed BCF")
    p.add_argument("--model", required=True, help="model name (see `popgen-hub list`), "
                   "hf-hub:org/repo[@revision], local-dir:/path or a .onnx file")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="output directory")
    p.add_argument("--region", help="chr:start-end (1-based, inclusive) or a contig; default: "
                   "every contig with records")
    p.add_argument("--window-size", type=int, help="window length in bp (default: the "
                   "model's training locus length)")
    p.add_argument("--step", type=int, help="distance between window starts in bp "
                   "(default: window/8); also the BigWig bin width")
    p.add_argument("--seed", type=int, default=0, help="seed for choosing haplotypes when the "
                   "VCF has more than the model takes (default 0)")
    p.add_argument("--batch-size", type=int, default=32, help="windows per inference batch")
    p.add_argument("--device", choices=("auto", "cpu", "gpu"), default="auto",
                   help="auto: GPU (TensorRT/CUDA) when onnxruntime-gpu finds one, else CPU")
    p.add_argument("--workers", type=int, default=1, help="processes sharing the windows, each "
                   "reading, encoding and scoring its part on one core (default 1)")
    p.add_argument("--threads", type=int, default=0, help="onnxruntime threads with one worker "
                   "(0: all cores)")
    p.add_argument("--genome", help="genome for the IGV batch script: an IGV id such as hg38, "
                   "or a FASTA/chrom.sizes path (default: the chrom.sizes written to OUTDIR)")
    p.add_argument("--snapshot", action="store_true", help="also render the top window with IGV "
                   "desktop to OUTDIR/igv_snapshot.png (needs igv, java and xvfb-run)")
    p.add_argument("--writer", action="append", metavar="NAME", help="also run this track "
                   "writer from a plugin (repeatable; see `popgen-hub plugins`)")
    p.add_argument("--sha256", help="refuse the model unless its model.onnx has this sha256")
    p.add_argument("--samples", metavar="TABLE", help="temporal models: a table of the "
                   "samples' ages in years before present (0 = present-day); samples it omits "
                   "are not used")
    p.add_argument("--sample-column", default="sample", help="--samples column of names")
    p.add_argument("--age-column", default="age_years", help="--samples column of ages")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_scan)

    p = sub.add_parser(
        "simulate", help="simulate training data or a test VCF (train extra)",
        formatter_class=_formatter,
        epilog=_examples(
            "popgen-hub simulate --list",
            "popgen-hub simulate imagene_sweep --n 16000 --seed 1 --workers 2 -o data/sweep",
            "popgen-hub simulate imagene_sweep --param selection_strength=200 --n 2000 -o s200",
            "popgen-hub simulate imagene_sweep --n 100000 --scheduler tcp://10.0.0.5:8786 "
            "-o big",
            "popgen-hub simulate imagene_sweep --vcf sim.vcf.gz --length 2000000 "
            "--sweep-at 1200000 --seed 3"))
    p.add_argument("scenario", nargs="?", help="scenario name (see --list)")
    p.add_argument("--list", action="store_true", help="list scenarios and their parameters")
    p.add_argument("--n", type=int, default=1000, help="replicates (dataset mode)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("-o", "--output", help="dataset directory (resumable)")
    p.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="simulate on a Dask "
                   "distributed cluster instead (its workers need popgen-hub[train])")
    p.add_argument("--shard-size", type=int, default=500, help="replicates per shard file")
    p.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="override a scenario parameter (repeatable)")
    p.add_argument("--encoder", action="append", metavar="NAME=VALUE",
                   help="override an encoder parameter, e.g. n_cols=64 (repeatable)")
    p.add_argument("--vcf", help="instead of a dataset, write one chromosome-scale VCF (.vcf.gz)")
    p.add_argument("--length", type=int, default=2_000_000, help="VCF mode: length in bp")
    p.add_argument("--sweep-at", type=int, help="VCF mode: position of a planted sweep")
    p.add_argument("--loci", type=lambda text: text.split(","), metavar="CLASS,CLASS,...",
                   help="VCF mode, temporal scenarios: one locus per class named, end to end "
                   "(default: one of each class)")
    p.add_argument("--missing", type=float, default=0.0, help="VCF mode, temporal scenarios: "
                   "fraction of the ancient samples' calls set missing")
    p.add_argument("--end-frequency", type=float, default=0.9,
                   help="VCF mode: frequency of the swept allele today (default 0.9)")
    p.add_argument("--contig", default="chr1", help="VCF mode: contig name")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser(
        "import", help="make a dataset of simulations from elsewhere: ms, msms, discoal, "
        ".trees (train extra)", formatter_class=_formatter,
        description="Read replicates simulated by other tools, one class per --class, encode "
                    "them like `simulate` does and write a dataset `train --data` reads. ms "
                    "format: ms, msms, discoal, scrm, mspms output (many replicates per file); "
                    "trees: tskit tree sequences from msprime, SLiM or fwdpy11 (one per file).",
        epilog=_examples(
            "popgen-hub import ms --class neutral=sims/neutral --class sweep=sims/sweep "
            "--length 80000 -o data/mine",
            "popgen-hub import trees --class neutral='slim/neutral_*.trees' "
            "--class balancing='slim/bal_*.trees' --length 50000 -o data/slim",
            "popgen-hub import ms --class neutral=review/neutral --class "
            "weak_overdominance=review/dominance0025 --class moderate_overdominance="
            "review/dominance05 --time-points 8000,4000,2000,1000,0 --length 50000 "
            "-o data/review   # the review's layout: CLASS/1..5/*.txt, paired by file name"))
    p.add_argument("format", choices=("ms", "trees"))
    p.add_argument("--class", dest="classes", action="append", metavar="LABEL=PATH",
                   required=True, help="a class and its files: a file, a folder or a quoted "
                   "glob (repeat; the first class is the null class, e.g. neutral)")
    p.add_argument("--length", type=float, required=True,
                   help="locus length in bp (ms positions are fractions of it)")
    p.add_argument("-o", "--output", required=True, metavar="DIR")
    p.add_argument("--encoder", action="append", metavar="NAME=VALUE",
                   help="override an encoder parameter, e.g. n_cols=64 (repeatable)")
    p.add_argument("--time-points", type=_ages, metavar="AGES",
                   help="temporal data: each class is a folder with one subfolder per time "
                   "point; AGES are their ages in years (0 = present-day), comma-separated, in "
                   "the subfolders' natural order; files are paired across them by name")
    p.add_argument("--shard-size", type=int, default=500, help="replicates per shard file")
    p.add_argument("--simulator", default="", help="what made the files, for provenance "
                   "(e.g. 'SLiM 4.0.1'); shown on model cards")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser(
        "train", help="train an architecture, report held-out test figures (train extra)",
        formatter_class=_formatter,
        description="Train on a saved dataset (split by replicate into disjoint training, "
                    "validation and test sets) or on data simulated on the fly (a fresh batch "
                    "every epoch, independent validation and test streams). The validation set "
                    "picks the epoch; the test set is used once, at the end.",
        epilog=_examples(
            "popgen-hub train imagene_cnn --data data/sweep --epochs 6 -o runs/sweep",
            "popgen-hub train imagene_cnn --simulate imagene_sweep --replicates-per-epoch 2000 "
            "--epochs 10 --workers 2 -o runs/otf",
            "popgen-hub train temporal_balsel --data data/temporal --repeats 10 --optimizer "
            "adam --epochs 30 -o runs/branched   # mean ± sd over 10 splits"))
    p.add_argument("architecture", help="architecture (see `popgen-hub list --architectures`)")
    p.add_argument("-o", "--output", required=True, metavar="RUN_DIR")
    p.add_argument("--data", help="dataset directory from `popgen-hub simulate`")
    p.add_argument("--simulate", metavar="SCENARIO", help="simulate on the fly instead")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--optimizer", choices=("rmsprop", "adam", "adamw"), default="rmsprop")
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--schedule", choices=("constant", "cosine"), default="constant",
                   help="learning rate: constant, or cosine-annealed to zero over the epochs")
    p.add_argument("--seed", type=int, default=0, help="seed of splits, weights and batches")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                   help="PyTorch threads (default: all cores)")
    p.add_argument("--validation-fraction", type=float, default=0.1)
    p.add_argument("--test-fraction", type=float, default=0.1)
    p.add_argument("--replicates-per-epoch", type=int, default=2000, help="on the fly")
    p.add_argument("--validation-replicates", type=int, default=500, help="on the fly")
    p.add_argument("--test-replicates", type=int, default=1000, help="on the fly")
    p.add_argument("--param", action="append", metavar="NAME=VALUE", help="on the fly: "
                   "override a scenario parameter (repeatable)")
    p.add_argument("--encoder", action="append", metavar="NAME=VALUE",
                   help="override a parameter of the architecture's encoder (repeatable)")
    p.add_argument("--repeats", type=int, metavar="N", help="with --data: train N times "
                   "(seeds SEED..SEED+N-1, each its own split) and report mean ± sd")
    p.add_argument("--workers", type=int, default=1, help="simulation processes (on the fly)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "compare", help="figure of repeated runs side by side (the review's Fig. 3)",
        formatter_class=_formatter,
        description="One panel per run directory trained with --repeats: the row-normalised "
                    "confusion matrix on held-out test data, mean ± sd over the repeats.",
        epilog=_examples("popgen-hub compare 'ancient only=runs/ancient' 'present only="
                         "runs/present' both=runs/branched -o fig3.png"))
    p.add_argument("runs", nargs="+", metavar="[TITLE=]RUN_DIR")
    p.add_argument("-o", "--output", required=True, metavar="PNG")
    p.add_argument("--title", default="held-out test data, mean ± sd over repeats")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser(
        "evaluate", help="accuracy and confusion matrix of a model on labelled data",
        formatter_class=_formatter,
        description="Score any model on any labelled data: a dataset from `simulate` or "
                    "`import`, or a folder of ms files laid out like the review's (class "
                    "folders with time-point subfolders, replicates paired by file name). Each "
                    "replicate is encoded with the model's own encoder. Runs on onnxruntime.",
        epilog=_examples(
            "popgen-hub evaluate temporal_balsel.hsap_eur data/temporal",
            "popgen-hub evaluate temporal_balsel.hsap_eur review/ --class neutral=neutral "
            "--class weak_overdominance=dominance0025 --class moderate_overdominance="
            "dominance05 --time-points 8000,4000,2000,1000,0 --json scores.json"))
    p.add_argument("model", help="model name, hf-hub:ORG/REPO, local-dir:PATH or .onnx")
    p.add_argument("data", help="dataset directory, or a folder of ms files")
    p.add_argument("--class", dest="classes", action="append", metavar="LABEL=FOLDER",
                   help="ms folder: the subfolder holding each of the model's classes "
                   "(default: folders named like the classes)")
    p.add_argument("--time-points", type=_ages, metavar="AGES", help="ms folder: ages in "
                   "years of the time-point subfolders, in natural order (0 = present-day)")
    p.add_argument("--length", type=float, help="ms folder: locus length in bp (default: the "
                   "model's window)")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    p.add_argument("--device", choices=("auto", "cpu", "gpu"), default="auto")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "export", help="export a training run to ONNX + config.json + model card (train extra)",
        formatter_class=_formatter,
        epilog=_examples("popgen-hub export runs/sweep --name imagene_cnn.sweep_hsap_eur "
                         "--card cards/imagene_cnn.sweep_hsap_eur.yaml -o models/sweep"))
    p.add_argument("run", help="run directory from `popgen-hub train`")
    p.add_argument("--name", required=True, help="model name, architecture.tag")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR")
    p.add_argument("--card", help="model-card source (YAML, see cards/)")
    p.add_argument("--revision", default="bundled", help="revision recorded in the contract")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "push", help="publish a model to a Hugging Face model repo (publish extra)",
        formatter_class=_formatter,
        description="Build the repo folder (README.md model card, config.json, model.onnx, "
                    "figures, ONNX-zoo test_data_set_0/) and upload it with huggingface_hub. "
                    "The token comes from HF_TOKEN or `hf auth login`; HF_ENDPOINT picks the "
                    "server. The model must load (sha256, contract) and reproduce its test data.",
        epilog=_examples(
            "popgen-hub push imagene_cnn.sweep_hsap_eur --repo my-lab/imagene-sweep-eur",
            "popgen-hub push local-dir:models/sweep --repo my-lab/sweep --revision v1.0",
            "popgen-hub push imagene_cnn.sweep_hsap_eur --repo my-lab/x --dry-run -o repo_dir"))
    p.add_argument("model", help="model name, local-dir:/path or hf-hub:org/repo")
    p.add_argument("--repo", required=True, metavar="ORG/NAME", help="Hub model repo")
    p.add_argument("--revision", help="branch to push to (created when missing; default main)")
    p.add_argument("--card", help="model-card source (default: cards/MODEL.yaml when present, "
                   "else the model's own README.md)")
    p.add_argument("--private", action="store_true", help="create the repo private")
    p.add_argument("--dry-run", action="store_true", help="only write the folder, to -o DIR")
    p.add_argument("-o", "--output", metavar="DIR", help="where --dry-run writes the folder")
    p.set_defaults(func=cmd_push)

    p = sub.add_parser("plugins", help="list installed plugins and whether they load",
                       formatter_class=_formatter, epilog=_examples(
                           "popgen-hub plugins", "POPGEN_HUB_DISABLE_PLUGINS=1 popgen-hub list"))
    p.set_defaults(func=cmd_plugins)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    args.invocation = shlex.join(["popgen-hub", *argv])  # provenance of what it writes
    try:
        args.func(args)
    except PopgenHubError as exc:
        print(f"popgen-hub {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"popgen-hub {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
