"""Calibration of a trained classifier by temperature scaling (Guo et al. 2017).

One temperature ``T`` is fitted on the validation set by minimising the negative
log-likelihood of ``softmax(logits / T)``; the exported ONNX graph divides its logits by ``T``
before the softmax, so every runtime gets calibrated probabilities unchanged. The held-out
test set measures the expected calibration error (ECE) and negative log-likelihood before and
after; the reliability diagram shows the primary class's predicted probability against how
often it was the true class.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..encoders.inputs import Inputs
from .loop import predict_logits
from .plots import plot_reliability

ECE_BINS = 15
#: the temperatures allowed (a perfectly separated validation set would drive T to 0)
T_RANGE = (0.05, 20.0)


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Class probabilities of ``logits / temperature``, computed as the exported graph does."""
    return torch.softmax(torch.from_numpy(logits) / temperature, dim=1).numpy()


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of the true classes under ``softmax(logits / T)``."""
    scaled = torch.from_numpy(logits).double() / temperature
    return float(nn.functional.cross_entropy(scaled, torch.from_numpy(labels).long()))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature in :data:`T_RANGE` that minimises the validation NLL (LBFGS on log T);
    1 when no temperature does better than none."""
    z, y = torch.from_numpy(logits).double(), torch.from_numpy(labels).long()
    low, high = np.log(T_RANGE)
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS([log_t], lr=1.0, max_iter=200,
                                  line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = nn.functional.cross_entropy(z / log_t.clamp(low, high).exp(), y)
        loss.backward()
        return loss

    optimiser.step(closure)
    temperature = float(log_t.detach().clamp(low, high).exp())
    return temperature if nll(logits, labels, temperature) < nll(logits, labels) else 1.0


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray,
                               bins: int = ECE_BINS) -> float:
    """The top-label ECE: over ``bins`` equal-width bins of the highest probability, the
    share-weighted gap between mean confidence and accuracy (the reliability diagram's)."""
    points = reliability(probabilities.max(1), probabilities.argmax(1) == labels, bins)
    return float(sum(abs(p - o) * n for p, o, n in zip(
        points["predicted"], points["observed"], points["count"], strict=True)) / len(labels))


def reliability(probability: np.ndarray, happened: np.ndarray, bins: int = ECE_BINS
                ) -> dict[str, list[float]]:
    """Per non-empty bin of ``probability``: its mean, the observed frequency of the event and
    the number of windows (the points of a reliability diagram)."""
    which = np.minimum((probability * bins).astype(int), bins - 1)
    kept = [b for b in range(bins) if (which == b).any()]
    return {"predicted": [float(probability[which == b].mean()) for b in kept],
            "observed": [float(happened[which == b].mean()) for b in kept],
            "count": [int((which == b).sum()) for b in kept]}


def calibrate(model: nn.Module, validation: tuple[Inputs, np.ndarray],
              test: tuple[Inputs, np.ndarray], labels: list[str], figure: Path
              ) -> dict[str, Any]:
    """Fit the temperature of ``model`` on ``validation``, measure it on ``test`` and draw the
    reliability diagram of class ``labels[1]`` into ``figure``; the contract's
    ``metrics.calibration``."""
    val_logits, test_logits = (predict_logits(model, images) for images, _ in (validation, test))
    return calibrate_logits((val_logits, validation[1]), (test_logits, test[1]), labels, figure)


def calibrate_logits(validation: tuple[np.ndarray, np.ndarray],
                     test: tuple[np.ndarray, np.ndarray], labels: list[str], figure: Path
                     ) -> dict[str, Any]:
    """:func:`calibrate` from (logits, labels) of the validation and test sets: any values a
    softmax turns into class probabilities (an ensemble's mean log-probabilities too)."""
    val_logits, test_logits = validation[0], test[0]
    temperature = fit_temperature(val_logits, validation[1])
    y = test[1]
    before, after = softmax(test_logits), softmax(test_logits, temperature)
    primary = y == 1
    plot_reliability({"before": reliability(before[:, 1], primary),
                      f"after (T = {temperature:.3f})": reliability(after[:, 1], primary)},
                     figure, f"P({labels[1]}) on the held-out test set (n = {len(y)})")
    return {"temperature": temperature, "split": "test", "bins": ECE_BINS, "n": int(len(y)),
            "ece_before": expected_calibration_error(before, y),
            "ece_after": expected_calibration_error(after, y),
            "nll_before": nll(test_logits, y), "nll_after": nll(test_logits, y, temperature),
            "validation_nll_before": nll(val_logits, validation[1]),
            "validation_nll_after": nll(val_logits, validation[1], temperature)}
