"""Batches of encoded windows: one array (batch first), or for a multi-input model one array
per graph input, by tensor name."""

from __future__ import annotations

import numpy as np

Inputs = np.ndarray | dict[str, np.ndarray]


def n_windows(inputs: Inputs) -> int:
    return len(next(iter(inputs.values())) if isinstance(inputs, dict) else inputs)


def take(inputs: Inputs, idx: np.ndarray) -> Inputs:
    """The windows ``idx`` of ``inputs``."""
    return {k: v[idx] for k, v in inputs.items()} if isinstance(inputs, dict) else inputs[idx]


def stack_windows(windows: list) -> Inputs:
    """One batch from encoded windows (each an array, or a dict of arrays by tensor name)."""
    if isinstance(windows[0], dict):
        return {name: np.stack([w[name] for w in windows]) for name in windows[0]}
    return np.stack(windows)
