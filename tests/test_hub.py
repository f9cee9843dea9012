"""The hub: loading from a real Hub-compatible server, publishing, model cards, tamper checks.

Downloads run against olah, a real Hub-compatible server, on 127.0.0.1. Uploads run against a
loopback stand-in of the Hub's commit API (tests/hub_servers.py): no real Hub is reachable
offline, so the upload half of the round trip is checked against the documented protocol, not
against huggingface.co.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyBigWig
import pytest
import yaml

import popgen_hub
from conftest import BUNDLED_MODEL, ROOT, run_cli
from hub_servers import CommitApiStandIn, OlahServer, commit_folder
from popgen_hub.publish.push import build_repo_folder
from popgen_hub.publish.test_data import TEST_DATA_DIR, check_test_data, read_test_data
from popgen_hub.registry import model_dir

EXAMPLE_VCF = ROOT / "hub" / "data" / "example_sweep.vcf.gz"
REPO = "lab/imagene-sweep"
MAIN_MARKER = "A later revision of this card."

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def hub_env(endpoint: str, hf_home: Path, **extra: str) -> dict[str, str]:
    """A user's environment pointed at ``endpoint``, with a private Hugging Face cache."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    return {**env, "HF_ENDPOINT": endpoint, "HF_HOME": str(hf_home),
            "HF_HUB_DISABLE_TELEMETRY": "1", **extra}


def repo_folder(tmp: Path, name: str = "folder") -> Path:
    return build_repo_folder(BUNDLED_MODEL, tmp / name, repo_id=REPO)


def bigwig_values(path: Path) -> list:
    with pyBigWig.open(str(path)) as bw:
        return [bw.intervals(c) for c in bw.chroms()]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """olah serving REPO (tag v1: the bundled model; main: the same with an edited card) and
    lab/tampered (model.onnx altered after its config.json was written)."""
    root = tmp_path_factory.mktemp("olah")
    folder = repo_folder(root)
    commit_folder(root / "mirrors", REPO, folder, "the bundled model", tag="v1")
    with open(folder / "README.md", "a") as card:
        card.write(f"\n{MAIN_MARKER}\n")
    commit_folder(root / "mirrors", REPO, folder, "edit the card")
    blob = bytearray((folder / "model.onnx").read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    (folder / "model.onnx").write_bytes(bytes(blob))
    commit_folder(root / "mirrors", "lab/tampered", folder, "altered weights")
    server = OlahServer(root).start()
    yield server
    server.stop()


def test_load_and_scan_from_the_hub_match_the_bundled_model(served, tmp_path):
    env = hub_env(served.endpoint, tmp_path / "hf")
    info = run_cli("info", f"hf-hub:{REPO}@v1", env=env).stdout
    assert BUNDLED_MODEL in info and "held-out test accuracy" in info and MAIN_MARKER not in info
    run_cli("scan", "--vcf", EXAMPLE_VCF, "--model", f"hf-hub:{REPO}@v1", "-q",
            "-o", tmp_path / "hub_scan", env=env)
    run_cli("scan", "--vcf", EXAMPLE_VCF, "--model", BUNDLED_MODEL, "-q",
            "-o", tmp_path / "bundled_scan")
    track = f"{BUNDLED_MODEL}.sweep.bw"
    assert bigwig_values(tmp_path / "hub_scan" / track) == bigwig_values(
        tmp_path / "bundled_scan" / track)
    snapshots = list((tmp_path / "hf" / "hub").glob("models--lab--imagene-sweep/snapshots/*"))
    assert len(snapshots) == 1
    assert ((snapshots[0] / "model.onnx").read_bytes()
            == (model_dir(BUNDLED_MODEL) / "model.onnx").read_bytes())


@pytest.mark.slow
def test_pinned_revision_and_offline_use_after_the_server_stops(tmp_path):
    root = tmp_path / "olah"
    folder = repo_folder(tmp_path)
    commit_folder(root / "mirrors", REPO, folder, "the bundled model", tag="v1")
    (folder / "README.md").write_text((folder / "README.md").read_text() + MAIN_MARKER)
    commit_folder(root / "mirrors", REPO, folder, "edit the card")
    server = OlahServer(root).start()
    hf_home = tmp_path / "hf"
    try:
        online = hub_env(server.endpoint, hf_home)
        assert MAIN_MARKER not in run_cli("info", f"hf-hub:{REPO}@v1", env=online).stdout
        assert MAIN_MARKER in run_cli("info", f"hf-hub:{REPO}", env=online).stdout
        run_cli("scan", "--vcf", EXAMPLE_VCF, "--model", f"hf-hub:{REPO}@v1", "-q",
                "-o", tmp_path / "online", env=online)
    finally:
        server.stop()
    offline = hub_env(server.endpoint, hf_home, HF_HUB_OFFLINE="1")
    assert MAIN_MARKER not in run_cli("info", f"hf-hub:{REPO}@v1", env=offline).stdout
    run_cli("scan", "--vcf", EXAMPLE_VCF, "--model", f"hf-hub:{REPO}@v1", "-q",
            "-o", tmp_path / "offline", env=offline)
    track = f"{BUNDLED_MODEL}.sweep.bw"
    assert bigwig_values(tmp_path / "offline" / track) == bigwig_values(
        tmp_path / "online" / track)
    never = run_cli("info", "hf-hub:lab/never-downloaded", env=offline, check=False)
    assert never.returncode == 1 and "HF_HUB_OFFLINE" in never.stderr
    assert "Traceback" not in never.stderr
    down = run_cli("info", "hf-hub:lab/never-downloaded", check=False,
                   env=hub_env(server.endpoint, hf_home))
    assert down.returncode == 1 and "cannot reach" in down.stderr


def test_unknown_repos_and_revisions_are_clear_errors(served, tmp_path):
    env = hub_env(served.endpoint, tmp_path / "hf")
    missing = run_cli("info", "hf-hub:lab/no-such-model", env=env, check=False)
    assert missing.returncode == 1 and "has no model repo lab/no-such-model" in missing.stderr
    revision = run_cli("info", f"hf-hub:{REPO}@no-such-tag", env=env, check=False)
    assert revision.returncode == 1 and "revision 'no-such-tag'" in revision.stderr
    malformed = run_cli("info", "hf-hub:just-a-name", env=env, check=False)
    assert malformed.returncode == 1 and "hf-hub:ORG/REPO" in malformed.stderr
    invalid = run_cli("info", "hf-hub:lab/no spaces", env=env, check=False)
    assert invalid.returncode == 1 and "not a valid Hub repo id" in invalid.stderr
    assert "Traceback" not in invalid.stderr


def test_tampered_weights_are_refused(served, tmp_path):
    env = hub_env(served.endpoint, tmp_path / "hf")
    tampered = run_cli("scan", "--vcf", EXAMPLE_VCF, "--model", "hf-hub:lab/tampered",
                       "-o", tmp_path / "out", env=env, check=False)
    assert tampered.returncode == 1 and "sha256" in tampered.stderr
    assert not (tmp_path / "out").exists()
    # A good download, then its cached copy altered on disk: refused on the next load.
    load = [sys.executable, "-c", f"import popgen_hub; popgen_hub.load('hf-hub:{REPO}@v1')"]
    subprocess.run(load, env=env, check=True)
    cached = next((tmp_path / "hf" / "hub").glob("models--lab--imagene-sweep/blobs/*"))
    for blob in (tmp_path / "hf" / "hub").glob("models--lab--imagene-sweep/blobs/*"):
        if blob.stat().st_size > cached.stat().st_size:
            cached = blob  # the largest blob is model.onnx
    data = bytearray(cached.read_bytes())
    data[100] ^= 0x01
    cached.write_bytes(bytes(data))
    again = subprocess.run(load, env=env, capture_output=True, text=True)
    assert again.returncode != 0 and "does not match the sha256" in again.stderr
    pinned = run_cli("info", BUNDLED_MODEL, check=False)  # the bundled copy is untouched
    assert pinned.returncode == 0
    wrong_pin = run_cli("scan", "--vcf", EXAMPLE_VCF, "--model", BUNDLED_MODEL, "--sha256",
                        "0" * 64, "-o", tmp_path / "pinned", check=False)
    assert wrong_pin.returncode == 1 and "pinned" in wrong_pin.stderr


def test_dry_run_writes_the_repo_folder_with_a_structured_card(tmp_path):
    out = tmp_path / "repo"
    run_cli("push", BUNDLED_MODEL, "--repo", REPO, "--dry-run", "-o", out, cwd=ROOT)
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md", "config.json", "confusion_matrix.png", "model.onnx", TEST_DATA_DIR,
        "training_curve.png"]
    assert sorted(p.name for p in (out / TEST_DATA_DIR).iterdir()) == [
        "input_0.pb", "output_0.pb"]
    card = (out / "README.md").read_text()
    assert card.startswith("---\n")
    meta = yaml.safe_load(card.split("---\n")[1])
    config = json.loads((out / "config.json").read_text())
    assert meta["license"] == config["license"].lower()
    assert meta["library_name"] == "popgen-hub"
    assert {"population-genetics", "natural-selection", "onnx"} <= set(meta["tags"])
    [entry] = meta["model-index"]
    assert entry["name"] == BUNDLED_MODEL
    [result] = entry["results"]
    assert result["task"]["type"] and result["task"]["name"]
    assert result["dataset"]["type"] == "simulated" and result["dataset"]["name"]
    [metric] = result["metrics"]
    assert metric["type"] == "accuracy"
    assert metric["value"] == round(config["metrics"]["test"]["accuracy"], 4)
    assert f'popgen_hub.load("hf-hub:{REPO}")' in card  # examples load from where it is pushed
    model = popgen_hub.load(f"local-dir:{out}", device="cpu")
    assert check_test_data(model, out / TEST_DATA_DIR) < 1e-5


@pytest.mark.slow
def test_push_then_download_gives_identical_outputs(tmp_path):
    root = tmp_path / "olah"
    server = OlahServer(root).start()
    try:
        with CommitApiStandIn(server.mirrors) as upload:
            hf_home = tmp_path / "hf"
            no_token = run_cli("push", BUNDLED_MODEL, "--repo", "lab/pushed", cwd=ROOT,
                               env=hub_env(upload.endpoint, hf_home), check=False)
            assert no_token.returncode == 1 and "token" in no_token.stderr
            pushing = hub_env(upload.endpoint, hf_home, HF_TOKEN="hf_loopback_test")
            pushed = run_cli("push", BUNDLED_MODEL, "--repo", "lab/pushed", cwd=ROOT,
                             env=pushing).stdout
            assert "pushed" in pushed and "hf-hub:lab/pushed" in pushed
            run_cli("push", BUNDLED_MODEL, "--repo", "lab/pushed", "--revision", "v2",
                    cwd=ROOT, env=pushing)
            assert any(r.endswith("/commit/v2") for r in upload.requests)
        inputs, _ = read_test_data(model_dir(BUNDLED_MODEL) / TEST_DATA_DIR)
        np.save(tmp_path / "inputs.npy", inputs["haplotype_image"])
        script = (
            "import sys, numpy as np, popgen_hub\n"
            "x = np.load(sys.argv[1])\n"
            "for name in sys.argv[2:]:\n"
            "    np.save(name.replace('/', '_').replace(':', '_') + '.npy',"
            " popgen_hub.load(name, device='cpu').predict(x))\n")
        subprocess.run([sys.executable, "-c", script, str(tmp_path / "inputs.npy"),
                        "hf-hub:lab/pushed", "hf-hub:lab/pushed@v2"], cwd=tmp_path,
                       env=hub_env(server.endpoint, hf_home), check=True)
        # a Hub model can be republished: its whole snapshot is fetched, test data included
        run_cli("push", "hf-hub:lab/pushed", "--repo", "lab/copy", "--dry-run", "-o",
                tmp_path / "copy", cwd=tmp_path, env=hub_env(server.endpoint, hf_home))
        copied_inputs, copied_outputs = read_test_data(tmp_path / "copy" / TEST_DATA_DIR)
        assert copied_inputs.keys() == inputs.keys()
        assert all(np.array_equal(copied_inputs[k], inputs[k]) for k in inputs)
        assert np.array_equal(copied_outputs,
                              read_test_data(model_dir(BUNDLED_MODEL) / TEST_DATA_DIR)[1])
    finally:
        server.stop()
    reference = popgen_hub.load(BUNDLED_MODEL, device="cpu").predict(inputs)
    for name in ("hf-hub_lab_pushed", "hf-hub_lab_pushed@v2"):
        assert np.array_equal(np.load(tmp_path / f"{name}.npy"), reference)


def test_nothing_on_the_load_path_unpickles(monkeypatch, tmp_path):
    def refuse(*args, **kwargs):
        raise AssertionError("unpickling on the load path")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    model = popgen_hub.load(BUNDLED_MODEL, device="cpu")
    inputs, expected = read_test_data(model_dir(BUNDLED_MODEL) / TEST_DATA_DIR)
    assert np.abs(model.predict(inputs) - expected).max() < 1e-5
    result = model.scan(EXAMPLE_VCF, tmp_path / "out", progress=False)
    assert len(result.scored()) > 0


def test_the_publish_script_builds_a_folder_per_bundled_model(tmp_path):
    env = {**os.environ, "DRY_RUN": str(tmp_path / "hub"), "HF_ORG": "lab",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(["bash", "exporters/publish_all.sh"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    assert sorted(p.name for p in (tmp_path / "hub").iterdir()) == popgen_hub.list_models()
    for folder in (tmp_path / "hub").iterdir():
        assert (folder / "README.md").read_text().count(f"hf-hub:lab/{folder.name}") >= 2
