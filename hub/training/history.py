"""The record of a training run's epochs, and the epoch it keeps."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class EpochRecord:
    """One epoch's losses and qualities (the objective's: a classifier's accuracy, a
    regression's R², see :mod:`.objectives`)."""

    epoch: int
    train_loss: float
    train_quality: float
    validation_loss: float
    validation_quality: float
    seconds: float


def best_epoch(history: list[EpochRecord]) -> EpochRecord:
    """Model selection: the highest validation quality, then the lowest validation loss."""
    return max(history, key=lambda h: (h.validation_quality, -h.validation_loss))
