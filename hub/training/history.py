"""The record of a training run's epochs, and the epoch it keeps."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class EpochRecord:
    epoch: int
    train_loss: float
    train_accuracy: float
    validation_loss: float
    validation_accuracy: float
    seconds: float


def best_epoch(history: list[EpochRecord]) -> EpochRecord:
    """Model selection: the highest validation accuracy, then the lowest validation loss."""
    return max(history, key=lambda h: (h.validation_accuracy, -h.validation_loss))
