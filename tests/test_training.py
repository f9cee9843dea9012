"""Training beats chance on held-out data; export gives a checked, self-describing ONNX file."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch

from conftest import ROOT, png_size, run_cli
from popgen_hub.contract import ONNX_METADATA_KEY
from popgen_hub.errors import PopgenHubError
from popgen_hub.publish.test_data import TEST_DATA_DIR, read_test_data
from popgen_hub.training.export import TEST_DATA_WINDOWS
from popgen_hub.training.loop import split_indices, stream_seed


def test_splits_are_disjoint_and_cover_everything():
    splits = split_indices(1000, seed=4, validation=0.1, test=0.2)
    sets = {k: set(v.tolist()) for k, v in splits.items()}
    assert not sets["train"] & sets["validation"]
    assert not sets["train"] & sets["test"]
    assert not sets["validation"] & sets["test"]
    assert set().union(*sets.values()) == set(range(1000))
    assert (len(sets["validation"]), len(sets["test"])) == (100, 200)
    assert np.array_equal(split_indices(1000, seed=4)["test"], split_indices(1000, seed=4)["test"])
    with pytest.raises(PopgenHubError):
        split_indices(2, seed=0)


def test_simulation_streams_differ_per_split_and_batch():
    seeds = {stream_seed(1, split, batch) for split in ("train", "validation", "test")
             for batch in range(3)}
    assert len(seeds) == 9


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A small ImaGene CNN (48x48 images, 64 haplotypes) trained through the CLI on a saved
    dataset of 1,000 replicates: 800 training, 100 validation, 100 held-out test."""
    data, run = tmp_path_factory.mktemp("data"), tmp_path_factory.mktemp("run")
    run_cli("simulate", "imagene_sweep", "--param", "n_haplotypes=64", "--encoder", "n_rows=48",
            "--encoder", "n_cols=48", "--n", "1000", "--seed", "3", "--workers", "2", "-q",
            "-o", data)
    result = run_cli("train", "imagene_cnn", "--data", data, "--epochs", "5", "--optimizer",
                     "adam", "--seed", "5", "-q", "-o", run)
    return run, result.stdout


@pytest.mark.slow
def test_training_beats_chance_on_held_out_test_set(trained_run):
    run, stdout = trained_run
    record = json.loads((run / "run.json").read_text())
    test = record["metrics"]["test"]
    assert test["n"] == 100 and record["data"]["n_train"] == 800
    assert test["accuracy"] > 0.75, test  # chance is 0.5
    assert np.asarray(test["confusion_matrix"]).sum() == 100
    assert "held-out test accuracy" in stdout
    # figsize x dpi 120 in popgen_hub.training.plots: loss | accuracy side by side, and a
    # 2 x 2 confusion matrix
    assert png_size(run / "training_curve.png") == (1080, 420)
    assert png_size(run / "confusion_matrix.png") == (624, 528)
    assert len(record["history"]) == 5 and 1 <= record["best_epoch"] <= 5


@pytest.mark.slow
def test_training_on_the_fly_is_reproducible_from_its_seed(tmp_path):
    def train(out, seed):
        run_cli("train", "imagene_cnn", "--simulate", "imagene_sweep", "--param",
                "n_haplotypes=16", "--param", "length=20000", "--encoder", "n_rows=24",
                "--encoder", "n_cols=24", "--replicates-per-epoch", "20",
                "--validation-replicates", "10", "--test-replicates", "10", "--epochs", "2",
                "--seed", seed, "-q", "-o", out)
        return torch.load(out / "model.pt", weights_only=True)

    first, again, other = (train(tmp_path / name, seed)
                           for name, seed in (("a", "3"), ("b", "3"), ("c", "4")))
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)
    record = json.loads((tmp_path / "a" / "run.json").read_text())
    assert record["data"]["source"] == "simulated on the fly"
    assert record["data"]["n_train"] == 40 and record["metrics"]["test"]["n"] == 10


@pytest.mark.slow
def test_export_is_checked_single_file_onnx_with_contract(trained_run, tmp_path):
    run, _ = trained_run
    out = tmp_path / "model"
    run_cli("export", run, "--name", "imagene_cnn.test", "--card",
            ROOT / "cards" / "imagene_cnn.sweep_hsap_eur.yaml", "-o", out)
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md", "config.json", "confusion_matrix.png", "model.onnx", "reliability.png",
        "test_data_set_0", "training_curve.png"]  # the reliability diagram: calibrated
    proto = onnx.load(str(out / "model.onnx"))
    onnx.checker.check_model(proto, full_check=True)
    assert not proto.graph.initializer or all(not t.external_data for t in proto.graph.initializer)
    batch_dim = proto.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch_dim.dim_param and not batch_dim.dim_value  # dynamic batch axis
    stored = json.loads({p.key: p.value for p in proto.metadata_props}[ONNX_METADATA_KEY])
    config = json.loads((out / "config.json").read_text())
    assert stored == {**config, "weights": {}}
    assert config["encoder"]["n_rows"] == 48 and config["input"]["n_haplotypes"] == 64
    assert config["weights"]["parity_max_abs_diff_vs_torch"] < 1e-5
    assert "Div" in [node.op_type for node in proto.graph.node]  # logits / temperature
    assert config["metrics"]["calibration"]["temperature"] > 0

    import popgen_hub

    model = popgen_hub.load(f"local-dir:{out}", device="cpu")
    inputs, expected = read_test_data(out / TEST_DATA_DIR)  # ONNX-zoo files, torch's outputs
    images = inputs["haplotype_image"]
    assert list(inputs) == ["haplotype_image"] and len(images) == TEST_DATA_WINDOWS
    for n in (1, 7, len(images)):
        assert np.abs(model.predict(images[:n]) - expected[:n]).max() < 1e-5
    assert np.allclose(model.predict(images).sum(axis=1), 1.0, atol=1e-6)
    card = (out / "README.md").read_text()
    assert f"{config['metrics']['test']['accuracy']:.3f}" in card


@pytest.mark.slow
def test_tampered_weights_are_refused(trained_run, tmp_path):
    run, _ = trained_run
    out = tmp_path / "model"
    run_cli("export", run, "--name", "imagene_cnn.test", "-o", out)
    blob = bytearray((out / "model.onnx").read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    (out / "model.onnx").write_bytes(bytes(blob))
    import popgen_hub

    with pytest.raises(PopgenHubError, match="sha256"):
        popgen_hub.load(f"local-dir:{out}")


@pytest.mark.slow
def test_an_edited_config_is_refused(trained_run, tmp_path):
    run, _ = trained_run
    out = tmp_path / "model"
    run_cli("export", run, "--name", "imagene_cnn.test", "-o", out)
    config = json.loads((out / "config.json").read_text())
    config["encoder"]["min_maf"] = 0.05
    (out / "config.json").write_text(json.dumps(config))
    import popgen_hub

    with pytest.raises(PopgenHubError, match="describe different contracts"):
        popgen_hub.load(f"local-dir:{out}")


@pytest.mark.slow
def test_export_refuses_a_name_of_another_architecture(trained_run, tmp_path):
    run, _ = trained_run
    result = run_cli("export", run, "--name", "other.tag", "-o", tmp_path / "x", check=False)
    assert result.returncode == 1 and "must start with its architecture" in result.stderr
    assert not (tmp_path / "x").exists()
