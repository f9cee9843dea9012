"""Train a classifier on encoded windows and evaluate it honestly.

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
from ..evaluate import classification_metrics
from ..files import RunFolder
from ..models import regularisation
from ..schema import matches
from .checkpoint import restore_checkpoint, save_checkpoint
from .history import EpochRecord, best_epoch
from .plots import plot_confusion_matrix, plot_training_curve

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


def split_indices(n: int, seed: int, validation: float = 0.1, test: float = 0.1
                  ) -> dict[str, np.ndarray]:
    """A seeded partition of ``range(n)`` into disjoint train / validation / test indices."""
    check_fractions(validation, test)
    order = _rng(seed, "split").permutation(n)
    n_val, n_test = max(1, round(n * validation)), max(1, round(n * test))
    if n - n_val - n_test < 1:
        raise PopgenHubError(f"{n} replicates are too few to split into train/validation/test")
    return {
        "test": np.sort(order[:n_test]),
        "validation": np.sort(order[n_test:n_test + n_val]),
        "train": np.sort(order[n_test + n_val:]),
    }


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
    """The network's outputs before the softmax, in evaluation mode."""
    model.eval()
    out = []
    with torch.no_grad():
        for idx in _batches(n_windows(images), batch_size, None):
            out.append(model(*model_arguments(model, take(images, idx))).numpy())
    return np.concatenate(out)


def predict_proba(model: nn.Module, images: Inputs, batch_size: int = 256) -> np.ndarray:
    return torch.softmax(torch.from_numpy(predict_logits(model, images, batch_size)),
                         dim=1).numpy()


def _loss_and_accuracy(model: nn.Module, images: Inputs, labels: np.ndarray
                       ) -> tuple[float, float]:
    probs = predict_proba(model, images)
    picked = probs[np.arange(len(labels)), labels]
    loss = float(-np.log(np.clip(picked, 1e-12, 1)).mean())
    return loss, float((probs.argmax(1) == labels).mean())


def fit(model: nn.Module, training_batch: Callable[[int], tuple[Inputs, np.ndarray]],
        validation: tuple[Inputs, np.ndarray], settings: TrainSettings,
        progress: bool = True, checkpoint: Path | None = None) -> list[EpochRecord]:
    """Train for ``settings.epochs``; keep the weights of the best validation epoch.

    ``training_batch(epoch)`` returns that epoch's images and labels: the same saved set every
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
        total_loss, correct = _train_epoch(model, optimiser, images, labels, rng, settings,
                                           f"epoch {epoch + 1}/{settings.epochs}", progress)
        if scheduler is not None:
            scheduler.step()
        val_loss, val_acc = _loss_and_accuracy(model, *validation)
        record = EpochRecord(epoch + 1, total_loss / len(labels), correct / len(labels),
                             val_loss, val_acc, time.perf_counter() - started)
        history.append(record)
        log.info(f"epoch {record.epoch:>3}: train loss {record.train_loss:.4f} acc "
                 f"{record.train_accuracy:.4f} | validation loss {val_loss:.4f} acc {val_acc:.4f}"
                 f" ({record.seconds:.0f} s)")
        if best_epoch(history) is record:
            best_state = copy.deepcopy(model.state_dict())
        if checkpoint is not None:
            save_checkpoint(checkpoint, **parts, history=history, best_state=best_state)
    model.load_state_dict(best_state)
    return history


def _train_epoch(model: nn.Module, optimiser: torch.optim.Optimizer, images: Inputs,
                 labels: np.ndarray, rng: np.random.Generator, settings: TrainSettings,
                 desc: str, progress: bool) -> tuple[float, int]:
    """One pass over ``images`` in batches; the summed training loss and the correct count."""
    criterion = nn.CrossEntropyLoss()
    model.train()
    total_loss, correct = 0.0, 0
    bar = tqdm(total=len(labels), desc=desc, unit="img", disable=not progress, leave=False)
    for idx in _batches(len(labels), settings.batch_size, rng):
        y = torch.from_numpy(labels[idx])
        optimiser.zero_grad()
        logits = model(*model_arguments(model, take(images, idx)))
        loss = criterion(logits, y)
        penalty = regularisation(model)
        (loss + penalty).backward()
        optimiser.step()
        total_loss += float(loss.detach()) * len(idx)
        correct += int((logits.argmax(1) == y).sum())
        bar.update(len(idx))
    bar.close()
    return total_loss, correct


def evaluate(model: nn.Module, images: Inputs, labels: np.ndarray, label_names: list[str]
             ) -> dict[str, Any]:
    """Accuracy and confusion matrix (counts and row-normalised) on the held-out test set."""
    return classification_metrics(labels, predict_proba(model, images), label_names,
                                  what="the held-out test figures")


def save_run(run: RunFolder, model: nn.Module, record: dict[str, Any],
             history: list[EpochRecord]) -> None:
    """Write weights (a plain state dict), run.json and the two plots."""
    run.path.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), run.weights)
    record = {**record, "history": [asdict(h) for h in history]}
    run.record.write_text(json.dumps(record, indent=2))
    curve, confusion = (run / name for name in RunFolder.FIGURES)
    plot_training_curve(history, curve, title=record["architecture"])
    test = record["metrics"]["test"]
    plot_confusion_matrix(np.asarray(test["confusion_matrix"]), test["labels"], confusion,
                          title=f"held-out test set (n = {test['n']}), accuracy "
                                f"{test['accuracy']:.3f}")
