"""Bad models and data: a damaged contract, dataset, import file, parameter, training option or
training run is refused in one line naming the file, record or option and the fix (exit 1),
with no traceback, no silently wrong answer and nothing left behind."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

import popgen_hub
from conftest import BUNDLED_MODEL, ROOT, run_cli
from popgen_hub.contract import ONNX_METADATA_KEY
from popgen_hub.errors import PopgenHubError

BUNDLED_DIR = ROOT / "hub" / "pretrained" / BUNDLED_MODEL


def fails(*args, match: str) -> str:
    """Run ``popgen-hub ARGS``; it must fail with exit 1 and one line of stderr, the error."""
    result = run_cli(*args, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"popgen-hub {args[0]}: error: "), \
        result.stderr
    assert "Traceback" not in result.stderr
    assert match in lines[0], lines[0]
    assert "weights_only" not in lines[0] and "pickle" not in lines[0], lines[0]
    return lines[0]


def refused(through_cli: bool, args: tuple, call, match: str) -> str:
    """The error a user meets: through the command line (``args``), or, where another case
    already covers that command's path, through the library call it makes (``call()``),
    which keeps the tests fast (each command line is a fresh interpreter)."""
    if through_cli:
        return fails(*args, match=match)
    with pytest.raises(PopgenHubError) as error:
        call()
    line = str(error.value)
    assert match in line and "\n" not in line, line
    assert "weights_only" not in line and "pickle" not in line, line
    return line


# ---------------------------------------------------------------------------- contracts
def model_copy(folder: Path) -> Path:
    shutil.copytree(BUNDLED_DIR, folder)
    return folder


def set_onnx_contract(onnx_path: Path, text: str) -> None:
    import onnx

    proto = onnx.load(str(onnx_path))
    for entry in proto.metadata_props:
        if entry.key == ONNX_METADATA_KEY:
            entry.value = text
    onnx.save(proto, str(onnx_path))


def record_sha256(folder: Path) -> None:
    """Record model.onnx's sha256 in config.json, so that the check under test is reached."""
    config = json.loads((folder / "config.json").read_text())
    config["weights"]["sha256"] = hashlib.sha256((folder / "model.onnx").read_bytes()).hexdigest()
    (folder / "config.json").write_text(json.dumps(config))


def edited_contract(folder: Path, edit) -> Path:
    """The bundled model with ``edit(contract)`` applied to config.json and the ONNX metadata
    alike (and the sha256 recorded again): a contract that no longer describes the graph."""
    model_copy(folder)
    config = json.loads((folder / "config.json").read_text())
    edit(config)
    set_onnx_contract(folder / "model.onnx", json.dumps({**config, "weights": {}}))
    (folder / "config.json").write_text(json.dumps(config))
    record_sha256(folder)
    return folder


def _set(section: str | None, key: str, value):
    def edit(config):
        (config[section] if section else config)[key] = value
    return edit


CONFIG_CASES = {
    "not JSON": ("{not json", "the model contract is not valid JSON"),
    "a JSON list": ("[1, 2]", "expected a JSON object with an 'input' object"),
    "labels a string": (_set(None, "labels", "a"), "labels is 'a', not a list of strings"),
    "window a word": (_set("input", "window_bp", "80k"),
                      "input: window_bp is '80k', not a whole number"),
    "negative sample": (_set("input", "n_haplotypes", -5),
                        "input: n_haplotypes is -5, not a positive number"),
    "no name": (lambda config: config.pop("name"), "no 'name'"),
    "no encoder": (lambda config: config.pop("encoder"), "no 'encoder'"),
    "weights a list": (_set(None, "weights", []), "weights is [], not an object"),
}


@pytest.mark.parametrize("case", CONFIG_CASES)
def test_a_malformed_config_json_is_refused(tmp_path, case):
    change, match = CONFIG_CASES[case]
    folder = model_copy(tmp_path / "model")
    if callable(change):
        config = json.loads((folder / "config.json").read_text())
        change(config)
        change = json.dumps(config)
    (folder / "config.json").write_text(change)
    line = refused(case in ("not JSON", "a JSON list", "labels a string"),
                   ("info", f"local-dir:{folder}"),
                   lambda: popgen_hub.load(f"local-dir:{folder}"), match)
    assert "config.json" in line and "export the model again" in line


@pytest.mark.parametrize("text, match", [("{nope", "the model contract is not valid JSON"),
                                         ("[1]", "expected a JSON object"),
                                         ('{"input": {}}', "input: no 'tensor_name'")])
def test_a_malformed_onnx_contract_is_refused(tmp_path, text, match):
    folder = model_copy(tmp_path / "model")
    set_onnx_contract(folder / "model.onnx", text)
    record_sha256(folder)  # config.json is fine: the ONNX file's contract is what fails
    line = refused(text == "{nope", ("evaluate", f"local-dir:{folder}", tmp_path / "nowhere"),
                   lambda: popgen_hub.load(folder / "model.onnx"), match)
    assert "model.onnx (its metadata)" in line


@pytest.mark.parametrize("edit, match", [
    (lambda c: c["encoder"].update(n_rows=64),
     "makes a tensor of shape (batch, 1, 64, 128) for input 'haplotype_image' but the graph "
     "takes (batch, 1, 128, 128)"),
    # (without the stored null and statistics, which name the old labels' classes)
    (lambda c: c.update(labels=["a", "b", "c"], references={}),
     "the graph gives 2 outputs but the contract names 3 labels"),
    (lambda c: c.update(output_name="scores"), "the contract's output 'scores' is not among"),
])
def test_a_contract_that_does_not_describe_the_graph_is_refused(tmp_path, edit, match):
    folder = edited_contract(tmp_path / "model", edit)
    line = refused("64" in match, ("evaluate", f"local-dir:{folder}", tmp_path / "nowhere"),
                   lambda: popgen_hub.load(folder), match)
    assert "export the model again" in line


def test_load_takes_paths_and_refuses_unknown_devices_and_thread_counts(tmp_path):
    by_folder = popgen_hub.load(BUNDLED_DIR, device="cpu")
    by_file = popgen_hub.load(BUNDLED_DIR / "model.onnx", device="cpu")
    assert by_folder.contract.name == by_file.contract.name == BUNDLED_MODEL
    with pytest.raises(PopgenHubError, match="device 'tpu' is not one of auto, cpu, gpu"):
        popgen_hub.load(BUNDLED_MODEL, device="tpu")
    for threads in (-1, 1.5, True):
        with pytest.raises(PopgenHubError, match=f"threads={threads!r} must be a whole number"):
            popgen_hub.load(BUNDLED_MODEL, threads=threads)
    with pytest.raises(PopgenHubError, match="no such model file or folder"):
        popgen_hub.load(tmp_path / "nowhere")
    with pytest.raises(PopgenHubError, match=f"loads as local-dir:{tmp_path}"):
        popgen_hub.load(str(tmp_path))


def test_an_unknown_device_is_a_usage_error(tmp_path):
    result = run_cli("evaluate", BUNDLED_MODEL, tmp_path, "--device", "tpu", check=False)
    assert result.returncode == 2 and ("argument --device: device 'tpu' is not one of auto, "
                                       "cpu, gpu, cuda:N") in result.stderr


def test_predict_refuses_nan_and_infinite_values_naming_the_rows(bundled_model):
    images = np.zeros((4, 1, 128, 128), dtype=np.float32)
    assert np.isfinite(bundled_model.predict(images)).all()
    images[1, 0, 3, 3], images[3, 0, 0, 0] = np.nan, -np.inf
    with pytest.raises(PopgenHubError, match=r"NaN or infinite values in rows 1, 3 \(batch "
                                             r"indices\) of 4"):
        bundled_model.predict(images)
    with pytest.raises(PopgenHubError, match="NaN or infinite"):  # too large for float32
        bundled_model.predict(np.full((1, 1, 128, 128), 1e300))


# ---------------------------------------------------------------------------- datasets
@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """Four replicates of the bundled model's scenario, in two shards."""
    out = tmp_path_factory.mktemp("data") / "data"
    run_cli("simulate", "imagene_sweep", "--n", "4", "--shard-size", "2", "-q", "-o", out)
    return out


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _without(array: str):
    def edit(path: Path) -> None:
        with np.load(path) as shard:
            arrays = {k: shard[k] for k in shard.files if k != array}
        with open(path, "wb") as handle:  # np.savez would add .npz to the name
            np.savez_compressed(handle, **arrays)
    return edit


def _manifest_without(key: str):
    def edit(path: Path) -> None:
        manifest = json.loads(path.read_text())
        del manifest[key]
        path.write_text(json.dumps(manifest))
    return edit


def _scramble(path: Path) -> None:
    blob = bytearray(path.read_bytes())
    blob[100:1500] = bytes(b ^ 0x5A for b in blob[100:1500])
    path.write_bytes(bytes(blob))


DATASET_CASES = {
    "truncated shard": ("shard-000001.npz", _truncate, "is not a readable .npz archive"),
    "shard not a zip": ("shard-000000.npz", lambda p: p.write_text("hello"),
                        "is not a readable .npz archive"),
    "scrambled shard": ("shard-000000.npz", _scramble, "does not read"),
    "shard without labels": ("shard-000000.npz", _without("labels"), "has no array 'labels'"),
    "shard without raw data": ("shard-000001.npz", _without("positions"),
                               "has no array 'positions'"),
    "manifest not JSON": ("manifest.json", lambda p: p.write_text("{"), "not readable JSON"),
    "manifest a list": ("manifest.json", lambda p: p.write_text("[]"),
                        "it holds list, not a JSON object"),
    **{f"manifest without {key}": ("manifest.json", _manifest_without(key), f"no '{key}'")
       for key in ("n", "shard_size", "labels", "encoder")},
}


CLI_DATASET_CASES = ("truncated shard", "shard not a zip", "scrambled shard",
                     "shard without labels", "manifest not JSON")


@pytest.mark.parametrize("case", DATASET_CASES)
def test_a_damaged_dataset_is_refused(dataset, tmp_path, case):
    """Through `evaluate` (five cases) or the readers that `evaluate` and `train --data` call."""
    from popgen_hub.datasets import iter_replicates, load_dataset

    name, damage, match = DATASET_CASES[case]
    copy = tmp_path / "data"
    shutil.copytree(dataset, copy)
    damage(copy / name)
    read = ((lambda: list(iter_replicates(copy))) if "raw data" in case
            else (lambda: load_dataset(copy)))
    line = refused(case in CLI_DATASET_CASES, ("evaluate", BUNDLED_MODEL, copy, "-q"), read,
                   match)
    assert str(copy / name) in line
    assert "popgen-hub simulate" in line and "popgen-hub import" in line


# ---------------------------------------------------------------------------- import
def ms_file(path: Path, positions: str = "0.1 0.5", rows=("01", "10", "11", "00")) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"ms 4 1\n1 2 3\n\n//\nsegsites: 2\npositions: {positions}\n"
                    + "\n".join(rows) + "\n")
    return path


def import_fails(tmp_path, first: Path | str, *, match: str, fmt: str = "ms") -> str:
    other = ms_file(tmp_path / "other" / "r1.txt") if fmt == "ms" else first
    out = tmp_path / "out"
    line = fails("import", fmt, "--class", f"neutral={first}", "--class", f"sweep={other}",
                 "--length", "1000", "-q", "-o", out, match=match)
    assert not out.exists()
    return line


@pytest.mark.parametrize("positions, match", [
    ("0.1 abc", "line 6: a position is not a number (could not convert string to float: 'abc')"),
    ("0.1 1.7", "position 1.7 is not a fraction of the locus in [0, 1]"),
    ("0.1 nan", "position nan is not a fraction"),
])
def test_ms_positions_that_are_not_fractions_are_refused(tmp_path, positions, match):
    from popgen_hub.simulate.importers import read_ms

    path = ms_file(tmp_path / "bad.txt", positions)
    if "abc" in positions:
        import_fails(tmp_path, path, match=match)
    else:
        refused(False, (), lambda: list(read_ms(path, 1000)), match)


def test_binary_and_empty_inputs_are_refused(tmp_path):
    pytest.importorskip("tskit")
    from popgen_hub.simulate.importers import read_trees

    binary = tmp_path / "binary.txt"
    binary.write_bytes(bytes(range(256)) * 4)
    import_fails(tmp_path, binary, match="is not a text file (binary data)")
    (tmp_path / "empty").mkdir()
    import_fails(tmp_path, tmp_path / "empty", match="no ms files there")
    (tmp_path / "text.trees").write_text("not a tree sequence")
    line = import_fails(tmp_path, tmp_path / "text.trees", fmt="trees",
                        match="text.trees is not a tskit tree sequence")
    assert "msprime, SLiM or fwdpy11" in line
    (tmp_path / "empty.trees").write_bytes(b"")
    refused(False, (), lambda: read_trees(tmp_path / "empty.trees"),
            "empty.trees is not a tskit tree sequence")


def test_absolute_glob_patterns_are_imported(tmp_path):
    for label in ("neutral", "sweep"):
        for k in (1, 2):
            ms_file(tmp_path / label / f"r{k}.txt")
    out = tmp_path / "out"
    result = run_cli("import", "ms", "--class", f"neutral={tmp_path}/neutral/*.txt",
                     "--class", f"sweep={tmp_path}/sw*/r[12].txt", "--length", "1000", "-q",
                     "-o", out)
    assert "neutral: 2 replicates, sweep: 2 replicates" in result.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["n"] == 4 and manifest["sources"]["sweep"] == ["r1.txt#1", "r2.txt#1"]


# ---------------------------------------------------------------------------- parameters
@pytest.mark.parametrize("param, match", [
    ("selection_strength=abc", "--param selection_strength='abc': imagene_sweep's "
                               "selection_strength must be a finite number, e.g. "
                               "selection_strength=300.0"),
    ("selection_strength=NaN", "--param selection_strength=nan"),
    ("n_haplotypes=12.5", "n_haplotypes must be a whole number, e.g. n_haplotypes=128"),
])
def test_scenario_parameters_of_the_wrong_type_are_refused(tmp_path, param, match):
    """Through `simulate`, or get_scenario (which `simulate` and `train --simulate` call)."""
    pytest.importorskip("msprime")
    from popgen_hub.cli.common import key_values
    from popgen_hub.simulate.scenarios import get_scenario

    refused("abc" in param, ("simulate", "imagene_sweep", "--param", param, "--n", "2", "-q",
                             "-o", tmp_path / "X"),
            lambda: get_scenario("imagene_sweep", **key_values([param], "--param")), match)
    assert not (tmp_path / "X").exists()


def test_whole_numbers_may_be_written_as_floats():
    pytest.importorskip("msprime")
    from popgen_hub.simulate.scenarios import get_scenario

    assert get_scenario("imagene_sweep", length=2e4).parameters["length"] == 20000


@pytest.mark.parametrize("length", [0, -5])
def test_a_vcf_of_no_length_is_refused(tmp_path, length):
    pytest.importorskip("msprime")
    from popgen_hub.simulate.genome import simulate_vcf
    from popgen_hub.simulate.scenarios import get_scenario

    refused(length == 0, ("simulate", "imagene_sweep", "--vcf", tmp_path / "x.vcf.gz",
                          "--length", length),
            lambda: simulate_vcf(tmp_path / "x.vcf.gz", get_scenario("imagene_sweep"),
                                 length=length, seed=1),
            f"--length {length}: the simulated region needs a positive whole number of bp")
    assert not list(tmp_path.iterdir())


# ---------------------------------------------------------------------------- training
@pytest.mark.parametrize("setting, value, match", [
    ("batch_size", 0, "--batch-size 0: must be a whole number of at least 1"),
    ("learning_rate", math.nan, "--learning-rate nan: must be a finite number above 0"),
    ("learning_rate", -1.0, "--learning-rate -1.0: must be a finite number above 0"),
    ("learning_rate", 0.0, "--learning-rate 0.0: must be a finite number above 0"),
    ("epochs", 0, "--epochs 0: must be a whole number of at least 1"),
    ("weight_decay", -1.0, "--weight-decay -1.0: must be a finite number of at least 0"),
    ("threads", 0, "--threads 0: must be a whole number of at least 1"),
    ("optimizer", "sgd", "--optimizer 'sgd' is not one of rmsprop, adam, adamw"),
])
def test_impossible_training_settings_are_refused(setting, value, match):
    pytest.importorskip("torch")
    from popgen_hub.training.loop import TrainSettings

    with pytest.raises(PopgenHubError, match=match.replace("(", r"\(").replace(".", r"\.")):
        TrainSettings(**{setting: value})


@pytest.mark.parametrize("validation, test", [(1.5, 0.1), (0.5, 0.5), (0.0, 0.1),
                                              (math.nan, 0.1)])
def test_held_out_fractions_must_leave_something_to_train_on(validation, test):
    pytest.importorskip("torch")
    from popgen_hub.training.loop import split_indices

    with pytest.raises(PopgenHubError, match=f"--validation-fraction {validation} and "
                                             f"--test-fraction {test} must each be in"):
        split_indices(100, 0, validation, test)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A run trained on 40 replicates (4 held out for the test), and what train printed."""
    root = tmp_path_factory.mktemp("tiny")
    run_cli("simulate", "imagene_sweep", "--param", "n_haplotypes=16", "--param",
            "length=20000", "--encoder", "n_rows=24", "--encoder", "n_cols=24", "--n", "40",
            "-q", "-o", root / "data")
    result = run_cli("train", "imagene_cnn", "--data", root / "data", "--epochs", "1", "-q",
                     "-o", root / "run")
    return root / "run", result


@pytest.mark.slow
def test_training_on_few_replicates_warns_that_the_figures_mean_little(tiny_run, tmp_path):
    _, result = tiny_run
    assert "held-out test accuracy" in result.stdout and "on 4 replicates" in result.stdout
    warning = result.stderr.strip()
    assert warning.startswith("popgen-hub: warning: the held-out test figures rest on 4 "
                              "replicates"), result.stderr
    assert "below 100 per class" in warning and "not meaningful" in warning
    fails("train", "imagene_cnn", "--data", tiny_run[0].parent / "data", "--batch-size", "0",
          "-q", "-o", tmp_path / "run", match="--batch-size 0: must be a whole number")
    assert not (tmp_path / "run").exists()


def _foreign_state_dict(path: Path) -> None:
    import torch

    torch.save({"w": torch.zeros(3)}, path)


EXPORT_CASES = {
    "truncated weights": ("model.pt", _truncate, "the run's weights are unreadable"),
    "not a torch file": ("model.pt", lambda p: p.write_text("hello"),
                         "the run's weights are unreadable"),
    "another architecture": ("model.pt", _foreign_state_dict,
                             "the weights do not fit imagene_cnn as run.json describes it (no "
                             "tensor features.0.weight"),
    "no run.json": ("run.json", Path.unlink, "is not a training run (needs run.json"),
    "run.json not JSON": ("run.json", lambda p: p.write_text("{"), "is not readable JSON"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", EXPORT_CASES)
def test_a_damaged_run_is_refused_by_export(tiny_run, tmp_path, case):
    """Through `export` (two cases) or export_run, which it calls."""
    from popgen_hub.training.export import export_run

    name, damage, match = EXPORT_CASES[case]
    run = tmp_path / "run"
    shutil.copytree(tiny_run[0], run)
    damage(run / name)
    out = tmp_path / "out"
    line = refused(case in ("truncated weights", "another architecture"),
                   ("export", run, "--name", "imagene_cnn.test", "-o", out),
                   lambda: export_run(run, "imagene_cnn.test", out), match)
    assert "popgen-hub train" in line
    assert not out.exists()
