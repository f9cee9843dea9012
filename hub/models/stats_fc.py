"""A fully connected network on a window's summary statistics (evoNet, Sheehan & Song 2016;
ABC_DL, Mondal et al. 2019): the review's first family, here as a sweep classifier.

Input: the ``summary_statistics`` encoder's vector (:mod:`popgen_hub.encoders.summary_statistics`).
A batch normalisation standardises each statistic by its running mean and variance over the
training data (frozen into the exported graph, so a scan sees the same scale), then

    2 x [dense (``hidden``, ``hidden // 2``) + ReLU + dropout] -> one logit per class.

``stats_fc_genome`` is the same network given the window's statistics and, beside them, their
difference from the genome's background (the ``genome_statistics`` encoder: the median over
the genome's windows), so that it can learn how far a sweep stands out from its own genome.
"""

from __future__ import annotations

import torch
from torch import nn

from ..encoders.genome_statistics import BACKGROUND
from ..encoders.summary_statistics import TENSOR
from .base import ARCHITECTURES


@ARCHITECTURES.register("stats_fc")
class StatsFC(nn.Module):
    """Input (batch, features)."""

    encoder = "summary_statistics"
    inputs = (TENSOR,)

    @classmethod
    def sizes_from(cls, shapes: dict[str, tuple[int | None, ...]]) -> dict[str, int]:
        (n_features,) = shapes[TENSOR]
        return {"n_features": int(n_features)}

    def __init__(self, n_features: int = 69, n_classes: int = 2, hidden: int = 128,
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.config = dict(n_features=n_features, n_classes=n_classes, hidden=hidden,
                           dropout=dropout)
        self.layers = nn.Sequential(
            nn.BatchNorm1d(n_features),
            nn.Linear(n_features, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, hidden // 2), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden // 2, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


@ARCHITECTURES.register("stats_fc_genome")
class GenomeStatsFC(nn.Module):
    """Inputs (batch, features): the window's statistics and its genome's background."""

    encoder = "genome_statistics"
    inputs = (TENSOR, BACKGROUND)
    sizes_from = StatsFC.sizes_from

    def __init__(self, n_features: int = 69, n_classes: int = 2, hidden: int = 128,
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.config = dict(n_features=n_features, n_classes=n_classes, hidden=hidden,
                           dropout=dropout)
        self.network = StatsFC(2 * n_features, n_classes, hidden, dropout)

    def forward(self, statistics: torch.Tensor, background: torch.Tensor) -> torch.Tensor:
        return self.network(torch.cat([statistics, statistics - background], dim=1))
