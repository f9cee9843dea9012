"""Outputs that cannot be lost or mixed: the lock of an output folder, the scan folder's
manifest (a model's scan replaced as a set, the shared files rewritten for every model), and
the one rule for interrupted runs (kept staging, --resume, --clean) of scan, simulate, import
and train."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyBigWig
import pytest

import popgen_hub
from conftest import BUNDLED_MODEL, ROOT
from popgen_hub import cli
from popgen_hub.datasets import load_dataset
from popgen_hub.encoders import HaplotypeImageEncoder
from popgen_hub.errors import PopgenHubError, Terminated
from popgen_hub.locks import output_lock
from popgen_hub.result import (
    CHROM_SIZES,
    IGV_BATCH,
    IGV_SESSION,
    JBROWSE_CONFIG,
    JBROWSE_DIR,
    REPORT,
    UCSC_HUB,
)
from popgen_hub.simulate.dataset import simulate_dataset
from popgen_hub.simulate.importers import import_dataset

scan_module = importlib.import_module("popgen_hub.scoring.score")  # where pieces are scored
importers = importlib.import_module("popgen_hub.simulate.importers")
SCORE_PIECE = scan_module.score_piece

EXAMPLE_VCF = ROOT / "hub" / "data" / "example_sweep.vcf.gz"
DATA = ROOT / "tests" / "data"
TEMPORAL_VCF, TEMPORAL_SAMPLES = DATA / "temporal_loci.vcf.gz", DATA / "temporal_loci.samples.tsv"
TRACK = f"{BUNDLED_MODEL}.sweep.bw"
REGION = "chr1:1-1000000"  # 93 windows of the example
TABLE = f"{BUNDLED_MODEL}.windows.tsv"
FLAGGED = f"{BUNDLED_MODEL}.flagged.bed"  # windows unlike the training data (ood.py)
#: the files of a folder that are no one model's: contig lengths and genome-browser files
#: (igv.min.js beside report.html; JBrowse's configuration in a folder of its own)
SHARED_FILES = {CHROM_SIZES, IGV_BATCH, IGV_SESSION, UCSC_HUB, JBROWSE_DIR, REPORT,
                "igv.min.js"}


@pytest.fixture
def hub_log(caplog, monkeypatch):
    """INFO and up of the popgen_hub logger (the CLI stops it propagating, for stderr)."""
    monkeypatch.setattr(logging.getLogger("popgen_hub"), "propagate", True)
    with caplog.at_level(logging.INFO, logger="popgen_hub"):
        yield caplog


def popgen_hub_process(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "popgen_hub", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(pattern: str, folder: Path, process: subprocess.Popen, timeout: float = 60) -> None:
    """Until a file matching ``pattern`` appears under ``folder`` (the process still running)."""
    deadline = time.monotonic() + timeout
    while not list(folder.glob(pattern)):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"no {pattern} in {folder}"
        time.sleep(0.02)


def windows_of(out: Path) -> list[str]:
    return [line for line in (out / TABLE).read_text().splitlines() if not line.startswith("#")]


# ------------------------------------------------------------------------- the lock
def test_two_scans_into_one_new_folder_one_writes_the_other_refuses(tmp_path):
    """Without a lock both scans staged beside the new folder, the loser's rename failed and
    its clean-up removed the folder the winner had just published. The first to take the lock
    is frozen (SIGSTOP) while it holds it, so that the other always meets it."""
    out, lock = tmp_path / "scan", tmp_path / ".scan.popgen-hub.lock"
    args = ("scan", "--vcf", EXAMPLE_VCF, "--model", BUNDLED_MODEL, "--step", "5000", "-q",
            "-o", out)
    started = {(process := popgen_hub_process(*args)).pid: process for _ in range(2)}
    while not (lock.exists() and lock.stat().st_size):  # a holder writes itself in
        assert any(p.poll() is None for p in started.values()), [
            p.communicate() for p in started.values()]
        time.sleep(0.005)
    winner = started[json.loads(lock.read_text())["pid"]]
    os.kill(winner.pid, signal.SIGSTOP)
    loser = next(process for process in started.values() if process is not winner)
    lost_out, lost_err = loser.communicate(timeout=120)
    os.kill(winner.pid, signal.SIGCONT)
    stdout, stderr = winner.communicate(timeout=120)
    assert winner.returncode == 0 and loser.returncode == 1, (stderr, lost_err)
    assert lost_out == "" and lost_err.count("\n") == 1  # one line
    assert f"{out} is being written by another popgen-hub run (pid {winner.pid} " in lost_err
    assert "popgen-hub scan --vcf" in lost_err and "wait for it to finish" in lost_err
    wrote = [Path(line.strip()) for line in stdout.split("wrote:\n")[1].splitlines()]
    printed = {*SHARED_FILES - {JBROWSE_DIR}, JBROWSE_CONFIG}  # the file JBrowse opens
    assert {str(path.relative_to(out)) for path in wrote} == {TRACK, TABLE, FLAGGED, *printed}
    assert all(path.exists() for path in wrote)
    with pyBigWig.open(str(out / TRACK)) as bw:
        assert bw.chroms() == {"chr1": 2_000_000} and len(bw.intervals("chr1")) > 350
    assert len(windows_of(out)) == 386  # the column names and 385 windows
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scan"]  # no lock, no staging left


def test_a_held_lock_refuses_and_a_dead_holders_lock_is_taken_over(bundled_model, tmp_path,
                                                                      hub_log):
    out = tmp_path / "scan"
    with output_lock(out, "popgen-hub scan --vcf other.vcf.gz -o scan"):
        with pytest.raises(PopgenHubError) as refused:
            bundled_model.scan(EXAMPLE_VCF, out, region="chr1:1-300000", progress=False)
    message = str(refused.value)
    assert f"pid {os.getpid()} on {socket.gethostname()}" in message
    assert "popgen-hub scan --vcf other.vcf.gz -o scan" in message and "\n" not in message
    assert list(tmp_path.iterdir()) == []  # the lock went with its holder

    (gone := subprocess.Popen(["true"])).wait()
    (tmp_path / ".scan.popgen-hub.lock").write_text(json.dumps(
        {"pid": gone.pid, "host": socket.gethostname(), "command": "popgen-hub scan killed"}))
    bundled_model.scan(EXAMPLE_VCF, out, region="chr1:1-300000", progress=False)
    assert (out / TRACK).is_file()
    assert f"taking over the lock of {out} from pid {gone.pid} (popgen-hub scan killed)" in \
        hub_log.text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scan"]


# ------------------------------------------------------------------------- the scan folder
def test_a_new_scan_of_a_model_replaces_what_its_last_scan_wrote(bundled_model, tmp_path):
    from popgen_hub.writers import WRITERS

    out = tmp_path / "scan"

    def extra(result, staging):  # a plugin's file, written by the first scan only
        staging.path("extra.txt").write_text("first scan")

    WRITERS.register("extra")(extra)
    try:
        bundled_model.scan(EXAMPLE_VCF, out, region="chr1:1-400000", writers=["extra"],
                           progress=False)
    finally:
        del WRITERS.builtins["extra"]
    scans = json.loads((out / "popgen-hub.scans.json").read_text())["scans"]
    assert scans[BUNDLED_MODEL]["files"] == [TRACK, TABLE, FLAGGED, "extra.txt"]
    second = bundled_model.scan(EXAMPLE_VCF, out, region="chr1:1000001-1400000",
                                progress=False)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [TRACK, TABLE, FLAGGED, *SHARED_FILES, "popgen-hub.scans.json"])
    entry = json.loads((out / "popgen-hub.scans.json").read_text())["scans"][BUNDLED_MODEL]
    assert entry["regions"] == ["chr1:1000001-1400000"]
    assert entry["files"] == [TRACK, TABLE, FLAGGED]
    assert entry["parameters"]["step"] == 10_000 and entry["input"] == str(EXAMPLE_VCF)
    starts = [int(line.split("\t")[1]) for line in windows_of(out)[1:]]
    assert starts[0] == 1_000_000 and starts == second.windows["start"].tolist()
    with pyBigWig.open(str(out / TRACK)) as bw:
        assert bw.intervals("chr1")[0][0] >= 1_000_000  # not a mix of the two scans


def test_two_models_share_the_folder_and_its_igv_batch(tmp_path):
    out = tmp_path / "scan"
    hsap, review = (popgen_hub.load(name, device="cpu") for name in
                    ("temporal_balsel.hsap_eur", "temporal_balsel.review_data"))
    options = dict(samples=TEMPORAL_SAMPLES, progress=False)
    hsap.scan(TEMPORAL_VCF, out, **options)
    review.scan(TEMPORAL_VCF, out, region="chr1:1-100000", **options)
    hsap.scan(TEMPORAL_VCF, out, region="chr1:50001-150000", **options)  # replaces hsap's only
    scans = json.loads((out / "popgen-hub.scans.json").read_text())["scans"]
    # oldest scan first: hsap's second scan came last
    assert list(scans) == ["temporal_balsel.review_data", "temporal_balsel.hsap_eur"]
    assert scans["temporal_balsel.hsap_eur"]["regions"] == ["chr1:50001-150000"]
    assert scans["temporal_balsel.review_data"]["regions"] == ["chr1:1-100000"]
    batch = (out / "igv_batch.txt").read_text().splitlines()
    loaded = [line.split()[1] for line in batch if line.startswith("load ")]
    # each model's tracks, then its flagged windows, in the manifest's order
    tracks = [str((out / file).resolve()) for model, entry in scans.items()
              for file in [*entry["tracks"].values(), f"{model}.flagged.bed"]
              if file in entry["files"]]
    assert loaded == tracks and sum(track.endswith(".bw") for track in loaded) == 4
    assert all(Path(track).is_file() for track in loaded)
    assert "name=P(weak_overdominance)_temporal_balsel.review_data" in "\n".join(batch)
    assert batch[1] == f"genome {(out / 'scan.chrom.sizes').resolve()}"
    assert (out / "scan.chrom.sizes").read_text() == "chr1\t150000\n"


def test_a_folder_holds_one_assembly(bundled_model, tmp_path):
    out = tmp_path / "scan"
    bundled_model.scan(EXAMPLE_VCF, out, region="chr1:1-300000", progress=False)
    before = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    temporal = popgen_hub.load("temporal_balsel.hsap_eur", device="cpu")
    with pytest.raises(PopgenHubError, match=r"contig chr1 is 150,000 bp in .*temporal_loci"
                       r".* but 2,000,000 bp in .*example_sweep.*scan inputs of one assembly"):
        temporal.scan(TEMPORAL_VCF, out, samples=TEMPORAL_SAMPLES, progress=False)
    assert {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*")
            if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scan"]


# ------------------------------------------------------------------------- interrupted scans
def interrupt_after(monkeypatch, n_pieces: int, signal_exception=Terminated) -> list:
    """Make the scan stop (as SIGTERM would) when ``n_pieces`` pieces are done."""
    calls = []

    def piece(*args, **kwargs):
        if len(calls) == n_pieces:
            raise signal_exception
        calls.append(args[2])
        return SCORE_PIECE(*args, **kwargs)

    monkeypatch.setattr(scan_module, "score_piece", piece)
    return calls


def test_an_interrupted_scan_resumes_with_the_same_windows(bundled_model, tmp_path, monkeypatch,
                                                            capsys):
    monkeypatch.setattr(scan_module, "PIECE_WINDOWS", 20)  # the 93 windows in 5 pieces
    whole = bundled_model.scan(EXAMPLE_VCF, tmp_path / "whole", region=REGION, progress=False)
    out = tmp_path / "scan"
    argv = ["scan", "--vcf", str(EXAMPLE_VCF), "--model", BUNDLED_MODEL, "--device", "cpu",
            "--region", REGION, "-o", str(out)]
    interrupt_after(monkeypatch, 2)
    assert cli.main([*argv, "-q"]) == 143
    err = capsys.readouterr().err.splitlines()
    partial = next(tmp_path.glob(".scan.popgen-hub-partial-*"))
    assert err == [f"popgen-hub: partial work kept in {partial}; run the same command with "
                   f"--resume to continue, or --clean to discard it",
                   "popgen-hub scan: terminated (SIGTERM)"]
    assert len(list((partial / ".pieces").glob("piece-*.npz"))) == 2 and not out.exists()

    assert cli.main([*argv, "-q"]) == 1  # neither --resume nor --clean: say so
    assert capsys.readouterr().err.strip() == (
        f"popgen-hub scan: error: {partial} holds the partial work of an interrupted run of "
        f"this command; run the same command with --resume to continue, or --clean to "
        f"discard it")

    scored = interrupt_after(monkeypatch, 99)
    assert cli.main([*argv, "--resume"]) == 0
    assert len(scored) == 3 and "resuming: 2 of 5 pieces" in capsys.readouterr().err
    assert windows_of(out) == windows_of(tmp_path / "whole") and len(whole.windows) == 93
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scan", "whole"]

    interrupt_after(monkeypatch, 1, KeyboardInterrupt)  # Ctrl-C, then --clean
    assert cli.main([*argv, "-q"]) == 130
    scored = interrupt_after(monkeypatch, 99)
    assert cli.main([*argv, "-q", "--clean"]) == 0 and len(scored) == 5
    assert sorted(p.name for p in [*tmp_path.iterdir(), *out.glob(".*")]) == ["scan", "whole"]
    assert windows_of(out) == windows_of(tmp_path / "whole")


def test_the_same_scan_resumed_gives_every_window_unchanged(bundled_model, tmp_path,
                                                            monkeypatch):
    monkeypatch.setattr(scan_module, "PIECE_WINDOWS", 30)
    whole = bundled_model.scan(EXAMPLE_VCF, tmp_path / "whole", region=REGION, progress=False)
    interrupt_after(monkeypatch, 2)
    with pytest.raises(Terminated):
        bundled_model.scan(EXAMPLE_VCF, tmp_path / "scan", region=REGION, progress=False)
    (partial,) = tmp_path.glob(".scan.popgen-hub-partial-*")
    assert len(list((partial / ".pieces").glob("piece-*.npz"))) == 2  # of 4 pieces
    scored = interrupt_after(monkeypatch, 99)
    resumed = bundled_model.scan(EXAMPLE_VCF, tmp_path / "scan", region=REGION, resume=True,
                                 progress=False)
    assert len(scored) == 2 and not partial.exists()  # only the pieces left were scored
    assert resumed.windows.tobytes() == whole.windows.tobytes() and resumed.stats == whole.stats


@pytest.mark.slow
def test_a_scan_killed_by_sigterm_resumes_where_it_stopped(bundled_model, tmp_path):
    out = tmp_path / "scan"
    args = ("scan", "--vcf", EXAMPLE_VCF, "--model", BUNDLED_MODEL, "--device", "cpu",
            "--step", "5000", "-o", out)  # 385 windows: two pieces
    first = popgen_hub_process(*args, "-q")
    wait_for(".scan.popgen-hub-partial-*/.pieces/piece-*.npz", tmp_path, first)
    first.send_signal(signal.SIGTERM)
    _, err = first.communicate(timeout=60)
    assert first.returncode == 143 and "partial work kept in" in err and "terminated" in err
    resumed = popgen_hub_process(*args, "--resume")
    _, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0 and "resuming: 1 of 2 pieces" in err, err
    bundled_model.scan(EXAMPLE_VCF, tmp_path / "whole", step=5000, progress=False)
    assert windows_of(out) == windows_of(tmp_path / "whole") and len(windows_of(out)) == 386
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scan", "whole"]


# ------------------------------------------------------------------------- datasets
def ms_file(path: Path, replicates: int, shift: int = 0) -> Path:
    path.write_text(f"ms 4 {replicates}\n1 2 3\n" + "".join(
        "\n//\nsegsites: 2\npositions: 0.1 0.6\n" + "".join(
            format((k + r + shift) % 4, "02b") + "\n" for r in range(4))
        for k in range(replicates)))
    return path


def test_import_never_overwrites_a_dataset_and_resumes_by_shard(tmp_path, monkeypatch):
    """An import into an existing dataset used to overwrite its manifest and first shards and
    leave the others: a dataset of 8 replicates then held n = 4 and a stale shard."""
    encoder = HaplotypeImageEncoder(n_rows=4, n_cols=4)
    options = dict(length=1000, encoder=encoder, shard_size=2, progress=False)
    big = {"a": [ms_file(tmp_path / "a.txt", 4)], "b": [ms_file(tmp_path / "b.txt", 4, 1)]}
    out = import_dataset("ms", big, tmp_path / "data", **options)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    small = {"a": [ms_file(tmp_path / "c.txt", 2)], "b": [ms_file(tmp_path / "d.txt", 2, 1)]}
    with pytest.raises(PopgenHubError, match="already holds a different dataset"):
        import_dataset("ms", small, out, **options)
    with pytest.raises(PopgenHubError, match="add --resume"):
        import_dataset("ms", big, out, **options)
    import_dataset("ms", big, out, resume=True, **options)  # finished: nothing to do
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before

    real, encoded = importers.single_tensor, []

    def counted(*args):
        if len(encoded) == 5:  # Ctrl-C while encoding the third shard
            raise KeyboardInterrupt
        encoded.append(1)
        return real(*args)

    monkeypatch.setattr(importers, "single_tensor", counted)
    with pytest.raises(KeyboardInterrupt):
        import_dataset("ms", big, tmp_path / "again", **options)
    partial = next(tmp_path.glob(".again.popgen-hub-partial-*"))
    assert sorted(p.name for p in partial.iterdir()) == ["shard-000000.npz", "shard-000001.npz"]
    with pytest.raises(PopgenHubError, match="--resume to continue, or --clean"):
        import_dataset("ms", big, tmp_path / "again", **options)
    encoded.clear()
    import_dataset("ms", big, tmp_path / "again", resume=True, **options)
    assert len(encoded) == 4  # the replicates of shards 2 and 3 only
    assert {p.name: p.read_bytes() for p in (tmp_path / "again").iterdir()} == before
    assert not partial.exists()


@pytest.mark.slow
def test_a_simulation_killed_outright_is_found_and_resumed(tmp_path, hub_log):
    small = dict(scenario_params={"n_haplotypes": 16, "length": 20_000},
                 encoder=HaplotypeImageEncoder(n_rows=16, n_cols=16), n=40, seed=2,
                 shard_size=4, progress=False)
    process = popgen_hub_process(
        "simulate", "imagene_sweep", "--param", "n_haplotypes=16", "--param", "length=20000",
        "--encoder", "n_rows=16", "--encoder", "n_cols=16", "--n", "40", "--seed", "2",
        "--shard-size", "4", "-q", "-o", tmp_path / "data")
    wait_for(".data.popgen-hub-partial-*/shard-000000.npz", tmp_path, process)
    process.kill()  # SIGKILL: nothing cleans up
    process.wait()
    assert (tmp_path / ".data.popgen-hub.lock").exists()
    with pytest.raises(PopgenHubError, match=r"\.data\.popgen-hub-partial-\w+ holds the "
                                             r"partial work .* --resume to continue"):
        simulate_dataset("imagene_sweep", tmp_path / "data", **small)
    simulate_dataset("imagene_sweep", tmp_path / "data", resume=True, **small)
    assert f"from pid {process.pid}" in hub_log.text and "resuming: " in hub_log.text
    fresh = load_dataset(simulate_dataset("imagene_sweep", tmp_path / "fresh", **small))
    resumed = load_dataset(tmp_path / "data")
    assert np.array_equal(resumed.images, fresh.images) and np.array_equal(resumed.labels,
                                                                           fresh.labels)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "fresh"]
    with pytest.raises(PopgenHubError, match="already holds this dataset"):
        simulate_dataset("imagene_sweep", tmp_path / "data", **small)


# ------------------------------------------------------------------------- training runs
@pytest.mark.slow
def test_training_repeats_resume_and_runs_are_never_overwritten(tmp_path, monkeypatch):
    from popgen_hub.training import train
    from popgen_hub.training.loop import TrainSettings

    data = simulate_dataset("imagene_sweep", tmp_path / "data", n=24, seed=1, shard_size=12,
                            scenario_params={"n_haplotypes": 24, "length": 20_000},
                            encoder=HaplotypeImageEncoder(n_rows=24, n_cols=24),
                            progress=False)
    settings = TrainSettings(epochs=1, threads=1)
    real, fitted = train._fit_on_dataset, []

    def fit(*args, **kwargs):
        if len(fitted) == 1:
            raise KeyboardInterrupt
        fitted.append(args[2])
        return real(*args, **kwargs)

    monkeypatch.setattr(train, "_fit_on_dataset", fit)
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train.train_repeats("imagene_cnn", data, run, settings, 2, progress=False)
    partial = next(tmp_path.glob(".run.popgen-hub-partial-*"))
    assert [p.name for p in partial.iterdir() if not p.name.startswith(".")] == ["repeat_00"]
    with pytest.raises(PopgenHubError, match="--resume"):
        train.train_repeats("imagene_cnn", data, run, settings, 2, progress=False)
    fitted.clear()
    monkeypatch.setattr(train, "_fit_on_dataset", lambda *a, **k: fitted.append(1) or real(
        *a, **k))
    summary = train.train_repeats("imagene_cnn", data, run, settings, 2, resume=True,
                                  progress=False)
    assert len(fitted) == 1 and summary["repeats"] == 2  # repeat_00 was not trained again
    assert {"repeat_00", "repeat_01", "repeats.json", "model.pt", "run.json"} <= {
        p.name for p in run.iterdir()}
    with pytest.raises(PopgenHubError, match="already holds a different training run"):
        train.train_from_dataset("imagene_cnn", data, run, settings, progress=False)
    again = train.train_repeats("imagene_cnn", data, run, settings, 2, resume=True,
                                progress=False)
    assert len(fitted) == 1 and again["accuracy"] == summary["accuracy"]


# ------------------------------------------------------------------------- the options
@pytest.mark.parametrize("command", ["scan", "simulate", "import", "train"])
def test_resume_and_clean_are_one_shared_group(command, capsys):
    parser = cli.build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    actions = {flag: action for action in commands.choices[command]._actions
               for flag in action.option_strings}
    assert actions["--resume"].default is False and actions["--clean"].default is False
    assert actions["--resume"].help.startswith("continue the interrupted run of this same")
    with pytest.raises(SystemExit):
        parser.parse_args([command, "--resume", "--clean"])
    assert "not allowed with argument --resume" in capsys.readouterr().err
