"""The ImaGene haplotype image (Torada et al. 2019, BMC Bioinformatics 20:337).

A window's haplotypes become a fixed-size binary image: polarise every site to major (0) /
minor (1) allele, drop sites below a minor-allele frequency, sort rows (haplotypes) so that
identical haplotypes sit together, most frequent first, then fit to ``n_rows x n_cols``.

Two deliberate differences from ImaGene's code, both in the direction of its paper:
- polarisation is done per image (ImaGene's ``majorminor`` only ever flipped the first image);
- resizing is exact area averaging (each output pixel is the mean of the input area it covers)
  followed by re-binarisation at 0.5, in pure numpy, instead of scikit-image's anti-aliased
  interpolation, so inference needs no image library. The areas are integer overlaps on a
  common grid, so every sum is an exact integer and a pixel at exactly 0.5 (common: 768 sites
  averaged 6 to a pixel) becomes 1 on every machine, whatever order its BLAS adds in.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..errors import PopgenHubError
from ..genotypes import GenotypeBlock
from .base import ENCODERS, DataclassEncoder, EncodedWindow

ROW_SORTS = ("freq", "dist", "none")
COL_SORTS = ("none", "freq")
FITS = ("resize", "crop_pad")
TENSOR = "haplotype_image"


def single_threaded_blas() -> AbstractContextManager:
    """Context in which numpy's BLAS uses one thread.

    The encoder's matrix products are small; OpenBLAS's extra threads gain nothing on them and
    spin between calls, taking the core that another worker or onnxruntime needs (measured:
    two scan workers ran no faster than one until this). Results are bit-identical.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, user_api="blas")


@lru_cache(maxsize=64)
def area_overlaps(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) integer overlaps of output and input cells on a grid n_in * n_out long.

    Output cell j spans [j n_in, (j + 1) n_in) and input cell i spans [i n_out, (i + 1) n_out),
    so each row sums to n_in and ``overlaps @ x / n_in`` is the area average of ``x`` over each
    output cell. Stored as float64 holding exact integers.
    """
    j, i = np.arange(n_out)[:, None], np.arange(n_in)[None, :]
    overlap = np.minimum((j + 1) * n_in, (i + 1) * n_out) - np.maximum(j * n_in, i * n_out)
    overlaps = np.clip(overlap, 0, None).astype(np.float64)
    overlaps.flags.writeable = False
    return overlaps


def area_sums(x: np.ndarray, n_out: int) -> np.ndarray:
    """``x @ area_overlaps(n_in, n_out).T`` for a matrix ``x`` of non-negative integers, as
    int64: the same whole numbers, from running sums instead of a matrix product (with the
    other encoder changes, ImaGene encoding went from 0.35 to 0.21 CPU-s on 393 windows).

    The integral of the row's cells over ``[0, t)`` on the common grid is
    ``n_out * (sum of the cells before t // n_out) + (t % n_out) * (the cell at t // n_out)``;
    output cell ``j`` is its difference between ``j n_in`` and ``(j + 1) n_in``.
    """
    rows, n_in = x.shape
    if n_in <= n_out or rows == 0:
        return (x.astype(np.float64) @ area_overlaps(n_in, n_out).T).astype(np.int64)
    cell, last_cell, part = _area_grid(n_in, n_out)
    top = 255 if x.dtype.itemsize == 1 else int(x.max())  # the integral is at most
    dtype = np.int32 if top * (n_in + 1) * n_out < 2**31 else np.int64  # top (n_in + 1) n_out
    before = np.empty((rows, n_in + 1), dtype=dtype)
    before[:, 0] = 0
    np.cumsum(x, axis=1, dtype=dtype, out=before[:, 1:])
    integral = np.take(before, cell, axis=1)
    integral *= n_out
    integral += part.astype(dtype) * np.take(x, last_cell, axis=1)
    return (integral[:, 1:] - integral[:, :-1]).astype(np.int64)


@lru_cache(maxsize=64)
def _area_grid(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Output cell bounds ``j n_in`` (j = 0 .. n_out) on the grid of :func:`area_sums`: the
    input cell each falls in (and the same clipped to the last cell) and how far into it."""
    cell, part = np.divmod(np.arange(n_out + 1) * n_in, n_out)
    grid = cell, np.minimum(cell, n_in - 1), part
    for array in grid:
        array.flags.writeable = False
    return grid


def packed_rows(lines: np.ndarray) -> np.ndarray:
    """``np.packbits(lines, axis=1)``, by packing one flat array of the rows padded to whole
    bytes (numpy packs a flat array faster than along an axis)."""
    rows, width = lines.shape
    if lines.dtype.kind not in "biu" or rows == 0 or width == 0:
        return np.packbits(lines, axis=1)
    bits = np.zeros((rows, -(-width // 8) * 8), dtype=bool)
    bits[:, :width] = lines  # non-zero is 1, as packbits reads it
    return np.packbits(bits.reshape(-1)).reshape(rows, -1)


def sorted_by_group_frequency(matrix: np.ndarray, axis: int, by: str) -> np.ndarray:
    """Order rows (axis 0) or columns (axis 1) so that identical ones are adjacent.

    ``freq``: groups by decreasing count; ``dist``: groups by increasing Hamming distance to the
    most frequent group. Ties keep numpy's lexicographic order of the groups, so the result is
    deterministic.
    """
    lines = matrix if axis == 0 else matrix.T
    # One bytes key per line makes np.unique 1-D, ~20x faster than np.unique(axis=0).
    packed = np.ascontiguousarray(packed_rows(lines))
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, inverse, counts = np.unique(keys, return_index=True, return_inverse=True,
                                          return_counts=True)
    inverse = inverse.reshape(-1)
    if by == "freq":
        group_key = -counts
    else:
        top = lines[first[np.argmax(counts)]]
        group_key = np.count_nonzero(lines[first] != top, axis=1)
    order = np.lexsort((inverse, group_key[inverse]))
    return matrix[order] if axis == 0 else matrix[:, order]


@ENCODERS.register()
@dataclass(frozen=True)
class HaplotypeImageEncoder(DataclassEncoder):
    """ImaGene image of one window. All fields are stored in the model contract."""

    name = "haplotype_image"
    missing_rule = "a missing call is read as the site's major allele"

    n_rows: int = 128
    n_cols: int = 128
    min_maf: float = 0.01
    row_sort: str = "freq"
    col_sort: str = "none"
    fit: str = "resize"
    binarise: bool = True

    def __post_init__(self) -> None:
        for field_name, value, allowed in (
            ("row_sort", self.row_sort, ROW_SORTS),
            ("col_sort", self.col_sort, COL_SORTS),
            ("fit", self.fit, FITS),
        ):
            if value not in allowed:
                raise PopgenHubError(
                    f"haplotype_image encoder: {field_name}={value!r} is not one of {allowed}"
                )
        if self.n_rows < 1 or self.n_cols < 1:
            raise PopgenHubError("haplotype_image encoder: n_rows and n_cols must be positive")
        if not 0.0 <= self.min_maf < 0.5:
            raise PopgenHubError(
                f"haplotype_image encoder: min_maf={self.min_maf} must be in [0, 0.5)"
            )

    def minor_allele_matrix(self, haplotypes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """0/1 matrix of the informative sites (1 = minor allele), and which sites those are.

        ``haplotypes`` is (n_haplotypes, n_sites) with 0 = REF, 1 = ALT and -1 = missing.
        Frequencies are taken over called haplotypes; a missing call becomes the major allele;
        at exactly 50 % ALT counts as the minor allele.
        Monomorphic sites and sites with minor-allele frequency below ``min_maf`` are dropped.
        """
        any_missing = haplotypes.size > 0 and haplotypes.min() < 0
        if any_missing:
            missing = haplotypes < 0
            n_called = np.maximum((~missing).sum(axis=0), 1)
            alt_count = (haplotypes == 1).sum(axis=0)
        else:  # 0/1 calls of fewer than 2^15 haplotypes: their counts fit 16 bits (faster)
            n_called = haplotypes.shape[0]
            alt_count = haplotypes.sum(axis=0, dtype=np.int16 if n_called < 2**15 else np.int32)
        alt_freq = alt_count / n_called
        flip = alt_freq > 0.5
        maf = np.where(flip, 1.0 - alt_freq, alt_freq)
        keep = (maf > 0) & (maf >= self.min_maf)
        # missing (-1) wraps to 255
        kept = (haplotypes.view(np.uint8) if haplotypes.dtype == np.int8
                else haplotypes.astype(np.uint8))[:, keep]
        minor = kept ^ flip[keep].astype(np.uint8)
        if any_missing:
            minor[kept == 255] = 0
        return minor, keep

    @property
    def shapes(self) -> dict[str, tuple[int, int, int]]:
        return {TENSOR: (1, self.n_rows, self.n_cols)}

    def encode(self, block: GenotypeBlock, window: tuple[float, float] | None = None
               ) -> EncodedWindow:
        """Encode one window of haplotypes (rows: the block's haplotype columns).

        Only ``crop_pad`` uses the positions and ``window`` (default: the span of the
        informative sites), to keep the sites around the window's middle.
        """
        self.check_kind(block)
        minor, informative = self.minor_allele_matrix(block.values.T)
        n_sites = minor.shape[1]
        if self.fit == "crop_pad" and n_sites > self.n_cols:
            minor = self._central_columns(minor, np.asarray(block.positions)[informative], window)
        if self.row_sort != "none" and minor.shape[1] > 0:
            minor = sorted_by_group_frequency(minor, axis=0, by=self.row_sort)
        if self.col_sort != "none" and minor.shape[1] > 0:
            minor = sorted_by_group_frequency(minor, axis=1, by=self.col_sort)
        image = self._fit(minor)
        return EncodedWindow({TENSOR: image[None].astype(np.float32, copy=False)}, n_sites)

    def column_spans(self, block: GenotypeBlock, window: tuple[float, float] | None = None
                     ) -> np.ndarray:
        """(n_cols, 2): the bp span [start, end) (the block's 0-based positions) of the
        informative sites each image column of :meth:`encode` was made from: the sites it
        averages (``resize``) or its one site (``crop_pad``); -1, -1 for an empty column."""
        if self.col_sort != "none":
            raise PopgenHubError(f"haplotype_image encoder: col_sort={self.col_sort!r} puts the "
                                 f"columns out of genome order; they have no bp spans")
        _, informative = self.minor_allele_matrix(block.values.T)
        positions = np.asarray(block.positions, dtype=np.int64)[informative]
        n_sites = len(positions)
        spans = np.full((self.n_cols, 2), -1, dtype=np.int64)
        if n_sites == 0:
            return spans
        if self.fit == "crop_pad":
            index = np.arange(n_sites)[None]
            if n_sites > self.n_cols:
                index = self._central_columns(index, positions, window)
            kept = positions[index[0, :self.n_cols]]
            first = (self.n_cols - len(kept)) // 2
            spans[first:first + len(kept)] = np.stack([kept, kept + 1], axis=1)
            return spans
        used = area_overlaps(n_sites, self.n_cols) > 0  # (n_cols, n_sites): the sites averaged
        spans[:, 0] = positions[used.argmax(axis=1)]
        spans[:, 1] = positions[n_sites - 1 - used[:, ::-1].argmax(axis=1)] + 1
        return spans

    def _central_columns(self, minor: np.ndarray, positions: np.ndarray,
                         window: tuple[float, float] | None) -> np.ndarray:
        middle = (window[0] + window[1]) / 2 if window else (positions[0] + positions[-1]) / 2
        first = int(np.searchsorted(positions, middle)) - self.n_cols // 2
        first = min(max(first, 0), minor.shape[1] - self.n_cols)
        return minor[:, first:first + self.n_cols]

    def _fit(self, minor: np.ndarray) -> np.ndarray:
        rows, cols = minor.shape
        if cols == 0:
            return np.zeros((self.n_rows, self.n_cols), dtype=np.float32)
        if self.fit == "crop_pad":
            out = np.zeros((self.n_rows, self.n_cols), dtype=np.float32)
            r, c = min(rows, self.n_rows), min(cols, self.n_cols)
            c0 = (self.n_cols - c) // 2
            out[:r, c0:c0 + c] = minor[:r, :c]
            return out
        # Sums of 0/1 values times integer overlaps: exact integers, however they are added.
        total, area = minor, 1
        if cols != self.n_cols:
            total, area = area_sums(minor, self.n_cols), area * cols
        if rows != self.n_rows:
            total, area = area_sums(total.T, self.n_rows).T, area * rows
        total = total.astype(np.int64, copy=False)
        if self.binarise:
            return (2 * total >= area).astype(np.float32)  # mean >= 0.5, without rounding
        return (total / area).astype(np.float32)
