"""Training-data generation speed: replicates per second, and where the time goes.

For each class of a scenario it times, per replicate, the simulator (msprime), the encoder and
the shard packing + compressed write, then times whole `simulate_dataset` runs with 1 and 2
worker processes. Prints a Markdown table and writes build/bench/simulate.json. Measures;
asserts nothing.

    python benchmarks/simulate.py [--scenario imagene_sweep] [--param k=v ...] [--n 400]
    python benchmarks/simulate.py --smoke   # a few replicates, same code path, a few seconds
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import statistics
import time
from pathlib import Path

import numpy as np

from popgen_hub.datasets import shard_arrays, single_tensor
from popgen_hub.encoders import HaplotypeImageEncoder
from popgen_hub.genotypes import GenotypeBlock
from popgen_hub.simulate.dataset import simulate_dataset
from popgen_hub.simulate.scenarios import get_scenario

ROOT = Path(__file__).resolve().parents[1]
SMOKE = {"n": 4, "stage_n": 2, "repeats": 1}


def per_replicate_stages(scenario_name: str, params: dict, n: int
                         ) -> dict[str, dict[str, float]]:
    """Seconds per replicate in the simulator, the encoder and packing + writing, per class."""
    scenario = get_scenario(scenario_name, **params)
    encoder = HaplotypeImageEncoder()
    stages: dict[str, dict[str, list[float]]] = {
        label: {"simulate": [], "encode": [], "write": []} for label in scenario.labels}
    for index in range(n):
        label = scenario.labels[index % len(scenario.labels)]
        started = time.perf_counter()
        replicate = scenario.simulate(index, seed=99)
        simulated = time.perf_counter()
        block = GenotypeBlock.from_haplotypes(replicate.haplotypes, replicate.positions)
        present = block.take_columns(np.arange(scenario.time_points[0].n_haplotypes))
        image = single_tensor(encoder.encode(present, (0, scenario.length)), encoder)
        encoded = time.perf_counter()
        arrays = shard_arrays([image], [replicate.label], index, [block])
        np.savez_compressed(io.BytesIO(), **arrays)
        written = time.perf_counter()
        for stage, seconds in (("simulate", simulated - started), ("encode", encoded - simulated),
                               ("write", written - encoded)):
            stages[label][stage].append(seconds)
    return {label: {stage: statistics.mean(times) for stage, times in by_stage.items()}
            for label, by_stage in stages.items() if by_stage["simulate"]}  # n < classes


def whole_runs(scenario_name: str, params: dict, n: int, repeats: int, out: Path
               ) -> dict[int, float]:
    """Median wall seconds of `simulate_dataset` for n replicates, by worker count."""
    result = {}
    for workers in (1, 2):
        times = []
        for repeat in range(repeats):
            target = out / f"w{workers}_{repeat}"
            shutil.rmtree(target, ignore_errors=True)
            started = time.perf_counter()
            simulate_dataset(scenario_name, target, n=n, seed=repeat, workers=workers,
                             scenario_params=params, shard_size=max(n // 8, 1),
                             progress=False)
            times.append(time.perf_counter() - started)
            shutil.rmtree(target)
        result[workers] = statistics.median(times)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="imagene_sweep")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=JSON",
                        help="scenario parameter, e.g. ancient_ages_years=[1000,2000]")
    parser.add_argument("--n", type=int, default=400, help="replicates per whole run")
    parser.add_argument("--stage-n", type=int, default=200, help="replicates timed by stage")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench",
                        help="where the datasets (deleted after each run) and the JSON go")
    parser.add_argument("--smoke", action="store_true",
                        help=f"{SMOKE['n']} replicates per whole run, {SMOKE['stage_n']} timed "
                             f"by stage, one repeat: checks that the benchmark works")
    args = parser.parse_args()
    if args.smoke:
        for key, value in SMOKE.items():
            setattr(args, key, value)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)

    params = {k: json.loads(v) for k, v in (p.split("=", 1) for p in args.param)}
    stages = per_replicate_stages(args.scenario, params, args.stage_n)
    runs = whole_runs(args.scenario, params, args.n, args.repeats, out)
    described = args.scenario + "".join(f", {k}={v}" for k, v in params.items())
    print(f"| {described}, per replicate (mean of {args.stage_n}) | simulator ms | "
          f"encode ms | pack + write ms | outside the simulator |")
    print("|---|---|---|---|---|")
    for label, seconds in stages.items():
        overhead = (seconds["encode"] + seconds["write"]) / seconds["simulate"]
        print(f"| {label} | {1e3 * seconds['simulate']:.1f} | {1e3 * seconds['encode']:.1f} | "
              f"{1e3 * seconds['write']:.1f} | {100 * overhead:.0f} % of simulator time |")
    print(f"\n| whole dataset, {args.n} replicates (median of {args.repeats}) | seconds | "
          f"replicates/s |")
    print("|---|---|---|")
    for workers, seconds in runs.items():
        print(f"| {workers} worker{'s' if workers > 1 else ''} | {seconds:.3f} | "
              f"{args.n / seconds:.1f} |")
    print(f"\n2 workers / 1 worker: {runs[1] / runs[2]:.2f}x")
    (out / f"simulate_{args.scenario}.json").write_text(json.dumps(
        {"scenario": args.scenario, "parameters": params, "stages_seconds": stages,
         "n": args.n, "whole_run_seconds": runs}, indent=2))


if __name__ == "__main__":
    main()
