"""The architecture registry and what an architecture declares (see :mod:`popgen_hub.models`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..encoders import EncodedWindow
from ..plugins import Registry

ARCHITECTURES: Registry[type] = Registry("models", "architecture")


def default_sizes(shapes: dict[str, tuple[int, ...]]) -> dict[str, int]:
    """``n_rows`` and ``n_cols`` of an encoder's first tensor, (channels, rows, cols)."""
    _, rows, cols = next(iter(shapes.values()))
    return {"n_rows": rows, "n_cols": cols}


@dataclass(frozen=True)
class ArchitectureSpec:
    """A registered architecture and what it declares it reads."""

    name: str
    cls: type

    @property
    def encoder(self) -> str | None:
        return getattr(self.cls, "encoder", None)

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(getattr(self.cls, "inputs", ("haplotype_image",)))

    @property
    def output_kind(self) -> str:
        """"classes" (one logit per class) or "regression" (one value per target)."""
        return getattr(self.cls, "output_kind", "classes")

    @property
    def training_window(self) -> Callable[..., EncodedWindow] | None:
        """``training_window(encoder, block, window, rng)``: how the architecture encodes a
        training replicate, when not as a scan encodes a window (None), e.g. a random subset
        of its individuals."""
        return getattr(self.cls, "training_window", None)

    def build(self, shapes: dict[str, tuple[int | None, ...]], n_classes: int) -> nn.Module:
        """The network sized for an encoder's tensors and ``n_classes``."""
        sizes = getattr(self.cls, "sizes_from", default_sizes)(shapes)
        return self.cls(**sizes, n_classes=n_classes)


def get_architecture(name: str) -> ArchitectureSpec:
    """A registered architecture (built-in or plugin); an unknown name lists the known ones."""
    return ArchitectureSpec(name, ARCHITECTURES.get(name))


def build_model(name: str, **config: Any) -> nn.Module:
    """Rebuild a trained network from its recorded ``config``."""
    return ARCHITECTURES.get(name)(**config)


def regularisation(model: nn.Module) -> torch.Tensor | float:
    """The penalty ``model`` adds to the loss (0 for architectures that declare none)."""
    penalty = getattr(model, "regularisation", None)
    return penalty() if penalty is not None else 0.0

