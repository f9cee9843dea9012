r"""Training datasets, or test vcfs, from the scenario catalogue.

examples:
  popgen-hub simulate --list
  popgen-hub simulate imagene_sweep --n 16000 --seed 1 --workers 2 -o data/sweep
  popgen-hub simulate imagene_sweep --param selection_strength=200 --n 2000 -o s200
  popgen-hub simulate imagene_sweep --n 100000 --scheduler tcp://10.0.0.5:8786 -o big
  popgen-hub simulate imagene_sweep --vcf sim.vcf.gz --length 2000000 --sweep-at 1200000 \
    --seed 3
"""

from __future__ import annotations

import argparse
import textwrap
from typing import Any

from ..errors import PopgenHubError
from . import common

NAME, HELP = "simulate", "simulate training data or a test VCF (train extra)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", nargs="?", help="scenario name (see --list)")
    p.add_argument("--list", action="store_true", help="list scenarios and their parameters")
    p.add_argument("--n", type=int, default=1000, help="replicates (dataset mode)")
    p.add_argument("--seed", type=int, default=1)
    common.add_output(p, required=False, help="dataset directory (new or empty; see --resume)")
    p.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="simulate on a Dask "
                   "distributed cluster instead (its workers need popgen-hub[train])")
    common.add_shard_size(p)
    common.add_scenario_params(p)
    common.add_encoder_overrides(p)
    common.add_resume_options(p)
    _add_vcf_options(p)


def _add_vcf_options(p: argparse.ArgumentParser) -> None:
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


def run(args: argparse.Namespace) -> None:
    common.require_train_extra()
    from ..simulate.scenarios import get_scenario

    if args.list or not args.scenario:
        _list_scenarios()
        return
    scenario = get_scenario(args.scenario, **common.key_values(args.param, "--param"))
    if args.vcf:
        _write_vcf(args, scenario)
        return
    if not args.output:
        raise PopgenHubError("give -o DIR for a dataset, or --vcf FILE.vcf.gz for a VCF")
    from ..simulate.dataset import simulate_dataset

    out = simulate_dataset(scenario.name, args.output, n=args.n, seed=args.seed,
                           scenario_params=scenario.parameters,
                           encoder=common.haplotype_encoder(args),
                           shard_size=args.shard_size, workers=args.workers,
                           scheduler=args.scheduler, progress=not args.quiet,
                           command=args.invocation, resume=args.resume, clean=args.clean)
    print(f"wrote {args.n} replicates of {scenario.name} to {out}")


def _list_scenarios() -> None:
    from ..simulate.demography import DEMOGRAPHIES, demography_info
    from ..simulate.scenarios import SCENARIOS

    for name, cls in SCENARIOS.items():
        print(f"{name}: classes {', '.join(cls.labels)}" if cls.target is None else
              f"{name}: a regression of {', '.join(cls.labels)}")
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


def _write_vcf(args: argparse.Namespace, scenario: Any) -> None:
    """--vcf: one chromosome-scale VCF; temporal scenarios also write the sample ages."""
    if "demography" not in scenario.parameters:
        raise PopgenHubError(f"--vcf: {scenario.name} draws a history for each replicate, so "
                             f"it has no one demography to simulate a chromosome in; use a "
                             f"scenario of one demography (e.g. neutral or sweep_vs_neutral)")
    if len(scenario.time_points) > 1:
        from ..simulate.genome import simulate_temporal_vcf

        path, table = simulate_temporal_vcf(args.vcf, scenario, seed=args.seed,
                                            classes=args.loci, missing=args.missing,
                                            contig=args.contig)
        print(f"wrote {path} and its index ({len(args.loci or scenario.labels)} loci of "
              f"{scenario.length:,} bp end to end: {', '.join(args.loci or scenario.labels)}) "
              f"and the sample ages in {table}")
        return
    from ..simulate.genome import simulate_vcf

    path = simulate_vcf(args.vcf, scenario, length=args.length, seed=args.seed,
                        sweep_at=args.sweep_at, end_frequency=args.end_frequency,
                        contig=args.contig)
    print(f"wrote {path} and its index ({scenario.n_haplotypes // 2} diploid samples, "
          f"{args.length:,} bp" + (f", sweep at {args.sweep_at:,}" if args.sweep_at else "")
          + ")")
