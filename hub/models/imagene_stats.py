"""A two-branch sweep classifier: ImaGene's CNN on the window's image beside the fully connected
network on its summary statistics, trained jointly (issue 12).

Alone, each is misled by different histories: the image network by African-American admixture
and cold regions, the statistics network by bottlenecked Eurasian histories. Here each branch
ends in ``branch_features`` units instead of class logits:

    image      -> ImaGene's 3 conv blocks + dense 64 -> branch_features ┐
    statistics -> batch norm + dense 128 + dense 64  -> branch_features ┴ concat + ReLU
                                                     -> dropout -> one logit per class

so the classifier weighs what the two see of the same window (input: the
``image_statistics`` encoder). The image branch keeps ImaGene's L1/L2 kernel penalty.
"""

from __future__ import annotations

import torch
from torch import nn

from ..encoders.haplotype_image import TENSOR as IMAGE
from ..encoders.summary_statistics import TENSOR as STATISTICS
from .base import ARCHITECTURES
from .imagene_cnn import ImaGeneCNN
from .stats_fc import StatsFC


@ARCHITECTURES.register("imagene_stats")
class ImaGeneStats(nn.Module):
    """Inputs (batch, 1, rows, cols) and (batch, features)."""

    encoder = "image_statistics"
    inputs = (IMAGE, STATISTICS)

    @classmethod
    def sizes_from(cls, shapes: dict[str, tuple[int | None, ...]]) -> dict[str, int]:
        _, rows, cols = shapes[IMAGE]
        (n_features,) = shapes[STATISTICS]
        return {"n_rows": int(rows), "n_cols": int(cols), "n_features": int(n_features)}

    def __init__(self, n_rows: int = 128, n_cols: int = 128, n_features: int = 69,
                 n_classes: int = 2, branch_features: int = 32, dropout: float = 0.1) -> None:
        super().__init__()
        self.config = dict(n_rows=n_rows, n_cols=n_cols, n_features=n_features,
                           n_classes=n_classes, branch_features=branch_features,
                           dropout=dropout)
        self.image = ImaGeneCNN(n_rows, n_cols, n_classes=branch_features)
        self.statistics = StatsFC(n_features, n_classes=branch_features, dropout=dropout)
        self.classifier = nn.Sequential(nn.ReLU(), nn.Dropout(dropout),
                                        nn.Linear(2 * branch_features, n_classes))

    def forward(self, image: torch.Tensor, statistics: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.cat([self.image(image), self.statistics(statistics)],
                                         dim=1))

    def regularisation(self) -> torch.Tensor:
        return self.image.regularisation()
