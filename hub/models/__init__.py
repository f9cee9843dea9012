"""Network architectures (PyTorch; needs the ``train`` extra). Inference never imports this.

An architecture is an ``nn.Module`` class built as ``cls(n_rows=, n_cols=, n_classes=)``,
returning one logit per class, with a ``config`` dict of its arguments and optionally a
``regularisation()`` term added to the loss; plugins add more (group ``popgen_hub.models``).
Class attributes say what it reads: ``encoder`` (default ``haplotype_image``) and ``inputs``,
the encoder's tensors it takes as positional arguments (default one image, (batch, 1, n_rows,
n_cols)).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from ..errors import PopgenHubError
from ..plugins import load_plugins
from .imagene_cnn import ImaGeneCNN
from .temporal import AncientOnlyNet, PresentOnlyNet, TemporalNet

ARCHITECTURES: dict[str, type] = {"imagene_cnn": ImaGeneCNN, "temporal_balsel": TemporalNet,
                                  "temporal_present": PresentOnlyNet,
                                  "temporal_ancient": AncientOnlyNet}


def available_architectures() -> dict[str, type]:
    """Built-in architectures and those of installed plugins, by name."""
    return load_plugins("models", ARCHITECTURES)


def build_model(architecture: str, **kwargs: Any) -> nn.Module:
    """Instantiate a registered architecture."""
    return architecture_class(architecture)(**kwargs)


def architecture_class(architecture: str) -> type:
    """A registered architecture's class (built-in or from a plugin)."""
    architectures = (ARCHITECTURES if architecture in ARCHITECTURES
                     else available_architectures())  # plugins only if needed
    if architecture not in architectures:
        raise PopgenHubError(
            f"unknown architecture {architecture!r}; known: {', '.join(architectures)}")
    return architectures[architecture]
