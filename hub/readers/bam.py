"""BAM/CRAM files, one individual each, read as genotype likelihoods at the SNPs their reads show
(or at the sites of a VCF): :mod:`popgen_hub.genotypes.likelihoods` says how.

An individual is named by the SM of its file's read groups (the file's stem when it has none);
where a sample table names it by the stem instead, ``names`` (the table's names) makes the stem
its name. Everything a user can get wrong is checked when the files open, before any work: an
unreadable, truncated or unindexed file, a CRAM without ``reference``, files aligned to
different references (contig names and lengths), two files of one sample, a reference that is
not theirs; reading names a damaged file, and a region without reads is refused.

A region is read in chunks: all the selected files' reads of a chunk are counted in bulk
(:mod:`.pileup`), SNPs are called on the pooled counts, and the chunk's sites are yielded. The
chunk length adapts to the depth so that about :data:`BASE_BUDGET` read bases are held at once.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import PopgenHubError, few
from ..genotypes import GenotypeBlock, ReadStats, Region, Samples, parse_region
from ..genotypes.likelihoods import (
    DEPTH_SKIP_REASONS,
    SCALE,
    SKIP_REASONS,
    Pileup,
    SiteCalls,
    SiteFilter,
    call_sites,
)
from .base import READERS, SampleSelection
from .bgzf import has_eof_block, indexes_of
from .pileup import BASE_CODES, ReadFilter, read_bases
from .records import SKIP_REASONS as RECORD_SKIP_REASONS
from .sites import SitesVcf

#: read bases held at once, about 40 bytes each with their likelihood work (the chunk length
#: adapts to the depth)
BASE_BUDGET = 2_000_000
_FIRST_CHUNK, _MIN_CHUNK, _MAX_CHUNK = 20_000, 1_000, 1_000_000  # bp
READ_FILTER, SITE_FILTER = ReadFilter(), SiteFilter()  # the defaults


def bam_list(path: str | os.PathLike) -> list[Path]:
    """The files of a list (``--bam-list``), one path a line as ANGSD's ``-bam`` and samtools'
    ``-b`` read them: relative to the current directory; blank lines and ``#`` lines skipped."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise PopgenHubError(f"cannot read --bam-list {path}: {exc}") from None
    files = []
    for line_no, line in enumerate(lines, start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            file = Path(line.strip())
            if not file.is_file():
                raise PopgenHubError(f"--bam-list {path}, line {line_no}: {file}: no such file "
                                     f"(relative paths are read from the current directory)")
            files.append(file)
    if not files:
        raise PopgenHubError(f"--bam-list {path} lists no files")
    return files


@READERS.register()
class BamReader:
    """Indexed BAM/CRAM files, one individual each, opened and checked up front."""

    name = "bam"
    suffixes = (".bam", ".cram")
    kinds = ("likelihoods",)

    def __init__(self, path: str | os.PathLike | Sequence[str | os.PathLike], *,
                 reference: str | os.PathLike | None = None,
                 sites: str | os.PathLike | None = None,
                 read_filter: ReadFilter = READ_FILTER, site_filter: SiteFilter = SITE_FILTER,
                 names: Collection[str] = ()) -> None:
        given = [path] if isinstance(path, (str, os.PathLike)) else list(path)
        if not given:
            raise PopgenHubError("no BAM or CRAM file given")
        self.paths = [Path(p) for p in given]
        self.path = self.paths[0]
        self.reference = Path(reference) if reference is not None else None
        self.read_filter, self.site_filter = read_filter, site_filter
        self._files: list[Any] | None = [self._open(p) for p in self.paths]
        self._fasta: Any = None
        self.contig_lengths: dict[str, int | None] = self._check_contigs()
        self.samples: list[str] = self._names(set(names))
        if self.reference is not None:
            self._check_reference()
        self.sites = SitesVcf(sites) if sites is not None else None
        if self.sites is not None and not set(self.sites.contigs) & set(self.contig_lengths):
            raise PopgenHubError(
                f"--sites {self.sites.path.name} names none of the BAMs' contigs (it has "
                f"{few(self.sites.contigs)}; they have {few(list(self.contig_lengths))}); "
                f"give the sites on the reference the reads were aligned to")

    def __getstate__(self) -> dict[str, Any]:
        """A worker process gets the reader as checked here, without the open files, which it
        opens again."""
        return {**self.__dict__, "_files": None, "_fasta": None}

    def fingerprint_inputs(self) -> list[Path]:
        """Every file read: each BAM/CRAM and its index, the reference (and its .fai) and the
        sites (and their index)."""
        files = [file for path in self.paths for file in (path, *indexes_of(
            path, (".crai" if path.suffix.lower() == ".cram" else ".bai", ".csi"), stem=True))]
        if self.reference is not None:
            files += [self.reference, *indexes_of(self.reference, (".fai", ".gzi"), stem=True)]
        if self.sites is not None:
            files += [self.sites.path, self.sites.index]
        return files

    @property
    def settings(self) -> dict[str, Any]:
        """The read and site filters (``--min-mapq`` ... ``--snp-pval``)."""
        return {"read_filter": asdict(self.read_filter), "site_filter": asdict(self.site_filter)}

    # ------------------------------------------------------------------ opening and checks
    def _open(self, path: Path) -> Any:
        import pysam

        if not path.is_file():
            raise PopgenHubError(f"{path}: no such file")
        if not os.access(path, os.R_OK):
            raise PopgenHubError(f"{path}: not readable (permission denied)")
        cram = path.suffix.lower() == ".cram"
        if cram and self.reference is None:
            raise PopgenHubError(f"{path.name} is a CRAM file: give the FASTA it was compressed "
                                 f"against with --reference REF.fa")
        if not cram and not has_eof_block(path):
            raise PopgenHubError(f"{path} is truncated or not a BAM file (no BGZF end-of-file "
                                 f"marker): copy or create it again (`samtools quickcheck -v "
                                 f"{path.name}` tests a file)")
        try:
            alignments = pysam.AlignmentFile(str(path), "rc" if cram else "rb",
                                             reference_filename=str(self.reference) if cram
                                             else None)
        except (ValueError, OSError) as exc:
            raise PopgenHubError(f"{path} is not a BAM or CRAM file htslib can read ({exc}); "
                                 f"`samtools quickcheck -v {path.name}` tests a file") from None
        if not alignments.has_index():
            raise PopgenHubError(f"{path} has no index ({'.crai' if cram else '.bai or .csi'} "
                                 f"beside it); create one with `samtools index {path.name}`")
        return alignments

    def _file(self, index: int) -> Any:
        if self._files is None:
            self._files = [self._open(p) for p in self.paths]
        return self._files[index]

    def _check_contigs(self) -> dict[str, int | None]:
        """The contigs and lengths every file's header gives; an error when two differ."""
        first = self._file(0)
        contigs = dict(zip(first.references, first.lengths, strict=True))
        for index, path in enumerate(self.paths[1:], start=1):
            other = self._file(index)
            theirs = dict(zip(other.references, other.lengths, strict=True))
            if theirs == contigs:
                continue
            name = next(c for c in [*contigs, *theirs] if contigs.get(c) != theirs.get(c))
            what = (f"{name} is {contigs[name]:,} bp in one and {theirs[name]:,} bp in the other"
                    if name in contigs and name in theirs else
                    f"contig {name} is in {(self.path if name in contigs else path).name} only")
            raise PopgenHubError(f"{self.path.name} and {path.name} were aligned to different "
                                 f"references ({what}); align every individual to the same "
                                 f"reference")
        return contigs

    def _names(self, table_names: set[str]) -> list[str]:
        """Each file's sample: its read groups' SM (or the stem where the table uses it)."""
        owner: dict[str, Path] = {}
        for index, path in enumerate(self.paths):
            groups = self._file(index).header.to_dict().get("RG", [])
            tagged = list(dict.fromkeys(group["SM"] for group in groups if group.get("SM")))
            if len(tagged) > 1:
                raise PopgenHubError(
                    f"{path.name} holds reads of {len(tagged)} samples in its read groups "
                    f"({few(tagged)}); give one individual per file (`samtools split` "
                    f"splits it by read group)")
            stem = path.stem
            name = tagged[0] if tagged else stem
            name = stem if name not in table_names and stem in table_names else name
            if name in owner:
                raise PopgenHubError(
                    f"{owner[name].name} and {path.name} both hold sample {name} (their read "
                    f"groups' SM): one individual per file; give them distinct SM tags "
                    f"(`samtools addreplacerg`), or merge them into one file")
            owner[name] = path
        return list(owner)

    def _open_fasta(self) -> Any:
        import pysam

        try:
            return pysam.FastaFile(str(self.reference))
        except (ValueError, OSError) as exc:
            raise PopgenHubError(f"--reference {self.reference} cannot be read as an indexed "
                                 f"FASTA ({exc}); index it with `samtools faidx`") from None

    def _check_reference(self) -> None:
        """The reference gives every contig the BAMs' length (checked once, when the files
        open; a worker process only opens it again)."""
        self._fasta = self._open_fasta()
        lengths = dict(zip(self._fasta.references, self._fasta.lengths, strict=True))
        for contig, length in self.contig_lengths.items():
            if lengths.get(contig) != length:
                found = (f"gives {contig} {lengths[contig]:,} bp" if contig in lengths else
                         f"has no contig {contig}")
                raise PopgenHubError(
                    f"--reference {self.reference.name} {found}, the BAMs' headers "
                    f"{length:,} bp; give the FASTA the reads were aligned to")

    # ------------------------------------------------------------------ the protocol
    @property
    def ploidies(self) -> np.ndarray:
        return np.full(len(self.samples), 2)

    def region(self, text: str, grid: int = 1) -> Region:
        """A region from ``chr:start-end`` text (:mod:`popgen_hub.genotypes.region`); without a
        start it begins at the contig's first read (rounded down to a multiple of ``grid``),
        without an end it ends at the contig's end; an error when no file has reads there."""
        contig, start, end = parse_region(text, lambda name: name in self.contig_lengths)
        if contig not in self.contig_lengths:
            raise PopgenHubError(f"contig {contig!r} is not in {self.described()} (their "
                                 f"contigs: {few(list(self.contig_lengths))})")
        length = self.contig_lengths[contig]
        if start is not None and start >= length:
            raise PopgenHubError(
                f"region {text!r} starts after the end of {contig} ({length:,} bp)")
        start = self.contig_region(contig, grid).start if start is None else start
        region = Region(contig, start, length if end is None else min(end, length))
        if region.start >= region.end or not self._has_reads(region):
            raise PopgenHubError(
                f"no reads in {region} in any of the {len(self.paths)} BAM/CRAM files "
                f"({few([p.name for p in self.paths])}); check the region (`samtools "
                f"idxstats` counts each contig's reads)")
        return region

    def contig_region(self, contig: str, grid: int = 1) -> Region:
        """From the contig's first read (rounded down to a multiple of ``grid``) to its end."""
        whole = Region(contig, 0, self.contig_lengths[contig])
        starts = [read.reference_start for read in (
            self._first_read(i, whole) for i in range(len(self.paths))) if read]
        if not starts:
            raise PopgenHubError(f"no reads on contig {contig} in any of the {len(self.paths)} "
                                 f"BAM/CRAM files")
        return Region(contig, min(starts) // grid * grid, self.contig_lengths[contig])

    def _has_reads(self, region: Region) -> bool:
        return any(self._first_read(i, region) for i in range(len(self.paths)))

    def _first_read(self, index: int, region: Region) -> Any:
        """The first read of file ``index`` in ``region`` (None: none); a damaged file named."""
        try:
            return next(self._file(index).fetch(region.contig, region.start, region.end), None)
        except OSError as exc:  # htslib: a damaged or truncated block
            raise self._damaged(index, region, exc) from None

    def described(self, full: bool = False) -> str:
        """The files in words: for messages the one file's name, or how many and the first
        few; ``full`` (headers, manifests): every file's resolved path."""
        if full:
            return ", ".join(str(path.resolve()) for path in self.paths)
        names = [path.name for path in self.paths]
        return names[0] if len(names) == 1 else f"{len(names)} BAM/CRAM files ({few(names)})"

    def contigs_with_records(self) -> list[str]:
        """The contigs with mapped reads in some file (from the BAM indexes' counts; a CRAM
        index has none, so its contigs are probed)."""
        found: set[str] = set()
        for index in range(len(self.paths)):
            alignments = self._file(index)
            if alignments.is_cram:
                found |= {c for c, n in self.contig_lengths.items()
                          if self._first_read(index, Region(c, 0, n))}
            else:
                found |= {s.contig for s in alignments.get_index_statistics() if s.mapped}
        if not found:
            raise PopgenHubError(f"none of the {len(self.paths)} BAM/CRAM files has mapped "
                                 f"reads ({few([p.name for p in self.paths])})")
        return [contig for contig in self.contig_lengths if contig in found]

    def new_stats(self) -> ReadStats:
        if self.sites is not None:
            return ReadStats(kept_name="sites",
                             reasons=(*DEPTH_SKIP_REASONS, *RECORD_SKIP_REASONS), of_reads=True)
        return ReadStats(kept_name="snps", reasons=SKIP_REASONS, of_reads=True)

    def blocks(self, region: Region, selection: SampleSelection, *, stats: ReadStats,
               count_before: int | None = None, block_size: int = 4096
               ) -> Iterator[GenotypeBlock]:
        """Genotype likelihoods (log10) of the selected samples at the sites of ``region``,
        ``block_size`` sites at a time; only sites before ``count_before`` (default: all) are
        counted in ``stats``, so that overlapping pieces of one region count each once."""
        count_before = region.end if count_before is None else count_before
        chosen = sorted({self.samples.index(s) for s in selection.samples})
        samples = Samples(tuple(self.samples[i] for i in chosen), (2,) * len(chosen))
        start, chunk = region.start, _FIRST_CHUNK
        while start < region.end:
            end = min(start + chunk, region.end)
            pileup = self._pileup(region.contig, start, end, chosen)
            calls = self._calls(pileup, region.contig, start, end, count_before)
            stats.kept += int((calls.positions < count_before).sum())
            stats.skipped.update(calls.skipped)
            counted = pileup.site < count_before - start  # sites are start, start + 1, …
            stats.read_bases += int(counted.sum())
            # over the positions some read covers: gaps in the assembly or the mapping (N runs,
            # the space between captured targets) are not low depth
            covered = np.zeros(end - start, dtype=bool)
            covered[pileup.site[counted]] = True
            stats.sample_bp += int(covered.sum()) * len(chosen)
            for first in range(0, len(calls.positions), block_size):
                part = slice(first, first + block_size)
                yield GenotypeBlock(calls.positions[part], calls.likelihoods[part],
                                    "likelihoods", samples, likelihood_scale=SCALE)
            density = len(pileup.site) / (end - start)
            chunk = int(np.clip(BASE_BUDGET / max(density, 1e-3), _MIN_CHUNK, _MAX_CHUNK))
            start = end

    # ------------------------------------------------------------------ reading
    def _pileup(self, contig: str, start: int, end: int, chosen: list[int]) -> Pileup:
        """The bases of the chosen files' reads in [start, end), as one pileup."""
        parts = []
        for index in chosen:
            try:
                parts.append(read_bases(self._file(index), contig, start, end,
                                        self.read_filter))
            except OSError as exc:  # htslib: a damaged or truncated block
                raise self._damaged(index, Region(contig, start, end), exc) from None
        sample = np.repeat(np.arange(len(chosen), dtype=np.int32),
                           [len(p.position) for p in parts])
        site = np.concatenate([(p.position - start).astype(np.int32) for p in parts])
        return Pileup(np.arange(start, end), len(chosen), site, sample,
                      *(np.concatenate([getattr(p, a) for p in parts])
                        for a in ("base", "quality", "reverse")))

    def _damaged(self, index: int, region: Region, exc: OSError) -> PopgenHubError:
        files, self._files = self._files or [], None
        for alignments in files:  # closed here: pysam's own close of a damaged file complains
            try:
                alignments.close()
            except OSError:
                pass
        name = self.paths[index].name
        return PopgenHubError(f"{name}: its reads in {region} cannot be read ({exc}); the file "
                              f"is damaged: copy or create it again (`samtools quickcheck -v "
                              f"{name}` tests a file)")

    def _calls(self, pileup: Pileup, contig: str, start: int, end: int, count_before: int
               ) -> SiteCalls:
        """The sites of a chunk: SNPs discovered in its pileup, or the sites of ``sites``."""
        reference = None
        if self.reference is not None:
            if self._fasta is None:  # in a worker process: checked when the reader opened
                self._fasta = self._open_fasta()
            text = self._fasta.fetch(contig, start, end).encode("ascii")
            reference = BASE_CODES[np.frombuffer(text, dtype=np.uint8)]
        if self.sites is None:
            return call_sites(pileup, self.site_filter, reference=reference,
                              counted_before=count_before)
        positions, alleles, skipped = self.sites.read(contig, start, end, count_before)
        if reference is not None:
            known = reference[positions - start]
            wrong = np.flatnonzero((known < 4) & (known != alleles[:, 0]))
            if len(wrong):
                at = positions[wrong[0]]
                raise PopgenHubError(
                    f"--sites {self.sites.path.name} {contig}:{at + 1}: REF "
                    f"{'ACGT'[alleles[wrong[0], 0]]}, but {self.reference.name} has "
                    f"{'ACGT'[known[wrong[0]]]} there; give sites on the reads' reference")
        calls = call_sites(pileup.take(np.isin(pileup.positions, positions)), self.site_filter,
                           alleles=alleles, counted_before=count_before)
        calls.skipped.update(skipped)
        return calls
