"""BGZF files (.vcf.gz, .bcf) and their indexes (.tbi, .csi), checked in Python before htslib
reads them: how a file is compressed, whether it is complete, and whether an index describes
this file (an index from another file or an older version makes htslib read the wrong bytes,
silently).

The formats: SAM/BAM specification 4.1 (BGZF), 5.2 (CSI); tabix specification (TBI).
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from ..errors import PopgenHubError

# The empty block every complete BGZF file ends with (SAM/BAM spec, 4.1.2).
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
_MAX_BLOCK = 65536  # compressed size of a BGZF block, at most
_TBI_PSEUDO_BIN = 37450  # bin of each contig's summary (offsets and record counts), not data


def compression(path: Path) -> str:
    """``bgzf`` (bgzip, bcftools), ``gzip`` (plain gzip, which htslib reads but cannot index)
    or ``plain``."""
    with open(path, "rb") as handle:
        head = handle.read(16)
    if head[:2] != b"\x1f\x8b":
        return "plain"
    return "bgzf" if len(head) == 16 and head[3] & 4 and head[12:14] == b"BC" else "gzip"


def has_eof_block(path: Path) -> bool:
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() < len(BGZF_EOF):
            return False
        handle.seek(-len(BGZF_EOF), os.SEEK_END)
        return handle.read() == BGZF_EOF


def indexes_of(path: Path, suffixes: tuple[str, ...] = (".tbi", ".csi"), *,
               stem: bool = False) -> list[Path]:
    """The files beside ``path`` named as htslib looks for its index, that exist, in its
    order: ``X.vcf.gz.tbi`` for each of ``suffixes``, and with ``stem`` (BAM indexes, as
    Picard names them) ``X.bai`` after each ``X.bam.bai``."""
    names = [name for suffix in suffixes for name in (
        path.with_name(path.name + suffix), *([path.with_suffix(suffix)] if stem else []))]
    return [name for name in names if name.is_file()]


@dataclass(frozen=True)
class IndexSummary:
    """What an index says of its file: the contig names it stores (None for a BCF's .csi,
    whose contigs are the header's) and the virtual offset where the indexed records end
    (None when it indexes no record)."""

    names: tuple[str, ...] | None
    data_end: int | None


def read_index(index: Path) -> IndexSummary:
    """Parse a .tbi or .csi; ValueError when it is neither or is damaged."""
    try:
        data = gzip.decompress(index.read_bytes())
        if data[:4] == b"TBI\1":
            (n_ref,) = struct.unpack_from("<i", data, 4)
            names, offset = _tabix_names(data, 8)
            return IndexSummary(names, _data_end(data, offset, n_ref, _TBI_PSEUDO_BIN, False))
        if data[:4] == b"CSI\1":
            _, depth, l_aux = struct.unpack_from("<3i", data, 4)
            names = _tabix_names(data[16:16 + l_aux], 0)[0] if l_aux >= 28 else None
            (n_ref,) = struct.unpack_from("<i", data, 16 + l_aux)
            pseudo_bin = ((1 << 3 * (depth + 1)) - 1) // 7 + 1
            return IndexSummary(names, _data_end(data, 20 + l_aux, n_ref, pseudo_bin, True))
    except (OSError, EOFError, zlib.error, struct.error, UnicodeDecodeError) as exc:
        raise ValueError(f"it cannot be read ({exc})") from None
    raise ValueError("it is neither a .tbi nor a .csi index")


def _tabix_names(data: bytes, offset: int) -> tuple[tuple[str, ...], int]:
    """The contig names of a tabix header (format, 3 columns, meta, skip, then the names)."""
    (length,) = struct.unpack_from("<i", data, offset + 24)
    start = offset + 28
    names = data[start:start + length].split(b"\0")
    return tuple(name.decode() for name in names if name), start + length


def _data_end(data: bytes, offset: int, n_ref: int, pseudo_bin: int, csi: bool) -> int | None:
    """The largest chunk end of the index: the virtual offset after its last record."""
    end = None
    for _ in range(n_ref):
        (n_bin,) = struct.unpack_from("<i", data, offset)
        offset += 4
        for _ in range(n_bin):
            (bin_number,) = struct.unpack_from("<I", data, offset)
            offset += 12 if csi else 4  # a .csi bin also stores its linear offset
            (n_chunk,) = struct.unpack_from("<i", data, offset)
            offset += 4
            if n_chunk and bin_number != pseudo_bin:
                last = max(struct.unpack_from(f"<{2 * n_chunk}Q", data, offset)[1::2])
                end = last if end is None else max(end, last)
            offset += 16 * n_chunk
        if not csi:  # the linear index
            (n_intervals,) = struct.unpack_from("<i", data, offset)
            offset += 4 + 8 * n_intervals
    return end


def data_ends_at(path: Path, virtual_offset: int) -> bool | None:
    """Whether the file's records end at ``virtual_offset`` (nothing but whitespace and empty
    blocks after it), as they do where the index was made from this file; None when the
    blocks from there on are damaged. Reads at most the last few blocks."""
    block, within = virtual_offset >> 16, virtual_offset & 0xFFFF
    with open(path, "rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        if not 0 <= size - block <= 4 * _MAX_BLOCK:
            return False
        handle.seek(block)
        tail = handle.read()
    if tail[:4] != BGZF_EOF[:4] or tail[12:14] != b"BC":
        return False  # not the start of a block: an offset into another file
    try:
        rest = gzip.decompress(tail)
    except (OSError, EOFError, zlib.error):
        return None
    return len(rest) >= within and not rest[within:].strip()


def damaged_error(path: Path, where: str) -> PopgenHubError:
    return PopgenHubError(
        f"{path.name}: the compressed data {where} is damaged (htslib cannot decompress a BGZF "
        f"block); the copy is corrupt: download or compress it again (`bgzip -t {path.name}` "
        f"tests a file)")


def find_index(path: Path) -> Path:
    """The index of ``path``, after checking that the file is BGZF-compressed and complete."""
    name, kind = path.name, compression(path)
    if kind == "gzip":
        fixed = f"{name.removesuffix('.gz')}.bgz"
        raise PopgenHubError(
            f"{path} is compressed with plain gzip, which cannot be indexed; recompress it with "
            f"bgzip: `zcat {name} | bgzip > {fixed}` (or `bcftools view -Oz -o {fixed} "
            f"{name}`), then index it with `tabix -p vcf {fixed}`")
    if kind == "bgzf" and not has_eof_block(path):
        raise PopgenHubError(
            f"{path} is truncated (its BGZF end-of-file marker is missing); the copy is "
            f"incomplete: download or compress it again")
    index = next(iter(indexes_of(path)), None)
    if index is None:
        fix = (f"bgzip it (`bgzip {name}`) and index the .gz with `tabix -p vcf`"
               if kind == "plain" and path.suffix != ".bcf" else
               f"create one with `bcftools index {name}` (or `tabix -p vcf {name}` for .vcf.gz)")
        raise PopgenHubError(f"{path} has no index (.tbi or .csi); {fix}")
    return index


def reindex_command(path: Path) -> str:
    name = path.name
    return (f"`bcftools index -f {name}`" if name.endswith(".bcf") else
            f"`tabix -f -p vcf {name}` (or `bcftools index -f {name}`)")


def index_mismatch(path: Path, index: Path, first_contig: str) -> str | None:
    """Why ``index`` does not describe ``path`` (whose first record is on ``first_contig``),
    from the index alone; None when it may."""
    try:
        summary = read_index(index)
    except ValueError as exc:
        raise PopgenHubError(f"{index} is not a usable index of {path.name} ({exc}); re-index: "
                             f"{reindex_command(path)}") from None
    if summary.names is not None and first_contig not in summary.names:
        shown = ", ".join(summary.names[:5]) + (" ..." if len(summary.names) > 5 else "")
        return f"it lists contigs {shown or 'none'}, not {first_contig} of the first record"
    ends = None if summary.data_end is None else data_ends_at(path, summary.data_end)
    if ends is None and summary.data_end is not None:
        raise damaged_error(path, "in its last blocks")
    if not ends:
        return "the records it indexes do not end where the file's records end"
    return None
