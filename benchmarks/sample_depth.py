"""Held-out accuracy, false positives and localisation of a model of individuals
(``exchangeable_cnn`` on genotypes, ``exchangeable_cnn_gl`` on likelihoods) by sample size and
read depth: the figures its model card gives.

The model's cards must say how it does with 5 or 100 individuals, at 0.5x or 10x, not only on
average over the random sizes and depths it was trained on. Each cell (k individuals, mean
depth d; a genotype model has one column, ``genotypes``) draws k individuals of every chosen
replicate of a ``sweep_regime`` dataset (classes neutral, sweep, linked) and shows them to the
model as a scan would: reads at depth d through the BAM reader's SNP discovery and samtools
likelihoods, encoded by the model's own encoder
(:func:`popgen_hub.simulate.observed.sample_window`), scored through onnxruntime. Replicate i
of cell (k, d) is drawn from the seed [SEED, i, k]: the same individuals at every depth. A
window with fewer informative sites than the contract's ``min_sites`` gets no score, as in a
scan, and counts as no call (wrong for accuracy, not above 0.5 for the shares).

Held out: when DATASET is the one the model was trained on (same scenario, parameters and seed
as ``contract.training``), only its test split (``training.test_indices``); otherwise all its
replicates. Up to ``--per-class`` of each class, the first in index order.

Figures per cell, each a share with its binomial standard error and Wilson 95 % interval:
3-class accuracy; power (sweep replicates with P(sweep) > 0.5); false positives (neutral
replicates with P(sweep) > 0.5); localisation errors (linked replicates with P(sweep) > 0.5:
a footprint taken for the site; lower is better); sweep-vs-linked accuracy (of those two
classes, the larger of P(sweep), P(linked) names the right one); unscored windows. When the
contract stores per-condition nulls (``references["null_by_condition"]``: records of
``individuals``, ``depth``, sorted log-odds ``values``), also false positives and power at
p < 0.05 against the cell's own null. Measures; asserts nothing.

    python benchmarks/sample_depth.py MODEL --data DATASET [--sizes 5,10,20,50,100]
        [--depths 0.5,1,2,4,10] [--per-class 300] [--workers N] [--seed 1] [-o OUTDIR]
        # MODEL: a bundled name or a model folder; DATASET: a `popgen-hub simulate` folder
        # -> OUTDIR/sample_depth.md (tables to append to a card), sample_depth.json,
        #    sample_depth.png (accuracy, power, false positives, localisation vs sample size)
    python benchmarks/sample_depth.py --smoke   # simulate + train + export a tiny model, < 1 min
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from tqdm.auto import tqdm

import popgen_hub
from popgen_hub.calibration import TIE_STREAM, empirical_p_values, log_odds, round_significant
from popgen_hub.datasets import iter_replicates, load_manifest
from popgen_hub.encoders import GenotypeMatrixEncoder, single_threaded_blas
from popgen_hub.encoders.inputs import stack_windows
from popgen_hub.genotypes import GenotypeBlock
from popgen_hub.model import Model
from popgen_hub.simulate.observed import sample_window

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "sample_depth"
NULLS = "null_by_condition"  # the references key of per-condition nulls
BATCH = 256  # windows per onnxruntime call
Z95 = 1.959963984540054
PLOTTED = ("accuracy", "power", "false_positives", "localisation")
_STATE: dict[str, Any] = {}  # a process's model and replicates (set by init_worker)


def titles(labels: list[str], nulls: bool) -> dict[str, str]:
    """Each figure's table title, in the report's order; the null ones only with nulls."""
    null, primary, linked = labels[:3]
    above = f"P({primary}) > 0.5"
    found = {"accuracy": f"{len(labels)}-class accuracy",
             "power": f"power: {primary} replicates with {above}",
             "false_positives": f"false positives: {null} replicates with {above}",
             "localisation": f"localisation errors: {linked} replicates with {above} "
                             f"(lower is better)",
             "sweep_vs_linked": f"{primary} vs {linked}: share of the two classes where the "
                                f"larger of P({primary}), P({linked}) names the right one",
             "unscored": "windows under the contract's min_sites (no score; no call)"}
    if nulls:
        found |= {"false_positives_p05": f"false positives at p < 0.05 against the "
                                         f"condition's own null ({null} replicates)",
                  "power_p05": f"power at p < 0.05 against the condition's own null "
                               f"({primary} replicates)"}
    return found


def load(name: str, threads: int = 0) -> Model:
    """A model by bundled name or folder, on the CPU."""
    return popgen_hub.load(Path(name) if Path(name).is_dir() else name, device="cpu",
                           threads=threads)


def held_out(manifest: dict[str, Any], training: dict[str, Any]) -> tuple[set[int] | None, str]:
    """The replicate indices that are held out (None: all) and in words: only the test split
    of the training dataset itself, every replicate of any other."""
    same = training.get("source") == "saved dataset" and (
        manifest.get("scenario"), manifest["parameters"], manifest.get("seed")) == (
        training.get("scenario"), training.get("parameters"), training.get("dataset_seed"))
    if not same:
        return None, ("an independent dataset (not the training scenario, parameters and seed): "
                      "all its replicates")
    test = training.get("test_indices")
    if not test:
        raise SystemExit("the dataset is the model's training data, but its contract records no "
                         "test_indices: simulate an independent dataset (another --seed)")
    return set(test), (f"the model's training dataset (seed {manifest.get('seed')}): only its "
                       f"{len(test)} test-split replicates (contract training.test_indices)")


def pick_replicates(data: Path, manifest: dict[str, Any], eligible: set[int] | None,
                    per_class: int) -> tuple[np.ndarray, np.ndarray, list[GenotypeBlock]]:
    """Up to ``per_class`` eligible replicates of each class, the first in index order:
    their indices, labels and blocks."""
    chosen: dict[int, list[tuple[int, GenotypeBlock]]] = {
        c: [] for c in range(len(manifest["labels"]))}
    last = max(eligible) if eligible is not None else manifest["n"] - 1
    for index, (label, block) in enumerate(iter_replicates(data, manifest)):
        if (eligible is None or index in eligible) and len(chosen[label]) < per_class:
            chosen[label].append((index, block))
        if index >= last or all(len(v) == per_class for v in chosen.values()):
            break
    picked = sorted((index, label, block) for label, rows in chosen.items()
                    for index, block in rows)
    return (np.array([p[0] for p in picked], dtype=np.int64),
            np.array([p[1] for p in picked], dtype=np.int64), [p[2] for p in picked])


def outside(value: float, bounds: list[Any]) -> bool:
    low, high = bounds
    return (low is not None and value < low) or (high is not None and value > high)


def conditions(args: argparse.Namespace, model: Model, available: int
               ) -> tuple[list[int], list[float | None], list[str]]:
    """The sample sizes and depths measured (depth None: a genotype model's one column) and
    a line for each left out."""
    spec, skipped = model.contract.input, []
    sizes = []
    for k in args.sizes:
        if k > available:
            skipped.append(f"{k} individuals: above the replicates' {available}")
        elif outside(k, spec.sample_size):
            skipped.append(f"{k} individuals: outside the model's sample size "
                           f"{spec.sample_size[0]}..{spec.sample_size[1]}")
        else:
            sizes.append(k)
    if spec.data_kind != "likelihoods":
        return sizes, [None], [*skipped, "depths: a genotype model, one column (genotypes)"]
    depths = []
    for d in args.depths:
        if outside(d, spec.depth):
            skipped.append(f"{d:g}x: outside the model's depth {spec.depth[0]}..{spec.depth[1]}")
        else:
            depths.append(d)
    return sizes, depths, skipped


def column(depth: float | None) -> str:
    return "genotypes" if depth is None else f"{depth:g}x"


def init_worker(name: str, blocks: list[GenotypeBlock], indices: np.ndarray,
                labels: np.ndarray, length: float, seed: int, threads: int) -> None:
    """Load the model and hold the replicates, once per process."""
    model = load(name, threads)
    nulls = model.contract.references.get(NULLS)
    _STATE.update(model=model, blocks=blocks, indices=indices, labels=labels,
                  window=(0.0, float(length)), seed=seed, nulls=nulls)


def probabilities(k: int, depth: float | None) -> np.ndarray:
    """(replicates, classes) probabilities of the chosen replicates seen as k individuals at
    ``depth``; NaN rows for windows under the contract's min_sites."""
    model, blocks = _STATE["model"], _STATE["blocks"]
    found = np.full((len(blocks), len(model.contract.labels)), np.nan)
    for start in range(0, len(blocks), BATCH):
        windows, rows = [], []
        for i in range(start, min(start + BATCH, len(blocks))):
            rng = np.random.default_rng([_STATE["seed"], int(_STATE["indices"][i]), k])
            encoded = sample_window(model.encoder, blocks[i], _STATE["window"], rng, k,
                                    depth=depth)
            if encoded.n_sites >= model.contract.input.min_sites:
                windows.append(encoded.inputs)
                rows.append(i)
        if rows:
            found[rows] = model.predict(stack_windows(windows))
    return found


def condition_null(k: int, depth: float | None) -> np.ndarray | None:
    """The stored null of k individuals at ``depth``, if the contract has one."""
    for record in _STATE["nulls"] or ():
        same_depth = (record.get("depth") is None if depth is None else
                      record.get("depth") is not None and math.isclose(record["depth"], depth))
        if record.get("individuals") == k and same_depth:
            return np.asarray(record["values"], dtype=np.float64)
    return None


def share(hits: np.ndarray) -> dict[str, Any]:
    """A share of replicates with its binomial standard error and Wilson 95 % interval."""
    n, k = len(hits), int(np.sum(hits))
    if not n:
        return {"share": None, "k": 0, "n": 0, "se": None, "low": None, "high": None}
    p, z2 = k / n, Z95 ** 2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return {"share": p, "k": k, "n": n, "se": math.sqrt(p * (1 - p) / n),
            "low": max(0.0, centre - half), "high": min(1.0, centre + half)}


def score_cell(cell: tuple[int, float | None]) -> dict[str, Any]:
    """One cell's figures (module doc)."""
    started = time.perf_counter()
    k, depth = cell
    with single_threaded_blas():
        p = probabilities(k, depth)
    labels, scored = _STATE["labels"], ~np.isnan(p[:, 0])
    call = np.where(scored, np.argmax(np.nan_to_num(p, nan=-1.0), axis=1), -1)
    above = scored & (np.nan_to_num(p[:, 1]) > 0.5)
    pair = (labels == 1) | (labels == 2)
    figures = {"accuracy": share(call == labels), "power": share(above[labels == 1]),
               "false_positives": share(above[labels == 0]),
               "localisation": share(above[labels == 2]),
               "sweep_vs_linked": share((scored & ((p[:, 1] > p[:, 2]) == (labels == 1)))[pair]),
               "unscored": share(~scored)}
    if _STATE["nulls"] is not None:
        null = condition_null(k, depth)
        if null is None:
            figures |= {"false_positives_p05": share(np.array([])),
                        "power_p05": share(np.array([]))}
        else:
            rng = np.random.default_rng([_STATE["seed"], TIE_STREAM, k])
            significant = empirical_p_values(round_significant(log_odds(p)), null, rng) < 0.05
            figures |= {"false_positives_p05": share(significant[labels == 0]),
                        "power_p05": share(significant[labels == 1])}
    return {"individuals": k, "depth": depth, "column": column(depth),
            "seconds": time.perf_counter() - started, "figures": figures}


def run_cells(cells: list[tuple[int, float | None]], workers: int, init: tuple
              ) -> list[dict[str, Any]]:
    """Every cell's figures, in ``workers`` processes (each loads the model itself)."""
    if workers == 1:
        init_worker(*init)
        return [score_cell(cell) for cell in tqdm(cells, desc="cells", unit="cell")]
    done = []
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=init_worker,
                             initargs=init) as pool:
        futures = [pool.submit(score_cell, cell) for cell in cells]
        for future in tqdm(as_completed(futures), total=len(futures), desc="cells",
                           unit="cell"):
            done.append(future.result())
    return sorted(done, key=lambda c: (c["individuals"], c["depth"] or 0.0))


def fmt(figure: dict[str, Any]) -> str:
    if figure["share"] is None:
        return "n/a"
    return (f"{100 * figure['share']:.1f} % ({100 * figure['low']:.1f}-"
            f"{100 * figure['high']:.1f})")


def markdown(report: dict[str, Any]) -> str:
    """One table per figure: rows sample size, columns depth, under a preamble."""
    name, cells = report["model"], report["cells"]
    columns = list(dict.fromkeys(c["column"] for c in cells))
    sizes = list(dict.fromkeys(c["individuals"] for c in cells))
    by = {(c["individuals"], c["column"]): c["figures"] for c in cells}
    counts = ", ".join(f"{label} {n}" for label, n in report["replicates_per_class"].items())
    lines = [f"### {name}: held-out figures by sample size and read depth", "",
             f"Command: `{report['command']}`", "",
             f"Data: {report['data']['source']}; held out: {report['data']['held_out']}. "
             f"Replicates per class ({counts}), the same in every cell; replicate i of cell "
             f"(k, depth) draws k of its individuals from seed [{report['seed']}, i, k] (the "
             f"same individuals at every depth). Cells: share of replicates (Wilson 95 % "
             f"interval, %); windows under min_sites ({report['min_sites']} informative "
             f"sites) get no score and count as no call. Run time "
             f"{report['elapsed_s'] / 60:.1f} min, {report['workers']} worker(s)."]
    lines += ["", f"Left out: {'; '.join(report['skipped'])}."] if report["skipped"] else []
    for key, title in report["figures"].items():
        lines += ["", f"### {name}: {title}", "",
                  f"| individuals | {' | '.join(columns)} |", "|---" * (len(columns) + 1) + "|",
                  *(f"| {k} | {' | '.join(fmt(by[k, c][key]) for c in columns)} |"
                    for k in sizes)]
    return "\n".join(lines) + "\n"


def plot(report: dict[str, Any], path: Path) -> None:
    """Accuracy, power, false positives and localisation vs sample size, a line per depth,
    Wilson 95 % intervals as error bars."""
    cells, columns = report["cells"], list(dict.fromkeys(c["column"] for c in report["cells"]))
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
    for ax, key in zip(axes.flat, PLOTTED, strict=True):
        for i, name in enumerate(columns):
            row = [c for c in cells if c["column"] == name and c["figures"][key]["n"]]
            nudge = 1 + 0.03 * (i - (len(columns) - 1) / 2)  # depths side by side
            x = [c["individuals"] * nudge for c in row]
            y = np.array([c["figures"][key]["share"] for c in row])
            bounds = np.array([[c["figures"][key]["low"], c["figures"][key]["high"]]
                               for c in row]).reshape(-1, 2)
            ax.errorbar(x, y, yerr=np.abs(bounds.T - y), marker="o", capsize=3, label=name)
        ax.set(xscale="log", ylim=(-0.03, 1.03), title=report["figures"][key], xlabel=
               "individuals" if key in PLOTTED[2:] else None, ylabel="share of replicates")
        ax.title.set_fontsize(8)
        sizes = sorted({c["individuals"] for c in cells})
        ax.set_xticks(sizes, [str(k) for k in sizes])
        ax.minorticks_off()
    axes[0, 0].legend(fontsize=8, title="depth")
    fig.suptitle(f"{report['model']}: held-out figures by sample size and depth", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def measure(args: argparse.Namespace, command: str) -> dict[str, Any]:
    """Choose the replicates and cells, score them, and gather the report."""
    model = load(args.model)
    contract, manifest = model.contract, load_manifest(args.data)
    if not isinstance(model.encoder, GenotypeMatrixEncoder):
        raise SystemExit(f"{contract.name} is not a model of individuals (its encoder is "
                         f"{model.encoder.name}); sample sizes and depths apply to "
                         f"exchangeable_cnn and exchangeable_cnn_gl")
    if manifest["labels"] != contract.labels or len(contract.labels) < 3:
        raise SystemExit(f"{args.data}'s classes {manifest['labels']} are not {contract.name}'s "
                         f"{contract.labels} (neutral, sweep, linked: sweep_regime)")
    eligible, held = held_out(manifest, contract.training)
    indices, labels, blocks = pick_replicates(Path(args.data), manifest, eligible,
                                              args.per_class)
    available = manifest["parameters"]["n_haplotypes"] // model.encoder.ploidy
    sizes, depths, skipped = conditions(args, model, available)
    if not sizes or not depths:
        raise SystemExit(f"no cell left to measure: {'; '.join(skipped)}")
    nulls = NULLS in contract.references
    made = f", made by `{manifest['command']}`" if manifest.get("command") else ""
    started = time.perf_counter()
    cells = run_cells([(k, d) for k in sizes for d in depths], args.workers,
                      (args.model, blocks, indices, labels, manifest["parameters"]["length"],
                       args.seed, 1 if args.workers > 1 else 0))
    return {"command": command, "model": contract.name, "labels": contract.labels,
            "data": {"path": str(args.data), "scenario": manifest.get("scenario"),
                     "seed": manifest.get("seed"), "n": manifest["n"],
                     "command": manifest.get("command", ""), "held_out": held,
                     "source": f"{args.data} ({manifest.get('scenario')}, seed "
                               f"{manifest.get('seed')}, {manifest['n']} replicates{made})"},
            "seed": args.seed, "workers": args.workers, "min_sites": contract.input.min_sites,
            "window_bp": manifest["parameters"]["length"], "individuals_available": available,
            "replicates_per_class": {name: int((labels == c).sum())
                                     for c, name in enumerate(contract.labels)},
            "replicate_indices": indices.tolist(), "skipped": skipped,
            "figures": titles(contract.labels, nulls), "null_by_condition": nulls,
            "elapsed_s": time.perf_counter() - started, "cells": cells}


def smoke_inputs(work: Path) -> tuple[Path, Path]:
    """A tiny sweep_regime dataset and an exchangeable_cnn_gl trained on it for one epoch
    (half of it held out), exported: (model folder, dataset). Needs torch."""
    from popgen_hub.simulate.dataset import simulate_dataset
    from popgen_hub.training.export import export_run
    from popgen_hub.training.loop import TrainSettings
    from popgen_hub.training.train import train_from_dataset

    data = simulate_dataset("sweep_regime", work / "data", n=60, seed=1, progress=False,
                            scenario_params={"n_haplotypes": 24})
    train_from_dataset("exchangeable_cnn_gl", data, work / "run",
                       TrainSettings(epochs=1, seed=2, threads=1), validation=0.1, test=0.5,
                       encoder_overrides={"n_sites": 16}, progress=False, calibrate=False)
    return export_run(work / "run", "exchangeable_cnn_gl.smoke", work / "model"), data


def numbers(kind: type) -> Callable[[str], list[Any]]:
    """An argparse type: comma-separated values of ``kind``."""
    return lambda text: [kind(value) for value in text.split(",")]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", help="bundled model name or model folder")
    parser.add_argument("--data", type=Path, help="dataset folder (popgen-hub simulate)")
    parser.add_argument("--sizes", type=numbers(int), default=[5, 10, 20, 50, 100],
                        help="individuals, comma-separated")
    parser.add_argument("--depths", type=numbers(float), default=[0.5, 1, 2, 4, 10],
                        help="mean read depths, comma-separated (likelihood models)")
    for flag, default, text in (("--per-class", 300, "replicates of each class, at most"),
                                ("--workers", 1, "processes, over cells"),
                                ("--seed", 1, "base seed of the draws")):
        parser.add_argument(flag, type=int, default=default, help=text)
    parser.add_argument("-o", "--out", type=Path, default=OUT)
    parser.add_argument("--smoke", action="store_true", help="a tiny simulated dataset and "
                        "model trained for one epoch; sizes 5,10, depths 1,4: checks the script")
    args = parser.parse_args()
    if args.smoke:
        args.sizes, args.depths, args.per_class = [5, 10], [1.0, 4.0], 4
        args.out = args.out / "smoke" if args.out == OUT else args.out
    elif not args.model or not args.data:
        parser.error("give MODEL and --data DATASET (or --smoke)")
    return args


def main() -> None:
    args = parse_args()
    command = shlex.join(["python", "benchmarks/sample_depth.py", *sys.argv[1:]])
    if args.smoke:
        with tempfile.TemporaryDirectory(prefix="sample-depth-") as tmp:
            model, args.data = smoke_inputs(Path(tmp))
            args.model = str(model)
            report = measure(args, command)
    else:
        report = measure(args, command)
    args.out.mkdir(parents=True, exist_ok=True)
    text = markdown(report)
    (args.out / "sample_depth.md").write_text(text)
    (args.out / "sample_depth.json").write_text(json.dumps(report, indent=1) + "\n")
    plot(report, args.out / "sample_depth.png")
    print(text)
    print(f"wrote {args.out / 'sample_depth.md'}, sample_depth.json, sample_depth.png")


if __name__ == "__main__":
    main()
