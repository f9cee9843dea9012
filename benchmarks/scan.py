"""Scan throughput on a simulated 20 Mb VCF of 1,000 haplotypes (the conventions' test file).

Measures the whole `popgen-hub scan` on the VCF.gz and on the same data as BCF, with one and
two workers (wall time, windows/s, peak memory), and each stage on its own: reading genotypes,
windowing + encoding, onnxruntime inference. Prints a Markdown table and writes
build/bench/scan.json. Measures; asserts nothing.

    python benchmarks/scan.py [--length 20000000] [--haplotypes 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODEL = "imagene_cnn.sweep_hsap_eur"


def simulated_vcf(out: Path, length: int, haplotypes: int) -> Path:
    from popgen_hub.simulate.genome import simulate_vcf
    from popgen_hub.simulate.scenarios import get_scenario

    path = out / f"sweep_{length // 1_000_000}Mb_{haplotypes}hap.vcf.gz"
    if not path.exists():
        simulate_vcf(path, get_scenario("imagene_sweep", n_haplotypes=haplotypes),
                     length=length, seed=1, sweep_at=length // 2)
    return path


def as_bcf(vcf: Path) -> Path:
    from pysam import bcftools

    bcf = vcf.with_name(vcf.name.replace(".vcf.gz", ".bcf"))
    if not bcf.with_name(bcf.name + ".csi").exists():
        bcftools.view("-Ob", "-o", str(bcf), str(vcf), catch_stdout=False)
        bcftools.index(str(bcf))
    return bcf


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


def time_cli_scan(vcf: Path, out: Path, *extra: str) -> tuple[float, float]:
    """Wall seconds and peak memory (MiB, the scan and its workers together) of one
    `popgen-hub scan`, sampled every 50 ms."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "popgen_hub", "scan", "--vcf", str(vcf),
                                "--model", MODEL, "-q", "-o", str(out), *extra],
                               stdout=subprocess.DEVNULL)
    peak = 0.0
    while process.poll() is None:
        peak = max(peak, _tree_rss_mib(process.pid))
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    if process.returncode:
        raise SystemExit(f"scan failed with exit code {process.returncode}")
    return seconds, peak


def stage_timings(vcf: Path) -> dict[str, float]:
    import popgen_hub
    from popgen_hub.encoders import single_threaded_blas
    from popgen_hub.readers.vcf import ReadStats, VcfReader
    from popgen_hub.scan import choose_haplotypes, iter_windows

    model = popgen_hub.load(MODEL, device="cpu")
    reader = VcfReader(vcf)
    region = reader.contig_region(reader.contigs_with_records()[0])
    haplotypes = choose_haplotypes(reader.haplotype_columns(), model.contract, 0, vcf.name)
    window, step = model.contract.input.window_bp, model.contract.input.window_bp // 8

    started = time.perf_counter()
    sites = sum(len(b.positions) for b in reader.blocks(region, haplotypes, phased=True,
                                                        stats=ReadStats()))
    read = time.perf_counter() - started

    started = time.perf_counter()
    images = []
    blocks = reader.blocks(region, haplotypes, phased=True, stats=ReadStats())
    with single_threaded_blas():  # as in the scan
        for start, positions, matrix in iter_windows(blocks, region, window, step):
            images.append(model.encoder.encode(matrix.T, positions, (start, start + window)).image)
    read_and_encode = time.perf_counter() - started

    batch = np.stack(images)
    timings = {}
    for batch_size in (32, 256):
        started = time.perf_counter()
        for i in range(0, len(batch), batch_size):
            model.predict(batch[i:i + batch_size])
        timings[f"inference_batch{batch_size}_s"] = time.perf_counter() - started
    return {"sites": sites, "windows": len(images), "read_s": read,
            "encode_s": read_and_encode - read, **timings}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=20_000_000)
    parser.add_argument("--haplotypes", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    out = ROOT / "build" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    vcf = simulated_vcf(out, args.length, args.haplotypes)

    stages = stage_timings(vcf)
    result = {"vcf": vcf.name, "length_bp": args.length, "haplotypes": args.haplotypes, **stages,
              "scans": []}
    for path in (vcf, as_bcf(vcf)):
        for workers in (1, 2):
            runs = [time_cli_scan(path, out / "scan", "--workers", str(workers))
                    for _ in range(args.repeats)]
            wall = [r[0] for r in runs]
            result["scans"].append({
                "input": path.name, "workers": workers, "wall_s_median": statistics.median(wall),
                "wall_s_all": wall, "peak_rss_mib": max(r[1] for r in runs),
                "windows_per_s": stages["windows"] / statistics.median(wall)})
    (out / "scan.json").write_text(json.dumps(result, indent=2))

    print(f"| {args.length / 1e6:.0f} Mb, {args.haplotypes} haplotypes, {stages['sites']:,} SNPs,"
          f" {stages['windows']:,} windows | seconds |")
    print("|---|---|")
    for run in result["scans"]:
        kind = "BCF" if run["input"].endswith(".bcf") else "VCF.gz"
        print(f"| `popgen-hub scan` of the {kind} with "
              f"`--workers {run['workers']}`: {run['windows_per_s']:.0f} windows/s, peak memory "
              f"{run['peak_rss_mib']:.0f} MiB | {run['wall_s_median']:.1f} |")
    print(f"| stages, VCF.gz, one process: reading genotypes (128 chosen haplotypes) | "
          f"{stages['read_s']:.1f} |")
    print(f"| windowing + encoding | {stages['encode_s']:.1f} |")
    print(f"| inference, batch 32 | {stages['inference_batch32_s']:.1f} |")
    print(f"| inference, batch 256 | {stages['inference_batch256_s']:.1f} |")
    print(f"\n(whole scans: median of {args.repeats} runs, process start included)")


if __name__ == "__main__":
    main()
