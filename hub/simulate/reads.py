"""Reads of a known truth, drawn from diploid genotypes with sequencing errors.

- :func:`write_bams`: simulated BAM files, the genotypes placed on a random reference, written
  with pysam (coordinate-sorted and indexed) beside the reference FASTA. For the tests and
  benchmarks of the BAM reader, and for users who want to see what a scan of reads finds.
- :func:`sequenced`: what sequencing at a given depth shows of a block of genotypes, as the BAM
  reader calls it: reads drawn at its sites (:func:`simulate_pileup`), SNPs discovered and
  samtools likelihoods computed by the reader's own code
  (:func:`popgen_hub.genotypes.likelihoods.call_sites`). The likelihood networks train on it;
  :func:`write_likelihood_vcf` writes it as the VCF of PL a caller would (what
  ``benchmarks/calibration.py --depth`` scans the likelihood model on).

Every read is ``read_length`` bases from one of the two chromosomes of its individual, on a
random strand, with base qualities drawn uniformly from ``qualities`` and an error (another base)
at each base with the probability its quality states. So that readers meet what aligners write,
a share of the reads carries a soft clip, an insertion or a deletion, a low mapping quality or
the duplicate flag.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..genotypes import GenotypeBlock
from ..genotypes.likelihoods import BASES, SCALE, Pileup, SiteFilter, call_sites

_SOFT_CLIP, _INSERTION, _DELETION = 1, 2, 3  # the shapes of read besides a plain match
_LETTERS = np.frombuffer(BASES.encode(), dtype=np.uint8)
_SHARES = {"shape": (0.85, 0.05, 0.05, 0.05), "low_mapq": 0.05, "duplicate": 0.02}
#: base qualities of simulated reads, drawn uniformly (phred)
QUALITIES = (20, 40)
#: individuals' depths around a sample's mean: Gamma with this shape (coefficient of variation
#: 1 / sqrt(8) = 35 %), as libraries of one study differ
DEPTH_SHAPE = 8.0
#: the sites a scan of BAMs keeps by default (its --min-depth, --max-depth, --snp-pval)
SCAN_DEFAULTS = SiteFilter()


@dataclass(frozen=True)
class SimulatedReads:
    """What :func:`write_bams` wrote, and the truth: SNP positions (0-based), their REF and
    ALT base codes and the genotypes (sites, individuals; ALT copies)."""

    reference: Path
    bams: list[Path]
    contig: str
    positions: np.ndarray
    alleles: np.ndarray
    genotypes: np.ndarray


def write_bams(out_dir: str | os.PathLike, genotypes: np.ndarray, positions: np.ndarray, *,
               length: int, depth: float, seed: int, contig: str = "chr1",
               read_length: int = 100, qualities: tuple[int, int] = QUALITIES,
               names: list[str] | None = None) -> SimulatedReads:
    """``ref.fa`` (with its .fai) and one indexed BAM per individual (column of ``genotypes``,
    ALT copies 0..2 at ``positions``) at mean ``depth``, read group SM the individual's name
    (default ``ind0``, ``ind1``, ...)."""
    import pysam

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    genotypes, positions = np.asarray(genotypes), np.asarray(positions)
    reference = rng.integers(0, 4, length).astype(np.uint8)
    alleles = np.stack([reference[positions],
                        (reference[positions] + rng.integers(1, 4, len(positions))) % 4], axis=1)
    fasta = out / "ref.fa"
    text = _LETTERS[reference].tobytes().decode()
    fasta.write_text(f">{contig}\n" + "\n".join(text[i:i + 60] for i in range(0, length, 60))
                     + "\n")
    pysam.faidx(str(fasta))
    names = names or [f"ind{i}" for i in range(genotypes.shape[1])]
    bams = []
    for column, name in enumerate(names):
        chromosomes = np.stack([reference, reference])
        carries = np.stack([genotypes[:, column] >= 1, genotypes[:, column] == 2])
        for copy in range(2):  # a heterozygote's ALT is on its first chromosome
            chromosomes[copy, positions[carries[copy]]] = alleles[carries[copy], 1]
        bams.append(_write_bam(out / f"{name}.bam", chromosomes, rng, contig=contig, name=name,
                               depth=depth, read_length=read_length, qualities=qualities))
    return SimulatedReads(fasta, bams, contig, positions, alleles, genotypes)


def _write_bam(path: Path, chromosomes: np.ndarray, rng: np.random.Generator, *, contig: str,
               name: str, depth: float, read_length: int, qualities: tuple[int, int]) -> Path:
    """Reads as SAM text, then sorted into ``path`` and indexed by pysam (samtools)."""
    import pysam

    length = chromosomes.shape[1]
    n_reads = int(rng.poisson(depth * length / read_length))
    span = read_length + 2  # room for a deletion
    starts = rng.integers(0, length - span, n_reads)
    shapes = rng.choice(4, n_reads, p=_SHARES["shape"])
    cuts = rng.integers(10, read_length - 10, n_reads)
    column = np.arange(read_length)
    taken = (column + 2 * ((shapes[:, None] == _DELETION) & (column >= cuts[:, None]))
             - ((shapes[:, None] == _INSERTION) & (column > cuts[:, None])))
    rows = np.arange(n_reads)[:, None]
    bases = chromosomes[rng.integers(0, 2, n_reads)[:, None], starts[:, None] + taken]
    inserted = np.flatnonzero(shapes == _INSERTION)
    bases[inserted, cuts[inserted]] = (bases[inserted, cuts[inserted]] + 1) % 4
    quality = rng.integers(qualities[0], qualities[1] + 1, (n_reads, span))[rows, taken]
    error = rng.random(bases.shape) < 10.0 ** (-quality / 10.0)
    bases = np.where(error, (bases + rng.integers(1, 4, bases.shape)) % 4, bases)
    mapq = np.where(rng.random(n_reads) < _SHARES["low_mapq"], rng.integers(0, 20, n_reads), 60)
    flags = np.where(rng.random(n_reads) < 0.5, 16, 0) | np.where(
        rng.random(n_reads) < _SHARES["duplicate"], 0x400, 0)
    sequences = _LETTERS[bases].tobytes().decode()
    quality_text = (quality + 33).astype(np.uint8).tobytes().decode()
    lines = [f"@HD\tVN:1.6\tSO:unsorted\n@SQ\tSN:{contig}\tLN:{length}\n"
             f"@RG\tID:{name}\tSM:{name}\n"]
    for index in range(n_reads):
        cut, shape = int(cuts[index]), int(shapes[index])
        start = int(starts[index]) + (cut if shape == _SOFT_CLIP else 0)
        text = slice(index * read_length, (index + 1) * read_length)
        lines.append(f"{name}.{index}\t{flags[index]}\t{contig}\t{start + 1}\t{mapq[index]}\t"
                     f"{_cigar(shape, cut, read_length)}\t*\t0\t0\t{sequences[text]}\t"
                     f"{quality_text[text]}\tRG:Z:{name}\n")
    sam = path.with_suffix(".sam")
    sam.write_text("".join(lines))
    pysam.sort("-o", str(path), str(sam))
    sam.unlink()
    pysam.index(str(path))
    return path


def _cigar(shape: int, cut: int, read_length: int) -> str:
    """A plain match; a soft clip of the first ``cut`` bases; an inserted base after ``cut``
    bases; or two deleted bases after ``cut`` bases."""
    return {_SOFT_CLIP: f"{cut}S{read_length - cut}M",
            _INSERTION: f"{cut}M1I{read_length - 1 - cut}M",
            _DELETION: f"{cut}M2D{read_length - cut}M"}.get(shape, f"{read_length}M")


# ------------------------------------------------------------------ reads at known sites
def simulate_pileup(genotypes: np.ndarray, depth: float | np.ndarray, rng: np.random.Generator,
                    *, alleles: np.ndarray, positions: np.ndarray | None = None,
                    qualities: int | np.ndarray = 30) -> Pileup:
    """Reads drawn from known diploid ``genotypes`` (sites, samples; ALT copies 0..2): at each
    site a Poisson(``depth``) number of reads per sample (``depth`` one value or one per
    sample), each from either chromosome; each base's phred quality drawn from ``qualities``
    (one value, or values to draw from uniformly), and with that probability a sequencing
    error (another base, uniformly). ``alleles`` (sites, 2): REF and ALT base codes."""
    genotypes = np.asarray(genotypes)
    n_sites, n_samples = genotypes.shape
    per_cell = rng.poisson(np.broadcast_to(np.asarray(depth, dtype=float), (n_samples,)),
                           size=(n_sites, n_samples)).ravel()
    cell = np.repeat(np.arange(n_sites * n_samples), per_cell)
    site, sample = cell // n_samples, cell % n_samples
    carries_alt = rng.random(len(cell)) < genotypes.ravel()[cell] / 2
    true_base = alleles[site, carries_alt.astype(np.int64)]
    quality = rng.choice(np.atleast_1d(np.asarray(qualities, dtype=np.uint8)), size=len(cell))
    error = rng.random(len(cell)) < 10.0 ** (-quality.astype(float) / 10.0)
    base = np.where(error, (true_base + rng.integers(1, 4, len(cell))) % 4, true_base)
    return Pileup(np.arange(n_sites) if positions is None else np.asarray(positions), n_samples,
                  site, sample, base.astype(np.uint8), quality, rng.random(len(cell)) < 0.5)


def individual_depths(mean: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` individuals' depths around a sample's ``mean`` (:data:`DEPTH_SHAPE`)."""
    return mean * rng.gamma(DEPTH_SHAPE, 1.0 / DEPTH_SHAPE, n)


def sequenced(genotypes: GenotypeBlock, depths: np.ndarray, rng: np.random.Generator,
              site_filter: SiteFilter = SCAN_DEFAULTS) -> GenotypeBlock:
    """A ``genotypes`` block (diploid ALT counts) as a scan of reads would see it: reads at its
    sites, at each individual's depth in ``depths``, base qualities uniform in
    :data:`QUALITIES`, on random REF and ALT bases; then SNPs discovered and likelihoods
    computed as the BAM reader does with ``site_filter`` (the scan's defaults). A likelihoods
    block of the SNPs found: at low depth, rare alleles go unseen. Only the block's sites are
    sequenced, not the invariant bases between them: errors there almost never pass the SNP
    test (p < 1e-6)."""
    n_sites = genotypes.n_sites
    reference = rng.integers(0, 4, n_sites)
    alleles = np.stack([reference, (reference + rng.integers(1, 4, n_sites)) % 4], axis=1)
    pileup = simulate_pileup(genotypes.values, depths, rng, alleles=alleles,
                             positions=np.asarray(genotypes.positions),
                             qualities=np.arange(QUALITIES[0], QUALITIES[1] + 1))
    calls = call_sites(pileup, site_filter, reference=reference)
    return GenotypeBlock(calls.positions, calls.likelihoods, "likelihoods", genotypes.samples,
                         likelihood_scale=SCALE)


def write_likelihood_vcf(block: GenotypeBlock, path: Path, *, contig: str, length: int) -> Path:
    """A diploid likelihoods block (:func:`sequenced`'s) as an indexed .vcf.gz of PL, phred
    likelihoods rounded to whole numbers with each sample's most likely genotype at 0, as
    callers write them (``bcftools call`` keeps PL); GT missing. Sites at the block's positions
    (0-based, written 1-based) on ``contig`` of ``length`` bp; every site's alleles are written
    A and C, since the block keeps no bases and a scan of likelihoods reads none."""
    from .genome import write_indexed  # it imports msprime, which reads need not otherwise

    values = np.asarray(block.values, dtype=float)
    if (block.likelihood_scale != SCALE or values.shape[2:] != (3,)
            or set(block.samples.ploidy) - {2} or not np.isfinite(values).all()):
        raise ValueError(f"write_likelihood_vcf takes finite {SCALE} likelihoods of diploid "
                         f"samples, as sequenced() gives them, not {block.kind} "
                         f"({block.likelihood_scale}) of shape {values.shape}")
    phred = np.rint(-10.0 * (values - values.max(axis=2, keepdims=True)))
    names = block.samples.names

    def write(handle: io.TextIOBase) -> None:
        handle.write(f"##fileformat=VCFv4.2\n##contig=<ID={contig},length={length}>\n"
                     f"##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n"
                     f"##FORMAT=<ID=PL,Number=G,Type=Integer,Description=\"Phred-scaled "
                     f"genotype likelihoods\">\n"
                     f"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t"
                     + "\t".join(names) + "\n")
        for position, site in zip(block.positions, phred, strict=True):
            handle.write(f"{contig}\t{position + 1}\t.\tA\tC\t.\tPASS\t.\tGT:PL\t"
                         + "\t".join(f"./.:{a},{b},{c}" for a, b, c in
                                      site.astype(np.int64).tolist()) + "\n")

    return write_indexed(path, write)
