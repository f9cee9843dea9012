"""A two-layer perceptron: the smallest architecture `popgen-hub train` accepts."""

from __future__ import annotations

import torch
from torch import nn


class TinyMLP(nn.Module):
    def __init__(self, n_rows: int, n_cols: int, n_classes: int, hidden: int = 32) -> None:
        super().__init__()
        self.config = dict(n_rows=n_rows, n_cols=n_cols, n_classes=n_classes, hidden=hidden)
        self.layers = nn.Sequential(nn.Flatten(), nn.Linear(n_rows * n_cols, hidden), nn.ReLU(),
                                    nn.Linear(hidden, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)
