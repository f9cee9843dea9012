"""``popgen-hub train``: data (saved dataset or simulation on the fly) -> fit -> held-out test."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..encoders import HaplotypeImageEncoder
from ..errors import PopgenHubError
from ..models import build_model
from ..simulate.dataset import load_dataset, simulate_in_memory
from ..simulate.scenarios import get_scenario
from .loop import TrainSettings, best_epoch, evaluate, fit, save_run, split_indices, stream_seed

PARITY_SAMPLE = 64  # encoded test windows kept for the ONNX parity check


def train_from_dataset(architecture: str, data_dir: str | Path, run_dir: str | Path,
                       settings: TrainSettings, *, validation: float = 0.1, test: float = 0.1,
                       progress: bool = True, command: str = "") -> dict[str, Any]:
    """Train on a saved dataset split by replicate into disjoint train/validation/test."""
    dataset = load_dataset(data_dir)
    splits = split_indices(len(dataset.labels), settings.seed, validation, test)
    sets = {k: (dataset.images[v], dataset.labels[v]) for k, v in splits.items()}
    manifest = dataset.manifest
    data = {
        "source": "saved dataset",
        "dataset_command": manifest.get("command", ""),
        "scenario": manifest["scenario"],
        "parameters": manifest["parameters"],
        "simulator": manifest.get("simulator") or f"msprime {manifest['provenance']['msprime']}",
        "dataset_seed": manifest["seed"],
        "split": f"a seeded partition of {len(dataset.labels)} replicates by index "
                 f"(seed {settings.seed})",
        "citations": manifest.get("citations", []),
    }
    return _train(architecture, dataset.encoder, manifest["labels"], lambda epoch: sets["train"],
                  sets["validation"], sets["test"], data, run_dir, settings, progress,
                  n_train=len(splits["train"]), command=command)


def train_on_the_fly(architecture: str, scenario_name: str, run_dir: str | Path,
                     settings: TrainSettings, *, replicates_per_epoch: int,
                     validation_replicates: int, test_replicates: int,
                     scenario_params: dict[str, Any] | None = None,
                     encoder: HaplotypeImageEncoder | None = None, workers: int = 1,
                     progress: bool = True, command: str = "") -> dict[str, Any]:
    """ImaGene's simulation on the fly: a fresh batch of replicates every epoch."""
    import msprime

    scenario = get_scenario(scenario_name, **(scenario_params or {}))
    encoder = encoder or HaplotypeImageEncoder()

    def simulate(split: str, n: int, batch: int = 0) -> tuple[np.ndarray, np.ndarray]:
        return simulate_in_memory(scenario.name, scenario.parameters, encoder, n,
                                  stream_seed(settings.seed, split, batch), workers=workers,
                                  progress=progress, desc=f"simulating {split}")

    data = {
        "source": "simulated on the fly",
        "scenario": scenario.name,
        "parameters": scenario.parameters,
        "simulator": f"msprime {msprime.__version__}",
        "split": "independent simulation streams per split, a fresh training batch per epoch "
                 f"(seed {settings.seed})",
        "citations": list(scenario.citations),
    }
    validation = simulate("validation", validation_replicates)
    test = simulate("test", test_replicates)
    return _train(architecture, encoder, list(scenario.labels),
                  lambda epoch: simulate("train", replicates_per_epoch, epoch), validation, test,
                  data, run_dir, settings, progress,
                  n_train=replicates_per_epoch * settings.epochs, command=command)


def _train(architecture: str, encoder: HaplotypeImageEncoder, labels: list[str],
           training_batch: Callable[[int], tuple[np.ndarray, np.ndarray]],
           validation: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray],
           data: dict[str, Any], run_dir: str | Path, settings: TrainSettings, progress: bool,
           n_train: int, command: str) -> dict[str, Any]:
    if len(labels) < 2:
        raise PopgenHubError(f"the data have one class ({labels[0]}): a classifier needs at "
                             f"least two; choose a scenario with several classes")
    torch.manual_seed(settings.seed)  # initial weights
    model = build_model(architecture, n_rows=encoder.n_rows, n_cols=encoder.n_cols,
                        n_classes=len(labels))
    history = fit(model, training_batch, validation, settings, progress=progress)
    test_metrics = evaluate(model, *test, labels)
    best = best_epoch(history)
    record = {
        "architecture": architecture,
        "model_config": model.config,
        "encoder": encoder.to_config(),
        "labels": labels,
        "data": {**data, "n_train": n_train, "n_validation": int(len(validation[1])),
                 "n_test": int(len(test[1]))},
        "settings": asdict(settings),
        "best_epoch": best.epoch,
        "metrics": {"validation": {"accuracy": best.validation_accuracy},
                    "test": test_metrics},
        "command": command,
    }
    run_dir = Path(run_dir)
    save_run(run_dir, model, record, history)
    np.savez_compressed(run_dir / "parity_inputs.npz", images=test[0][:PARITY_SAMPLE])
    return record
