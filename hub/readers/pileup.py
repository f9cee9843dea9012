"""The bases of a BAM/CRAM file's reads at a region, counted in bulk: per read, pysam gives its
sequence, qualities and CIGAR (a few attribute reads); numpy turns all the reads' aligned blocks
into (position, base, quality, strand) arrays at once, so no Python runs per base or per column.

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
    """The bases one file's reads put at a region: reference position (0-based), base code
    (0..3: A C G T), quality (capped at the mapping quality) and strand, one entry per base."""

    position: np.ndarray
    base: np.ndarray
    quality: np.ndarray
    reverse: np.ndarray


def read_bases(alignments, contig: str, start: int, end: int, read_filter: ReadFilter
               ) -> ReadBases:
    """The bases that the reads of ``alignments`` (an open, indexed pysam AlignmentFile)
    passing ``read_filter`` put in [start, end) of ``contig``."""
    blocks: list[tuple[int, int, int, int]] = []  # reference start, query start, length, read
    sequences: list[str] = []
    qualities: list[bytes] = []
    mapq: list[int] = []
    reverse: list[int] = []
    offset = 0
    for read in alignments.fetch(contig, start, end):
        flag, quality_of_map = read.flag, read.mapping_quality
        if flag & SKIPPED_FLAGS or (flag & _PAIRED and not flag & _PROPER_PAIR) \
                or quality_of_map < read_filter.min_mapq:
            continue
        sequence, quality, cigar = read.query_sequence, read.query_qualities, read.cigartuples
        if sequence is None or quality is None or not cigar:  # SEQ, QUAL or CIGAR is '*'
            continue
        index, position, query = len(mapq), read.reference_start, offset
        for operation, length in cigar:
            if operation in _MATCH:
                blocks.append((position, query, length, index))
                position, query = position + length, query + length
            elif operation in _QUERY_ONLY:
                query += length
            elif operation in _REFERENCE_ONLY:
                position += length
        sequences.append(sequence)
        qualities.append(quality.tobytes())
        mapq.append(quality_of_map)
        reverse.append(flag & _REVERSE)
        offset += len(sequence)
    return _expand(blocks, "".join(sequences).encode("ascii"), b"".join(qualities),
                   np.array(mapq, dtype=np.uint8), np.array(reverse, dtype=bool), start, end,
                   read_filter.min_baseq)


def _expand(blocks: list[tuple[int, int, int, int]], sequence: bytes, qualities: bytes,
            mapq: np.ndarray, reverse: np.ndarray, start: int, end: int, min_baseq: int
            ) -> ReadBases:
    """Every aligned base of ``blocks`` in [start, end), as arrays; ``sequence`` and
    ``qualities`` are all the reads' joined, indexed by the blocks' query starts."""
    if not blocks:
        empty = np.zeros(0, dtype=np.int64)
        return ReadBases(empty, empty.astype(np.uint8), empty.astype(np.uint8),
                         empty.astype(bool))
    reference_start, query_start, length, read = np.array(blocks, dtype=np.int64).T
    within = np.arange(length.sum()) - np.repeat(np.cumsum(length) - length, length)
    position = np.repeat(reference_start, length) + within
    inside = (position >= start) & (position < end)
    query = (np.repeat(query_start, length) + within)[inside]
    read = np.repeat(read, length)[inside]
    base = BASE_CODES[np.frombuffer(sequence, dtype=np.uint8)[query]]
    quality = np.frombuffer(qualities, dtype=np.uint8)[query]
    keep = (base < 4) & (quality >= min_baseq)
    read = read[keep]
    return ReadBases(position[inside][keep], base[keep],
                     np.minimum(quality[keep], mapq[read]), reverse[read])
