"""Network architectures (PyTorch; needs the ``train`` extra). Inference never imports this."""

from __future__ import annotations

from typing import Any

from torch import nn

from ..errors import PopgenHubError
from .imagene_cnn import ImaGeneCNN

ARCHITECTURES: dict[str, type] = {"imagene_cnn": ImaGeneCNN}


def build_model(architecture: str, **kwargs: Any) -> nn.Module:
    """Instantiate a registered architecture."""
    try:
        cls = ARCHITECTURES[architecture]
    except KeyError:
        raise PopgenHubError(
            f"unknown architecture {architecture!r}; known: {', '.join(ARCHITECTURES)}"
        ) from None
    return cls(**kwargs)
