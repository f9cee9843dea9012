"""Encoders turn one window of haplotypes into a model input tensor.

An encoder is built from the ``encoder`` section of a model contract, so training and inference
run the same code with the same parameters.
"""

from __future__ import annotations

from typing import Any

from ..errors import PopgenHubError
from .haplotype_image import EncodedWindow, HaplotypeImageEncoder, single_threaded_blas

ENCODERS: dict[str, type] = {HaplotypeImageEncoder.name: HaplotypeImageEncoder}


def build_encoder(config: dict[str, Any]) -> HaplotypeImageEncoder:
    """Build the encoder a contract's ``encoder`` section describes."""
    params = dict(config)
    name = params.pop("name", None)
    if name not in ENCODERS:
        raise PopgenHubError(f"unknown encoder {name!r}; known encoders: {sorted(ENCODERS)}")
    return ENCODERS[name].from_config(params)


__all__ = ["ENCODERS", "EncodedWindow", "HaplotypeImageEncoder", "build_encoder",
           "single_threaded_blas"]
