r"""Fit a named one-population demographic model to a VCF with a generative adversarial network
in the spirit of pg-gan (Wang et al. 2021; the train extra): msprime simulates windows under
the model's parameters, an exchangeable network learns to tell them from the VCF's windows,
and simulated annealing moves the parameters towards what the network cannot tell apart
(see popgen_hub.gan.fit). Model two_epoch: N_ancestral diploids before T_change generations
ago, N_present since; mutation 1.29e-8 and recombination 1.25e-8 per bp per generation.

Writes OUTDIR/fit.json (fitted parameters, bounds, the trajectory of parameters and losses,
settings), OUTDIR/trajectory.png, and the final discriminator as a model folder,
OUTDIR/discriminator, that scans a VCF for windows unlike the fitted neutral model:
  popgen-hub scan --vcf FILE --model local-dir:OUTDIR/discriminator -o SCAN
Read it on windows the fit did not use (fit.json lists the held-out ones): it scores the
windows it trained on higher.
Checkpointed after every iteration: an interrupted fit goes on with --resume.

examples:
  popgen-hub fit-demography --vcf chr20.vcf.gz --region 20:1-20000000 -o fit_out
  popgen-hub fit-demography --vcf cohort.vcf.gz --samples panel.tsv --population CEU \
    --iterations 60 --seed 2 -o fit_ceu
"""

from __future__ import annotations

import argparse
from dataclasses import fields

from . import common

NAME, HELP = "fit-demography", "fit a demographic model with a pg-gan-style GAN (train extra)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..gan import MODELS, FitSettings

    defaults = FitSettings()
    p.add_argument("--vcf", required=True, help="bgzipped+indexed VCF or indexed BCF of "
                   "diploid genotype calls (GT) of one population, with (nearly) no missing "
                   "calls: simulated windows have none, so missing calls would tell them apart "
                   "(a warning above 1%%)")
    p.add_argument("--region", help="chr:start-end (1-based, inclusive) or a contig; default: "
                   "every contig with records (a few Mb or more)")
    p.add_argument("--samples", metavar="TABLE", help="a tab-separated table with a header: "
                   "column sample, and population to pick one with --population")
    p.add_argument("--population", help="the population of --samples to fit")
    common.add_output(p, "OUTDIR", help="output directory: fit.json, trajectory.png, "
                      "discriminator/")
    p.add_argument("--demography", choices=sorted(MODELS), default=defaults.demography,
                   help="the model fitted (default %(default)s)")
    p.add_argument("--iterations", type=int, default=defaults.iterations,
                   help="annealing iterations (default %(default)s; pg-gan: 300)")
    p.add_argument("--seed", type=int, default=defaults.seed, help="seed of the simulations, "
                   "proposals, held-out windows and weights (default %(default)s)")
    budget = p.add_argument_group("budget (after a default, pg-gan's value where it has one)")
    budget.add_argument("--proposals", type=int, default=defaults.proposals,
                        help="proposals per parameter per iteration (default %(default)s; 10)")
    budget.add_argument("--batch-size", type=int, default=defaults.batch_size,
                        help="windows per generator loss and mini-batch (default %(default)s; "
                             "50)")
    budget.add_argument("--disc-steps", type=int, default=defaults.disc_steps,
                        help="discriminator mini-batches per accepted iteration (default "
                             "%(default)s; 100)")
    budget.add_argument("--pretrain-trials", type=int, default=defaults.pretrain_trials,
                        help="random starting points tried (default %(default)s; 10)")
    budget.add_argument("--pretrain-steps", type=int, default=defaults.pretrain_steps,
                        help="mini-batches per starting point (default %(default)s; 800)")
    budget.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    budget.add_argument("--individuals", type=int, default=defaults.individuals,
                        help="individuals read (drawn at random when there are more; 0: all; "
                             "default %(default)s); the generator simulates as many, and the "
                             "exported discriminator reads at least as many")
    budget.add_argument("--window-bp", type=int, default=defaults.window_bp,
                        help="window length (default %(default)s, pg-gan's)")
    budget.add_argument("--held-out", type=float, default=defaults.held_out,
                        help="share of the VCF's windows kept out of training, for the "
                             "discriminator's figures (default %(default)s)")
    budget.add_argument("--threads", type=int, default=defaults.threads,
                        help="PyTorch threads (default %(default)s: reproducible)")
    common.add_resume_options(p)


def run(args: argparse.Namespace) -> None:
    common.require_train_extra()
    common.require_publish_extra()
    common.require_explain_extra()
    from ..gan import FitSettings
    from ..gan.run import fit_demography

    settings = FitSettings(**{field.name: getattr(args, field.name)  # an option each
                              for field in fields(FitSettings)})
    record = fit_demography(args.vcf, args.output, settings, region=args.region,
                            samples=args.samples, population=args.population,
                            command=args.invocation, resume=args.resume, clean=args.clean)
    data, test = record["data"], record["discriminator"]["test"]
    print(f"{record['demography']} fitted to {data['n_windows']} windows of "
          f"{data['window_bp']} bp ({data['n_individuals']} individuals) in "
          f"{len(record['trajectory']) - 1} iterations:")
    for name, value in record["parameters"].items():
        low, high = record["bounds"][name]
        print(f"  {name:>12} = {value:,.6g}   (bounds {low:g}..{high:g})")
    print(f"proposals accepted in {record['acceptance_rate']:.0%} of the iterations")
    print(f"final discriminator on {test['n']} held-out windows (VCF vs fitted model): "
          f"accuracy {test['accuracy']:.3f} (0.5: cannot tell them apart, which does not "
          f"prove a good fit)")
    print(f"wrote {args.output}/fit.json, trajectory.png, discriminator/ (scan with "
          f"--model local-dir:{args.output}/discriminator)")
