"""What `scan --model auto` chooses for neutral chromosomes of every present-day population of
stdpopsim's HomSap models, and whether the statistics it compares could choose by ancestry.

For each population (benchmarks/calibration.py's cases, simulation and seeds) --replicates
neutral chromosomes of --length bp x 128 haplotypes are simulated and `popgen_hub.choose_model`
is run over the bundled models: the model chosen, the training data it matched through (a
training history's or all its training windows pooled), how many matched, the runner-up. Then the
measurement behind auto's design (`popgen_hub.auto`'s module doc): the median Tajima's D and
H12 of the windows auto sampled (the statistics it compares that do not scale with the
mutation rate) are matched to the nearest population's neutral windows as the training regime
simulates them (the sampled population's pairwise-coalescence size history,
`popgen_hub.simulate.histories.published`, --reference-bp of it in 80 kb windows, mutation rate
1.75e-8, the middle of the regime's prior), with auto's distance; the table says whether that
population is of the chromosome's ancestry group (European, East Asian, African; the others
have none). Measures; asserts nothing.

    python benchmarks/auto_choice.py [--length 2000000] [--replicates 1] [--reference-bp 8000000]
        [--seed 1] [--workers N] [-o DIR]     # -> auto_choice.md, auto_choice.json
    python benchmarks/auto_choice.py --smoke  # two populations, 1 Mb
"""

from __future__ import annotations

import argparse
import collections
import json
import shlex
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import msprime
import numpy as np
from calibration import all_cases, seeds, simulate

import popgen_hub
from popgen_hub.encoders import build_encoder
from popgen_hub.genotypes import GenotypeBlock
from popgen_hub.ood import STATISTICS, window_values
from popgen_hub.readers import open_reader
from popgen_hub.registry import get_contract
from popgen_hub.scoring import sampled_windows, scan_regions, select_samples
from popgen_hub.simulate.histories import ANCESTRY_GROUPS, published

ROOT = Path(__file__).resolve().parents[1]
HAPLOTYPES = 128
WINDOW = 80_000
REFERENCE_MU = 1.75e-8
#: the statistics matched to a population: those that do not scale with the mutation rate
SHAPE = ("h12", "tajimas_d")
#: the model whose windows and encoder read the input's statistics (any haplotype model)
READER_MODEL = "imagene_cnn.sweep_hsap_general"
SMOKE_CASES = ("HomSap/OutOfAfrica_3G09/CEU", "HomSap/OutOfAfrica_3G09/YRI")


def group_of(history: str) -> str:
    population = history.split("/")[2]
    return next((group for group, pops in ANCESTRY_GROUPS.items() if population in pops), "")


def shape_of(rows: np.ndarray) -> np.ndarray:
    return rows[:, [STATISTICS.index(name) for name in SHAPE]]


def reference(history: str, length: int, seed: int) -> list[list[float]]:
    """The :data:`SHAPE` statistics of ``length`` bp of neutral 80 kb windows of ``history``
    as the training regime simulates it."""
    ts = msprime.sim_ancestry(HAPLOTYPES // 2, demography=published(history).demography(),
                              sequence_length=length, recombination_rate=1e-8,
                              random_seed=seed)
    ts = msprime.sim_mutations(ts, rate=REFERENCE_MU, random_seed=seed + 1)
    block = GenotypeBlock.from_haplotypes(ts.genotype_matrix().T.astype(np.int8),
                                          ts.tables.sites.position.astype(np.int64))
    rows = np.array([window_values(block, start, start + WINDOW, 0)
                     for start in range(0, length - WINDOW + 1, WINDOW)])
    return shape_of(rows).tolist()


def chromosome(task: dict) -> dict:
    """One neutral chromosome: what auto chose, and the input statistics it compared."""
    with tempfile.TemporaryDirectory(dir=task["tmp"]) as tmp:
        vcf = Path(tmp) / "chrom.vcf.gz"
        simulate(task, vcf)
        choice = popgen_hub.choose_model(vcf, n_windows=task["windows"])
        contract = get_contract(READER_MODEL)
        encoder = build_encoder(contract.encoder)
        reader = open_reader(vcf)
        selection = select_samples(reader, encoder, contract, 0, None)
        rows = np.array([window_values(seen, start, end, encoded.n_sites)
                         for start, end, seen, encoded in sampled_windows(
                             reader, scan_regions(reader, None, WINDOW), selection, encoder,
                             WINDOW, task["windows"], reader.new_stats())])
    ranked = [c for c in choice.candidates if not c.refused]
    return {"history": task["history"], "replicate": task["replicate"], "chosen": choice.name,
            "through": ranked[0].history or "pooled",
            "matching": sum(c.matches for c in ranked),
            "runner_up": ranked[1].name if len(ranked) > 1 else None,
            "distances": {c.name: c.distance for c in ranked},
            "shape": np.nanmedian(shape_of(rows), axis=0).tolist()}


def nearest(shape: list[float], references: dict[str, list]) -> str:
    """The population whose reference windows are nearest ``shape`` (medians), by auto's
    distance: mean over statistics of |median - reference median| / reference IQR."""
    def distance(rows: list) -> float:
        q25, median, q75 = np.nanquantile(np.array(rows), [0.25, 0.5, 0.75], axis=0)
        return float(np.mean(np.abs(np.array(shape) - median) / (q75 - q25)))
    return min(references, key=lambda history: distance(references[history]))


def same_group(result: dict) -> str:
    """Whether the nearest population is of the chromosome's ancestry group ("-": it has none)."""
    if not result["group"]:
        return "-"
    return "yes" if result["group"] == group_of(result["nearest"]) else "no"


def markdown(results: list[dict], command: str) -> str:
    right = [same_group(r) == "yes" for r in results if r["group"]]
    chosen = collections.Counter(r["chosen"] for r in results)
    lines = [f"Command: `{command}`", "",
             "| population | group | auto chose | its nearest training data | models matching "
             "| runner-up | nearest population by D and H12 | same group |",
             "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['history']} | {r['group'] or '-'} | {r['chosen']} | {r['through']} | "
              f"{r['matching']} | {r['runner_up'] or '-'} | {r['nearest']} | {same_group(r)} |"
              for r in results]
    lines += ["", "auto chose: " + ", ".join(f"{name} {n}" for name, n in chosen.most_common()),
              f"nearest population by D and H12 in the chromosome's ancestry group: "
              f"{sum(right)} of {len(right)}"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=2_000_000, help="bp per chromosome")
    parser.add_argument("--replicates", type=int, default=1, help="chromosomes per population")
    parser.add_argument("--reference-bp", type=int, default=8_000_000,
                        help="bp of each population's reference windows")
    parser.add_argument("--windows", type=int, default=50, help="windows auto samples")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("-o", "--out", type=Path, default=ROOT / "build" / "auto_choice")
    parser.add_argument("--smoke", action="store_true", help="two populations, 1 Mb")
    args = parser.parse_args()
    cases = [c for c in all_cases() if c["history"].startswith("HomSap/")]
    if args.smoke:
        cases = [c for c in cases if c["history"] in SMOKE_CASES]
        args.length, args.reference_bp, args.windows = 1_000_000, 1_600_000, 10
    args.out.mkdir(parents=True, exist_ok=True)
    tasks = [{**case, "haplotypes": HAPLOTYPES, "length": args.length, "replicate": i,
              "windows": args.windows, "tmp": str(args.out),
              "seeds": seeds(args.seed, case["name"], i)}
             for case in cases for i in range(args.replicates)]
    histories = [case["history"] for case in cases]
    started = time.time()
    with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
        references = dict(zip(histories, pool.map(
            reference, histories, [args.reference_bp] * len(histories),
            [seeds(args.seed + 1, h, 0)[0] for h in histories]), strict=True))
        results = list(pool.map(chromosome, tasks))
    for result in results:
        result["group"] = group_of(result["history"])
        result["nearest"] = nearest(result["shape"], references)
    command = shlex.join(["python", "benchmarks/auto_choice.py", *sys.argv[1:]])
    text = markdown(results, command)
    (args.out / "auto_choice.md").write_text(text)
    (args.out / "auto_choice.json").write_text(json.dumps(
        {"command": command, "seconds": time.time() - started, "results": results}, indent=1))
    print(text, end="")


if __name__ == "__main__":
    main()
