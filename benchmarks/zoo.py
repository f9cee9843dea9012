"""The model zoo in one table: each bundled model's family, task, data, held-out figures,
figures under misspecification, and CPU windows/s measured here.

All but the speeds is read, never typed in: the models are `popgen-hub list`'s, the family the
description's opening words up to "network", the task the card's model-index task name, the
data what the contract accepts, the held-out figures the contract's `metrics` (test accuracy
and n; each class's recall from the confusion matrix's counts), the misspecification figures
the tables of `cards/<model>.matrix.md` (benchmarks/calibration.py) read by column name: the
largest share of neutral windows with P > 0.5 over the held-out histories (and which), and the
power at P > 0.5 of sweeps of 2Ns >= 300 ended <= 500 generations ago, pooled over those rows'
replicates; the decision threshold the contract stores (or 0.5, the default) and, where it
stores it, what the threshold finds (exporters/decision_power.py). A model added to
hub/pretrained/ appears with no change here; what a model lacks is "—", and one that cannot be
measured says why in a footnote.

Speeds, per model and onnxruntime thread count, on the first of `inputs()` the model reads
windows of: "inference" scores --windows encoded windows in batches of --batch-size through
`Model.predict` (a scan's session and batches), after a warm-up batch; "scan" is `Model.score`
of the whole input (read, encode, statistics, infer: a scan without its files), windows read
per second. Medians of --repeats runs. Measures; asserts nothing.

    python benchmarks/zoo.py [--models NAME ...] [--windows 512] [--repeats 3] [--threads 1,2]
                             [--out DIR]        # -> DIR/zoo.md, DIR/zoo.json
    python benchmarks/zoo.py --smoke            # few windows, one run: checks that it works
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import cycle, islice
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import yaml

# the matrices' default sweep history (this folder is on sys.path when a script runs)
from calibration import SWEEP_HISTORY

import popgen_hub
from popgen_hub.contract import ModelContract, regression_summary
from popgen_hub.encoders import has_ancient_groups
from popgen_hub.encoders.inputs import n_windows, stack_windows
from popgen_hub.explain import encoded_windows  # windows read and encoded as a scan does
from popgen_hub.registry import get_contract, list_models, model_card
from popgen_hub.scoring import prepare, window_starts
from popgen_hub.scoring.score import STAGES

ROOT = Path(__file__).resolve().parents[1]
CARDS = ROOT / "cards"
EXAMPLE_VCF = Path(popgen_hub.__file__).parent / "data" / "example_sweep.vcf.gz"
TEMPORAL_VCF = ROOT / "tests" / "data" / "temporal_loci.vcf.gz"
TEMPORAL_SAMPLES = ROOT / "tests" / "data" / "temporal_loci.samples.tsv"
SMOKE = {"windows": 32, "repeats": 1, "threads": "1,2", "region_bp": 200_000,
         "bam_bp": 150_000}
#: the reads of the likelihood input: diploids, mean depth, seed
BAM_INDIVIDUALS, BAM_DEPTH, BAM_SEED = 20, 4.0, 1
DASH = "—"


# --------------------------------------------------------------------- what the cards say

def family(contract: ModelContract) -> str:
    """The architecture in words: the description's opening words up to "network" or
    "autoencoder" (e.g. "ImaGene's convolutional network"), else the architecture's name."""
    found = re.match(r"(?:(?:an?|the)\s+)?(.{1,60}?\b(?:network|autoencoder))\b",
                     contract.description, re.I)
    return found.group(1) if found else f"`{contract.architecture}`"


def task(name: str, contract: ModelContract) -> str:
    """The card's model-index task name (the README's YAML front matter), else the classes."""
    text = model_card(name) or ""
    if text.startswith("---"):
        front = yaml.safe_load(text.split("---", 2)[1]) or {}
        for entry in front.get("model-index", []):
            for result in entry.get("results", []):
                if result.get("task", {}).get("name"):
                    return " ".join(result["task"]["name"].split())
    if contract.output_kind == "embedding":
        return f"per-sample embedding ({', '.join(contract.labels)}), `popgen-hub embed`"
    return " / ".join(contract.labels)


def data_kind(model: popgen_hub.Model) -> str:
    """What the model reads: kind, accepted sample size, depth, sample groups, window."""
    spec = model.contract.input
    low, high = spec.sample_size
    count = (f"{low}" if low == high else f"{low}-{high}") if high else f"{low} or more"
    text = (f"phased haplotypes, {count}" if spec.data_kind == "haplotypes" else
            f"{spec.data_kind} of {count} individuals")
    if spec.depth != [None, None]:
        text += f" at {spec.depth[0]:g}-{spec.depth[1]:g}x"
    if has_ancient_groups(model.encoder):
        text += ", present-day + dated ancient (sample table with ages)"
    if model.contract.output_kind == "embedding":
        return f"{text}; a region of any length"
    return f"{text}; {spec.window_bp / 1000:g} kb windows"


def held_out(contract: ModelContract) -> dict[str, Any] | None:
    """The contract's test accuracy and n, and each class's recall from the confusion
    matrix's counts; a regression's Pearson r and RMSE (None when the contract records no
    test figures)."""
    test = contract.metrics.get("test")
    if contract.output_kind == "regression" and test:
        return {key: test[key] for key in ("pearson", "rmse", "n", "log10")} | {"recall": {}}
    accuracy = contract.test_accuracy()
    if accuracy is None:
        return None
    test = contract.metrics["test"]
    counts = np.asarray(test.get("confusion_matrix", []), dtype=float)
    recall = ({label: float(row[i] / row.sum()) for i, (label, row) in
               enumerate(zip(test.get("labels", contract.labels), counts, strict=True))
               if row.sum()} if counts.ndim == 2 else {})
    return {"accuracy": accuracy[0], "n": accuracy[1], "recall": recall}


def markdown_tables(text: str) -> list[list[dict[str, str]]]:
    """Every pipe table of a Markdown text, as rows keyed by the header's cells."""
    tables: list[list[dict[str, str]]] = []
    for block in re.split(r"\n(?!\|)", text):  # runs of consecutive lines starting with |
        lines = [[c.strip() for c in line.strip().strip("|").split("|")]
                 for line in block.strip().splitlines() if line.startswith("|")]
        if len(lines) > 1 and all(set(cell) <= set(":-") for cell in lines[1]):
            tables.append([dict(zip(lines[0], row, strict=False)) for row in lines[2:]])
    return tables


def share(cell: str) -> float:
    """A table's "12.5 %" as 0.125."""
    return round(float(cell.rstrip(" %")) / 100, 6)


def misspecification(name: str) -> dict[str, Any]:
    """From ``cards/NAME.matrix.md``: the largest share of neutral windows with P > 0.5 over
    the held-out histories (and its case, and how many matrices it is the largest of), and the
    pooled power at P > 0.5 of sweeps with 2Ns >= 300 ended <= 500 generations ago in the
    constant history, over all its matrices (the likelihood model's: one per read depth);
    absent parts are left out."""
    path = CARDS / f"{name}.matrix.md"
    if not path.is_file():
        return {}
    figures: dict[str, Any] = {"source": str(path.relative_to(ROOT))}
    neutral, matrices = None, 0  # the worst held-out case so far, of how many matrices
    found, n = 0.0, 0  # strong recent sweeps called, of those planted
    # the model's own tables: a matrix may hold other models' too, measured beside it
    own = "".join(part for part in re.split(r"^(?=### )", path.read_text(), flags=re.M)
                  if not part.startswith("### ") or part.startswith(f"### {name}:"))
    for rows in markdown_tables(own):
        if rows and {"case", "set", "share P>0.5"} <= rows[0].keys():
            held = [r for r in rows if r["set"] == "held-out"]
            if held:
                matrices += 1
                worst = max(held, key=lambda r: share(r["share P>0.5"]))
                if neutral is None or share(worst["share P>0.5"]) >= neutral["share"]:
                    neutral = {"share": share(worst["share P>0.5"]), "case": worst["case"],
                               "cases": len(held)}
        if rows and {"2Ns", "age (gen.)", "replicates", "power P>0.5"} <= rows[0].keys():
            strong = [r for r in rows if float(r["2Ns"]) >= 300 and float(r["age (gen.)"]) <= 500
                      and r.get("history", SWEEP_HISTORY) == SWEEP_HISTORY]
            n += sum(int(r["replicates"]) for r in strong)
            found += sum(share(r["power P>0.5"]) * int(r["replicates"]) for r in strong)
    if neutral:
        figures["neutral_p05_max"] = {**neutral, "matrices": matrices}
    if n:
        figures["power_p05"] = {"share": round(found / n, 6), "replicates": n}
    return figures


# --------------------------------------------------------------------------------- inputs

@dataclass
class Input:
    """An input some models read: ``make()`` gives what ``prepare`` opens (a path, or a
    reader), ``options`` the scan's options for it."""

    name: str
    about: str
    make: Callable[[], Any]
    options: dict[str, Any] = field(default_factory=dict)


def simulated_bams(out: Path, length: int) -> Any:
    """A reader of BAMs of BAM_INDIVIDUALS neutral msprime diploids over ``length`` bp at
    BAM_DEPTH (hub/simulate/reads.py, as tests/test_bam_sweep.py makes them), made on first
    use and kept under ``out``."""
    from popgen_hub.readers.bam import BamReader

    folder = out / f"bams_{length}bp_{BAM_INDIVIDUALS}x{BAM_DEPTH:g}_seed{BAM_SEED}"
    names = [folder / f"ind{i}.bam" for i in range(BAM_INDIVIDUALS)]
    if not all(p.with_name(p.name + ".bai").is_file() for p in names):
        import msprime

        from popgen_hub.simulate.reads import write_bams

        ts = msprime.sim_ancestry(samples=BAM_INDIVIDUALS, population_size=10_000,
                                  sequence_length=length, recombination_rate=1e-8,
                                  random_seed=BAM_SEED)
        ts = msprime.sim_mutations(ts, rate=1.5e-8, random_seed=BAM_SEED)
        haplotypes = ts.genotype_matrix()
        positions = ts.tables.sites.position.astype(np.int64)
        keep = (haplotypes.max(axis=1) == 1) & (np.diff(positions, prepend=-1) > 0)
        write_bams(folder, haplotypes[keep, 0::2] + haplotypes[keep, 1::2], positions[keep],
                   length=length, depth=BAM_DEPTH, seed=BAM_SEED)
    return BamReader(names, reference=folder / "ref.fa")


def inputs(out: Path, region_bp: int | None, bam_bp: int) -> list[Input]:
    """The inputs tried, in order: the first one a model reads windows of serves it."""
    region = {"region": f"chr1:1-{region_bp}"} if region_bp else {}
    return [
        Input("example", f"{EXAMPLE_VCF.name} (hub/data: 64 phased diploids, a sweep "
                         f"simulated at its centre){', ' + region['region'] if region else ''}",
              lambda: EXAMPLE_VCF, region),
        Input("temporal", f"tests/data/{TEMPORAL_VCF.name} with {TEMPORAL_SAMPLES.name} "
                          f"(present-day and dated ancient haplotypes, 150 kb)",
              lambda: TEMPORAL_VCF, {"samples": TEMPORAL_SAMPLES}),
        Input("bams", f"{BAM_INDIVIDUALS} BAMs of simulated reads at {BAM_DEPTH:g}x, "
                      f"{bam_bp / 1000:g} kb of neutral msprime diploids (seed {BAM_SEED})",
              lambda: simulated_bams(out, bam_bp)),
    ]


# ------------------------------------------------------------------------------ measuring

def encoded_batches(job: Any, count: int, batch_size: int) -> list[dict[str, np.ndarray]]:
    """``count`` windows of the job's first region that have the contract's informative
    sites, encoded (cycled when the input has fewer), stacked into batches as a scan does."""
    region = job.regions[0]
    least = job.model.contract.input.min_sites
    windows = [encoded for _, _, encoded, informative in encoded_windows(
        job, window_starts(region, job.window, job.step)) if informative >= least]
    if not windows:
        return []
    chosen = list(islice(cycle(windows), count))
    return [stack_windows(chosen[i:i + batch_size]) for i in range(0, count, batch_size)]


def inference_rate(model: popgen_hub.Model, batches: list[dict[str, np.ndarray]]) -> float:
    """Windows per second through ``Model.predict``, after one warm-up batch."""
    model.predict(batches[0])
    started = time.perf_counter()
    for batch in batches:
        model.predict(batch)
    return sum(map(n_windows, batches)) / (time.perf_counter() - started)


def scan_figures(model: popgen_hub.Model, chosen: Input, batch_size: int) -> dict[str, Any]:
    """One ``Model.score`` of the input: windows read per second, and the stages' seconds."""
    started = time.perf_counter()
    result = model.score(chosen.make(), batch_size=batch_size, progress=False,
                         **chosen.options)
    seconds = time.perf_counter() - started
    windows = result.windows
    return {"seconds": seconds, "windows": len(windows),
            "scored": int(np.isfinite(windows["probabilities"]).all(axis=1).sum()),
            "windows_per_s": len(windows) / seconds, "stage_s": dict(result.times)}


def embedding_figures(model: popgen_hub.Model, chosen: Input, repeats: int
                      ) -> dict[str, Any]:
    """An embedding model (``popgen-hub embed``): its rows are samples, not windows. Samples
    per second through ``Model.predict`` (their principal-axis scores, computed once), and
    of the whole ``embed`` pass (read, Gram matrix, scores, encoder)."""
    from popgen_hub.embed import embed_pretrained, open_input, read_genotypes

    passes, scores = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        reader, regions, selection = open_input(chosen.make(), None,
                                                chosen.options.get("region"))
        read = read_genotypes(reader, regions, selection, model.encoder)
        embed_pretrained(model, read, {})
        passes.append(time.perf_counter() - started)
        scores = read.gram.scores()
    batch = {model.contract.input.names[0]: scores}
    return {"inference_windows_per_s": inference_rate(model, [batch] * 20),
            "scan": {"seconds": statistics.median(passes), "windows": len(scores),
                     "windows_per_s": len(scores) / statistics.median(passes)},
            "scan_seconds_runs": passes}


def first_readable(model: popgen_hub.Model, candidates: list[Input], windows: int,
                   batch_size: int) -> tuple[Input | None, list[dict[str, np.ndarray]], str]:
    """The first input the model reads windows of (``prepare`` accepts it, and reading gives
    windows with enough informative sites), those windows encoded in batches, and why the
    inputs before it were not taken."""
    refused = []
    for candidate in candidates:
        try:
            job = prepare(model, candidate.make(), batch_size=batch_size, progress=False,
                          **candidate.options)
            batches = encoded_batches(job, windows, batch_size)
        except popgen_hub.PopgenHubError as exc:
            refused.append(f"{candidate.name}: {exc}")
            continue
        if batches:
            return candidate, batches, "; ".join(refused)
        refused.append(f"{candidate.name}: no window has the contract's "
                       f"{model.contract.input.min_sites} informative sites")
    return None, [], "; ".join(refused)


def threshold_text(contract: ModelContract) -> str:
    """A classifier's decision threshold as its scans call windows (the contract's, or 0.5),
    those chosen at other numbers of individuals, and what it finds where the contract says."""
    threshold = contract.decision_threshold()
    if threshold is None:
        return DASH
    at = f" at {threshold.individuals} individuals" if threshold.by_individuals else ""
    found = f"; finds {threshold.power.text()}" if threshold.power else ""
    sizes = "".join(f"; {other.value:g} at {other.individuals}"
                    + (f", finds {other.power.found} of {other.power.of}" if other.power else "")
                    for other in threshold.others_by_size())
    return threshold.text() + ("" if threshold.stored else " (default)") + at + found + sizes


def measure(name: str, args: argparse.Namespace, candidates: list[Input]) -> dict[str, Any]:
    """One model's row: what its contract and cards say, and its speeds by thread count."""
    contract = get_contract(name)
    row: dict[str, Any] = {"model": name, "architecture": contract.architecture,
                           "family": family(contract), "task": task(name, contract),
                           "output": contract.output_kind, "held_out": held_out(contract),
                           "misspecification": misspecification(name), "speed": {},
                           "decision_threshold": threshold_text(contract)}
    chosen, batches = None, []
    for threads in args.threads:
        model = popgen_hub.load(name, device="cpu", threads=threads)
        row["data"] = data_kind(model)
        if contract.output_kind == "embedding":
            row["input"] = "embedding"
            row["speed"][str(threads)] = embedding_figures(model, candidates[0], args.repeats)
            continue
        if chosen is None:
            chosen, batches, refused = first_readable(model, candidates, args.windows,
                                                      args.batch_size)
            if chosen is None:
                row["not_measured"] = f"no input it can read ({refused})"
                return row
            row["input"] = chosen.name
        runs = [inference_rate(model, batches) for _ in range(args.repeats)]
        scans = [scan_figures(model, chosen, args.batch_size) for _ in range(args.repeats)]
        middle = sorted(scans, key=lambda s: s["seconds"])[len(scans) // 2]
        row["speed"][str(threads)] = {
            "inference_windows_per_s": statistics.median(runs), "inference_runs": runs,
            "inference_windows": args.windows, "scan": middle,
            "scan_seconds_runs": [s["seconds"] for s in scans]}
    return row


# -------------------------------------------------------------------------------- writing

def rate(value: float | None) -> str:
    return DASH if value is None else f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def cells(row: dict[str, Any], threads: list[int], notes: dict[str, int]) -> list[str]:
    """The table's cells of one row (footnote numbers added to ``notes``)."""
    held = row["held_out"]
    figures = row["misspecification"]
    neutral, power = figures.get("neutral_p05_max"), figures.get("power_p05")
    speed = row["speed"]
    note = row.get("not_measured") or f"input:{row['input']}"  # every row has one of them
    model = f"`{row['model']}` [{notes.setdefault(note, len(notes) + 1)}]"
    return [
        model, row["family"], row["task"], row.get("data", DASH),
        held_text(held),
        ", ".join(f"{label} {share:.2f}" for label, share in held["recall"].items())
        if held and held["recall"] else DASH,
        f"{100 * neutral['share']:.1f} % ({neutral['case']}; max of {neutral['cases']} cases"
        + (f" x {neutral['matrices']} matrices)" if neutral["matrices"] > 1 else ")")
        if neutral else DASH,
        f"{100 * power['share']:.0f} % (n = {power['replicates']})" if power else DASH,
        row["decision_threshold"],
        *(rate(speed.get(str(t), {}).get("inference_windows_per_s")) for t in threads),
        *(rate(speed.get(str(t), {}).get("scan", {}).get("windows_per_s")) for t in threads),
    ]


def held_text(held: dict[str, Any] | None) -> str:
    """A classifier's accuracy, or a regression's correlation and error, with n."""
    if held is None:
        return DASH
    if "pearson" in held:
        return regression_summary(held)
    return f"{held['accuracy']:.3f} (n = {held['n']:,})"


def markdown(rows: list[dict[str, Any]], args: argparse.Namespace,
             candidates: list[Input]) -> str:
    threads = args.threads
    header = ["model", "family", "task", "data", "held-out accuracy (a regression: r, RMSE)",
              "held-out recall by class",
              "neutral windows P>0.5, held-out histories", "power P>0.5, 2Ns>=300, <=500 gen.",
              "decision threshold",
              *(f"inference win/s, {t} thr." for t in threads),
              *(f"scan win/s, {t} thr." for t in threads)]
    notes: dict[str, int] = {}
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    lines += ["| " + " | ".join(cells(row, threads, notes)) + " |" for row in rows]
    about = {f"input:{c.name}": c.about for c in candidates}
    about["input:embedding"] = (f"the samples of {candidates[0].about}, read as `popgen-hub "
                                f"embed` reads them: an embedding model's rows are samples, so "
                                f"its speeds are samples/s (scan: the whole embed pass)")
    lines += [""] + [f"[{number}] " + (f"measured on {about[text]}" if text in about else
                                       f"not measured: {text}") for text, number in notes.items()]
    lines += ["", f"Scans with {threads[0]} thread(s), seconds by stage (`ScanResult.times`):", "",
              "| model | windows | scored | seconds | " + " | ".join(STAGES) + " |",
              "|---" * (4 + len(STAGES)) + "|"]
    for row in rows:
        scan = row["speed"].get(str(threads[0]), {}).get("scan")
        if scan and "stage_s" in scan:
            lines.append(f"| `{row['model']}` | {scan['windows']} | {scan['scored']} | "
                         f"{scan['seconds']:.2f} | " + " | ".join(
                             f"{scan['stage_s'].get(stage, 0.0):.2f}" for stage in STAGES) + " |")
    lines.append(
        f"\nSpeeds: onnxruntime {onnxruntime.__version__} on CPU, {os.cpu_count()} cores (load "
        f"average {args.load:.2f} at the start: other work shares these cores); inference: "
        f"{args.windows} encoded windows in batches of {args.batch_size}; scan: `Model.score` "
        f"of the whole input (read, encode, statistics, infer; no files written); medians of "
        f"{args.repeats} run(s). Held-out figures: the contract's test split; misspecification: "
        f"cards/MODEL.matrix.md (benchmarks/calibration.py), {DASH} where it has no such "
        f"table.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", metavar="NAME",
                        help="only these bundled models (default: every one `list` shows)")
    parser.add_argument("--windows", type=int, default=512,
                        help="encoded windows scored per inference run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", default="1,2", help="onnxruntime thread counts")
    parser.add_argument("--batch-size", type=int, default=32, help="windows per batch")
    parser.add_argument("--region-bp", type=int, default=None,
                        help="scan only the first BP of the example VCF (default: all 2 Mb)")
    parser.add_argument("--bam-bp", type=int, default=400_000,
                        help="length of the simulated reads for likelihood models")
    parser.add_argument("--out", type=Path, help="write zoo.md and zoo.json there")
    parser.add_argument("--smoke", action="store_true",
                        help=f"{SMOKE['windows']} windows, one run, short inputs: checks that "
                             f"the benchmark works")
    args = parser.parse_args()
    if args.smoke:
        for key, value in SMOKE.items():
            setattr(args, key, value)
    args.threads = [int(t) for t in str(args.threads).split(",")]
    names = args.models or list_models()
    unknown = sorted(set(names) - set(list_models()))
    if unknown:
        parser.error(f"--models {' '.join(unknown)}: not bundled (see `popgen-hub list`)")
    work = args.out or ROOT / "build" / "zoo"
    work.mkdir(parents=True, exist_ok=True)
    candidates = inputs(work, args.region_bp, args.bam_bp)
    args.load = os.getloadavg()[0]
    started = time.perf_counter()
    rows = [measure(name, args, candidates) for name in names]
    table = markdown(rows, args, candidates)
    print(table)
    print(f"\n({time.perf_counter() - started:.0f} s)")
    if args.out:
        (args.out / "zoo.md").write_text(table + "\n")
        (args.out / "zoo.json").write_text(json.dumps(
            {"threads": args.threads, "windows": args.windows, "repeats": args.repeats,
             "batch_size": args.batch_size, "cpu_count": os.cpu_count(),
             "onnxruntime": onnxruntime.__version__, "load_average_at_start": args.load,
             "inputs": {c.name: c.about for c in candidates}, "models": rows},
            indent=1, default=str) + "\n")


if __name__ == "__main__":
    main()
