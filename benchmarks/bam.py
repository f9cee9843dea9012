"""BAM reading speed: seconds per individual-megabase of turning reads into genotype likelihoods
at discovered SNPs, where the time goes, and how the bulk pileup compares with other ways of
counting bases.

Input: simulated BAMs (`popgen_hub.simulate.reads.write_bams`: 15 individuals x 2 Mb at 2x by
default, SNPs at 0.004/bp with a neutral site-frequency spectrum, reads with errors, clips and
indels; kept under the output folder and reused), or any BAM/CRAM files given with --bams.
It reports:

- the whole read (`BamReader(...).blocks` over the region, the public reader, one process):
  wall and CPU seconds (on a busy machine they differ), wall seconds per individual-Mb, SNPs
  found, recall and precision against the truth of simulated input, and the peak resident
  memory of the process (ru_maxrss, imports included; BAMs are simulated in a child process);
- where the time goes (a second run under cProfile, whose overhead inflates Python-heavy parts:
  shares, not seconds): the per-read loop over pysam records, the numpy expansion of aligned
  blocks into bases, the genotype likelihoods, the SNP test, the rest;
- other ways of counting a sub-region's bases, in seconds per individual-Mb: the bulk count used
  here; pysam's column-by-column pileup (stepper samtools, the slow path the tests compare with);
  pysam's `count_coverage` (C, but base counts without qualities, so no likelihoods);
  `bcftools mpileup` through pysam (C, computes PL itself; -B, all positions, output discarded).

Prints Markdown tables and writes OUT/bam.json. Measures; asserts nothing.

    python benchmarks/bam.py [--individuals 15] [--length 2000000] [--depth 2]
    python benchmarks/bam.py --bams DIR/*.bam --reference REF.fa   # real files
    python benchmarks/bam.py --smoke   # 3 individuals x 60 kb, same code path, a few seconds
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pysam
import pysam.bcftools

from popgen_hub.genotypes import Region
from popgen_hub.genotypes.likelihoods import SiteFilter
from popgen_hub.readers import BamReader, SampleSelection
from popgen_hub.readers.pileup import SKIPPED_FLAGS, ReadFilter, read_bases
from popgen_hub.simulate.reads import write_bams

ROOT = Path(__file__).resolve().parents[1]
SMOKE = {"individuals": 3, "length": 60_000, "compare_length": 20_000}
STAGES = {"per-read loop (pysam records)": "read_bases", "CIGARs to blocks (numpy)":
          "_aligned_blocks", "expand blocks (numpy)": "_expand",
          "genotype likelihoods": "genotype_likelihoods", "SNP test": "snp_test"}


def simulated(out: Path, individuals: int, length: int, depth: float, seed: int):
    """BAMs of a neutral-looking sample (reused when already written) and their truth."""
    rng = np.random.default_rng(seed)
    positions = np.unique(rng.integers(200, length - 200, rng.poisson(0.004 * length)))
    haplotypes = 2 * individuals
    counts = np.arange(1, haplotypes)
    derived = rng.choice(counts, len(positions), p=(1 / counts) / (1 / counts).sum())
    carriers = rng.random((len(positions), haplotypes)).argsort(axis=1) < derived[:, None]
    genotypes = carriers[:, 0::2].astype(np.int8) + carriers[:, 1::2]
    folder = out / f"sim_{individuals}x{length}_{depth}x_seed{seed}"
    if not (folder / "done").exists():  # in a child process, so that its memory is not ours
        with ProcessPoolExecutor(1) as child:
            child.submit(write_bams, folder, genotypes, positions, length=length, depth=depth,
                         seed=seed, read_length=125).result()
        (folder / "done").write_text("")
    return sorted(folder.glob("ind*.bam"), key=lambda p: int(p.stem[3:])), folder / "ref.fa", \
        positions[(genotypes.sum(axis=1) > 0) & (genotypes.sum(axis=1) < haplotypes)]


def read_all(reader: BamReader, region: Region) -> tuple[np.ndarray, dict]:
    selection = SampleSelection(tuple((s, 0) for s in reader.samples), kind="likelihoods")
    stats = reader.new_stats()
    found = [block.positions for block in reader.blocks(region, selection, stats=stats)]
    return np.concatenate(found) if found else np.zeros(0, int), stats.to_dict()


def stage_shares(reader: BamReader, region: Region) -> dict[str, float]:
    profile = cProfile.Profile()
    profile.runcall(read_all, reader, region)
    stats = pstats.Stats(profile).stats
    total = max(row[3] for row in stats.values())
    seconds = {stage: sum(row[3] for (_, _, name), row in stats.items() if name == function)
               for stage, function in STAGES.items()}
    seconds["per-read loop (pysam records)"] -= (seconds["expand blocks (numpy)"]
                                                 + seconds["CIGARs to blocks (numpy)"])
    seconds["rest (pooled counts, alleles, chunks, blocks)"] = total - sum(seconds.values())
    return {stage: value / total for stage, value in seconds.items()}


def alternatives(paths: list[Path], reference: Path | None, region: Region) -> dict[str, float]:
    """Seconds per individual-Mb of four ways of counting the bases of ``region``."""
    files = [pysam.AlignmentFile(str(p), reference_filename=str(reference) if reference
                                 else None) for p in paths]
    contig, start, end = region.contig, region.start, region.end
    read_filter = ReadFilter()

    def column_pileup(alignments) -> None:
        for column in alignments.pileup(contig, start, end, truncate=True, stepper="samtools",
                                        compute_baq=False, flag_filter=SKIPPED_FLAGS,
                                        min_mapping_quality=read_filter.min_mapq,
                                        min_base_quality=read_filter.min_baseq):
            column.get_query_sequences()
            column.get_query_qualities()

    ways = {
        "bulk per-read numpy (this reader)": lambda f: read_bases(f, contig, start, end,
                                                                  read_filter),
        "pysam column pileup": column_pileup,
        "pysam count_coverage (no qualities)": lambda f: f.count_coverage(
            contig, start, end, quality_threshold=read_filter.min_baseq,
            read_callback=lambda r: not r.flag & SKIPPED_FLAGS
            and r.mapping_quality >= read_filter.min_mapq),
    }
    result = {}
    scale = len(paths) * (end - start) / 1e6
    for name, way in ways.items():
        started = time.perf_counter()
        for alignments in files:
            way(alignments)
        result[name] = (time.perf_counter() - started) / scale
    with tempfile.NamedTemporaryFile("w", suffix=".tsv") as regions:  # -r takes no braces
        regions.write(f"{contig}\t{start + 1}\t{end}\n")
        regions.flush()
        started = time.perf_counter()
        pysam.bcftools.mpileup("-B", "-a", "AD", "-q", str(read_filter.min_mapq), "-Q",
                               str(read_filter.min_baseq), "-R", regions.name, "-Ou", "-o",
                               "/dev/null", *(["-f", str(reference)] if reference else []),
                               *map(str, paths))
    result["bcftools mpileup via pysam (C, PL)"] = (time.perf_counter() - started) / scale
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--individuals", type=int, default=15)
    parser.add_argument("--length", type=int, default=2_000_000, help="bp simulated")
    parser.add_argument("--depth", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bams", nargs="+", type=Path, help="read these instead of simulating")
    parser.add_argument("--reference", type=Path, help="the FASTA of --bams")
    parser.add_argument("--region", help="of --bams (default: the first contig with reads)")
    parser.add_argument("--max-depth", type=int, help="skip sites with more reads over all "
                        "individuals (scan's --max-depth; default: no limit)")
    parser.add_argument("--compare-length", type=int, default=200_000,
                        help="bp of the sub-region on which the ways of counting are compared")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench",
                        help="where the simulated BAMs (reused) and bam.json go")
    parser.add_argument("--smoke", action="store_true", help=f"{SMOKE['individuals']} "
                        f"individuals x {SMOKE['length']:,} bp: checks that the benchmark works")
    args = parser.parse_args()
    if args.smoke:
        for key, value in SMOKE.items():
            setattr(args, key, value)
    args.out.mkdir(parents=True, exist_ok=True)
    truth = None
    if args.bams:
        paths, reference = args.bams, args.reference
        described = f"{len(paths)} given files"
    else:
        paths, reference, truth = simulated(args.out, args.individuals, args.length,
                                            args.depth, args.seed)
        described = (f"{args.individuals} simulated individuals x {args.length:,} bp at "
                     f"{args.depth:g}x, seed {args.seed}")
    reader = BamReader(paths, reference=reference, site_filter=SiteFilter(
        max_depth=args.max_depth))
    region = reader.region(args.region) if args.region else reader.contig_region(
        reader.contigs_with_records()[0])
    started, cpu_started = time.perf_counter(), time.process_time()
    found, stats = read_all(reader, region)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    megabases = len(paths) * (region.end - region.start) / 1e6
    print(f"{described}; region {region}\n")
    print("| individuals | region bp | seconds | CPU seconds | s per individual-Mb | SNPs | "
          "recall | precision | peak MiB |")
    print("|---|---|---|---|---|---|---|---|---|")
    recall = precision = float("nan")
    if truth is not None:
        hits = len(np.intersect1d(found, truth))
        recall, precision = hits / max(len(truth), 1), hits / max(len(found), 1)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"| {len(paths)} | {region.end - region.start:,} | {seconds:.1f} | {cpu:.1f} | "
          f"{seconds / megabases:.3f} | {len(found):,} | {recall:.3f} | {precision:.3f} | "
          f"{peak:.0f} |")
    shares = stage_shares(reader, region)
    print("\n| stage (under cProfile) | share of the time |\n|---|---|")
    for stage, share in shares.items():
        print(f"| {stage} | {100 * share:.0f} % |")
    sub = Region(region.contig, region.start,
                 min(region.end, region.start + args.compare_length))
    ways = alternatives(paths, reference, sub)
    print(f"\n| way of counting {sub} | s per individual-Mb | vs this reader |\n|---|---|---|")
    ours = ways["bulk per-read numpy (this reader)"]
    for name, value in ways.items():
        print(f"| {name} | {value:.3f} | {value / ours:.1f}x |")
    (args.out / "bam.json").write_text(json.dumps(
        {"input": described, "region": str(region), "seconds": seconds, "cpu_seconds": cpu,
         "seconds_per_individual_mb": seconds / megabases, "snps": len(found), "stats": stats,
         "recall": recall, "precision": precision, "peak_rss_mib": peak, "stage_shares": shares,
         "ways_seconds_per_individual_mb": ways}, indent=2))


if __name__ == "__main__":
    main()
