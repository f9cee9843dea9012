"""Stream haplotypes from an indexed VCF/BCF (through htslib, via cyvcf2).

Sites kept: biallelic SNPs (REF and ALT single bases); a SNP at the position of the previous
kept SNP is skipped. Everything else is counted and skipped. Haplotypes are columns: a diploid
sample gives two, a haploid one; each sample's ploidy is read from the file's first records.
Genotype codes: 0 = REF, 1 = ALT, -1 = missing (a lone ``.`` in a diploid sample is missing
for both haplotypes).
"""

from __future__ import annotations

import bisect
import itertools
import os
import re
import warnings
from collections.abc import Iterator
from functools import cached_property, partial
from pathlib import Path

import numpy as np

from ..errors import PopgenHubError
from ..genotypes import GenotypeBlock, ReadStats, Region, Samples, parse_region
from .base import READERS, SampleSelection

_CONTIG_LINE = re.compile(r"^##contig=<ID=([^,>]+)(?:.*?[,<]length=(\d+))?", re.MULTILINE)
_BASES = frozenset("ACGTacgt")
_MAX_POSITION = 2**31 - 1  # upper bound for contigs whose header gives no length
PLOIDY_RECORDS = 1000  # records read to learn each sample's ploidy
SKIP_REASONS = ("not_snp", "multiallelic", "duplicate_position")


def _query(vcf, region: str, path: Path) -> Iterator:
    """Records overlapping ``region``.

    cyvcf2 warns, on the first ``next``, when the region is empty; here that is normal and
    reported by the caller in its own words. A record htslib cannot parse (cyvcf2 raises a bare
    Exception; htslib prints the details) becomes an error that names where it is.
    """
    records = vcf(region)
    last = None
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="no intervals found")
            last = next(records, None)
        if last is None:
            return
        yield last
        for last in records:
            yield last
    except Exception as exc:
        where = f"after {last.CHROM}:{last.POS}" if last is not None else f"in {region}"
        raise PopgenHubError(
            f"{path.name}: a record {where} cannot be parsed ({exc}); check the file with "
            f"`bcftools view {path.name}`") from None


def _skip_reason(ref: str, alts: list[str], repeated_position: bool) -> str | None:
    """Why a record is not a usable SNP (one of :data:`SKIP_REASONS`), or None."""
    if len(alts) > 1:
        return "multiallelic"
    if not alts or len(ref) != 1 or len(alts[0]) != 1 or ref not in _BASES \
            or alts[0] not in _BASES:
        return "not_snp"
    return "duplicate_position" if repeated_position else None


# The empty block every complete BGZF file (.vcf.gz, .bcf) ends with (SAM/BAM spec, 4.1.2).
_BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


def _is_bgzf(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(4) == _BGZF_EOF[:4]


def _has_bgzf_eof(path: Path) -> bool:
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() < len(_BGZF_EOF):
            return False
        handle.seek(-len(_BGZF_EOF), os.SEEK_END)
        return handle.read() == _BGZF_EOF


def _index_of(path: Path) -> Path | None:
    for suffix in (".tbi", ".csi"):
        candidate = path.with_name(path.name + suffix)
        if candidate.exists():
            return candidate
    return None


@READERS.register()
class VcfReader:
    """An indexed VCF/BCF, opened and checked up front so that errors come before any work."""

    name = "vcf"
    suffixes = (".vcf.gz", ".vcf.bgz", ".bcf")
    kinds = ("haplotypes",)

    def __init__(self, path: str | os.PathLike) -> None:
        import cyvcf2

        self.path = Path(path)
        if not self.path.is_file():
            raise PopgenHubError(f"{self.path}: no such file")
        if not os.access(self.path, os.R_OK):
            raise PopgenHubError(f"{self.path}: not readable (permission denied)")
        try:
            self._vcf = cyvcf2.VCF(str(self.path), lazy=True, threads=1)
        except Exception as exc:  # cyvcf2 raises OSError, or a bare Exception on bad headers
            raise PopgenHubError(
                f"{self.path} is not a VCF or BCF file htslib can read ({exc}); give a "
                f"bgzip-compressed .vcf.gz or a .bcf"
            ) from None
        self.samples: list[str] = list(self._vcf.samples)
        if not self.samples:
            raise PopgenHubError(f"{self.path} has no samples (no genotype columns)")
        if _is_bgzf(self.path) and not _has_bgzf_eof(self.path):
            raise PopgenHubError(
                f"{self.path} is truncated (its BGZF end-of-file marker is missing); the copy is "
                f"incomplete: download or compress it again")
        if _index_of(self.path) is None:
            fix = (f"bgzip it (`bgzip {self.path.name}`) and index the .gz with `tabix -p vcf`"
                   if self.path.suffix == ".vcf" else
                   f"create one with `bcftools index {self.path.name}` (or `tabix -p vcf "
                   f"{self.path.name}` for .vcf.gz)")
            raise PopgenHubError(f"{self.path} has no index (.tbi or .csi); {fix}")
        self.contig_lengths: dict[str, int | None] = {
            name: int(length) if length else None
            for name, length in _CONTIG_LINE.findall(self._vcf.raw_header)
        }
        self.contigs: list[str] = list(self._vcf.seqnames)

    def resolve_contig(self, name: str) -> str:
        """The file's name for a contig, accepting ``2`` for ``chr2`` and the other way round."""
        known = self.contigs
        for candidate in (name, name[3:] if name.lower().startswith("chr") else f"chr{name}"):
            if candidate in known:
                return candidate
        shown = ", ".join(known[:12]) + (" ..." if len(known) > 12 else "")
        raise PopgenHubError(f"contig {name!r} is not in {self.path.name} (its contigs: {shown})")

    def region(self, text: str, grid: int = 1) -> Region:
        """A region from ``chr:start-end`` text.

        Without a start, the region begins at the contig's first record rounded down to a
        multiple of ``grid``; without an end, it ends after the contig's last record.
        """
        contig, start, end = parse_region(text)
        contig = self.resolve_contig(contig)
        length = self.contig_lengths.get(contig)
        if length is not None:
            if start is not None and start >= length:
                raise PopgenHubError(
                    f"region {text!r} starts after the end of {contig} ({length:,} bp)")
            end = min(end, length) if end is not None else None
        if start is None or end is None:
            whole = self.contig_region(contig, grid)
            start = whole.start if start is None else start
            end = whole.end if end is None else end
        if start >= end:
            raise PopgenHubError(
                f"region {text!r} starts after the last record of {contig} (at {end:,})")
        return Region(contig, start, end)

    def contig_region(self, contig: str, grid: int = 1) -> Region:
        """From the first record (rounded down to a multiple of ``grid``) past the last one."""
        first = self._first_start(contig, 0, self.contig_lengths.get(contig) or _MAX_POSITION)
        if first is None:
            raise PopgenHubError(f"{self.path.name} has no records on contig {contig}")
        return Region(contig, first // grid * grid, self._last_start(contig, first) + 1)

    def _first_start(self, contig: str, start: int, end: int) -> int | None:
        """Start of the first record that starts in [start, end), from the index."""
        for record in _query(self._vcf, f"{contig}:{start + 1}-{end}", self.path):
            if record.start >= start:
                return record.start
        return None

    def _last_start(self, contig: str, known: int) -> int:
        """Start of the contig's last record, by bisection over index queries (each reads one
        compressed block), so finding a contig's extent does not read the contig."""
        low, high = known, self.contig_lengths.get(contig) or _MAX_POSITION
        while high - low > 1:
            middle = (low + high) // 2
            found = self._first_start(contig, middle, high)
            low, high = (found, high) if found is not None else (low, middle)
        return low

    def contigs_with_records(self) -> list[str]:
        return [c for c in self.contigs
                if next(_query(self._vcf, c, self.path), None) is not None]

    def new_stats(self) -> ReadStats:
        return ReadStats(kept_name="biallelic_snps", reasons=SKIP_REASONS)

    @cached_property
    def ploidies(self) -> np.ndarray:
        """Each sample's ploidy: the most alleles it has in the file's first records (one
        record may hold a lone ``.`` for a diploid sample's missing call)."""
        import cyvcf2

        ploidy = np.zeros(len(self.samples), dtype=np.int64)
        # a fresh handle: region queries move the shared one's file position
        records = iter(cyvcf2.VCF(str(self.path), lazy=True))
        for record in itertools.islice(records, PLOIDY_RECORDS):
            calls = record.genotype.array()[:, :-1]
            ploidy = np.maximum(ploidy, (calls != -2).sum(axis=1))
        if not ploidy.any():
            raise PopgenHubError(f"{self.path} has no genotype calls in its first records")
        return ploidy

    def blocks(self, region: Region, selection: SampleSelection, *, stats: ReadStats,
               count_before: int | None = None, block_size: int = 2048
               ) -> Iterator[GenotypeBlock]:
        """Kept sites of ``region`` for the selected haplotypes, ``block_size`` sites at a time.

        With ``selection.phased``, a heterozygous genotype without phase is an error, except in
        the pseudo-haploid samples (ancient DNA: one allele per site is read), whose
        heterozygous calls become missing instead. Only records before
        ``count_before`` (default: all) are counted in ``stats``, so that overlapping pieces of
        one region count each record once.
        """
        import cyvcf2

        count_before = region.end if count_before is None else count_before
        wanted_samples = sorted(selection.samples, key=self.samples.index)
        vcf = cyvcf2.VCF(str(self.path), samples=wanted_samples, lazy=True, threads=1)
        row_of = {s: i for i, s in enumerate(wanted_samples)}
        pseudo_rows = np.array([row_of[s] for s in selection.pseudo_haploid if s in row_of],
                               dtype=int)
        columns = (np.array([row_of[s] for s, _ in selection.columns]),
                   np.array([slot for _, slot in selection.columns]))
        ploidy = dict(zip(self.samples, self.ploidies, strict=True))
        samples = Samples(tuple(wanted_samples), tuple(ploidy[s] for s in wanted_samples))
        block = partial(self._block, region.contig, samples=samples, columns=columns,
                        phased=selection.phased, pseudo_rows=pseudo_rows)
        width = int(self.ploidies.max()) + 1  # alleles + cyvcf2's phase flag
        positions: list[int] = []
        genotypes: list[np.ndarray] = []
        last_position = -1
        for record in _query(vcf, str(region), self.path):
            position = record.start
            if position < region.start:  # records that start before the region but overlap it
                continue
            skipped = _skip_reason(record.REF, record.ALT, position == last_position)
            if skipped:
                if position < count_before:
                    stats.skipped[skipped] += 1
                continue
            last_position = position
            array = record.genotype.array()
            if array.shape[1] != width:
                array = self._to_width(array, width, record)
            positions.append(position)
            genotypes.append(array)
            if len(positions) == block_size:
                stats.kept += bisect.bisect_left(positions, count_before)
                yield block(positions, genotypes)
                positions, genotypes = [], []
        if positions:
            stats.kept += bisect.bisect_left(positions, count_before)
            yield block(positions, genotypes)

    def _to_width(self, array: np.ndarray, width: int, record) -> np.ndarray:
        """A record whose calls have fewer alleles (e.g. all ``.``) padded as absent alleles."""
        if array.shape[1] > width:
            raise PopgenHubError(
                f"{self.path.name} {record.CHROM}:{record.POS}: a sample has more alleles than "
                f"in the file's first records; split the file by ploidy (e.g. chrX PAR/non-PAR)")
        padded = np.full((array.shape[0], width), -2, dtype=array.dtype)
        padded[:, :array.shape[1] - 1] = array[:, :-1]
        padded[:, -1] = array[:, -1]
        return padded

    def _block(self, contig: str, positions: list[int], genotypes: list[np.ndarray], *,
               samples: Samples, columns: tuple[np.ndarray, np.ndarray], phased: bool,
               pseudo_rows: np.ndarray) -> GenotypeBlock:
        """Checks and haplotype extraction for many records at once (per-record numpy calls
        would dominate the reading time). ``columns``: (sample row, allele slot) per haplotype;
        ``pseudo_rows``: rows of pseudo-haploid samples (heterozygous calls become missing)."""
        calls = np.stack(genotypes)  # (sites, samples, ploidy + phase flag)
        if len(pseudo_rows) and calls.shape[2] >= 3:
            a, b = calls[:, pseudo_rows, 0], calls[:, pseudo_rows, 1]
            calls[:, pseudo_rows, 0] = np.where((a >= 0) & (b >= 0) & (a != b), -1, a)
            calls[:, pseudo_rows, 1] = np.where(b >= 0, calls[:, pseudo_rows, 0], b)
        if phased and calls.shape[2] >= 3:  # haploid calls are phased by definition
            a, b, phase = calls[:, :, 0], calls[:, :, 1], calls[:, :, -1]
            unphased = (phase == 0) & (a >= 0) & (b >= 0) & (a != b)
            if unphased.any():
                site, sample = np.argwhere(unphased)[0]
                raise PopgenHubError(
                    f"{self.path.name} {contig}:{positions[site] + 1}: sample "
                    f"{samples.names[sample]} "
                    f"has an unphased heterozygous genotype, but this model reads haplotypes; "
                    f"phase the VCF first (e.g. SHAPEIT5 or Beagle) or choose a model that takes "
                    f"unphased genotypes")
        alleles = calls[:, columns[0], columns[1]]
        absent = alleles == -2
        if absent.any():
            missing_call = calls[:, columns[0], 0] == -1  # a lone "." for the whole sample
            alleles[absent & missing_call] = -1
            absent &= ~missing_call
        if absent.any():
            site, column = np.argwhere(absent)[0]
            raise PopgenHubError(
                f"{self.path.name} {contig}:{positions[site] + 1}: sample "
                f"{samples.names[columns[0][column]]} has fewer alleles than in the file's "
                f"first records; split the file by ploidy (e.g. chrX PAR/non-PAR)")
        return GenotypeBlock(np.asarray(positions, dtype=np.int64), alleles.astype(np.int8),
                             "haplotypes", samples, haplotype_sample=columns[0])
