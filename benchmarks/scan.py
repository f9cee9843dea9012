"""Scan throughput of the bundled sweep model against the time bcftools takes to decode the file.

Builds its input with `popgen-hub simulate imagene_sweep --vcf` from a fixed seed, length and
sample count (kept under the output folder and reused), converts it to BCF, and for each input
and worker count reports: the decode time (`bcftools view -Ou FILE > /dev/null`), the scan time
(`popgen_hub.load(MODEL).scan(...)`, the public API, timed around the call alone), their ratio,
windows/s, SNPs/s and peak memory. Medians of --repeats runs; prints a Markdown table and writes
OUT/scan.json. Measures; asserts nothing.

Each scan runs in a fresh Python process, so that its memory is its own. Peak memory is
reported twice: "scan proc" is the high-water mark of the resident memory of the scanning
process (getrusage ru_maxrss: exact, and it includes the imports and the loaded model);
"all procs" is the largest sum of the resident memory of that process and every process under
it (the workers of --workers N), sampled every 20 ms from /proc, so a short peak can be missed.

    python benchmarks/scan.py [--length 20000000] [--samples 500] [--seed 1] [--workers 1,2]
    python benchmarks/scan.py --smoke   # tiny input, same code path, a few seconds
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL = "imagene_cnn.sweep_hsap_eur"
SMOKE = {"length": 300_000, "samples": 64, "repeats": 1, "workers": "1,2"}


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


def _tree_rss_mib(pid: int) -> float:
    """Resident memory of a process and all its descendants (Linux /proc)."""
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:  # the process just ended
            continue
        total += next((int(line.split()[1]) for line in status.splitlines()
                       if line.startswith("VmRSS:")), 0) / 1024  # none once a zombie
        todo += map(int, children)
    return total


def scan_in_child(path: Path, out: Path, workers: int, batch_size: int,
                  region: str | None) -> dict:
    """One scan in a fresh interpreter (see ``child``): its figures plus the sampled peak."""
    job = {"vcf": str(path), "out": str(out), "workers": workers, "batch_size": batch_size,
           "region": region}
    process = subprocess.Popen([sys.executable, __file__, "--child", json.dumps(job)],
                               stdout=subprocess.PIPE, text=True)
    peak = 0.0
    while process.poll() is None:
        peak = max(peak, _tree_rss_mib(process.pid))
        time.sleep(0.02)
    stdout = process.stdout.read()
    if process.returncode:
        raise SystemExit(f"the scan of {path.name} failed with exit code {process.returncode}")
    figures = json.loads(stdout.strip().splitlines()[-1])
    figures["tree_peak_mib"] = max(peak, figures["maxrss_mib"])
    return figures


def child(job: dict) -> None:
    """Load the model and scan once through the public API; print the figures as JSON."""
    import numpy as np

    import popgen_hub

    started = time.perf_counter()
    model = popgen_hub.load(MODEL, device="cpu")
    loaded = time.perf_counter()
    result = model.scan(job["vcf"], job["out"], region=job["region"], workers=job["workers"],
                        batch_size=job["batch_size"], progress=False)
    scanned = time.perf_counter()
    windows = result.windows
    print(json.dumps({
        "load_s": loaded - started, "scan_s": scanned - loaded, "windows": len(windows),
        "scored": int(np.isfinite(windows["probabilities"]).all(axis=1).sum()),
        "outputs": len(result.outputs),
        "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=20_000_000, help="bp simulated")
    parser.add_argument("--samples", type=int, default=500, help="diploid samples simulated")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", default="1,2", help="worker counts to scan with")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--region", help="scan only this region (default: the whole contig)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench",
                        help="where the input, the scan outputs and scan.json go")
    parser.add_argument("--smoke", action="store_true",
                        help=f"tiny input ({SMOKE['length']:,} bp, {SMOKE['samples']} samples), "
                             f"one run each: checks that the benchmark works")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(json.loads(args.child))
    if args.smoke:
        for key, value in SMOKE.items():
            setattr(args, key, value)
        args.out = args.out / "smoke" if args.out == ROOT / "build" / "bench" else args.out
    args.out.mkdir(parents=True, exist_ok=True)
    workers = [int(w) for w in args.workers.split(",")]

    vcf = simulated_vcf(args.out, args.length, args.samples, args.seed)
    snps = count_snps(vcf)
    print(f"input: {vcf.name}: {args.length:,} bp, {args.samples} diploid samples, seed "
          f"{args.seed}, {snps:,} biallelic SNPs; model {MODEL}, batch {args.batch_size}"
          + (f", region {args.region}" if args.region else ""))
    rows = []
    for path in (vcf, as_bcf(vcf)):
        decode = statistics.median(decode_seconds(path) for _ in range(args.repeats))
        for count in workers:
            runs = [scan_in_child(path, args.out / "scan", count, args.batch_size, args.region)
                    for _ in range(args.repeats)]
            scan = statistics.median(r["scan_s"] for r in runs)
            windows = runs[0]["windows"]
            rows.append({
                "input": path.name, "format": "BCF" if path.suffix == ".bcf" else "VCF.gz",
                "workers": count, "decode_s": decode, "scan_s": scan,
                "scan_s_all": [r["scan_s"] for r in runs], "load_s": runs[0]["load_s"],
                "scan_over_decode": scan / decode, "windows": windows,
                "scored_windows": runs[0]["scored"], "windows_per_s": windows / scan,
                "snps_per_s": snps / scan,
                "peak_rss_scan_process_mib": max(r["maxrss_mib"] for r in runs),
                "peak_rss_all_processes_mib": max(r["tree_peak_mib"] for r in runs)})
    (args.out / "scan.json").write_text(json.dumps(
        {"model": MODEL, "length_bp": args.length, "samples": args.samples, "seed": args.seed,
         "snps": snps, "batch_size": args.batch_size, "region": args.region,
         "repeats": args.repeats, "runs": rows}, indent=2) + "\n")

    print("\n| input | workers | decode s | scan s | scan / decode | windows | windows/s | "
          "SNPs/s | peak MiB (scan proc) | peak MiB (all procs) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['format']} | {r['workers']} | {r['decode_s']:.3f} | {r['scan_s']:.3f} | "
              f"{r['scan_over_decode']:.1f}x | {r['windows']} | {r['windows_per_s']:.1f} | "
              f"{r['snps_per_s']:.0f} | {r['peak_rss_scan_process_mib']:.0f} | "
              f"{r['peak_rss_all_processes_mib']:.0f} |")
    print(f"\n(median of {args.repeats} run(s); scan s: the scan call alone, model already "
          f"loaded; decode s: `bcftools view -Ou FILE > /dev/null`; peak MiB: see "
          f"benchmarks/scan.py; wrote {args.out / 'scan.json'})")


if __name__ == "__main__":
    main()
