"""``popgen-hub train``: data (saved dataset or simulation on the fly) -> fit -> held-out test."""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, replace
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..datasets import encode_dataset, genomes_of, load_dataset, load_manifest
from ..encoders import Encoder, HaplotypeImageEncoder, build_encoder
from ..encoders.inputs import Inputs, take
from ..errors import PopgenHubError
from ..files import RunFolder, Staging
from ..models import get_architecture
from ..resume import resumable_output, run_options
from ..simulate.dataset import simulate_in_memory, simulator_description
from ..simulate.scenarios import get_scenario
from .calibrate import calibrate as calibrate_model
from .history import best_epoch
from .loop import TrainSettings, evaluate, fit, save_run, split_indices, stream_seed
from .objectives import CLASSES, Objective, objective_for
from .plots import plot_repeat_panels

log = logging.getLogger("popgen_hub")

PARITY_SAMPLE = 64  # encoded test windows kept for the ONNX parity check
#: option names of the recorded run options that are not ``--`` + the name with dashes
_OPTION_NAMES = {"validation": "--validation-fraction", "test": "--test-fraction",
                 "encoder": "--encoder", "parameters": "--param", "scenario": "--simulate",
                 "replicates": "--replicates-per-epoch/--validation-replicates/"
                               "--test-replicates",
                 "architecture": "the architecture", "calibrate": "--no-calibrate"}


def dataset_inputs(architecture: str, data_dir: str | Path,
                   encoder_overrides: dict[str, Any] | None = None, progress: bool = True,
                   seed: int = 0) -> tuple[Any, Inputs, np.ndarray, dict[str, Any]]:
    """The encoder, encoded inputs, labels and manifest to train ``architecture`` on a dataset.

    The images stored at simulation time are used when the architecture reads them as they
    are; otherwise (another encoder, overridden parameters, or an architecture's own
    ``training_window``, drawing from ``seed``) every replicate is encoded again from its raw
    haplotypes, so one dataset serves every architecture.
    """
    manifest = load_manifest(data_dir)
    spec = get_architecture(architecture)
    objective_for(spec.output_kind, manifest, data_dir)  # refused before any encoding
    # architectures that do not say (plugins) read the images stored with the dataset
    wanted = spec.encoder or manifest["encoder"]["name"]
    if wanted == manifest["encoder"]["name"] and not encoder_overrides and \
            spec.training_window is None:
        dataset = load_dataset(data_dir, manifest)
        return dataset.encoder, dataset.inputs, dataset.labels, manifest
    encoder = build_encoder({"name": wanted, **(encoder_overrides or {})})
    encode = None if spec.training_window is None else partial(
        spec.training_window, encoder, rng=np.random.default_rng(seed))
    inputs, labels = encode_dataset(data_dir, encoder, progress=progress, manifest=manifest,
                                    encode=encode)
    return encoder, inputs, labels, manifest


def train_from_dataset(architecture: str, data_dir: str | Path, run_dir: str | Path,
                       settings: TrainSettings, *, validation: float = 0.1, test: float = 0.1,
                       encoder_overrides: dict[str, Any] | None = None,
                       prepared: tuple[Any, Inputs, np.ndarray, dict[str, Any]] | None = None,
                       progress: bool = True, command: str = "", resume: bool = False,
                       clean: bool = False, calibrate: bool = True) -> dict[str, Any]:
    """Train on a saved dataset split by replicate into disjoint train/validation/test, into a
    new run folder ``run_dir`` (see :func:`run_output`); ``calibrate``: fit a temperature
    (:mod:`popgen_hub.training.calibrate`).

    ``prepared`` is :func:`dataset_inputs`' result, to encode a dataset once for many runs.
    """
    key, options = _run_key(data_dir, architecture, settings, validation, test,
                            encoder_overrides, calibrate)
    with run_output(run_dir, key, command, resume, clean, options=options) as (staging,
                                                                              existing):
        return existing or _fit_on_dataset(
            architecture, data_dir, staging.dir, settings, validation=validation, test=test,
            encoder_overrides=encoder_overrides, prepared=prepared, progress=progress,
            provenance={"command": command, "fingerprint": key}, calibrate=calibrate)


def _fit_on_dataset(architecture: str, data_dir: str | Path, run_dir: Path,
                    settings: TrainSettings, *, validation: float, test: float,
                    encoder_overrides: dict[str, Any] | None,
                    prepared: tuple[Any, Inputs, np.ndarray, dict[str, Any]] | None,
                    progress: bool, provenance: dict[str, Any], calibrate: bool = True
                    ) -> dict[str, Any]:
    encoder, inputs, labels, manifest = prepared or dataset_inputs(
        architecture, data_dir, encoder_overrides, progress, settings.seed)
    objective = objective_for(get_architecture(architecture).output_kind, manifest, data_dir)
    labels = objective.targets(labels, data_dir, manifest)
    genomes = genomes_of(data_dir, manifest)
    splits = split_indices(len(labels), settings.seed, validation, test, groups=genomes)
    sets = {k: (take(inputs, v), labels[v]) for k, v in splits.items()}
    data = {
        "source": "saved dataset",
        "dataset_command": manifest.get("command", ""),
        "scenario": manifest["scenario"],
        "parameters": manifest["parameters"],
        "simulator": simulator_description(manifest),
        "dataset_seed": manifest["seed"],
        "split": f"a seeded partition of {len(labels)} replicates by index "
                 f"(seed {settings.seed})" if genomes is None else
                 f"a seeded partition of {len(labels)} replicates by their "
                 f"{len(np.unique(genomes))} genomes (seed {settings.seed})",
        "test_indices": splits["test"].tolist(),
        "citations": manifest.get("citations", []),
        **({"target": manifest["target"]} if objective.kind == "regression" else {}),
    }
    return _train(architecture, encoder, manifest["labels"], lambda epoch: sets["train"],
                  sets["validation"], sets["test"], data, run_dir, settings, progress,
                  n_train=len(splits["train"]), provenance=provenance,
                  calibrate=calibrate and objective.kind == "classes", objective=objective)


@contextmanager
def run_output(run_dir: str | Path, key: str, command: str, resume: bool, clean: bool,
               record: str = RunFolder.record, options: dict[str, Any] | None = None
               ) -> Iterator[tuple[Staging, dict[str, Any] | None]]:
    """A training run's folder, new or empty (:mod:`popgen_hub.resume`): staged and published
    whole; interrupted, ``resume`` continues in the kept staging folder after the last
    finished epoch (:mod:`popgen_hub.training.checkpoint`; ``train --repeats``: the repeats
    not finished), ``clean`` discards it. Into a finished run of the same data and settings,
    ``resume`` gives what its ``record`` file holds (nothing to do). ``options`` (of
    :func:`~popgen_hub.resume.run_options`) are kept with the partial work, so that resuming
    with others says what changed."""
    with resumable_output(run_dir, key, record=record, what="training run", resume=resume,
                          clean=clean, command=command, options=options,
                          option_names=_OPTION_NAMES) as (staging, existing):
        yield staging, existing
        if existing is None:
            staging.publish_all()


def train_on_the_fly(architecture: str, scenario_name: str, run_dir: str | Path,
                     settings: TrainSettings, *, replicates_per_epoch: int,
                     validation_replicates: int, test_replicates: int,
                     scenario_params: dict[str, Any] | None = None,
                     encoder: HaplotypeImageEncoder | None = None, workers: int = 1,
                     progress: bool = True, command: str = "", resume: bool = False,
                     clean: bool = False, calibrate: bool = True) -> dict[str, Any]:
    """ImaGene's simulation on the fly: a fresh batch of replicates every epoch, into a new
    run folder ``run_dir`` (see :func:`run_output`)."""
    wanted = get_architecture(architecture).encoder or HaplotypeImageEncoder.name
    if wanted != HaplotypeImageEncoder.name:
        raise PopgenHubError(
            f"{architecture} reads the {wanted} encoder, which on-the-fly training does not "
            f"make; simulate a dataset (`popgen-hub simulate SCENARIO --n N -o DIR`) and train "
            f"with --data DIR")
    scenario = get_scenario(scenario_name, **(scenario_params or {}))
    if scenario.target:
        raise PopgenHubError(f"--simulate {scenario.name}: a regression scenario, which "
                             f"on-the-fly training does not take; simulate a dataset "
                             f"(`popgen-hub simulate {scenario.name} --n N -o DIR`) and train "
                             f"a regression architecture (e.g. relernn_gru) with --data DIR")
    encoder = encoder or HaplotypeImageEncoder()

    def simulate(split: str, n: int, batch: int = 0) -> tuple[Inputs, np.ndarray]:
        return simulate_in_memory(scenario.name, scenario.parameters, encoder, n,
                                  stream_seed(settings.seed, split, batch), workers=workers,
                                  progress=progress, desc=f"simulating {split}")

    data = {
        "source": "simulated on the fly",
        "scenario": scenario.name,
        "parameters": scenario.parameters,
        "simulator": ", ".join(f"{name} {version(name)}" for name in scenario.simulators),
        "split": "independent simulation streams per split, a fresh training batch per epoch "
                 f"(seed {settings.seed})",
        "citations": list(scenario.citations),
    }
    key, options = run_options([], command="train", architecture=architecture,
                               scenario=scenario.name, parameters=scenario.parameters,
                               encoder=encoder.to_config(), settings=asdict(settings),
                               replicates=[replicates_per_epoch, validation_replicates,
                                           test_replicates], **_calibration_key(calibrate))
    with run_output(run_dir, key, command, resume, clean, options=options) as (staging,
                                                                              existing):
        if existing:
            return existing
        validation = simulate("validation", validation_replicates)
        test = simulate("test", test_replicates)
        return _train(architecture, encoder, list(scenario.labels),
                      lambda epoch: simulate("train", replicates_per_epoch, epoch), validation,
                      test, data, staging.dir, settings, progress,
                      n_train=replicates_per_epoch * settings.epochs,
                      provenance={"command": command, "fingerprint": key}, calibrate=calibrate)


def _train(architecture: str, encoder: Encoder, labels: list[str],
           training_batch: Callable[[int], tuple[Inputs, np.ndarray]],
           validation: tuple[Inputs, np.ndarray], test: tuple[Inputs, np.ndarray],
           data: dict[str, Any], run_dir: str | Path, settings: TrainSettings, progress: bool,
           n_train: int, provenance: dict[str, Any], calibrate: bool = True,
           objective: Objective = CLASSES) -> dict[str, Any]:
    """Fit (continuing from the checkpoint in ``run_dir`` of an interrupted run), test once,
    fit a temperature when ``calibrate`` and write the run into ``run_dir``; ``provenance``
    (command, fingerprint) goes into its record."""
    if objective.kind == "classes" and len(labels) < 2:
        raise PopgenHubError(f"the data have one class ({labels[0]}): a classifier needs at "
                             f"least two; choose a scenario with several classes")
    torch.manual_seed(settings.seed)  # initial weights
    model = get_architecture(architecture).build(encoder.shapes, len(labels))
    run = RunFolder(Path(run_dir))
    history = fit(model, training_batch, validation, settings, progress=progress,
                  checkpoint=run.checkpoint, objective=objective)
    measured = {"test": evaluate(model, *test, labels, objective)}
    if calibrate:
        measured["calibration"] = calibrate_model(model, validation, test, labels,
                                                      run.reliability_figure)
    best = best_epoch(history)
    record = {
        "architecture": architecture,
        "output_kind": objective.kind,
        "model_config": model.config,
        "encoder": encoder.to_config(),
        "labels": labels,
        "data": {**data, "n_train": n_train, "n_validation": int(len(validation[1])),
                 "n_test": int(len(test[1]))},
        "settings": asdict(settings),
        "best_epoch": best.epoch,
        "metrics": {"validation": {objective.quality_key: best.validation_quality},
                    **measured},
        **provenance,
    }
    save_run(run, model, record, history, objective)
    np.savez_compressed(run.parity_inputs,
                        **take(test[0], np.arange(min(PARITY_SAMPLE, len(test[1])))))
    return record


def _run_key(data_dir: str | Path, architecture: str, settings: TrainSettings,
             validation: float, test: float, encoder_overrides: dict[str, Any] | None,
             calibrate: bool, **extra: Any) -> tuple[str, dict[str, Any]]:
    """The fingerprint of a training run on a dataset (see :mod:`popgen_hub.resume`) and the
    options kept with its partial work."""
    return run_options([data_dir], command="train", architecture=architecture,
                       settings=asdict(settings), validation=validation, test=test,
                       encoder=encoder_overrides, **_calibration_key(calibrate), **extra)


def _calibration_key(calibrate: bool) -> dict[str, bool]:
    """What ``calibrate`` adds to a run's fingerprint: nothing when on (the default), so that
    runs staged before temperature scaling existed resume under the same fingerprint."""
    return {} if calibrate else {"calibrate": False}


def train_repeats(architecture: str, data_dir: str | Path, run_dir: str | Path,
                  settings: TrainSettings, repeats: int, *, validation: float = 0.1,
                  test: float = 0.1, encoder_overrides: dict[str, Any] | None = None,
                  progress: bool = True, command: str = "", resume: bool = False,
                  clean: bool = False, calibrate: bool = True) -> dict[str, Any]:
    """Train ``repeats`` times with seeds ``seed .. seed + repeats - 1`` (each its own split and
    initial weights) into ``run_dir/repeat_K``; write ``repeats.json`` with each repeat's
    held-out test figures and their mean and sd, and copy the repeat with the best validation
    accuracy (model selection never looks at test figures) to ``run_dir`` for export.
    Interrupted and resumed, the repeats already finished are not trained again."""
    if repeats < 2:
        raise PopgenHubError("--repeats needs at least 2 to give a spread")
    if get_architecture(architecture).output_kind != "classes":
        raise PopgenHubError(f"--repeats: {architecture} is not a classifier, and repeated "
                             f"runs compare classifiers' test accuracy; leave it out")
    key, options = _run_key(data_dir, architecture, settings, validation, test,
                            encoder_overrides, calibrate, repeats=repeats)
    with run_output(run_dir, key, command, resume, clean, record=RunFolder.repeats,
                    options=options) as (staging, existing):
        if existing:
            return existing
        run = RunFolder(staging.dir)
        prepared = dataset_inputs(architecture, data_dir, encoder_overrides, progress,
                                  settings.seed)
        records = []
        for k in range(repeats):
            seed = settings.seed + k
            log.info(f"repeat {k + 1}/{repeats} (seed {seed})")
            records.append(_repeat(run.repeat(k), lambda folder, seed=seed: _fit_on_dataset(
                architecture, data_dir, folder, replace(settings, seed=seed),
                validation=validation, test=test, encoder_overrides=encoder_overrides,
                prepared=prepared, progress=progress,
                provenance={"command": command, "fingerprint": key}, calibrate=calibrate)))
        summary = {**summarise_repeats(records), "fingerprint": key}
        best = max(range(repeats), key=lambda k: records[k]["metrics"]["validation"]["accuracy"])
        summary["exported_repeat"] = best
        for name in (*RunFolder.EXPORTED, RunFolder.reliability_figure):
            if name in RunFolder.EXPORTED or (run.repeat(best) / name).is_file():
                shutil.copyfile(run.repeat(best) / name, run / name)
        run.repeats.write_text(json.dumps(summary, indent=2) + "\n")
        plot_repeat_panels({architecture: summary}, run / RunFolder.repeats_figure,
                           title=f"{architecture} on {prepared[3]['scenario']}")
    return summary


def _repeat(folder: RunFolder, train: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """The record of one repeat: trained into a hidden folder, renamed into place when
    finished; a repeat an interrupted run finished is read back instead, one it interrupted
    continues from its checkpoint."""
    if folder.record.is_file():
        log.info(f"{folder.path.name} was finished before the interruption")
        return json.loads(folder.record.read_text())
    partial = RunFolder(folder.path.with_name(f".{folder.path.name}.partial"))
    if not partial.checkpoint.is_file():
        shutil.rmtree(partial.path, ignore_errors=True)
    record = train(partial.path)
    partial.checkpoint.unlink()
    os.replace(partial.path, folder.path)
    return record


def summarise_repeats(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and sd over repeats of held-out test accuracy and row-normalised confusion."""
    tests = [record["metrics"]["test"] for record in records]
    normalised = np.array([t["confusion_matrix_normalised"] for t in tests])
    accuracy = np.array([t["accuracy"] for t in tests])
    validation = np.array([r["metrics"]["validation"]["accuracy"] for r in records])
    return {
        "architecture": records[0]["architecture"],
        "labels": tests[0]["labels"],
        "repeats": len(records),
        "seeds": [r["settings"]["seed"] for r in records],
        "n_test": [t["n"] for t in tests],
        "accuracy": {"mean": float(accuracy.mean()), "sd": float(accuracy.std(ddof=1)),
                     "each": accuracy.tolist()},
        "validation_accuracy": {"mean": float(validation.mean()),
                                "sd": float(validation.std(ddof=1))},
        "mean_normalised": normalised.mean(0).round(4).tolist(),
        "sd_normalised": normalised.std(0, ddof=1).round(4).tolist(),
        "data": {k: v for k, v in records[0]["data"].items()
                 if k not in ("split", "test_indices")},
    }
