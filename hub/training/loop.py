"""Train a network on encoded windows (classes or a regression value: :mod:`.objectives`) and
evaluate it honestly.

Three disjoint sets: training (fits weights), validation (picks the epoch: model selection)
and test (touched once, after training, for the reported figures). With saved data they are a
seeded partition of replicate indices; simulating on the fly, they are independent simulation
streams, and each epoch trains on a fresh batch (ImaGene's "simulation on the fly").
"""

from __future__ import annotations

import copy
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..encoders.inputs import Inputs, n_windows, take
from ..errors import PopgenHubError
from ..files import RunFolder
from ..models import regularisation
from ..schema import matches
from .checkpoint import restore_checkpoint, save_checkpoint
from .history import EpochRecord, best_epoch
from .objectives import CLASSES, Objective
from .plots import plot_confusion_matrix, plot_predicted_vs_true, plot_training_curve

log = logging.getLogger("popgen_hub")

SPLIT_NAMES = ("train", "validation", "test")


def stream_seed(seed: int, split: str, batch: int = 0) -> int:
    """Seed of an independent simulation stream for one split (and one on-the-fly batch)."""
    state = np.random.SeedSequence([seed, SPLIT_NAMES.index(split), batch]).generate_state(1)
    return int(state[0])


def _rng(seed: int, purpose: str) -> np.random.Generator:
    """Independent generators per purpose from one seed (a split must not share a stream with
    the batch order)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(
        ("split", "batches").index(purpose),)))


def split_indices(n: int, seed: int, validation: float = 0.1, test: float = 0.1,
                  groups: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """A seeded partition of ``range(n)`` into disjoint train / validation / test indices;
    with ``groups`` (each replicate's genome), whole groups go to one split, so that no
    genome's windows (nor their backgrounds) are on both sides."""
    check_fractions(validation, test)
    names, owner = np.unique(np.arange(n) if groups is None else groups, return_inverse=True)
    order = _rng(seed, "split").permutation(len(names))
    n_val, n_test = (max(1, round(len(names) * share)) for share in (validation, test))
    what = "replicates" if groups is None else "genomes"
    if len(names) - n_val - n_test < 1:
        raise PopgenHubError(f"{len(names)} {what} are too few to split into "
                             f"train/validation/test")
    split_of = np.empty(len(names), dtype=np.int64)
    split_of[order] = np.repeat([0, 1, 2], [n_test, n_val, len(names) - n_test - n_val])
    return {name: np.flatnonzero(split_of[owner] == k)
            for k, name in enumerate(("test", "validation", "train"))}


def check_fractions(validation: float, test: float) -> None:
    """Refuse held-out fractions that leave nothing to hold out or nothing to train on."""
    if not (0 < validation < 1 and 0 < test < 1 and validation + test < 1):
        raise PopgenHubError(
            f"--validation-fraction {validation} and --test-fraction {test} must each be in "
            f"(0, 1) and sum below 1, e.g. 0.1 and 0.1")


#: The TrainSettings fields that are numbers: option, the least value allowed, whether that
#: least value is excluded (a learning rate of 0 trains nothing), whole numbers only.
_NUMBERS = {"epochs": ("--epochs", 1, False, True), "batch_size": ("--batch-size", 1, False, True),
            "learning_rate": ("--learning-rate", 0, True, False),
            "weight_decay": ("--weight-decay", 0, False, False),
            "threads": ("--threads", 1, False, True)}
OPTIMIZERS, SCHEDULES = ("rmsprop", "adam", "adamw"), ("constant", "cosine")


@dataclass
class TrainSettings:
    epochs: int = 10
    batch_size: int = 32  # ImaGene
    learning_rate: float = 1e-3
    optimizer: str = "rmsprop"  # ImaGene
    weight_decay: float = 0.0
    #: "constant" learning rate, or "cosine": annealed to zero over the epochs
    schedule: str = "constant"
    seed: int = 0
    threads: int = field(default_factory=lambda: os.cpu_count() or 1)

    def __post_init__(self) -> None:
        for name, (option, least, exclusive, whole) in _NUMBERS.items():
            value = getattr(self, name)
            if not matches(value, int if whole else float) or value < least or (
                    exclusive and value == least):
                kind = "a whole number" if whole else "a finite number"
                raise PopgenHubError(f"{option} {value}: must be {kind} "
                                     f"{'above' if exclusive else 'of at least'} {least}")
        for option, value, known in (("--optimizer", self.optimizer, OPTIMIZERS),
                                     ("--schedule", self.schedule, SCHEDULES)):
            if value not in known:
                raise PopgenHubError(f"{option} {value!r} is not one of {', '.join(known)}")


def model_arguments(model: nn.Module, inputs: Inputs) -> list[torch.Tensor]:
    """The tensors to call ``model`` with: the encoder's one tensor, or the architecture's
    declared ``inputs`` in order."""
    if len(inputs) == 1:
        return [torch.from_numpy(next(iter(inputs.values())))]
    return [torch.from_numpy(inputs[name]) for name in model.inputs]


def _batches(n: int, batch_size: int, rng: np.random.Generator | None):
    order = rng.permutation(n) if rng is not None else np.arange(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


def predict_logits(model: nn.Module, images: Inputs, batch_size: int = 256) -> np.ndarray:
    """The network's outputs (a classifier's before the softmax), in evaluation mode."""
    model.eval()
    out = []
    with torch.no_grad():
        for idx in _batches(n_windows(images), batch_size, None):
            out.append(model(*model_arguments(model, take(images, idx))).numpy())
    return np.concatenate(out)


def fit(model: nn.Module, training_batch: Callable[[int], tuple[Inputs, np.ndarray]],
        validation: tuple[Inputs, np.ndarray], settings: TrainSettings,
        progress: bool = True, checkpoint: Path | None = None,
        objective: Objective = CLASSES) -> list[EpochRecord]:
    """Train for ``settings.epochs``; keep the weights of the best validation epoch.

    ``training_batch(epoch)`` returns that epoch's images and targets (class indices, or the
    values ``objective`` learns): the same saved set every
    epoch, or a fresh simulated batch. Seed torch before building ``model`` for reproducible
    initial weights; the batch order comes from ``settings.seed``. With ``checkpoint``, the
    state after every epoch is saved there, and a checkpoint already there (an interrupted
    run's) is continued after its last epoch, to the same final weights.
    """
    torch.set_num_threads(settings.threads)
    rng = _rng(settings.seed, "batches")
    optimisers = {"rmsprop": torch.optim.RMSprop, "adam": torch.optim.Adam,
                  "adamw": torch.optim.AdamW}
    optimiser = optimisers[settings.optimizer](model.parameters(), lr=settings.learning_rate,
                                               weight_decay=settings.weight_decay)
    scheduler = (torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, settings.epochs)
                 if settings.schedule == "cosine" else None)
    parts = {"model": model, "optimiser": optimiser, "scheduler": scheduler, "rng": rng}
    history: list[EpochRecord] = []
    best_state = None
    if checkpoint is not None and checkpoint.is_file():
        history, best_state = restore_checkpoint(checkpoint, **parts)
        log.info(f"resuming after epoch {len(history)} of {settings.epochs} ({checkpoint})")
    for epoch in range(len(history), settings.epochs):
        started = time.perf_counter()
        images, labels = training_batch(epoch)
        train_loss, train_quality = _train_epoch(
            model, optimiser, images, labels, rng, settings, objective,
            f"epoch {epoch + 1}/{settings.epochs}", progress)
        if scheduler is not None:
            scheduler.step()
        outputs = predict_logits(model, validation[0])
        val_loss = objective.validation_loss(outputs, validation[1])
        val_quality = objective.quality(outputs, validation[1])
        record = EpochRecord(epoch + 1, train_loss, train_quality, val_loss, val_quality,
                             time.perf_counter() - started)
        history.append(record)
        name = objective.quality_name
        log.info(f"epoch {record.epoch:>3}: train loss {train_loss:.4f} {name} "
                 f"{train_quality:.4f} | validation loss {val_loss:.4f} {name} "
                 f"{val_quality:.4f} ({record.seconds:.0f} s)")
        if best_epoch(history) is record:
            best_state = copy.deepcopy(model.state_dict())
        if checkpoint is not None:
            save_checkpoint(checkpoint, **parts, history=history, best_state=best_state)
    model.load_state_dict(best_state)
    return history


def _train_epoch(model: nn.Module, optimiser: torch.optim.Optimizer, images: Inputs,
                 labels: np.ndarray, rng: np.random.Generator, settings: TrainSettings,
                 objective: Objective, desc: str, progress: bool
                 ) -> tuple[float, float]:
    """One pass over ``images`` in batches; the mean training loss, and the objective's
    quality of the outputs as they were trained on."""
    model.train()
    total_loss, outputs, order = 0.0, [], []
    bar = tqdm(total=len(labels), desc=desc, unit="img", disable=not progress, leave=False)
    for idx in _batches(len(labels), settings.batch_size, rng):
        optimiser.zero_grad()
        logits = model(*model_arguments(model, take(images, idx)))
        loss = objective.loss(logits, torch.from_numpy(labels[idx]))
        penalty = regularisation(model)
        (loss + penalty).backward()
        optimiser.step()
        total_loss += float(loss.detach()) * len(idx)
        outputs.append(logits.detach().numpy())
        order.append(idx)
        bar.update(len(idx))
    bar.close()
    return (total_loss / len(labels),
            objective.quality(np.concatenate(outputs), labels[np.concatenate(order)]))


def evaluate(model: nn.Module, images: Inputs, labels: np.ndarray, label_names: list[str],
             objective: Objective = CLASSES) -> dict[str, Any]:
    """The held-out test figures: a classifier's accuracy and confusion matrix (counts and
    row-normalised), a regression's errors and correlations (:func:`~popgen_hub.evaluate.
    regression_metrics`)."""
    return objective.test_metrics(predict_logits(model, images), labels, label_names)


def save_run(run: RunFolder, model: nn.Module, record: dict[str, Any],
             history: list[EpochRecord], objective: Objective = CLASSES) -> None:
    """Write weights (a plain state dict), run.json and the two plots (the training curve,
    and the confusion matrix of the test set or its predicted against true values)."""
    run.path.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), run.weights)
    record = {**record, "history": [asdict(h) for h in history]}
    run.record.write_text(json.dumps(record, indent=2))
    curve, confusion = (run / name for name in RunFolder.FIGURES)
    plot_training_curve(history, curve, title=record["architecture"],
                        loss=objective.loss_name, quality=objective.quality_name)
    test = record["metrics"]["test"]
    if objective.kind == "regression":
        plot_predicted_vs_true(test, run / RunFolder.predicted_figure,
                               title=f"held-out test set (n = {test['n']})")
        return
    plot_confusion_matrix(np.asarray(test["confusion_matrix"]), test["labels"], confusion,
                          title=f"held-out test set (n = {test['n']}), accuracy "
                                f"{test['accuracy']:.3f}")
