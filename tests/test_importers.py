"""Simulations from elsewhere: ms-format text (mspms, the review's files), tskit .trees, Dask."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import msprime
import numpy as np
import pytest

from conftest import run_cli, shared
from popgen_hub.datasets import load_dataset
from popgen_hub.encoders import HaplotypeImageEncoder
from popgen_hub.errors import PopgenHubError
from popgen_hub.simulate.dataset import simulate_dataset
from popgen_hub.simulate.importers import import_dataset, read_ms, read_trees, source_files

MSPMS = str(Path(sys.executable).with_name("mspms"))


def mspms(path: Path, *args: str) -> Path:
    """ms-format output of msprime's ms-compatible command line."""
    path.write_text(subprocess.run([MSPMS, *args], check=True, capture_output=True,
                                   text=True).stdout)
    return path


def test_ms_files_with_headers_many_replicates_and_empty_ones(tmp_path):
    text = mspms(tmp_path / "a.txt", "6", "4", "-t", "5", "-r", "2", "1000",
                 "-seeds", "1", "2", "3").read_text()
    replicates = list(read_ms(tmp_path / "a.txt", length=1000))
    blocks = text.split("//\n")[1:]
    assert len(replicates) == len(blocks) == 4
    for replicate, block in zip(replicates, blocks, strict=True):
        lines = block.splitlines()
        n_sites = int(lines[0].split()[1])
        assert replicate.haplotypes.shape == (6, n_sites)
        assert np.allclose(replicate.positions, [float(p) * 1000 for p in lines[1].split()[1:]])
        assert ["".join(map(str, row)) for row in replicate.haplotypes] == lines[2:8]
    empty = mspms(tmp_path / "b.txt", "6", "3", "-t", "0.0000001", "-seeds", "4", "5", "6")
    assert [r.haplotypes.shape[1] for r in read_ms(empty, 1000)] == [0, 0, 0]
    dataset = import_dataset("ms", {"neutral": [tmp_path / "a.txt"], "other": [
        tmp_path / "a.txt", empty]}, tmp_path / "data", length=1000, progress=False,
        encoder=HaplotypeImageEncoder(n_rows=8, n_cols=8))
    loaded = load_dataset(dataset)
    assert list(loaded.labels) == [0] * 4 + [1] * 7
    assert not loaded.images[-3:].any()  # no sites: blank images


def test_malformed_ms_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("ms 4 1 -t 5\n1 2 3\n\n//\nsegsites: 2\npositions: 0.1 0.5\n01\n0x\n")
    with pytest.raises(PopgenHubError, match=r"bad.txt, line 8: a haplotype must be 2"):
        list(read_ms(bad, 100))
    (tmp_path / "none.txt").write_text("not ms at all\n")
    with pytest.raises(PopgenHubError, match="no '//' replicate"):
        list(read_ms(tmp_path / "none.txt", 100))
    with pytest.raises(PopgenHubError, match="no ms files there"):
        source_files(str(tmp_path / "empty_dir_that_does_not_exist"), "ms")


def test_trees_import_matches_the_tree_sequence(tmp_path):
    files = []
    for seed in (1, 2):
        ts = msprime.sim_mutations(
            msprime.sim_ancestry(5, sequence_length=20_000, recombination_rate=1e-8,
                                 population_size=10_000, random_seed=seed),
            rate=1e-8, random_seed=seed, model=msprime.BinaryMutationModel())
        ts.dump(tmp_path / f"rep_{seed}.trees")
        files.append(tmp_path / f"rep_{seed}.trees")
        replicate = read_trees(files[-1])
        assert np.array_equal(replicate.haplotypes, ts.genotype_matrix().T)
        assert np.array_equal(replicate.positions, ts.tables.sites.position)
    (tmp_path / "junk.trees").write_text("no")
    with pytest.raises(PopgenHubError, match="not a tskit tree sequence"):
        read_trees(tmp_path / "junk.trees")


@pytest.mark.slow
def test_the_reviews_files_import_and_train(tmp_path):
    peers = shared("peers/temporal_balancing_selection_train.tar.gz")
    subprocess.run(["tar", "-xzf", str(peers), "-C", str(tmp_path), "./neutral/5",
                    "./dominance05/5"], check=True)
    for label in ("neutral", "dominance05"):  # 40 files each keep the test short
        keep = tmp_path / "small" / label
        keep.mkdir(parents=True)
        for path in source_files(str(tmp_path / label / "5"), "ms")[:40]:
            shutil.copy(path, keep)
    run_cli("import", "ms", "--class", f"neutral={tmp_path / 'small' / 'neutral'}",
            "--class", f"dominance05={tmp_path / 'small' / 'dominance05'}", "--length", "50000",
            "--simulator", "SLiM (Korfmann et al. 2023)", "-q", "-o", tmp_path / "data")
    manifest = json.loads((tmp_path / "data" / "manifest.json").read_text())
    assert manifest["parameters"] == {"n_haplotypes": 40, "length": 50000.0}
    assert manifest["sources"]["neutral"][:3] == ["NE_1.txt#1", "NE_2.txt#1", "NE_3.txt#1"]
    run_cli("train", "imagene_cnn", "--data", tmp_path / "data", "--epochs", "1", "-q",
            "-o", tmp_path / "run")
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["data"]["simulator"] == "SLiM (Korfmann et al. 2023)"
    assert run["metrics"]["test"]["n"] == 8


@pytest.mark.slow
def test_dask_cluster_makes_the_same_dataset(tmp_path, monkeypatch):
    from distributed import LocalCluster

    small = dict(scenario_params={"n_haplotypes": 16, "length": 20_000},
                 encoder=HaplotypeImageEncoder(n_rows=16, n_cols=16), n=8, seed=5, shard_size=3,
                 progress=False)
    local = load_dataset(simulate_dataset("imagene_sweep", tmp_path / "local", **small))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        remote = load_dataset(simulate_dataset("imagene_sweep", tmp_path / "dask",
                                               scheduler=cluster.scheduler_address, **small))
    assert np.array_equal(local.images, remote.images)
    assert np.array_equal(local.labels, remote.labels)
    monkeypatch.setattr("popgen_hub.cluster.CONNECT_TIMEOUT", 1.0)  # nobody listens there
    with pytest.raises(PopgenHubError, match="cannot connect to the Dask scheduler"):
        simulate_dataset("imagene_sweep", tmp_path / "nowhere", scheduler="tcp://127.0.0.1:9",
                         **small)
