"""What a network learns, and how a run is judged and exported: classes or a regression value.

``Classes``: one logit per class, cross-entropy, accuracy; the exported graph gives the
probabilities (after the run's temperature). ``Regression``: one value, the mean squared error
on the scale it trains on (log10 of the target when the scenario asks, as rates spanning orders
of magnitude do), R² on that scale; the exported graph gives the target itself (10 ** the
network's output on a log10 scale), so a scan's track reads in the target's unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from ..datasets import target_values
from ..errors import PopgenHubError
from ..evaluate import classification_metrics, regression_metrics


@dataclass(frozen=True)
class Classes:
    kind: ClassVar[str] = "classes"
    quality_name: ClassVar[str] = "accuracy"
    quality_key: ClassVar[str] = "accuracy"  # its name in a run's metrics
    loss_name: ClassVar[str] = "cross-entropy loss"
    output_name: ClassVar[str] = "probabilities"

    def targets(self, labels: np.ndarray, data_dir: str | Path, manifest: dict[str, Any]
                ) -> np.ndarray:
        return labels

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(outputs, targets)

    def quality(self, outputs: np.ndarray, targets: np.ndarray) -> float:
        return float((outputs.argmax(1) == targets).mean())

    def validation_loss(self, outputs: np.ndarray, targets: np.ndarray) -> float:
        shifted = outputs - outputs.max(1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
        return float(-np.maximum(log_p[np.arange(len(targets)), targets], np.log(1e-12)).mean())

    def test_metrics(self, outputs: np.ndarray, targets: np.ndarray, names: list[str]
                     ) -> dict[str, Any]:
        probabilities = torch.softmax(torch.from_numpy(outputs), dim=1).numpy()
        return classification_metrics(targets, probabilities, names,
                                      what="the held-out test figures")

    def exported(self, network: nn.Module, temperature: float | None) -> nn.Module:
        return WithSoftmax(network, temperature)


@dataclass(frozen=True)
class Regression:
    #: the target as the scenario defines it (``parameter``, ``factor``, ``log10``)
    target: dict[str, Any]
    kind: ClassVar[str] = "regression"
    quality_name: ClassVar[str] = "R²"
    quality_key: ClassVar[str] = "r2"
    output_name: ClassVar[str] = "values"

    @property
    def loss_name(self) -> str:
        return "mean squared error" + (" (log10)" if self.target["log10"] else "")

    def targets(self, labels: np.ndarray, data_dir: str | Path, manifest: dict[str, Any]
                ) -> np.ndarray:
        """Each replicate's target on the scale the network learns."""
        values = target_values(data_dir, manifest)
        return (np.log10(values) if self.target["log10"] else values).astype(np.float32)

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return nn.functional.mse_loss(outputs[:, 0], targets)

    def quality(self, outputs: np.ndarray, targets: np.ndarray) -> float:
        residual = ((outputs[:, 0] - targets) ** 2).sum()
        return float(1 - residual / max(((targets - targets.mean()) ** 2).sum(), 1e-12))

    def validation_loss(self, outputs: np.ndarray, targets: np.ndarray) -> float:
        return float(((outputs[:, 0] - targets) ** 2).mean())

    def test_metrics(self, outputs: np.ndarray, targets: np.ndarray, names: list[str]
                     ) -> dict[str, Any]:
        natural = (lambda x: 10.0 ** x) if self.target["log10"] else (lambda x: x)
        return regression_metrics(natural(targets.astype(np.float64)),
                                  natural(outputs[:, 0].astype(np.float64)), names[0],
                                  log10=self.target["log10"])

    def exported(self, network: nn.Module, temperature: float | None) -> nn.Module:
        return PowerOfTen(network) if self.target["log10"] else network


Objective = Classes | Regression
#: The objective of every classifier (the default of the training functions).
CLASSES = Classes()


def objective_for(architecture_kind: str, manifest: dict[str, Any], data: str | Path
                  ) -> Objective:
    """The objective of an architecture (its ``output_kind``) on a dataset, which must hold
    what it learns: classes, or a regression target of one value."""
    target = manifest.get("target")
    if architecture_kind == "regression":
        if not target:
            raise PopgenHubError(f"{data} holds classes ({', '.join(manifest['labels'])}), and "
                                 f"this architecture regresses a value: train it on a "
                                 f"regression scenario's dataset (e.g. recombination_regime)")
        return Regression(target)
    if target:
        raise PopgenHubError(f"{data} holds a regression target ({target['parameter']}), and "
                             f"this architecture is a classifier: train a regression "
                             f"architecture (e.g. relernn_gru) on it")
    return CLASSES


def objective_of_run(run: dict[str, Any]) -> Objective:
    """The objective a run's record states (runs without one are classifiers)."""
    if run.get("output_kind", "classes") == "classes":
        return CLASSES
    target = run["data"].get("target")
    if run["output_kind"] != "regression" or not isinstance(target, dict):
        raise PopgenHubError(f"the run of {run['architecture']} states output "
                             f"{run['output_kind']!r} without a regression target in its data; "
                             f"train it again with `popgen-hub train`")
    return Regression(target)


class WithSoftmax(nn.Module):
    """The exported graph of a classifier: the network's logits turned into class
    probabilities, divided first by the run's ``temperature`` when it was calibrated
    (``train``'s temperature scaling)."""

    def __init__(self, network: nn.Module, temperature: float | None = None) -> None:
        super().__init__()
        self.network = network
        self.temperature = temperature

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        logits = self.network(*inputs)
        if self.temperature is not None:
            logits = logits / self.temperature
        return torch.softmax(logits, dim=1)


class PowerOfTen(nn.Module):
    """The exported graph of a regression learnt on a log10 scale: the target itself."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return torch.pow(10.0, self.network(*inputs))
