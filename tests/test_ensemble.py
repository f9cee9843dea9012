"""`popgen-hub ensemble`: bundled classifiers combined in one ONNX graph, run as a user would."""

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli

pytest.importorskip("torch")  # the temperature is fitted by training's code (train extra)

MEMBERS = ("imagene_cnn.sweep_hsap_general", "stats_fc.sweep_hsap_general")
EXAMPLE = Path(__file__).resolve().parents[1] / "hub" / "data" / "example_sweep.vcf.gz"


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory) -> Path:
    """The two general sweep models combined, its temperature fitted on 90 held-out windows of
    their regime (another seed than their training data's)."""
    base = tmp_path_factory.mktemp("ensemble")
    run_cli("simulate", "sweep_regime", "--n", 90, "--seed", 11, "--workers", 2, "-q",
            "-o", base / "heldout")
    run_cli("ensemble", *MEMBERS, "--data", base / "heldout", "--name", "ensemble.test",
            "-o", base / "model", "-q")
    return base / "model"


@pytest.mark.slow
def test_the_ensemble_scores_a_vcf_as_its_members_combined(ensemble):
    import popgen_hub

    contract = json.loads((ensemble / "config.json").read_text())
    assert contract["architecture"] == "ensemble"
    members = {m["name"]: m for m in contract["training"]["members"]}
    assert sorted(members) == sorted(MEMBERS)
    loaded = [popgen_hub.load(name) for name in MEMBERS]
    for model in loaded:  # the members' own encoders, every parameter, under the pair's
        part = "image" if model.encoder.name == "haplotype_image" else "statistics"
        assert {"name": model.encoder.name, **contract["encoder"][part]} == \
            model.contract.encoder
        assert members[model.contract.name]["sha256"] == model.contract.weights["sha256"]
    assert contract["encoder"]["name"] == "image_statistics"
    temperature = contract["metrics"]["calibration"]["temperature"]
    assert contract["metrics"]["test"]["n"] == 45 and 0.05 <= temperature <= 20
    assert contract["weights"]["parity_max_abs_diff_vs_members"] < 1e-5

    model = popgen_hub.load(ensemble, device="cpu")
    got = model.score(EXAMPLE, progress=False).windows["probabilities"].astype(np.float64)
    scans = [m.score(EXAMPLE, progress=False).windows["probabilities"] for m in loaded]
    mean_log = sum(np.log(np.maximum(p.astype(np.float64), 1e-30)) for p in scans) / 2
    expected = np.exp(mean_log / temperature)
    expected /= expected.sum(axis=1, keepdims=True)
    scored = ~np.isnan(got[:, 0])
    assert scored.sum() > 100 and (scored == ~np.isnan(expected[:, 0])).all()
    assert np.abs(got[scored] - expected[scored]).max() < 1e-5


@pytest.mark.slow
def test_the_card_tells_its_members_not_a_training_run(ensemble):
    from popgen_hub.contract import ModelContract
    from popgen_hub.publish.card import read_card_source, render_card

    contract = ModelContract.from_dict(json.loads((ensemble / "config.json").read_text()))
    card = str(render_card(contract, read_card_source(
        Path(__file__).resolve().parents[1] / "cards" / "ensemble.sweep_hsap_general.yaml")))
    assert "## Members and how they are combined" in card
    assert all(f"`{name}`" in card for name in MEMBERS)
    assert "outputs match its members' combined in numpy" in card
    assert "training_curve.png" not in card and "reliability.png" in card
    assert (ensemble / "reliability.png").stat().st_size
    assert (ensemble / "confusion_matrix.png").stat().st_size


@pytest.mark.parametrize("members, name, message", [
    (("imagene_cnn.sweep_hsap_general",), "ensemble.x", "needs at least two members"),
    (("imagene_cnn.sweep_hsap_general", "relernn_gru.recomb_hsap"), "ensemble.x",
     "differs from imagene_cnn.sweep_hsap_general in its output kind"),
    (("imagene_cnn.sweep_hsap_general", "exchangeable_cnn.sweep_hsap_genotypes"), "ensemble.x",
     "in its data kind"),
    (MEMBERS, "imagene_cnn.x", "must start with ensemble.TAG"),
])
def test_members_that_do_not_score_the_same_windows_are_refused_in_one_line(
        tmp_path, members, name, message):
    result = run_cli("ensemble", *members, "--data", tmp_path / "none", "--name", name,
                     "-o", tmp_path / "out", check=False)
    assert result.returncode != 0 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "out").exists()


def test_held_out_data_that_is_not_held_out_is_refused_in_one_line(tmp_path, tiny_sweep_data):
    run_cli("simulate", "sweep_regime", "--n", 4, "--seed", 1, "-q", "-o", tmp_path / "seed1")
    run_cli("simulate", "sweep_regime", "--n", 4, "--seed", 11, "-q", "-o", tmp_path / "few")
    for data, message in ((tiny_sweep_data, "is not of the members' training scenario"),
                          (tmp_path / "seed1", "has the members' training data's seed (1)"),
                          (tmp_path / "few", "holds 4 replicates; give at least 40")):
        result = run_cli("ensemble", *MEMBERS, "--data", data, "--name", "ensemble.x",
                         "-o", tmp_path / "out", check=False)
        assert result.returncode != 0 and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert not (tmp_path / "out").exists()
