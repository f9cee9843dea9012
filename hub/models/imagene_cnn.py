"""ImaGene's CNN (Torada et al. 2019).

3 x [conv 32 3x3 + ReLU + 2x2 max-pool] -> dense 64 -> one logit per class.

Kernel weights carry ImaGene's L1/L2 penalty (0.005 each), added to the loss by the trainer
through :meth:`regularisation`. The network returns logits; the exported ONNX graph appends a
softmax so that it outputs class probabilities.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import PopgenHubError
from .base import ARCHITECTURES


@ARCHITECTURES.register("imagene_cnn")
class ImaGeneCNN(nn.Module):
    encoder = "haplotype_image"
    inputs = ("haplotype_image",)

    def __init__(self, n_rows: int = 128, n_cols: int = 128, n_classes: int = 2,
                 filters: int = 32, dense: int = 64, l1: float = 0.005, l2: float = 0.005) -> None:
        super().__init__()
        self.config = dict(n_rows=n_rows, n_cols=n_cols, n_classes=n_classes, filters=filters,
                           dense=dense, l1=l1, l2=l2)
        layers: list[nn.Module] = []
        channels, rows, cols = 1, n_rows, n_cols
        for _ in range(3):
            layers += [nn.Conv2d(channels, filters, kernel_size=3), nn.ReLU(), nn.MaxPool2d(2)]
            channels, rows, cols = filters, (rows - 2) // 2, (cols - 2) // 2
        if rows < 1 or cols < 1:
            raise PopgenHubError(f"imagene_cnn: images of {n_rows}x{n_cols} are too small for "
                                 f"its three conv blocks; give the image encoder n_rows and "
                                 f"n_cols of at least 22")
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(channels * rows * cols, dense), nn.ReLU(),
            nn.Linear(dense, n_classes),
        )
        self.l1, self.l2 = l1, l2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))

    def regularisation(self) -> torch.Tensor:
        kernels = [m.weight for m in self.features if isinstance(m, nn.Conv2d)]
        return sum(self.l1 * k.abs().sum() + self.l2 * k.pow(2).sum() for k in kernels)
