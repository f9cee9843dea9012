"""Simulate a chromosome-scale region to an indexed VCF, optionally with a planted sweep.

Used for the bundled example VCF, the end-to-end tests and by users who want to see what a
scan of a known truth looks like. Alleles are nucleotides on a discrete genome (msprime's
JC69), so the file has the multi-allelic sites a real VCF has.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import msprime
import numpy as np
import tskit

from ..errors import PopgenHubError
from .demography import get_demography, present_size
from .scenarios import SweepVsNeutral, replicate_seeds


def simulate_vcf(path: str | os.PathLike, scenario: SweepVsNeutral, *, length: int,
                 seed: int, sweep_at: int | None = None, end_frequency: float = 0.9,
                 contig: str = "chr1") -> Path:
    """Write ``path`` (.vcf.gz) and its tabix index: ``scenario.n_haplotypes / 2`` phased
    diploid samples over ``length`` bp; a sweep of the scenario's strength at ``sweep_at``."""
    path = Path(path)
    if not path.name.endswith(".vcf.gz"):
        raise PopgenHubError(f"--vcf {path}: the output name must end in .vcf.gz")
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 1:
        raise PopgenHubError(f"--length {length}: the simulated region needs a positive whole "
                             f"number of bp, e.g. --length 2000000")
    if sweep_at is not None and not 0 <= sweep_at < length:
        raise PopgenHubError(f"--sweep-at {sweep_at} is outside the simulated 0..{length} bp")
    if not 0 < end_frequency < 1:
        raise PopgenHubError(f"--end-frequency {end_frequency} must be in (0, 1)")
    ancestry_seed, mutation_seed, _ = replicate_seeds(seed, 0, scenario.stream)
    demography = get_demography(scenario.demography)
    model = None
    if sweep_at is not None:
        model = planted_sweep(sweep_at, present_size(demography), scenario.selection_strength,
                              scenario.reference_size, end_frequency)
    diploids = scenario.n_haplotypes // 2
    samples = diploids if demography.num_populations == 1 else {
        scenario.sampled_population: diploids}  # one of a multi-population model
    return simulate_to_vcf(path, demography, samples, length=length,
                           recombination_rate=scenario.recombination_rate,
                           mutation_rate=scenario.mutation_rate,
                           seeds=(ancestry_seed, mutation_seed), model=model, contig=contig)


def simulate_to_vcf(path: str | os.PathLike, demography: msprime.Demography,
                    samples: int | dict[str, int], *, length: int, recombination_rate: float,
                    mutation_rate: float, seeds: tuple[int, int], model: list | None = None,
                    contig: str = "chr1") -> Path:
    """Simulate ``samples`` diploids (a number, or a number per population) with msprime and
    write them to ``path`` (.vcf.gz) and its index; ``seeds``: ancestry's and mutations';
    ``model``: msprime's ancestry models (a planted sweep), else the coalescent."""
    ts = msprime.sim_ancestry(samples=samples, ploidy=2, demography=demography,
                              sequence_length=length, recombination_rate=recombination_rate,
                              model=model, random_seed=seeds[0])
    ts = msprime.sim_mutations(ts, rate=mutation_rate, random_seed=seeds[1])
    return write_indexed_vcf(ts, Path(path), contig=contig)


def planted_sweep(position: float, size: float, strength: float, reference_size: int,
                  end_frequency: float, age: float = 0.0) -> list:
    """msprime models of a hard sweep at ``position`` (a new mutation, start frequency 1/2N,
    in ``size`` diploids; S = 2 N_ref s as in the scenarios) that reached ``end_frequency``
    ``age`` generations ago, neutral since then and before it."""
    since = [msprime.StandardCoalescent(duration=age)] if age > 0 else []
    return [*since, msprime.SweepGenicSelection(
        position=position, start_frequency=1.0 / (2 * size), end_frequency=end_frequency,
        s=2 * strength / (2 * reference_size), dt=1.0 / (40 * size)),
        msprime.StandardCoalescent()]


def write_indexed_vcf(ts: tskit.TreeSequence, path: Path, *, contig: str) -> Path:
    """bgzip-compressed VCF and .tbi index of a tree sequence, written atomically."""
    names = [f"sample{i}" for i in range(ts.num_individuals)]

    def write(handle: io.TextIOBase) -> None:
        # streamed to the file (the text of thousands of haplotypes would not fit in memory);
        # tskit declares the transformed length (L + 1); the contig is L bp long.
        ts.write_vcf(_Replacing(handle, f"##contig=<ID={contig},length="
                                        f"{int(ts.sequence_length) + 1}>",
                                f"##contig=<ID={contig},length={int(ts.sequence_length)}>"),
                     contig_id=contig, individual_names=names,
                     position_transform=lambda x: np.asarray(x, dtype=np.int64) + 1)

    return write_indexed(path, write)


def write_indexed(path: Path, write: Callable[[io.TextIOBase], None],
                  beside: dict[str, str] | None = None) -> Path:
    """``path`` (.vcf.gz) and its .tbi index, from the VCF text ``write`` writes to a handle,
    bgzip-compressed and indexed, and the text files ``beside`` (name: text) next to it, all
    written atomically."""
    import pysam

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(dir=path.parent, prefix=".popgen-hub-"))
    try:
        plain = tmp_dir / path.name[: -len(".gz")]
        with open(plain, "w") as handle:
            write(handle)
        pysam.tabix_index(str(plain), preset="vcf", force=True)
        for name, text in (beside or {}).items():
            (tmp_dir / name).write_text(text)
        for name in [path.name, path.name + ".tbi", *(beside or {})]:
            os.replace(tmp_dir / name, path.with_name(name))
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return path


class _Replacing:
    """A text file that replaces the first ``old`` written to it (within one write) by ``new``."""

    def __init__(self, handle: io.TextIOBase, old: str, new: str) -> None:
        self.handle, self.old, self.new = handle, old, new

    def write(self, text: str) -> int:
        if self.old and self.old in text:
            text, self.old = text.replace(self.old, self.new, 1), ""
        return self.handle.write(text)


def simulate_temporal_vcf(path: str | os.PathLike, scenario, *, seed: int,
                          classes: list[str] | None = None, missing: float = 0.0,
                          contig: str = "chr1") -> tuple[Path, Path]:
    """Loci of a temporal scenario laid end to end (one per class in ``classes``, default one
    of each) in an indexed VCF, and the sample table of ages beside it (``.samples.tsv``).

    Present-day samples are phased diploids; ancient ones are pseudo-haploid (one haploid call
    per site, as ancient DNA is usually called), with a fraction ``missing`` of their calls set
    to missing. Replicate ``k`` is locus ``k`` of stream ``seed``, so a test can compare a scan
    of the file with the replicate encoded directly.
    """

    path = Path(path)
    if not path.name.endswith(".vcf.gz"):
        raise PopgenHubError(f"--vcf {path}: the output name must end in .vcf.gz")
    if not 0 <= missing < 1:
        raise PopgenHubError(f"--missing {missing} must be in [0, 1)")
    names = list(scenario.labels)
    classes = classes or names
    unknown = [c for c in classes if c not in names]
    if unknown:
        raise PopgenHubError(f"{scenario.name} has no class {unknown[0]!r}; classes: "
                             f"{', '.join(names)}")
    points = scenario.time_points
    present = points[0].n_haplotypes // 2
    samples = [f"present{i}" for i in range(present)]
    ages = [0.0] * present
    for point in points[1:]:
        samples += [f"ancient{point.age_years:g}y_{i}" for i in range(point.n_haplotypes)]
        ages += [point.age_years] * point.n_haplotypes
    rng = np.random.default_rng(seed)
    lines = ["##fileformat=VCFv4.2",
             f"##contig=<ID={contig},length={scenario.length * len(classes)}>",
             '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
             "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO",
                        "FORMAT", *samples])]
    for locus, name in enumerate(classes):
        # replicate index i has label i % n_classes: the first replicate of class ``name``
        # after those of the earlier loci
        replicate = scenario.simulate(locus * len(names) + names.index(name), seed)
        haplotypes = replicate.haplotypes
        offset = locus * scenario.length
        last = 0
        for site, position in enumerate(replicate.positions):
            pos = offset + int(position) + 1
            if pos <= last:  # two sites in one bp: keep the first
                continue
            last = pos
            calls = haplotypes[:, site].astype(str)
            genotypes = [f"{calls[2 * i]}|{calls[2 * i + 1]}" for i in range(present)]
            ancient = calls[2 * present:].astype(object)
            ancient[rng.random(len(ancient)) < missing] = "."
            lines.append("\t".join([contig, str(pos), ".", "A", "G", ".", "PASS", ".", "GT",
                                    *genotypes, *ancient]))
    table = path.with_name(path.name[: -len(".vcf.gz")] + ".samples.tsv")
    write_indexed(path, lambda handle: handle.write("\n".join(lines) + "\n"), beside={
        table.name: "sample\tage_years\n" + "".join(f"{s}\t{a:g}\n" for s, a in zip(
            samples, ages, strict=True))})
    return path, table
