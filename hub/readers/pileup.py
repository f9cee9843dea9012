"""The bases of a BAM/CRAM file's reads at a region, counted in bulk: per read, pysam gives its
sequence, qualities (as text: 3x faster than as an array) and CIGAR, a few attribute reads; numpy
turns all the reads' CIGARs into aligned blocks and the blocks into (position, base, quality,
strand) arrays at once, so no Python runs per CIGAR operation, per base or per column.

Reads are used as ``samtools mpileup`` and ANGSD use them by default: not unmapped, secondary,
QC-failed or duplicate; when paired, properly paired; mapping quality at least ``min_mapq``.
Bases: A, C, G or T (N is not a base here), base quality at least ``min_baseq``; the quality a
base carries into the likelihoods is its base quality capped at its read's mapping quality.
Overlapping mates both count, as in ANGSD (clip overlaps beforehand, e.g. bamUtil clipOverlap,
to count them once).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: reads left out: unmapped, secondary, QC-failed, duplicate (samtools mpileup's default)
SKIPPED_FLAGS = 0x4 | 0x100 | 0x200 | 0x400
_PAIRED, _PROPER_PAIR, _REVERSE = 0x1, 0x2, 0x10
_MATCH, _QUERY_ONLY, _REFERENCE_ONLY = (0, 7, 8), (1, 4), (2, 3)  # CIGAR M = X; I S; D N
#: byte -> base code: 0..3 for A C G T (either case), 4 for anything else
BASE_CODES = np.full(256, 4, dtype=np.uint8)
for _code, _letters in enumerate(("Aa", "Cc", "Gg", "Tt")):
    BASE_CODES[[ord(letter) for letter in _letters]] = _code


@dataclass(frozen=True)
class ReadFilter:
    """Which reads and bases count (module doc)."""

    min_mapq: int = 20
    min_baseq: int = 20


@dataclass(frozen=True)
class ReadBases:
    """The bases one file's reads put at a region: reference position (0-based, 32 bits, as
    BAM's), base code (0..3: A C G T), quality (capped at the mapping quality) and strand, one
    entry per base."""

    position: np.ndarray
    base: np.ndarray
    quality: np.ndarray
    reverse: np.ndarray


def read_bases(alignments, contig: str, start: int, end: int, read_filter: ReadFilter
               ) -> ReadBases:
    """The bases that the reads of ``alignments`` (an open, indexed pysam AlignmentFile)
    passing ``read_filter`` put in [start, end) of ``contig``."""
    fields: list[tuple[int, int, int, int]] = []  # reference start, operations, MAPQ, flag
    cigar: list[tuple[int, int]] = []  # every kept read's CIGAR operations, one after another
    sequences: list[str] = []
    qualities: list[str] = []  # phred + 33, as in SAM: pysam's fastest form of them
    min_mapq = read_filter.min_mapq
    for read in alignments.fetch(contig, start, end):
        flag, quality_of_map = read.flag, read.mapping_quality
        if flag & SKIPPED_FLAGS or (flag & _PAIRED and not flag & _PROPER_PAIR) \
                or quality_of_map < min_mapq:
            continue
        sequence, quality, read_cigar = read.query_sequence, read.query_qualities_str, \
            read.cigartuples
        if sequence is None or quality is None or not read_cigar:  # SEQ, QUAL or CIGAR is '*'
            continue
        fields.append((read.reference_start, len(read_cigar), quality_of_map, flag))
        cigar += read_cigar
        sequences.append(sequence)
        qualities.append(quality)
    reference_start, operations, mapq, flag = np.array(fields, dtype=np.int64).reshape(-1, 4).T
    read_length = np.fromiter(map(len, sequences), dtype=np.int64, count=len(sequences))
    return _expand(_aligned_blocks(np.array(cigar, dtype=np.int64).reshape(-1, 2), operations,
                                   reference_start, np.cumsum(read_length) - read_length),
                   "".join(sequences).encode("ascii"), "".join(qualities).encode("ascii"),
                   mapq.astype(np.uint8), (flag & _REVERSE).astype(bool), start, end,
                   read_filter.min_baseq)


def _aligned_blocks(cigar: np.ndarray, operations: np.ndarray, reference_start: np.ndarray,
                    query_offset: np.ndarray) -> tuple[np.ndarray, ...]:
    """The aligned (M, =, X) blocks of reads whose CIGAR operations ``cigar`` (operation,
    length) lie one read after another, ``operations`` per read: each block's reference start,
    query start (in the reads' joined sequence, read i from ``query_offset[i]``), length and
    read."""
    read = np.repeat(np.arange(len(operations)), operations)
    operation, length = cigar[:, 0], cigar[:, 1]
    matched = np.isin(operation, _MATCH)
    on_reference = np.where(matched | np.isin(operation, _REFERENCE_ONLY), length, 0)
    on_query = np.where(matched | np.isin(operation, _QUERY_ONLY), length, 0)
    first = np.cumsum(operations) - operations  # each read's first operation
    reference_before, query_before = (np.cumsum(advance) - advance for advance in
                                      (on_reference, on_query))
    reference = reference_start[read] + reference_before - reference_before[first][read]
    query = query_offset[read] + query_before - query_before[first][read]
    return reference[matched], query[matched], length[matched], read[matched]


def _expand(blocks: tuple[np.ndarray, ...], sequence: bytes, qualities: bytes,
            mapq: np.ndarray, reverse: np.ndarray, start: int, end: int, min_baseq: int
            ) -> ReadBases:
    """Every aligned base of ``blocks`` (see :func:`_aligned_blocks`) in [start, end), as
    arrays; ``sequence`` and ``qualities`` (phred + 33) are all the reads' joined."""
    reference_start, query_start, length, read = blocks
    if not len(length):
        empty = np.zeros(0, dtype=np.int32)
        return ReadBases(empty, empty.astype(np.uint8), empty.astype(np.uint8),
                         empty.astype(bool))
    before = np.clip(start - reference_start, 0, length)  # the blocks cut to [start, end)
    length = np.clip(end - reference_start, before, length) - before
    reference_start, query_start = reference_start + before, query_start + before
    # bases are numbered in the reads' joined sequence; 32 bits halve the memory traffic, and
    # take() gathers faster than fancy indexing
    query = (np.arange(length.sum(), dtype=np.int32)
             + np.repeat((query_start - np.cumsum(length) + length).astype(np.int32), length))
    base = BASE_CODES.take(np.frombuffer(sequence, dtype=np.uint8).take(query))
    quality = np.frombuffer(qualities, dtype=np.uint8).take(query) - 33
    keep = (base < 4) & (quality >= min_baseq)
    read = np.repeat(read.astype(np.int32), length)[keep]
    position = query[keep] + np.repeat((reference_start - query_start).astype(np.int32),
                                       length)[keep]
    return ReadBases(position, base[keep], np.minimum(quality[keep], mapq[read]), reverse[read])
