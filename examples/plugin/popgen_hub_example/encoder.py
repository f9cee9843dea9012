"""A summary-statistic encoder: the folded site-frequency spectrum along the window."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from popgen_hub.encoders import DataclassEncoder, EncodedWindow
from popgen_hub.errors import PopgenHubError


@dataclass(frozen=True)
class SfsImageEncoder(DataclassEncoder):
    """Rows: minor-allele-count bins; columns: equal stretches of the window; values: the share
    of the window's polymorphic sites in each cell."""

    name = "sfs_image"

    n_rows: int = 16
    n_cols: int = 8

    def __post_init__(self) -> None:
        if self.n_rows < 1 or self.n_cols < 1:
            raise PopgenHubError("sfs_image encoder: n_rows and n_cols must be positive")

    def encode(self, haplotypes: np.ndarray, positions: np.ndarray | None = None,
               window: tuple[float, float] | None = None) -> EncodedWindow:
        """``haplotypes``: (n_haplotypes, n_sites), 0/1, -1 missing (counted as neither)."""
        haplotypes = np.asarray(haplotypes)
        n_haplotypes, n_sites = haplotypes.shape
        positions = np.arange(n_sites) if positions is None else np.asarray(positions)
        start, end = window if window else (0, max(n_sites, 1))
        alt = (haplotypes == 1).sum(axis=0)
        called = (haplotypes >= 0).sum(axis=0)
        minor = np.minimum(alt, called - alt)
        polymorphic = minor > 0
        image = np.zeros((self.n_rows, self.n_cols), dtype=np.float32)
        if polymorphic.any():
            row = np.minimum(minor[polymorphic] * 2 * self.n_rows // max(n_haplotypes, 1),
                             self.n_rows - 1)
            col = np.clip(((positions[polymorphic] - start) * self.n_cols //
                           max(end - start, 1)).astype(int), 0, self.n_cols - 1)
            np.add.at(image, (row, col), 1.0)
            image /= polymorphic.sum()
        return EncodedWindow(image[None], int(polymorphic.sum()))
