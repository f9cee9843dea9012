"""The review's branched network for temporal data, and its two single-branch baselines.

Korfmann, Gaggiotti & Fumagalli (2023) classify a locus from 40 present-day haplotypes (one
branch) and four ancient time points of 10 haplotypes stacked (the other branch); each branch is
a residual CNN over sorted haplotypes, the branch features are concatenated and dense layers
give the classes. Here, per branch and per time point:

    conv 3x3 (padding 1) + ReLU, average-pool sites by 2,
    residual blocks [conv 3x3 + ReLU + conv 3x3, plus the input] + ReLU,
    mean and max over haplotypes (invariant to their order),

then, per time point, the features of the ``2 centre + 1`` pooled columns at the window's
middle (where the selected site sits; each covers two sites) and their mean over the whole
window, plus the allele frequencies of the middle site and of ``centre`` sites each side of it
(unpooled), are concatenated over time points and branches, and dense layers give the
classes. Keeping the middle at this resolution matters: on 2,100 replicates a
logistic regression on the central sites' frequencies per time point alone beats the same
network that pools sites along the locus (docs/temporal_balancing.md). The inputs are the
tensors of :class:`popgen_hub.encoders.TemporalStackEncoder`: ``present`` (batch, 1, 40,
sites) and ``ancient`` (batch, time points, 10, sites). The baselines read one of them.
"""

from __future__ import annotations

import torch
from torch import nn

from ..encoders.temporal_stack import ANCIENT, PRESENT
from ..errors import PopgenHubError
from .base import ARCHITECTURES


class ResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.conv2(torch.relu(self.conv1(x))))


class HaplotypeBranch(nn.Module):
    """Residual CNN over one time point's (haplotypes x sites) image, pooled over haplotypes:
    (n, 1, haplotypes, sites) -> (n, 2 filters, sites / 2)."""

    def __init__(self, filters: int, blocks: int) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, filters, 3, padding=1), nn.ReLU(),
                                  nn.AvgPool2d((1, 2)))
        self.blocks = nn.Sequential(*[ResidualBlock(filters) for _ in range(blocks)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.blocks(self.stem(x))
        return torch.cat([features.mean(dim=2), features.amax(dim=2)], dim=1)


@ARCHITECTURES.register("temporal_balsel")
class TemporalNet(nn.Module):
    """Branched network; ``inputs`` picks both branches or one (the baselines)."""

    encoder = "temporal_stack"
    inputs: tuple[str, ...] = (PRESENT, ANCIENT)

    @classmethod
    def sizes_from(cls, shapes: dict[str, tuple[int, ...]]) -> dict[str, int]:
        """Rows and sites of the present-day image; ancient time points of the stack."""
        _, rows, cols = shapes[PRESENT]
        return {"n_rows": rows, "n_cols": cols, "n_time_points": shapes[ANCIENT][0]}

    def __init__(self, n_rows: int = 40, n_cols: int = 64, n_classes: int = 3,
                 n_time_points: int = 4, filters: int = 16, blocks: int = 1, centre: int = 2,
                 dense: int = 64, dropout: float = 0.3) -> None:
        super().__init__()
        # n_rows is part of every architecture's signature; pooling over haplotypes makes
        # these networks indifferent to it
        self.config = dict(n_rows=n_rows, n_cols=n_cols, n_classes=n_classes,
                           n_time_points=n_time_points, filters=filters, blocks=blocks,
                           centre=centre, dense=dense, dropout=dropout)
        if not 0 <= centre < n_cols // 4:
            raise PopgenHubError(f"temporal_balsel: centre={centre} must be below n_cols / 4 = "
                                 f"{n_cols // 4} (n_cols is the encoder's n_sites)")
        # the encoder puts the first site at or after the window's middle in column n_cols // 2;
        # after the stem halves the sites, in column n_cols // 4
        self.n_cols, self.centre = n_cols, centre
        self.branches = nn.ModuleDict({name: HaplotypeBranch(filters, blocks)
                                       for name in self.inputs})
        width = {PRESENT: 1, ANCIENT: n_time_points}
        per_time_point = 2 * filters * (2 * centre + 2) + 2 * centre + 1
        features = sum(width[name] * per_time_point for name in self.inputs)
        self.classifier = nn.Sequential(
            nn.Linear(features, dense), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(dense, n_classes))

    def _branch(self, name: str, x: torch.Tensor) -> torch.Tensor:
        batch, groups, rows, cols = x.shape
        # each time point through the same branch, then its features side by side
        features = self.branches[name](x.reshape(batch * groups, 1, rows, cols))
        middle = features.shape[2] // 2
        central = features[:, :, middle - self.centre:middle + self.centre + 1]
        context = features.mean(dim=2)  # the whole window, for the footprint's width
        # and the allele frequencies of the central sites per time point, unpooled: the
        # trajectory of the site at the middle is the sharpest signal of a young balanced allele
        frequencies = x[..., self.n_cols // 2 - self.centre:self.n_cols // 2 + self.centre + 1]
        return torch.cat([central.reshape(batch, -1), context.reshape(batch, -1),
                          frequencies.mean(dim=2).reshape(batch, -1)], dim=1)

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        parts = [self._branch(name, x) for name, x in zip(self.inputs, tensors, strict=True)]
        return self.classifier(torch.cat(parts, dim=1))


@ARCHITECTURES.register("temporal_present")
class PresentOnlyNet(TemporalNet):
    """Baseline: the present-day branch alone."""

    inputs = (PRESENT,)


@ARCHITECTURES.register("temporal_ancient")
class AncientOnlyNet(TemporalNet):
    """Baseline: the ancient branch alone."""

    inputs = (ANCIENT,)
