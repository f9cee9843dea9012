"""The state of an interrupted training run, for ``popgen-hub train --resume``.

After every epoch the loop saves, atomically and inside the run's staging folder (see
:mod:`popgen_hub.resume`), everything the next epoch depends on: the weights, the optimiser
and learning-rate schedule, the batch-order and torch random states, the history so far and
the weights of the best epoch. Resumed, the run continues after its last finished epoch and
ends with the same weights as a run never interrupted.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import PopgenHubError
from ..files import atomic_files
from .history import EpochRecord

#: EpochRecord's fields of checkpoints written before regressions (accuracy became quality)
RENAMED = {"train_accuracy": "train_quality", "validation_accuracy": "validation_quality"}


def save_checkpoint(path: Path, *, model: nn.Module, optimiser: torch.optim.Optimizer,
                    scheduler: Any, rng: np.random.Generator, history: list[EpochRecord],
                    best_state: dict[str, torch.Tensor] | None) -> None:
    """Write the state after the last epoch of ``history`` to ``path`` (one rename)."""
    state = {"model": model.state_dict(), "optimiser": optimiser.state_dict(),
             "scheduler": scheduler.state_dict() if scheduler is not None else None,
             "batch_order": json.dumps(rng.bit_generator.state),
             "torch_rng": torch.get_rng_state(), "history": [asdict(h) for h in history],
             "best_state": best_state}
    with atomic_files(path) as (tmp,):
        torch.save(state, tmp)


def restore_checkpoint(path: Path, *, model: nn.Module, optimiser: torch.optim.Optimizer,
                       scheduler: Any, rng: np.random.Generator
                       ) -> tuple[list[EpochRecord], dict[str, torch.Tensor] | None]:
    """Load ``path`` into the model, optimiser, schedule and random states; the history so far
    and the best epoch's weights."""
    try:
        state = torch.load(path, weights_only=True, map_location="cpu")
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        if scheduler is not None:
            scheduler.load_state_dict(state["scheduler"])
        rng.bit_generator.state = json.loads(state["batch_order"])
        torch.set_rng_state(state["torch_rng"])
        history = [EpochRecord(**{RENAMED.get(key, key): value for key, value in h.items()})
                   for h in state["history"]]
    except Exception:  # torch and json raise a zoo of types for a damaged file
        raise PopgenHubError(
            f"{path}: the checkpoint of the interrupted training run is unreadable; run the "
            f"same command with --clean to start afresh") from None
    return history, state["best_state"]
