"""Encoders turn one window of haplotypes into a model input tensor.

An encoder is built from the ``encoder`` section of a model contract, so training and inference
run the same code with the same parameters. Plugins add encoders (group ``popgen_hub.encoders``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import PopgenHubError
from ..plugins import load_plugins
from .haplotype_image import (
    DataclassEncoder,
    EncodedWindow,
    HaplotypeImageEncoder,
    present_day_rows,
    single_threaded_blas,
)
from .temporal_stack import TemporalStackEncoder

ENCODERS: dict[str, type] = {cls.name: cls for cls in (HaplotypeImageEncoder,
                                                      TemporalStackEncoder)}


def available_encoders() -> dict[str, type]:
    """Built-in encoders and those of installed plugins, by name."""
    return load_plugins("encoders", ENCODERS)


def build_encoder(config: dict[str, Any]) -> HaplotypeImageEncoder:
    """Build the encoder a contract's ``encoder`` section describes.

    Every encoder has the interface of :class:`HaplotypeImageEncoder` (``from_config``,
    ``to_config``, ``shape``, ``n_rows``, ``n_cols``, ``encode``); a multi-input encoder
    (:class:`TemporalStackEncoder`) returns a dict of named tensors and its ``shape`` is a dict.
    """
    params = dict(config)
    name = params.pop("name", None)
    encoders = ENCODERS if name in ENCODERS else available_encoders()  # plugins only if needed
    if name not in encoders:
        raise PopgenHubError(f"unknown encoder {name!r}; known encoders: {', '.join(encoders)} "
                             f"(others come from plugins: install the one that provides it; "
                             f"`popgen-hub plugins` lists those installed)")
    return encoders[name].from_config(params)


__all__ = ["ENCODERS", "DataclassEncoder", "EncodedWindow", "HaplotypeImageEncoder",
           "TemporalStackEncoder",
           "available_encoders", "build_encoder", "encoder_rows", "present_day_rows",
           "single_threaded_blas"]


def encoder_rows(encoder: Any, time_points: list[dict[str, Any]], source: str = "the data"
                 ) -> np.ndarray:
    """The stored rows ``encoder`` reads (its ``rows_for``; the present-day rows otherwise)."""
    rows_for = getattr(encoder, "rows_for", None)
    return rows_for(time_points, source) if rows_for else present_day_rows(time_points, source)
