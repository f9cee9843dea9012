"""Samples' scores on the principal axes of a region's genotypes: the input of the
pretrained variational autoencoder of ``popgen-hub embed`` (:mod:`popgen_hub.embed`).

Why principal-axis scores go in, not genotypes: a pretrained encoder must read any dataset,
and a user's SNPs are never the training SNPs. Each sample's input is therefore a vector whose
length and meaning do not depend on which SNPs were seen: its scores on the first ``n_axes``
principal axes of the standardised genotype matrix of the region (Patterson, Price & Reich
2006: ALT count c of a site with ALT frequency p, over called samples, becomes
(c - k p) / sqrt(k p (1 - p)) for ploidy k; a missing call is 0, the site's mean). Scores are
the eigenvectors of the samples' Gram matrix X X^T times the square roots of their
eigenvalues, divided by sqrt(M), M the SNPs read: a sample's squared distance to another over
all axes is then the mean over SNPs of their squared standardised difference, the same scale
whatever the number of SNPs. The Gram matrix is summed block by block as the reader streams
the region (memory: samples^2, never the SNPs). Sign convention: each axis is flipped so that
its scores' third moment is positive (so the smaller, outlying group of samples is on its
positive side).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import PopgenHubError
from ..genotypes import GenotypeBlock
from .base import ENCODERS, DataclassEncoder, EncodedWindow

SCORES_TENSOR = "pc_scores"
#: fewer individuals than this give principal axes of noise
MIN_SAMPLES = 10
#: fewer SNPs (after the frequency filter) than this give axes of noise too
MIN_SNPS = 200


@ENCODERS.register()
@dataclass(frozen=True)
class PcaScores(DataclassEncoder):
    """Samples' scores on the region's first ``n_axes`` principal axes (module doc). A
    window's batch is its samples: :meth:`encode` gives one row per sample."""

    name: ClassVar[str] = "pca_scores"
    data_kinds: ClassVar[tuple[str, ...]] = ("genotypes",)
    missing_rule: ClassVar[str] = ("a missing call takes the site's mean (0 once standardised); "
                                   "sites are kept if their minor-allele frequency over called "
                                   "samples is at least min_maf")
    n_axes: int = 6
    min_maf: float = 0.05

    @property
    def shapes(self) -> dict[str, tuple[int | None, ...]]:
        return {SCORES_TENSOR: (self.n_axes,)}

    def encode(self, block: GenotypeBlock, window: tuple[float, float] | None = None
               ) -> EncodedWindow:
        gram = Gram(self)
        gram.add(block)
        return EncodedWindow({SCORES_TENSOR: gram.scores()}, gram.n_snps)

    def kept_sites(self, block: GenotypeBlock) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Which of ``block``'s sites pass ``min_maf``, every site's ALT frequency over the
        called alleles, and which calls (sites, samples) are made."""
        self.check_kind(block)
        ploidy = np.asarray(block.samples.ploidy, dtype=np.float32)
        called = block.values >= 0
        n_called = (called * ploidy).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            p = np.where(called, block.values, 0).sum(axis=1) / n_called
            keep = (n_called > 0) & (np.minimum(p, 1 - p) >= max(self.min_maf, 1e-9))
        return keep, p.astype(np.float32), called

    def standardised(self, block: GenotypeBlock) -> np.ndarray:
        """(samples, kept sites) float32 of ``block``'s sites that pass ``min_maf``."""
        keep, p, called = self.kept_sites(block)
        ploidy = np.asarray(block.samples.ploidy, dtype=np.float32)
        p = p[keep, None]
        x = (block.values[keep] - ploidy * p) / np.sqrt(ploidy * p * (1 - p))
        return np.where(called[keep], x, 0).T.astype(np.float32)


@dataclass
class Gram:
    """The samples' Gram matrix of standardised genotypes, summed over blocks."""

    encoder: PcaScores
    matrix: np.ndarray | None = None
    n_snps: int = 0

    def add(self, block: GenotypeBlock) -> None:
        """Add the sites of ``block`` that pass the encoder's frequency filter."""
        x = self.encoder.standardised(block)
        if self.matrix is None:
            self.matrix = np.zeros((x.shape[0], x.shape[0]))
        self.matrix += (x @ x.T).astype(np.float64)
        self.n_snps += x.shape[1]

    def scores(self) -> np.ndarray:
        """(samples, n_axes) float32 scores, signed by the module's convention."""
        k = self.encoder.n_axes
        n = 0 if self.matrix is None else len(self.matrix)
        if n <= k or not self.n_snps:
            raise PopgenHubError(f"{n} samples and {self.n_snps} SNPs give no {k} principal "
                                 f"axes; give at least {max(k + 1, MIN_SAMPLES)} samples and "
                                 f"{MIN_SNPS} SNPs")
        values, vectors = np.linalg.eigh(self.matrix)
        order = np.argsort(values)[::-1][:k]
        scores = vectors[:, order] * np.sqrt(np.clip(values[order], 0, None) / self.n_snps)
        scores *= np.where((scores ** 3).sum(axis=0) < 0, -1.0, 1.0)
        return scores.astype(np.float32)
