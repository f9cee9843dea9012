"""What the commands share: the parser plumbing, the argument groups (one function per group,
like deepTools' parserCommon), the extras checks and the ``NAME=VALUE`` parsers.

Nothing here imports torch, the simulators or the inference runtime: the command modules import
the library inside their ``run`` functions, so ``list``, ``info`` and ``scan`` stay light.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
from dataclasses import fields
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ..errors import PopgenHubError
from ..runtime import DEVICE_HELP, parse_device

if TYPE_CHECKING:
    from ..encoders import Encoder
    from ..readers.samples import SampleTable

log = logging.getLogger("popgen_hub")

TRAIN_EXTRA_HINT = "this command needs the training extra: pip install 'popgen-hub[train]'"
PUBLISH_EXTRA_HINT = "push needs the publish extra: pip install 'popgen-hub[publish]'"
TRAIN_MODULES = ("torch", "msprime")
PUBLISH_MODULES = ("onnx", "jinja2", "yaml")
EXPLAIN_EXTRA_HINT = ("explain and embed draw their figures with matplotlib: pip install "
                      "'popgen-hub[explain]'")

MODEL_HELP = "model name (see `popgen-hub list`), hf-hub:ORG/REPO[@REV], local-dir:PATH"


# ---------------------------------------------------------------- parser plumbing
def formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def add_command(subparsers: Any, command: ModuleType) -> argparse.ArgumentParser:
    """A command module's parser: ``NAME`` and ``HELP``; its docstring is the description
    and, from the line ``examples:`` on, the epilog; ``add_arguments`` adds its options."""
    description, _, examples = (command.__doc__ or "").partition("\nexamples:\n")
    parser = subparsers.add_parser(command.NAME, help=command.HELP,
                                   description=description.strip(), formatter_class=formatter,
                                   epilog=f"examples:\n{examples.rstrip()}" if examples else None)
    command.add_arguments(parser)
    return parser


# ---------------------------------------------------------------- argument groups
def add_model_argument(parser: argparse.ArgumentParser, *, option: bool = False,
                       onnx: bool = True, auto: bool = False) -> None:
    """The model to use: positional, or ``--model`` (required) with ``option``; ``onnx=False``
    where a bare .onnx file will not do (push needs a model directory); ``auto``: the
    command takes ``auto`` (see popgen_hub.auto)."""
    help_text = MODEL_HELP + (" or a .onnx file" if onnx else "") + (
        "; auto: the bundled model whose training data the input resembles most" if auto
        else "")
    if option:
        parser.add_argument("--model", required=True, help=help_text)
    else:
        parser.add_argument("model", help=help_text)


def add_window_options(parser: argparse.ArgumentParser) -> None:
    """The windows of a scan (and of explain): their length, step and haplotype subset."""
    parser.add_argument("--window-size", type=int, help="window length in bp (default: the "
                        "model's training locus length)")
    parser.add_argument("--step", type=int, help="distance between window starts in bp "
                        "(default: window/8); also the BigWig bin width")
    parser.add_argument("--seed", type=int, default=0, help="seed for choosing haplotypes when "
                        "the VCF has more than the model takes (default 0)")


def add_input_options(parser: argparse.ArgumentParser, required: bool = True) -> None:
    """The input to read, a VCF/BCF or BAM/CRAM files (with :func:`add_bam_options`), and the
    part of it."""
    source = parser.add_mutually_exclusive_group(required=required)
    source.add_argument("--vcf", help="bgzipped+indexed VCF or indexed BCF")
    source.add_argument("--bam", nargs="+", metavar="BAM", help="indexed BAM/CRAM files, one "
                        "individual each (named by its read groups' SM), read as genotype "
                        "likelihoods at the SNPs the reads show")
    source.add_argument("--bam-list", metavar="FILE", help="a file of BAM/CRAM paths, one a line")
    parser.add_argument("--region", help="chr:start-end (1-based, inclusive) or a contig; "
                        "default: every contig with records")
    add_bam_options(parser)


def add_bam_options(parser: argparse.ArgumentParser) -> None:
    """How BAM/CRAM reads become genotype likelihoods (popgen_hub.genotypes.likelihoods)."""
    from ..genotypes.likelihoods import SiteFilter
    from ..readers.pileup import ReadFilter

    group = parser.add_argument_group("BAM/CRAM input (--bam, --bam-list)")
    group.add_argument("--reference", metavar="REF.fa", help="the indexed FASTA the reads were "
                       "aligned to: needed for CRAM; gives each site's REF allele (without it, "
                       "REF is the most common base)")
    group.add_argument("--sites", metavar="VCF", help="genotype the biallelic SNPs of this "
                       "indexed VCF/BCF instead of discovering SNPs")
    group.add_argument("--min-mapq", type=int, default=ReadFilter.min_mapq,
                       help="reads of lower mapping quality are left out (default %(default)s)")
    group.add_argument("--min-baseq", type=int, default=ReadFilter.min_baseq,
                       help="bases of lower base quality are left out (default %(default)s)")
    group.add_argument("--min-depth", type=int, default=SiteFilter.min_depth, help="skip sites "
                       "with fewer reads over all individuals (default %(default)s)")
    group.add_argument("--max-depth", type=int, default=SiteFilter.max_depth, help="skip sites "
                       "with more reads over all individuals, e.g. collapsed repeats (default: "
                       "no limit)")
    group.add_argument("--snp-pval", type=float, default=SiteFilter.snp_pval, help="a site is "
                       "a SNP when the likelihood-ratio test of its allele frequency (ANGSD's "
                       "-SNP_pval) gives a p-value below this (default %(default)s)")


def add_sample_table(parser: argparse.ArgumentParser) -> None:
    """The table of the samples to read from a shared VCF: their populations, and the ages
    that temporal models read."""
    parser.add_argument("--samples", metavar="TABLE", help="a tab-separated table of the "
                        "samples to read, with a header: column sample and optionally "
                        "population and age_years (years before present, 0 = present-day; "
                        "temporal models need it); samples it omits are not used")
    parser.add_argument("--population", metavar="NAME", help="read the --samples rows of this "
                        "population; 'all' pools them (needed when the table has several)")
    parser.add_argument("--sample-column", default="sample", help="--samples column of names")
    parser.add_argument("--population-column", default="population",
                        help="--samples column of populations")
    parser.add_argument("--age-column", default="age_years", help="--samples column of ages")


def add_output(parser: argparse.ArgumentParser, metavar: str | None = None, *,
               required: bool = True, help: str | None = None) -> None:
    parser.add_argument("-o", "--output", required=required, metavar=metavar, help=help)


def add_encoder_overrides(parser: argparse.ArgumentParser, help: str = "override an encoder "
                          "parameter, e.g. n_cols=64 (repeatable)") -> None:
    parser.add_argument("--encoder", action="append", metavar="NAME=VALUE", help=help)


def add_scenario_params(parser: argparse.ArgumentParser,
                        help: str = "override a scenario parameter (repeatable)") -> None:
    parser.add_argument("--param", action="append", metavar="NAME=VALUE", help=help)


def add_shard_size(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shard-size", type=int, default=500, help="replicates per shard file")


def add_time_points(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument("--time-points", type=ages, metavar="AGES", help=help)


def add_resume_options(parser: argparse.ArgumentParser) -> None:
    """What to do with the partial work an interrupted run of the same command kept (scan,
    simulate, import, train; see popgen_hub.resume)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--resume", action="store_true", help="continue the interrupted run of "
                       "this same command from the partial work it kept (and complete a "
                       "finished output of it)")
    group.add_argument("--clean", action="store_true", help="discard the partial work an "
                       "interrupted run of this same command kept, and start afresh")


def add_device(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", type=device_value, default="auto", metavar="DEVICE",
                        help=f"{DEVICE_HELP}; GPUs need pip install 'popgen-hub[gpu]'")


def device_value(text: str) -> str:
    """A --device value, checked as the library checks it (a usage error, exit 2)."""
    try:
        parse_device(text)
    except PopgenHubError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def add_verbosity(parser: argparse.ArgumentParser) -> None:
    """-q: no progress bars and only warnings on stderr; -v: debugging messages too."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-q", "--quiet", action="store_true",
                       help="no progress bars; only warnings and errors on stderr")
    group.add_argument("-v", "--verbose", action="store_true",
                       help="also debugging messages on stderr")


def scan_input(args: argparse.Namespace, table: SampleTable | None = None) -> Any:
    """The input of ``add_input_options``: the --vcf path, or the BAM/CRAM files opened and
    checked as a reader (the names of ``table``, the --samples table, let it name an
    individual by its file's stem)."""
    from ..genotypes.likelihoods import SiteFilter
    from ..readers.bam import BamReader, bam_list
    from ..readers.pileup import ReadFilter

    # the options of add_bam_options: their defaults are the filters' (--reference, --sites:
    # none)
    defaults = {"reference": None, "sites": None,
                **{f.name: f.default for f in (*fields(ReadFilter), *fields(SiteFilter))}}
    if args.vcf:
        given = [name for name, value in defaults.items() if getattr(args, name) != value]
        if given:
            raise PopgenHubError(f"--{given[0].replace('_', '-')} is for BAM/CRAM input "
                                 f"(--bam, --bam-list), not --vcf")
        return args.vcf
    for name in ("min_mapq", "min_baseq", "min_depth", "max_depth"):
        if (getattr(args, name) or 0) < 0:
            raise PopgenHubError(f"--{name.replace('_', '-')} {getattr(args, name)} must be 0 "
                                 f"or more")
    if args.max_depth is not None and args.max_depth < args.min_depth:
        raise PopgenHubError(f"--max-depth {args.max_depth} is below --min-depth "
                             f"{args.min_depth}")
    if not 0 < args.snp_pval <= 1:
        raise PopgenHubError(f"--snp-pval {args.snp_pval} must be a p-value in (0, 1], e.g. "
                             f"1e-6")
    return BamReader(bam_list(args.bam_list) if args.bam_list else args.bam,
                     reference=args.reference, sites=args.sites,
                     read_filter=ReadFilter(args.min_mapq, args.min_baseq),
                     site_filter=SiteFilter(args.min_depth, args.max_depth, args.snp_pval),
                     # every sample of the table may name its BAM by the file's stem, not
                     # only those of the population picked
                     names=tuple(table.populations or table.samples) if table else ())


# ---------------------------------------------------------------- extras
def _require(modules: tuple[str, ...], hint: str) -> None:
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # blocked, or a broken module left in sys.modules
            found = False
        if not found:
            log.debug("%s is not importable", name)
            raise PopgenHubError(hint)


def require_train_extra() -> None:
    """Raise the one-line hint unless the ``train`` extra (torch, msprime) is installed."""
    _require(TRAIN_MODULES, TRAIN_EXTRA_HINT)


def require_publish_extra() -> None:
    """Raise the one-line hint unless the ``publish`` extra (onnx, jinja2, pyyaml) is installed."""
    _require(PUBLISH_MODULES, PUBLISH_EXTRA_HINT)


def require_explain_extra() -> None:
    """Raise the one-line hint unless the ``explain`` extra (matplotlib) is installed."""
    _require(("matplotlib",), EXPLAIN_EXTRA_HINT)


# ---------------------------------------------------------------- values
def key_values(pairs: list[str] | None, what: str) -> dict[str, Any]:
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


def ages(text: str) -> list[float]:
    try:
        return [float(age) for age in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not comma-separated ages in years, e.g. "
                                         f"8000,4000,2000,1000,0") from None


def haplotype_encoder(args: argparse.Namespace) -> Encoder:
    """The haplotype-image encoder with the ``--encoder name=value`` overrides (simulate,
    import and train on the fly)."""
    from ..datasets import check_storable
    from ..encoders import build_encoder

    encoder = build_encoder({"name": "haplotype_image",
                             **key_values(args.encoder, "--encoder")})
    check_storable(encoder)
    return encoder
