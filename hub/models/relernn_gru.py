"""A recurrent network over a window's SNPs that regresses its recombination rate, after
ReLERNN (Adrion, Galloway & Kern 2020): a bidirectional GRU reads the sites in order.

Input: the ``snp_sequence`` encoder's (sites, features) (:mod:`popgen_hub.encoders.snp_sequence`):
every site's position, gap, frequency and linkage to the next sites, zero rows after the last.

    bidirectional GRU (``hidden`` per direction) over the sites
    -> mean and max of its outputs over the present sites, and the share of rows present
    -> dense (``dense``) + ReLU + dropout -> one value per target

The value is the log10 of the target (the recombination rate in cM/Mb): training fits it by
mean squared error on that scale, because rates span three orders of magnitude, and the exported
graph gives the rate itself (:mod:`popgen_hub.training.objectives`).
"""

from __future__ import annotations

import torch
from torch import nn

from ..encoders.snp_sequence import TENSOR
from .base import ARCHITECTURES

#: Stands in for the outputs of absent rows in the max over sites.
ABSENT = -1e4


@ARCHITECTURES.register("relernn_gru")
class RecombinationGRU(nn.Module):
    """Input (batch, sites, features); output (batch, targets): log10 of each target."""

    encoder = "snp_sequence"
    inputs = (TENSOR,)
    output_kind = "regression"

    @classmethod
    def sizes_from(cls, shapes: dict[str, tuple[int | None, ...]]) -> dict[str, int]:
        _, n_features = shapes[TENSOR]
        return {"n_features": int(n_features)}

    def __init__(self, n_features: int = 22, n_classes: int = 1, hidden: int = 48,
                 dense: int = 64, dropout: float = 0.1) -> None:
        super().__init__()
        # n_classes: the number of targets (the trainer's name for the outputs)
        self.config = dict(n_features=n_features, n_classes=n_classes, hidden=hidden,
                           dense=dense, dropout=dropout)
        self.gru = nn.GRU(n_features, hidden, batch_first=True, bidirectional=True)
        self.head = nn.Sequential(nn.Linear(4 * hidden + 1, dense), nn.ReLU(),
                                  nn.Dropout(dropout), nn.Linear(dense, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        present = x[:, :, :1]  # 1 for a site, 0 for the padding
        out, _ = self.gru(x)
        n = present.sum(dim=1)
        mean = (out * present).sum(dim=1) / n.clamp(min=1)
        top = (out * present + ABSENT * (1 - present)).max(dim=1).values
        top = top * (n > 0).to(top.dtype)  # a window without sites: zeros, not ABSENT
        return self.head(torch.cat([mean, top, n / x.shape[1]], dim=1))
