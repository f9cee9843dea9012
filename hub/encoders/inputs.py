"""Batches of encoded windows: one array per tensor name, batch axis first."""

from __future__ import annotations

import numpy as np

Inputs = dict[str, np.ndarray]


def n_windows(inputs: Inputs) -> int:
    return len(next(iter(inputs.values())))


def take(inputs: Inputs, idx: np.ndarray) -> Inputs:
    """The windows ``idx`` of ``inputs``."""
    return {name: array[idx] for name, array in inputs.items()}


def stack_windows(windows: list[Inputs]) -> Inputs:
    """One batch from the tensors of encoded windows."""
    return {name: np.stack([window[name] for window in windows]) for name in windows[0]}
