"""A summary-statistic encoder: the folded site-frequency spectrum along the window."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from popgen_hub.encoders import DataclassEncoder, EncodedWindow
from popgen_hub.errors import PopgenHubError
from popgen_hub.genotypes import GenotypeBlock


@dataclass(frozen=True)
class SfsImageEncoder(DataclassEncoder):
    """Rows: minor-allele-frequency bins; columns: equal stretches of the window; values: the
    share of the window's polymorphic sites in each cell. Reads any data kind, through the
    allele counts every block gives (expected counts for likelihoods)."""

    name = "sfs_image"
    data_kinds = ("haplotypes", "genotypes", "likelihoods")
    missing_rule = "a missing call counts as neither allele"

    n_rows: int = 16
    n_cols: int = 8

    def __post_init__(self) -> None:
        if self.n_rows < 1 or self.n_cols < 1:
            raise PopgenHubError("sfs_image encoder: n_rows and n_cols must be positive")

    @property
    def shapes(self) -> dict[str, tuple[int, int, int]]:
        return {"sfs_image": (1, self.n_rows, self.n_cols)}

    def encode(self, block: GenotypeBlock, window: tuple[float, float] | None = None
               ) -> EncodedWindow:
        self.check_kind(block)
        positions = np.asarray(block.positions)
        start, end = window if window else (0, max(block.n_sites, 1))
        alt, called = block.alt_counts()
        frequency = np.divide(alt, called, out=np.zeros(len(alt)), where=called > 0)
        minor = np.minimum(frequency, 1 - frequency)
        polymorphic = minor > 0
        image = np.zeros((self.n_rows, self.n_cols), dtype=np.float32)
        if polymorphic.any():
            row = np.minimum((minor[polymorphic] * 2 * self.n_rows).astype(int), self.n_rows - 1)
            col = np.clip(((positions[polymorphic] - start) * self.n_cols //
                           max(end - start, 1)).astype(int), 0, self.n_cols - 1)
            np.add.at(image, (row, col), 1.0)
            image /= polymorphic.sum()
        return EncodedWindow({"sfs_image": image[None]}, int(polymorphic.sum()))
