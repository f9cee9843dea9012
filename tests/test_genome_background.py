"""Sweep models that read each window beside its genome's background: the sweep regime
simulated in genomes, the genome_statistics encoder, stats_fc_genome, and scans that measure
the background over the whole input (docs/sweep_models.md)."""

from __future__ import annotations

import gzip
import logging

import numpy as np
import pytest
from test_bad_input import write_vcf

from conftest import assert_torch_matches_onnx, run_cli, train_tiny
from popgen_hub.encoders import build_encoder
from popgen_hub.encoders.genome_statistics import BACKGROUND, dataset_backgrounds
from popgen_hub.encoders.summary_statistics import TENSOR
from popgen_hub.errors import PopgenHubError
from popgen_hub.simulate.scenarios import get_scenario
from popgen_hub.training.loop import split_indices
from test_scan import read_table

SHARED = ("history_index", "history_kind", "mutation_rate", "recombination_scale", "genome")


def test_the_windows_of_a_genome_share_its_history_and_rates_but_not_their_own_rate():
    scenario = get_scenario("sweep_regime", genome_windows=6, n_haplotypes=16)
    params = [scenario.simulate(i, seed=3).params for i in range(12)]
    genomes = [{tuple(p[key] for key in SHARED) for p in part}
               for part in (params[:6], params[6:])]
    assert all(len(genome) == 1 for genome in genomes) and genomes[0] != genomes[1]
    assert len({p["recombination_rate"] for p in params[:6]}) == 6
    # independent windows keep the seeds and manifests of datasets made before genomes were
    assert "genome_windows" not in get_scenario("sweep_regime").parameters
    with pytest.raises(PopgenHubError, match="genome_windows=4 must be 0 or a positive multiple"):
        get_scenario("sweep_regime", genome_windows=4)


def test_a_background_is_the_median_of_the_other_neutral_windows_of_its_genome():
    features = np.arange(8, dtype=np.float32)[:, None] * [1, 10]
    labels = np.array([0, 0, 0, 1, 0, 0, 0, 2])
    genomes = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    backgrounds = dataset_backgrounds(features, labels, genomes, "data")
    assert backgrounds[:, 0].tolist() == [1.5, 1, 0.5, 1, 5.5, 5, 4.5, 5]
    np.testing.assert_array_equal(backgrounds[:, 1], 10 * backgrounds[:, 0])
    with pytest.raises(PopgenHubError, match="genome 1 has 2 neutral windows"):
        dataset_backgrounds(features, np.array([0, 0, 0, 1, 0, 0, 1, 2]), genomes, "data")


def test_genomes_are_split_whole():
    genomes = np.repeat(np.arange(20), 6)
    splits = split_indices(len(genomes), 3, groups=genomes)
    assert sorted(np.concatenate(list(splits.values())).tolist()) == list(range(120))
    owners = [set(genomes[index]) for index in splits.values()]
    assert all(a.isdisjoint(b) for i, a in enumerate(owners) for b in owners[i + 1:])
    assert [len(o) for o in owners] == [2, 2, 16]  # test, validation, train


@pytest.fixture(scope="module")
def genome_data(tmp_path_factory):
    """8 genomes of 12 windows of 32 haplotypes, simulated as a user would."""
    data = tmp_path_factory.mktemp("genomes") / "data"
    run_cli("simulate", "sweep_regime", "--param", "genome_windows=12", "--param",
            "n_haplotypes=32", "--n", "96", "--seed", "1", "-q", "-o", data)
    return data


@pytest.fixture(scope="module")
def genome_model(tmp_path_factory, genome_data):
    import popgen_hub

    run, model = train_tiny(tmp_path_factory.mktemp("stats_fc_genome"), genome_data,
                            "stats_fc_genome", 3)
    return run, popgen_hub.load(f"local-dir:{model}", device="cpu")


def test_training_encodes_each_window_beside_its_genome_and_the_graph_reads_both(
        genome_data, genome_model):
    import json

    from popgen_hub.datasets import encode_dataset, genomes_of

    run, model = genome_model
    assert model.contract.input.names == [TENSOR, BACKGROUND]
    record = json.loads((run / "run.json").read_text())
    assert "by their 8 genomes" in record["data"]["split"]
    test_genomes = set(genomes_of(genome_data)[record["data"]["test_indices"]].tolist())
    assert len(test_genomes) == 1  # a tenth of 8 genomes, whole
    inputs, labels = encode_dataset(genome_data, model.encoder, progress=False)
    assert inputs[BACKGROUND].shape == inputs[TENSOR].shape
    assert_torch_matches_onnx(run, model, inputs)
    moved = {**inputs, BACKGROUND: inputs[BACKGROUND] + 1}
    assert np.abs(model.predict(moved) - model.predict(inputs)).max() > 1e-3


def test_an_ensemble_of_background_models_halves_its_held_out_data_by_genome(
        genome_data, genome_model, tmp_path):
    import json

    _, model = genome_model
    second, held_out = tmp_path / "second", tmp_path / "held_out"
    run_cli("train", "stats_fc_genome", "--data", genome_data, "--epochs", "2", "--threads",
            "1", "--seed", "3", "-q", "-o", second / "run")
    run_cli("export", second / "run", "--name", "stats_fc_genome.test2", "-o", second / "model")
    run_cli("simulate", "sweep_regime", "--param", "genome_windows=12", "--param",
            "n_haplotypes=32", "--n", "60", "--seed", "2", "-q", "-o", held_out)
    run_cli("ensemble", model.path.parent, second / "model", "--data", held_out, "--name",
            "ensemble.genomes", "-o", tmp_path / "ensemble", "-q")
    training = json.loads((tmp_path / "ensemble" / "config.json").read_text())["training"]
    assert "replicates by genome" in training["split"]
    # 5 genomes of 12 windows: whole genomes on each side (by replicate it would be 30 / 30)
    assert sorted([training["n_calibration"], training["n_test"]]) == [24, 36]


def test_a_dataset_of_independent_windows_is_refused_in_one_line(tiny_sweep_data):
    from popgen_hub.datasets import encode_dataset

    with pytest.raises(PopgenHubError, match="not simulated in genomes.*genome_windows=30"):
        encode_dataset(tiny_sweep_data, build_encoder({"name": "genome_statistics"}),
                       progress=False)


def test_a_scan_measures_the_background_over_the_whole_input_whatever_region_it_scores(
        genome_model, sweep_vcf, tmp_path):
    from popgen_hub.encoders.genome_statistics import background
    from popgen_hub.scoring import prepare, sampled_windows, score

    _, model = genome_model
    whole = prepare(model, sweep_vcf, progress=False)
    part = prepare(model, sweep_vcf, region="1:1-400000", progress=False)
    np.testing.assert_array_equal(whole.background, part.background)
    reader = whole.reader
    regions = [reader.contig_region(contig, grid=whole.window)
               for contig in reader.contigs_with_records()]
    windows = [encoded.inputs[TENSOR] for *_, encoded in sampled_windows(
        reader, regions, whole.selection, model.encoder, whole.window, 100,
        reader.new_stats()) if encoded.n_sites >= model.contract.input.min_sites]
    np.testing.assert_allclose(whole.background, background(np.stack(windows)))
    with pytest.raises(PopgenHubError, match="give score.. the one genome_background"):
        score(model, reader, whole.regions, whole.selection, window=whole.window,
              step=whole.step, progress=False)
    scanned = whole.score().scored()
    alone = part.score().scored()
    same = np.isin(scanned["start"], alone["start"])
    np.testing.assert_allclose(alone["probabilities"], scanned["probabilities"][same],
                               atol=1e-6)
    run_cli("scan", "--model", f"local-dir:{model.path.parent}", "--vcf", sweep_vcf,
            "--workers", "2", "-q", "-o", tmp_path / "scan")
    _, rows = read_table(next((tmp_path / "scan").glob("*.windows.tsv")))
    np.testing.assert_allclose([float(row["p_sweep"]) for row in rows],
                               scanned["probabilities"][:, 1], atol=1e-5)


def test_a_contig_that_cannot_be_read_is_left_out_of_the_background(genome_model, sweep_vcf,
                                                                   tmp_path, caplog):
    """A second contig whose records pass its length in the header: one warning names it, and
    the background is the first contig's alone."""
    from popgen_hub.scoring import prepare

    _, model = genome_model
    with gzip.open(sweep_vcf, "rt") as handle:
        lines = handle.readlines()
    header = [line for line in lines if line.startswith("#")]
    records = [line for line in lines if not line.startswith("#")]
    contig = records[0].split("\t", 1)[0]
    header.insert(-1, "##contig=<ID=short,length=100000>\n")
    moved = ["short\t" + record.split("\t", 1)[1] for record in records]
    two = write_vcf(tmp_path / "two.vcf.gz", "".join(header + records + moved))
    with caplog.at_level(logging.WARNING, logger="popgen_hub"):
        both = prepare(model, two, region=contig, progress=False)
    (warning,) = caplog.messages
    assert "1 contigs or windows of two.vcf.gz left out" in warning and "short" in warning
    np.testing.assert_array_equal(both.background,
                                  prepare(model, sweep_vcf, progress=False).background)


def test_an_input_too_short_for_a_background_is_refused_in_one_line_by_scan_and_explain(
        genome_model, simulate_vcf, tmp_path):
    import popgen_hub

    _, model = genome_model
    short = simulate_vcf(length=300_000, sweep_at=None, seed=4)
    choice = popgen_hub.choose_model(short, candidates=[
        "stats_fc_genome.sweep_hsap_general", "stats_fc.sweep_hsap_general"], n_windows=5)
    assert choice.name == "stats_fc.sweep_hsap_general"
    assert "give it an input of at least 0.8 Mb" in choice.candidates[1].refused
    done = run_cli("scan", "--model", f"local-dir:{model.path.parent}", "--vcf", short,
                   "-o", tmp_path / "scan", check=False)
    assert done.returncode == 1
    assert "give it an input of at least 0.8 Mb" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "scan").exists()
    done = run_cli("explain", f"local-dir:{model.path.parent}", "--vcf", short, "--region",
                   "1:100000-180000", "-o", tmp_path / "explained", check=False)
    assert done.returncode == 1 and "give it an input of at least 0.8 Mb" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "explained").exists()

