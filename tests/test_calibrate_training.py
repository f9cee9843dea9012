"""Training runs resume after their last finished epoch to the same weights, and temperature
scaling calibrates the exported probabilities (the temperature is inside the ONNX graph)."""

from __future__ import annotations

import json
import logging
import os

import numpy as np
import pytest
import torch

import popgen_hub
from conftest import ROOT, png_size
from popgen_hub.encoders import HaplotypeImageEncoder
from popgen_hub.errors import PopgenHubError
from popgen_hub.simulate.dataset import simulate_dataset
from popgen_hub.training import checkpoint as checkpoint_module
from popgen_hub.training import loop, train
from popgen_hub.training.calibrate import expected_calibration_error, fit_temperature, nll, softmax
from popgen_hub.training.export import export_run
from popgen_hub.training.loop import TrainSettings

SETTINGS = TrainSettings(epochs=3, batch_size=8, learning_rate=3e-3, optimizer="adam",
                         schedule="cosine", seed=2, threads=1)
SPLIT = {"validation": 0.25, "test": 0.25}


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    """48 replicates of 24 haplotypes as 24 x 24 images: 24 training, 12 validation, 12 test."""
    return simulate_dataset("imagene_sweep", tmp_path_factory.mktemp("data") / "data", n=48,
                            seed=1, scenario_params={"n_haplotypes": 24, "length": 20_000},
                            encoder=HaplotypeImageEncoder(n_rows=24, n_cols=24),
                            progress=False)


@pytest.fixture(scope="module")
def uninterrupted(tiny_data, tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "whole"
    record = train.train_from_dataset("imagene_cnn", tiny_data, run, SETTINGS, progress=False,
                                      **SPLIT)
    return run, record


def _history(record):
    return [{k: v for k, v in h.items() if k != "seconds"} for h in record["history"]]


def test_an_interrupted_run_resumes_to_the_same_weights(tiny_data, uninterrupted, tmp_path,
                                                        monkeypatch, caplog):
    whole, _ = uninterrupted
    saved = []

    def save_then_stop(path, **state):
        checkpoint_module.save_checkpoint(path, **state)
        saved.append(path)
        raise KeyboardInterrupt  # after epoch 1's checkpoint is on disk

    monkeypatch.setattr(loop, "save_checkpoint", save_then_stop)
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train.train_from_dataset("imagene_cnn", tiny_data, run, SETTINGS, progress=False, **SPLIT)
    monkeypatch.undo()
    assert saved and saved[0].parent.name.startswith(".run.popgen-hub-partial-")
    assert not run.exists() and saved[0].is_file()
    with pytest.raises(PopgenHubError, match=r"--epochs was 3, now 4; run the same command"):
        train.train_from_dataset("imagene_cnn", tiny_data, run, TrainSettings(
            **{**vars(SETTINGS), "epochs": 4}), progress=False, resume=True, **SPLIT)
    with pytest.raises(PopgenHubError, match="--no-calibrate was not given, now given"):
        train.train_from_dataset("imagene_cnn", tiny_data, run, SETTINGS, progress=False,
                                 resume=True, calibrate=False, **SPLIT)
    with caplog.at_level(logging.INFO, logger="popgen_hub"):
        record = train.train_from_dataset("imagene_cnn", tiny_data, run, SETTINGS,
                                          progress=False, resume=True, **SPLIT)
    assert "resuming after epoch 1 of 3" in caplog.text
    resumed, expected = (json.loads((folder / "run.json").read_text()) for folder in (run, whole))
    assert _history(resumed) == _history(expected) and len(resumed["history"]) == 3
    assert record["metrics"] == resumed["metrics"] == expected["metrics"]
    first, again = (torch.load(folder / "model.pt", weights_only=True) for folder in (whole, run))
    assert first.keys() == again.keys() and all(torch.equal(first[k], again[k]) for k in first)
    assert sorted(p.name for p in run.iterdir()) == sorted(p.name for p in whole.iterdir())


def test_a_changed_dataset_is_not_resumed(tiny_data, tmp_path, monkeypatch):
    def stop(path, **state):
        raise KeyboardInterrupt

    monkeypatch.setattr(loop, "save_checkpoint", stop)
    with pytest.raises(KeyboardInterrupt):
        train.train_from_dataset("imagene_cnn", tiny_data, tmp_path / "run", SETTINGS,
                                 progress=False, **SPLIT)
    monkeypatch.undo()
    manifest = tiny_data / "manifest.json"
    stat = manifest.stat()
    os.utime(manifest, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    try:
        with pytest.raises(PopgenHubError, match=rf"the dataset {tiny_data} changed since"):
            train.train_from_dataset("imagene_cnn", tiny_data, tmp_path / "run", SETTINGS,
                                     progress=False, resume=True, **SPLIT)
    finally:
        os.utime(manifest, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_temperature_scaling_lowers_the_nll_of_an_overconfident_model():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 400)
    honest = np.stack([np.zeros(400), (2 * labels - 1) * 1.0 + rng.normal(0, 1.5, 400)], 1)
    overconfident = 6 * honest  # the same ranking, probabilities pushed to 0 and 1
    temperature = fit_temperature(overconfident, labels)
    assert 4 < temperature < 8
    assert nll(overconfident, labels, temperature) < nll(overconfident, labels)
    before = expected_calibration_error(softmax(overconfident), labels)
    assert expected_calibration_error(softmax(overconfident, temperature), labels) < before
    assert fit_temperature(np.zeros((10, 2)), labels[:10]) == 1.0  # nothing to gain: kept


def test_the_temperature_is_recorded_and_inside_the_onnx_graph(uninterrupted, tmp_path):
    run, record = uninterrupted
    calibration = record["metrics"]["calibration"]
    assert calibration["split"] == "test" and calibration["bins"] == 15
    assert calibration["validation_nll_after"] <= calibration["validation_nll_before"]
    temperature = calibration["temperature"]
    assert temperature != 1.0
    assert png_size(run / "reliability.png") == (576, 672)
    out = export_run(run, "imagene_cnn.tiny", tmp_path / "model",
                     card_source=ROOT / "cards" / "imagene_cnn.sweep_hsap_eur.yaml")
    config = json.loads((out / "config.json").read_text())
    assert config["metrics"]["calibration"] == calibration
    assert (out / "reliability.png").is_file()
    assert f"T = {temperature:.4f}" in (out / "README.md").read_text()
    model = popgen_hub.load(f"local-dir:{out}", device="cpu")
    images = np.load(run / "parity_inputs.npz")
    images = images[images.files[0]]
    network = _network(run, record)
    with torch.no_grad():
        logits = network(torch.from_numpy(images)).numpy()
    assert np.abs(model.predict(images) - softmax(logits, temperature)).max() < 1e-5
    assert np.abs(model.predict(images) - softmax(logits)).max() > 1e-4


def test_no_calibrate_leaves_the_probabilities_alone(tiny_data, tmp_path):
    record = train.train_from_dataset("imagene_cnn", tiny_data, tmp_path / "run",
                                      TrainSettings(epochs=1, threads=1), progress=False,
                                      calibrate=False, **SPLIT)
    assert "calibration" not in record["metrics"]
    assert not (tmp_path / "run" / "reliability.png").exists()


def _network(run, record):
    """The run's network with its weights, giving logits."""
    from popgen_hub.models import build_model

    network = build_model(record["architecture"], **record["model_config"])
    network.load_state_dict(torch.load(run / "model.pt", weights_only=True))
    return network.eval()
