"""Scan throughput of the bundled sweep model against the time bcftools takes to decode the file.

Builds each input with `popgen-hub simulate imagene_sweep --vcf` from a fixed seed, length and
sample count (kept under the output folder and reused), so that every figure quoted refers to
the same data: by default 20 and 80 Mb of 1,000 haplotypes and 20 Mb of 5,000. Each is also
converted to BCF, and for each file and worker count the benchmark reports the decode time
(`bcftools view -Ou FILE > /dev/null`), the scan time (`popgen_hub.load(MODEL).scan(...)`, the
public API, timed around the call alone), their ratio, windows/s, SNPs/s, peak memory and the
seconds by stage (read, encode, statistics, infer, write: `ScanResult.times`, summed over the
workers, so with two workers they add up to more than the wall time). Worker counts `daskN`
send the scan to a Dask cluster of N single-threaded worker processes on this machine
(`scan --scheduler`), started once, so that its workers keep the model's session between runs
as a standing cluster would. Medians of --repeats runs; prints a Markdown table and writes
OUT/scan.json. Measures; asserts nothing.

Each scan runs in a fresh Python process, so that its memory is its own. Peak memory is
reported twice: "scan proc" is the high-water mark of the resident memory of the scanning
process (getrusage ru_maxrss: exact, and it includes the imports and the loaded model);
"all procs" is the largest sum of the proportional set sizes (shared pages counted once) of
that process and every process under it (the workers of --workers N, or the Dask cluster's,
and the bcftools decoding beside them), sampled every 0.25 s from /proc (often enough for a
scan's steady memory; more often slows the scan), so a short peak can be missed.

    python benchmarks/scan.py [--cases 20000000x500,80000000x500,20000000x2500] [--seed 1]
                              [--workers 1,2,dask2] [--repeats 3]
    python benchmarks/scan.py --smoke   # tiny input, same code path, a few seconds
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL = "imagene_cnn.sweep_hsap_eur"
CASES = "20000000x500,80000000x500,20000000x2500"  # length (bp) x diploid samples
SMOKE = {"cases": "300000x64", "repeats": 1, "workers": "1,2,dask2"}
STAGES = ("read", "encode", "statistics", "infer", "write")
#: seconds between memory samples: the kernel walks a process's pages to give its PSS, which
#: slows the process measured when done too often
PSS_EVERY = 0.25


def simulated_vcf(out: Path, length: int, samples: int, seed: int) -> Path:
    """The benchmark's input: a sweep in the middle of ``length`` bp, ``samples`` diploids."""
    path = out / f"sweep_{length}bp_{samples}samples_seed{seed}.vcf.gz"
    if not path.with_name(path.name + ".tbi").exists():
        run([sys.executable, "-m", "popgen_hub", "simulate", "imagene_sweep", "--vcf", str(path),
             "--length", str(length), "--sweep-at", str(length // 2), "--seed", str(seed),
             "--param", f"n_haplotypes={2 * samples}", "-q"])
    return path


def as_bcf(vcf: Path) -> Path:
    bcf = vcf.with_name(vcf.name.replace(".vcf.gz", ".bcf"))
    if not bcf.with_name(bcf.name + ".csi").exists():
        run(["bcftools", "view", "-Ob", "-o", str(bcf), str(vcf)])
        run(["bcftools", "index", "-f", str(bcf)])
    return bcf


def run(command: list[str]) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr}")
    return result


def count_snps(vcf: Path) -> int:
    """Biallelic SNP records (what the model reads), counted by bcftools without genotypes."""
    out = run(["bcftools", "view", "-H", "-G", "-v", "snps", "-m2", "-M2", str(vcf)]).stdout
    return out.count("\n")


def decode_seconds(path: Path) -> float:
    """Wall time of `bcftools view -Ou FILE > /dev/null`: decompress and parse every record."""
    started = time.perf_counter()
    subprocess.run(["bcftools", "view", "-Ou", str(path)], stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def _tree_pss_mib(pid: int) -> float:
    """Memory of a process and all its descendants (Linux /proc), each process's proportional
    set size: pages shared between them (libraries, a forked parent's pages before exec)
    counted once, not once per process as a sum of resident sizes would."""
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            rollup = Path(f"/proc/{current}/smaps_rollup").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:  # the process just ended
            continue
        total += next((int(line.split()[1]) for line in rollup.splitlines()
                       if line.startswith("Pss:")), 0) / 1024  # none once a zombie
        todo += map(int, children)
    return total


def scan_in_child(path: Path, out: Path, workers: int, batch_size: int,
                  region: str | None, cluster: LocalDask | None = None) -> dict:
    """One scan in a fresh interpreter (see ``child``): its figures plus the sampled peak
    (with a ``cluster``, of the scanning process and the cluster's workers)."""
    job = {"vcf": str(path), "out": str(out), "workers": workers, "batch_size": batch_size,
           "region": region, "scheduler": cluster.address if cluster else None}
    process = subprocess.Popen([sys.executable, __file__, "--child", json.dumps(job)],
                               stdout=subprocess.PIPE, text=True)
    peak = 0.0
    while process.poll() is None:
        peak = max(peak, sum(_tree_pss_mib(pid)
                             for pid in [process.pid, *(cluster.pids if cluster else [])]))
        time.sleep(PSS_EVERY)
    stdout = process.stdout.read()
    if process.returncode:
        raise SystemExit(f"the scan of {path.name} failed with exit code {process.returncode}")
    figures = json.loads(stdout.strip().splitlines()[-1])
    figures["tree_peak_mib"] = max(peak, figures["maxrss_mib"])
    return figures


class LocalDask:
    """A Dask ``LocalCluster`` of ``n`` single-threaded worker processes on this machine, as
    `dask worker --nworkers N --nthreads 1` starts them, for the `daskN` worker counts."""

    def __init__(self, n: int) -> None:
        from distributed import Client, LocalCluster

        self.cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                    dashboard_address=None)
        self.address = self.cluster.scheduler_address
        with Client(self.address) as client:
            self.pids = list(client.run(os.getpid).values())

    def close(self) -> None:
        self.cluster.close()


def child(job: dict) -> None:
    """Load the model and scan once through the public API; print the figures as JSON."""
    import numpy as np

    import popgen_hub

    started = time.perf_counter()
    model = popgen_hub.load(MODEL, device="cpu")
    loaded = time.perf_counter()
    result = model.scan(job["vcf"], job["out"], region=job["region"], workers=job["workers"],
                        batch_size=job["batch_size"], scheduler=job.get("scheduler"),
                        progress=False)
    scanned = time.perf_counter()
    windows = result.windows
    print(json.dumps({
        "load_s": loaded - started, "scan_s": scanned - loaded, "windows": len(windows),
        "scored": int(np.isfinite(windows["probabilities"]).all(axis=1).sum()),
        "stage_s": result.times,
        "outputs": len(result.outputs),
        "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def measure(args: argparse.Namespace, cases: list[tuple[int, ...]], workers: list[str],
            clusters: dict[str, LocalDask]) -> tuple[list[dict], list[dict]]:
    """Build each case's input, then decode and scan it every way: the rows and the inputs."""
    rows, inputs = [], []
    for length, samples in cases:
        vcf = simulated_vcf(args.out, length, samples, args.seed)
        snps = count_snps(vcf)
        inputs.append({"vcf": vcf.name, "length_bp": length, "samples": samples,
                       "snps": snps})
        print(f"input: {vcf.name}: {length:,} bp, {samples} diploid samples, seed "
              f"{args.seed}, {snps:,} biallelic SNPs; model {MODEL}, batch {args.batch_size}"
              + (f", region {args.region}" if args.region else ""))
        for path in (vcf, as_bcf(vcf)):
            decode = statistics.median(decode_seconds(path) for _ in range(args.repeats))
            for count in workers:
                cluster = clusters.get(count)
                runs = [scan_in_child(path, args.out / "scan", 1 if cluster else int(count),
                                      args.batch_size, args.region, cluster)
                        for _ in range(args.repeats)]
                scan = statistics.median(r["scan_s"] for r in runs)
                windows = runs[0]["windows"]
                rows.append({
                    "input": path.name, "format": "BCF" if path.suffix == ".bcf" else "VCF.gz",
                    "length_bp": length, "haplotypes": 2 * samples, "snps": snps,
                    "workers": count, "decode_s": decode, "scan_s": scan,
                    "scan_s_all": [r["scan_s"] for r in runs], "load_s": runs[0]["load_s"],
                    "scan_over_decode": scan / decode, "windows": windows,
                    "scored_windows": runs[0]["scored"], "windows_per_s": windows / scan,
                    "snps_per_s": snps / scan,
                    "stage_s": {stage: statistics.median(r["stage_s"].get(stage, 0.0)
                                                         for r in runs) for stage in STAGES},
                    "peak_rss_scan_process_mib": max(r["maxrss_mib"] for r in runs),
                    "peak_pss_all_processes_mib": max(r["tree_peak_mib"] for r in runs)})
    return rows, inputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=CASES,
                        help="inputs as LENGTHxSAMPLES (bp x diploid samples), comma-separated")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", default="1,2,dask2",
                        help="worker counts to scan with: N local processes, or daskN: a local "
                             "Dask cluster of N worker processes (`scan --scheduler`)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--region", help="scan only this region (default: the whole contig)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench",
                        help="where the inputs, the scan outputs and scan.json go")
    parser.add_argument("--smoke", action="store_true",
                        help=f"tiny input ({SMOKE['cases']}), one run each: checks that the "
                             f"benchmark works")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(json.loads(args.child))
    if args.smoke:
        for key, value in SMOKE.items():
            setattr(args, key, value)
        args.out = args.out / "smoke" if args.out == ROOT / "build" / "bench" else args.out
    args.out.mkdir(parents=True, exist_ok=True)
    workers = args.workers.split(",")
    clusters = {w: LocalDask(int(w[4:])) for w in workers if w.startswith("dask")}
    cases = [tuple(int(n) for n in case.split("x")) for case in args.cases.split(",")]

    try:
        rows, inputs = measure(args, cases, workers, clusters)
    finally:
        for cluster in clusters.values():
            cluster.close()
    (args.out / "scan.json").write_text(json.dumps(
        {"model": MODEL, "seed": args.seed, "inputs": inputs, "batch_size": args.batch_size,
         "region": args.region, "repeats": args.repeats, "runs": rows}, indent=2) + "\n")

    print("\n| input | Mb | haplotypes | workers | decode s | scan s | scan / decode | windows | "
          "windows/s | SNPs/s | peak MiB (scan proc) | peak MiB (all procs) | "
          + " | ".join(f"{stage} s" for stage in STAGES) + " |")
    print("|---" * (12 + len(STAGES)) + "|")
    for r in rows:
        print(f"| {r['format']} | {r['length_bp'] / 1e6:g} | {r['haplotypes']} | "
              f"{r['workers']} | {r['decode_s']:.3f} | {r['scan_s']:.3f} | "
              f"{r['scan_over_decode']:.2f}x | {r['windows']} | {r['windows_per_s']:.1f} | "
              f"{r['snps_per_s']:.0f} | {r['peak_rss_scan_process_mib']:.0f} | "
              f"{r['peak_pss_all_processes_mib']:.0f} | "
              + " | ".join(f"{r['stage_s'][stage]:.3f}" for stage in STAGES) + " |")
    print(f"\n(median of {args.repeats} run(s); scan s: the scan call alone, model already "
          f"loaded; decode s: `bcftools view -Ou FILE > /dev/null`; stage s: summed over the "
          f"workers; peak MiB: see benchmarks/scan.py; wrote {args.out / 'scan.json'})")


if __name__ == "__main__":
    main()
