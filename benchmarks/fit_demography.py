"""How well ``popgen-hub fit-demography`` recovers known parameters: the check of issue 16,
item 4.

For each parameter set of the ``two_epoch`` model (:data:`SETS`: a bottleneck, growth and an
old decline) and each seed, N diploids over L bp are simulated under the model itself with the
generator's rates (:func:`popgen_hub.gan.windows.simulate_vcf`), written as an indexed VCF and
fitted as a user's file is (:func:`popgen_hub.gan.run.fit_demography`, the command's default
budget unless told). Figures: fitted against true values and the relative error |fitted -
true| / true per parameter, the share of iterations whose proposal was accepted, the final
discriminator's held-out accuracy (0.5: it cannot tell the data from the fitted model; that
does not prove a good fit) and the seconds each fit took. ``--homsap`` adds a fit to data of
a stdpopsim HomSap history (OutOfAfrica_3G09, CEU, at its own mutation rate 2.35e-8), which
the two-epoch model can only approximate: its fitted values, printed after the history's own
sizes (:data:`HOMSAP_CEU`), which it has no true values for. Measures; asserts nothing.

    python benchmarks/fit_demography.py [--seeds 1 2] [--n 30] [--length 1e7] [--homsap]
    python benchmarks/fit_demography.py --smoke   # one set, one seed, a tiny budget
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from popgen_hub.gan import MODELS, TRAJECTORY, FitSettings, relative_errors
from popgen_hub.gan.export import plot_trajectory
from popgen_hub.gan.run import fit_demography
from popgen_hub.gan.windows import simulate_stdpopsim_vcf, simulate_vcf

SETS = {
    "bottleneck": {"N_ancestral": 10_000, "N_present": 2_000, "T_change": 1_000},
    "growth": {"N_ancestral": 7_000, "N_present": 40_000, "T_change": 500},
    "old_decline": {"N_ancestral": 20_000, "N_present": 5_000, "T_change": 4_000},
}
#: OutOfAfrica_3G09's CEU sizes (its rate 2.35e-8; the fit's are in units of 1.29e-8)
HOMSAP_CEU = ("1,000 growing to 29,725 over the last 848 generations; 2,100 from 848 to "
              "5,600; the African ancestors' 12,300 from 5,600 to 8,800 and 7,300 before")
SMOKE = FitSettings(iterations=2, proposals=1, batch_size=8, disc_steps=2, pretrain_trials=1,
                    pretrain_steps=2)


def one_fit(name: str, vcf: Path, settings: FitSettings, out: Path,
            truth: dict[str, float] | None) -> dict[str, Any]:
    started = time.perf_counter()
    record = fit_demography(vcf, out / f"fit_{name}_{settings.seed}", settings,
                            command="benchmarks/fit_demography.py")
    seconds = time.perf_counter() - started
    if truth:
        plot_trajectory(record["trajectory"], MODELS["two_epoch"],
                        out / f"{name}_{settings.seed}_{TRAJECTORY}", truth=truth,
                        title=f"{name}, seed {settings.seed}")
    return {"set": name, "seed": settings.seed, "truth": truth, "fitted": record["parameters"],
            "relative_error": relative_errors(record["parameters"], truth) if truth else None,
            "held_out_accuracy": record["discriminator"]["test"]["accuracy"],
            "acceptance_rate": record["acceptance_rate"],
            "seconds": seconds, "windows": record["data"]["n_windows"]}


def table(results: list[dict[str, Any]]) -> str:
    names = MODELS["two_epoch"].names
    lines = ["| set | seed | windows | " + " | ".join(f"{p} true / fitted (rel. error)"
                                                     for p in names)
             + " | accepted | held-out accuracy | seconds |", "|---" * (len(names) + 6) + "|"]
    for r in results:
        cells = [f"{r['truth'][p]:,.0f} / {r['fitted'][p]:,.0f} ({r['relative_error'][p]:.2f})"
                 if r["truth"] else f"(see below) / {r['fitted'][p]:,.0f}" for p in names]
        lines.append(f"| {r['set']} | {r['seed']} | {r['windows']} | " + " | ".join(cells)
                     + f" | {r['acceptance_rate']:.2f} | {r['held_out_accuracy']:.3f} | "
                       f"{r['seconds']:.0f} |")
    return "\n".join(lines)


def summary(results: list[dict[str, Any]]) -> str:
    """Median relative error per parameter over the sets of known truth."""
    known = [r for r in results if r["truth"]]
    return "median relative error over {} fits: {}".format(len(known), ", ".join(
        f"{p} {np.median([r['relative_error'][p] for r in known]):.2f}"
        for p in MODELS["two_epoch"].names))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--sets", nargs="+", choices=sorted(SETS), default=list(SETS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[1])
    parser.add_argument("--n", type=int, default=30, help="diploids simulated")
    parser.add_argument("--length", type=float, default=1e7, help="bp simulated")
    parser.add_argument("--iterations", type=int, help="default: the command's")
    parser.add_argument("--homsap", action="store_true", help="also fit HomSap CEU data")
    parser.add_argument("--out", type=Path, help="keep fits, figures and fit_demography.json")
    args = parser.parse_args()
    logging.basicConfig(format="%(message)s")
    logging.getLogger("popgen_hub").setLevel(logging.WARNING)
    settings = SMOKE if args.smoke else FitSettings()
    if args.iterations:
        settings = replace(settings, iterations=args.iterations)
    sets, seeds = (args.sets[:1], args.seeds[:1]) if args.smoke else (args.sets, args.seeds)
    n, length = (12, 1.5e6) if args.smoke else (args.n, args.length)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        results = []
        for name in sets:
            for seed in seeds:
                vcf = simulate_vcf(out / f"{name}_{seed}.vcf.gz", MODELS["two_epoch"],
                                   SETS[name], n_individuals=n, length=int(length),
                                   seed=1000 + seed)
                results.append(one_fit(name, vcf, replace(settings, seed=seed), out,
                                       SETS[name]))
                print(table(results[-1:]).splitlines()[-1], flush=True)
        if args.homsap and not args.smoke:
            vcf = simulate_stdpopsim_vcf(out / "homsap_ceu.vcf.gz", "OutOfAfrica_3G09", "CEU",
                                         n_individuals=n, length=int(length), seed=seeds[0])
            results.append(one_fit("HomSap OutOfAfrica_3G09 CEU", vcf,
                                   replace(settings, seed=seeds[0]), out, None))
        print(f"\ntwo_epoch fitted to {n} diploids over {length / 1e6:g} Mb simulated under "
              f"the model{' (and HomSap CEU)' if args.homsap and not args.smoke else ''} "
              f"(iterations {settings.iterations}, proposals {settings.proposals}, batch "
              f"{settings.batch_size}, 1 torch thread)\n")
        print(table(results))
        print(summary(results))
        if args.homsap and not args.smoke:
            print(f"HomSap OutOfAfrica_3G09 CEU history (no true two_epoch values): "
                  f"{HOMSAP_CEU}")
        if args.out:
            (args.out / "fit_demography.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
