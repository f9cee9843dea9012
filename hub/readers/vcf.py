"""Stream haplotypes, genotypes or likelihoods from an indexed VCF/BCF (through htslib, via
cyvcf2), in the kind the sample selection asks for: phased GT as haplotypes, GT (phase dropped)
as genotypes, GL or PL as likelihoods (:mod:`.vcf_kinds`).

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
from collections.abc import Callable, Iterator
from functools import cached_property, partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from ..errors import PopgenHubError
from ..genotypes import KINDS, GenotypeBlock, ReadStats, Region, Samples, parse_region
from ..genotypes.region import braced
from .base import READERS, SampleSelection
from .bgzf import damaged_error, find_index, index_mismatch, reindex_command
from .decoded import region_records
from .records import (
    SKIP_REASONS,
    alleles,
    check_format_keys,
    genotype_calls,
    query,
    skip_reason,
)
from .vcf_kinds import likelihood_block, likelihood_fields, record_likelihoods

_CONTIG_LINE = re.compile(r"^##contig=<ID=([^,>]+)(?:.*?[,<]length=(\d+))?", re.MULTILINE)
_MAX_POSITION = 2**31 - 1  # upper bound for contigs whose header gives no length
PLOIDY_RECORDS = 1000  # records read to learn each sample's ploidy
T = TypeVar("T")


@READERS.register()
class VcfReader:
    """An indexed VCF/BCF, opened and checked up front so that errors come before any work."""

    name = "vcf"
    suffixes = (".vcf.gz", ".vcf.bgz", ".bcf")
    kinds = KINDS

    def __init__(self, path: str | os.PathLike) -> None:
        import cyvcf2

        self.path = Path(path)
        self._known: str | None = None  # a region holding a record: see records.query
        self._length_checked: set[str] = set()
        self._vcf = self._open()
        self.samples: list[str] = self._decoded(lambda: list(self._vcf.samples))
        if not self.samples:
            raise PopgenHubError(f"{self.path} has no samples (no genotype columns)")
        self.index = find_index(self.path)
        self.contig_lengths: dict[str, int | None] = {
            name: int(length) if length else None
            for name, length in _CONTIG_LINE.findall(self._decoded(lambda: self._vcf.raw_header))
        }
        too_long = {c: n for c, n in self.contig_lengths.items() if n and n > _MAX_POSITION}
        if too_long:
            contig, length = next(iter(too_long.items()))
            raise PopgenHubError(
                f"{self.path.name}: the header gives {contig} a length of {length:,} bp, more "
                f"than a VCF index can address ({_MAX_POSITION:,}); fix its ##contig line "
                f"(`bcftools reheader --fai REF.fa.fai`)")
        self.contigs: list[str] = self._decoded(lambda: list(self._vcf.seqnames))
        first = next(query(cyvcf2.VCF(str(self.path), lazy=True), None, self.path), None)
        if first is not None:
            self._check_index(self.index, first)
            self._known = f"{braced(first.CHROM)}:{first.POS}-{first.POS}"
            genotype_calls(first, self.path)

    def __getstate__(self) -> dict[str, Any]:
        """A worker process gets the reader as checked here (samples, contigs, ploidies, the
        index checks), without the open file, which it opens again."""
        return {key: value for key, value in self.__dict__.items() if key != "_vcf"}

    def fingerprint_inputs(self) -> list[Path]:
        """The VCF/BCF and its index."""
        return [self.path, self.index]

    @property
    def settings(self) -> dict[str, Any]:
        """None: a VCF is read as it is."""
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._vcf = self._open()

    def _decoded(self, read: Callable[[], T]) -> T:
        """``read()`` of header text, which cyvcf2 decodes as UTF-8."""
        try:
            return read()
        except UnicodeDecodeError as exc:
            raise PopgenHubError(
                f"{self.path}: its header is not UTF-8 text ({exc}); fix the sample names and "
                f"header lines (`bcftools view -h {self.path.name}` shows them)") from None

    def _open(self):
        import cyvcf2

        if not self.path.is_file():
            raise PopgenHubError(f"{self.path}: no such file")
        if not os.access(self.path, os.R_OK):
            raise PopgenHubError(f"{self.path}: not readable (permission denied)")
        try:
            # one thread: a multi-threaded handle deadlocks seeking after a damaged block
            return cyvcf2.VCF(str(self.path), lazy=True)
        except Exception as exc:  # cyvcf2 raises OSError, or a bare Exception on bad headers
            raise PopgenHubError(
                f"{self.path} is not a VCF or BCF file htslib can read ({exc}); give a "
                f"bgzip-compressed .vcf.gz or a .bcf"
            ) from None

    def _check_index(self, index: Path, first) -> None:
        """Refuse an index made from another file, or from an older version of this one: with
        it htslib reads the wrong bytes and finds too few records, or none, without an error."""
        reason = index_mismatch(self.path, index, first.CHROM)
        if reason is None:
            try:
                found = self._first_start(first.CHROM, first.start, first.start + 1)
            except PopgenHubError:
                found = None
            if found != first.start:
                reason = f"it does not find the first record, {first.CHROM}:{first.POS}"
        if reason:
            raise PopgenHubError(
                f"{index.name} is not the index of {self.path.name} ({reason}): it was made "
                f"from another file or an older version of this one; re-index: "
                f"{reindex_command(self.path)}")

    def _find_contig(self, name: str) -> str | None:
        """The file's name for a contig, accepting ``2`` for ``chr2`` and the other way round."""
        for candidate in (name, name[3:] if name.lower().startswith("chr") else f"chr{name}"):
            if candidate in self.contigs:
                return candidate
        return None

    def resolve_contig(self, name: str) -> str:
        """The file's name for a contig (see :meth:`_find_contig`), or an error listing them."""
        found = self._find_contig(name)
        if found is None:
            known = self.contigs
            shown = ", ".join(known[:12]) + (" ..." if len(known) > 12 else "")
            raise PopgenHubError(f"contig {name!r} is not in {self.path.name} (its contigs: "
                                 f"{shown})")
        return found

    def region(self, text: str, grid: int = 1) -> Region:
        """A region from ``chr:start-end`` text (see :mod:`popgen_hub.genotypes.region`).

        Without a start, the region begins at the contig's first record rounded down to a
        multiple of ``grid``; without an end, it ends after the contig's last record.
        """
        contig, start, end = parse_region(text, lambda name: self._find_contig(name) is not None)
        contig = self.resolve_contig(contig)
        self._check_length(contig)
        length = self.contig_lengths.get(contig)
        if length is not None and start is not None and start >= length:
            raise PopgenHubError(
                f"region {text!r} starts after the end of {contig} ({length:,} bp)")
        end = None if end is None else min(end, length or _MAX_POSITION)
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
        self._check_length(contig)
        first = self._first_start(contig, 0, self.contig_lengths.get(contig) or _MAX_POSITION)
        if first is None:
            raise PopgenHubError(f"{self.path.name} has no records on contig {contig}")
        return Region(contig, first // grid * grid, self._last_start(contig, first) + 1)

    def _check_length(self, contig: str) -> None:
        """Refuse records past the contig's length in the header: a scan would leave them out
        (it reads up to the length), and the tracks could not hold them."""
        length = self.contig_lengths.get(contig)
        if length is None or contig in self._length_checked:
            return
        beyond = self._first_start(contig, length, _MAX_POSITION)
        if beyond is not None:
            last = self._last_start(contig, beyond, _MAX_POSITION)
            raise PopgenHubError(
                f"{self.path.name}: the records of {contig} go on to {contig}:{last + 1}, past "
                f"its length in the header (##contig length={length}); give the header the "
                f"true lengths: `bcftools reheader --fai REF.fa.fai {self.path.name}` with the "
                f"reference the calls were made on")
        self._length_checked.add(contig)

    def _first_start(self, contig: str, start: int, end: int) -> int | None:
        """Start of the first record that starts in [start, end), from the index."""
        region = f"{braced(contig)}:{start + 1}-{end}"
        for record in query(self._vcf, region, self.path, self._known):
            if record.start >= start:
                return record.start
        return None

    def _last_start(self, contig: str, known: int, high: int | None = None) -> int:
        """Start of the contig's last record (below ``high``, default the contig's length), by
        bisection over index queries (each reads one compressed block), so finding a contig's
        extent does not read the contig."""
        low, high = known, high or self.contig_lengths.get(contig) or _MAX_POSITION
        while high - low > 1:
            middle = (low + high) // 2
            found = self._first_start(contig, middle, high)
            low, high = (found, high) if found is not None else (low, middle)
        return low

    def contigs_with_records(self) -> list[str]:
        return [c for c in self.contigs
                if next(query(self._vcf, braced(c), self.path, self._known), None) is not None]

    def new_stats(self) -> ReadStats:
        return ReadStats(kept_name="biallelic_snps", reasons=SKIP_REASONS)

    @cached_property
    def ploidies(self) -> np.ndarray:
        """Each sample's ploidy: the most alleles it has in the file's first records (one
        record may hold a lone ``.`` for a diploid sample's missing call)."""
        import cyvcf2

        ploidy = np.zeros(len(self.samples), dtype=np.int64)
        # a fresh handle: region queries move the shared one's file position
        records = query(cyvcf2.VCF(str(self.path), lazy=True), None, self.path, self._known)
        for record in itertools.islice(records, PLOIDY_RECORDS):
            check_format_keys(record, self.path)
            calls = genotype_calls(record, self.path)[:, :-1]
            ploidy = np.maximum(ploidy, (calls != -2).sum(axis=1))
        if not ploidy.any():
            raise PopgenHubError(f"{self.path} has no genotype calls in its first records")
        return ploidy

    def blocks(self, region: Region, selection: SampleSelection, *, stats: ReadStats,
               count_before: int | None = None, block_size: int = 2048
               ) -> Iterator[GenotypeBlock]:
        """Kept sites of ``region`` for the selection, ``block_size`` sites at a time, in the
        selection's kind: haplotypes (its columns), genotypes (ALT counts of its samples, phase
        dropped) or likelihoods (of its samples, from GL or PL: :mod:`.vcf_kinds`).

        With ``selection.phased``, a heterozygous genotype without phase is an error, except in
        the pseudo-haploid samples (ancient DNA: one allele per site is read), whose
        heterozygous calls become missing instead. Only records before
        ``count_before`` (default: all) are counted in ``stats``, so that overlapping pieces of
        one region count each record once.
        """
        count_before = region.end if count_before is None else count_before
        wanted_samples = sorted(selection.samples, key=self.samples.index)
        vcf, records = region_records(self.path, region, wanted_samples,
                                      len(self.samples))
        ploidy = dict(zip(self.samples, self.ploidies, strict=True))
        samples = Samples(tuple(wanted_samples), tuple(ploidy[s] for s in wanted_samples))
        # the largest ploidy + 1: cyvcf2's alleles and phase flag of a call, and the genotypes
        # of a likelihood
        width = int(self.ploidies.max()) + 1
        read_likelihoods, block = self._reading(vcf, region.contig, selection, samples, width)
        positions: list[int] = []
        values: list[Any] = []
        last_position = -1
        last_read = region.start - 1
        for record in records:
            position = last_read = record.start
            if position < region.start:  # records that start before the region but overlap it
                continue
            skipped = skip_reason(*alleles(record, self.path), position == last_position)
            if skipped:
                if position < count_before:
                    stats.skipped[skipped] += 1
                continue
            last_position = position
            if read_likelihoods is not None:
                values.append(read_likelihoods(record))
                positions.append(position)
            else:  # genotype calls, inline: the benchmarked haplotype path
                array = genotype_calls(record, self.path)
                if len(array) != len(wanted_samples):
                    raise PopgenHubError(
                        f"{self.path.name} {region.contig}:{position + 1}: the record has "
                        f"{len(array)} genotype columns of the {len(wanted_samples)} samples "
                        f"read; every record needs one per sample of the header (check it "
                        f"with `bcftools view`)")
                if array.shape[1] != width:
                    array = self._to_width(array, width, record)
                positions.append(position)
                values.append(array)
            if len(positions) == block_size:
                stats.kept += bisect.bisect_left(positions, count_before)
                yield block(positions, values)
                positions, values = [], []
        self._check_read_to_end(region, last_read)
        if positions:
            stats.kept += bisect.bisect_left(positions, count_before)
            yield block(positions, values)

    def _reading(self, vcf, contig: str, selection: SampleSelection, samples: Samples,
                 width: int) -> tuple[Callable[[Any], Any] | None,
                                      Callable[[list[int], list], GenotypeBlock]]:
        """How :meth:`blocks` reads the likelihoods of a kept record (None: it reads the
        genotype calls), and how it makes a block of the records read, for the selection's
        kind; ``width``: the genotypes of the largest ploidy."""
        if selection.kind == "likelihoods":
            fields = likelihood_fields(vcf, self.path)
            return (partial(record_likelihoods, fields=fields, width=width, path=self.path),
                    partial(likelihood_block, samples=samples, width=width))
        if selection.kind == "genotypes":  # every haplotype of each sample, phase dropped
            rows = np.repeat(np.arange(len(samples)), samples.ploidy)
            slots = np.concatenate([np.arange(p) for p in samples.ploidy])
            haplotypes = partial(self._block, contig, samples=samples, columns=(rows, slots),
                                 phased=False, pseudo_rows=np.array([], dtype=int))
            return None, lambda positions, calls: haplotypes(positions, calls).unphased()
        row_of = {s: i for i, s in enumerate(samples.names)}
        pseudo_rows = np.array([row_of[s] for s in selection.pseudo_haploid if s in row_of],
                               dtype=int)
        columns = (np.array([row_of[s] for s, _ in selection.columns]),
                   np.array([slot for _, slot in selection.columns]))
        return None, partial(self._block, contig, samples=samples, columns=columns,
                             phased=selection.phased, pseudo_rows=pseudo_rows)

    def _check_read_to_end(self, region: Region, last_read: int) -> None:
        """The fast read of a region (with a decompression thread) stops at a damaged block
        without an error; the handle without threads, which can be probed, tells whether
        records follow the last one read."""
        if last_read + 1 < region.end and \
                self._first_start(region.contig, last_read + 1, region.end) is not None:
            raise damaged_error(self.path, f"after {region.contig}:{last_read + 1}")

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
        for bad, problem in ((absent, "has fewer alleles than in the file's first records; "
                                      "split the file by ploidy (e.g. chrX PAR/non-PAR)"),
                             (alleles > 1, "calls an allele the record's single ALT lacks "
                                           "(GT 2 or more); fix the record's GT or ALT")):
            if bad.any():
                site, column = np.argwhere(bad)[0]
                raise PopgenHubError(f"{self.path.name} {contig}:{positions[site] + 1}: sample "
                                     f"{samples.names[columns[0][column]]} {problem}")
        return GenotypeBlock(np.asarray(positions, dtype=np.int64), alleles.astype(np.int8),
                             "haplotypes", samples, haplotype_sample=columns[0])
