"""Simulated BAM files of a known truth: reads drawn from diploid genotypes placed on a random
reference, with sequencing errors, written with pysam (coordinate-sorted and indexed) beside the
reference FASTA. For the tests and benchmarks of the BAM reader, and for users who want to see
what a scan of reads finds.

Every read is ``read_length`` bases from one of the two chromosomes of its individual, on a
random strand, with base qualities drawn uniformly from ``qualities`` and an error (another base)
at each base with the probability its quality states. So that readers meet what aligners write,
a share of the reads carries a soft clip, an insertion or a deletion, a low mapping quality or
the duplicate flag.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..genotypes.likelihoods import BASES

_SOFT_CLIP, _INSERTION, _DELETION = 1, 2, 3  # the shapes of read besides a plain match
_LETTERS = np.frombuffer(BASES.encode(), dtype=np.uint8)
_SHARES = {"shape": (0.85, 0.05, 0.05, 0.05), "low_mapq": 0.05, "duplicate": 0.02}


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
               read_length: int = 100, qualities: tuple[int, int] = (20, 40),
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
