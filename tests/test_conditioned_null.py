"""Nulls and training statistics by condition (sample size, read depth) for models of
individuals: `popgen-hub calibrate` stores them, a scan takes the nearest, `info` shows them."""

from __future__ import annotations

import json
import logging
import shutil

import numpy as np
import pytest

import popgen_hub
from popgen_hub import calibrate as calibrate_module
from popgen_hub.calibrate import calibrate_model
from popgen_hub.calibration import (
    CONDITIONS,
    NULL_SCORE,
    ConditionGrid,
    nearest_condition,
    scan_significance,
)
from popgen_hub.contract import ModelContract
from popgen_hub.errors import PopgenHubError
from popgen_hub.genotypes import ReadStats, Region
from popgen_hub.ood import REFERENCE, scan_reference
from popgen_hub.result import ScanResult, window_dtype

pytest.importorskip("msprime")
pytest.importorskip("onnx")

#: nulls of this many loci (calibrate's minimum, lowered for tiny datasets)
LOCI = 20
#: 20 diploids per replicate, 10 kb
PARAMETERS = {"n_haplotypes": 40, "length": 10_000}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A dataset of 48 replicates (24 neutral) and the two architectures trained on it for one
    epoch, exported; fresh copies of the model folders are calibrated by the tests."""
    from popgen_hub.simulate.dataset import simulate_dataset
    from popgen_hub.training import train
    from popgen_hub.training.export import export_run
    from popgen_hub.training.loop import TrainSettings

    base = tmp_path_factory.mktemp("conditioned")
    data = simulate_dataset("imagene_sweep", base / "data", n=48, seed=5,
                            scenario_params=PARAMETERS, progress=False)
    settings = TrainSettings(epochs=1, batch_size=16, seed=2, threads=1)
    models = {}
    for architecture in ("exchangeable_cnn", "exchangeable_cnn_gl"):
        run = base / f"{architecture}.run"
        train.train_from_dataset(architecture, data, run, settings, progress=False,
                                 encoder_overrides={"n_sites": 16}, calibrate=False)
        models[architecture] = export_run(run, f"{architecture}.test", base / architecture)
    return data, models


def calibrated(trained, tmp_path, architecture, monkeypatch, **grid):
    data, models = trained
    folder = tmp_path / architecture
    shutil.copytree(models[architecture], folder)
    monkeypatch.setattr(calibrate_module, "MIN_NULL_LOCI", LOCI)
    calibrate_model(folder, data, grid=ConditionGrid(**{"loci": LOCI, **grid}), device="cpu",
                    progress=False)
    return folder


@pytest.fixture(scope="module")
def genotype_model(trained, tmp_path_factory):
    with pytest.MonkeyPatch.context() as monkeypatch:
        folder = calibrated(trained, tmp_path_factory.mktemp("g"), "exchangeable_cnn",
                            monkeypatch, sample_sizes=(5, 10, 50))
    return folder


def test_a_genotype_model_stores_a_null_and_statistics_per_sample_size(genotype_model):
    contract = popgen_hub.load(f"local-dir:{genotype_model}", device="cpu").contract
    records = contract.references[CONDITIONS]
    # 50 is beyond the 20 individuals per replicate; genotypes have no depth
    assert [(r["individuals"], r["depth"]) for r in records] == [(5, None), (10, None)]
    for record in records:
        assert record["n"] == LOCI == len(record["values"]) and record["label"] == "sweep"
        assert f"{record['individuals']} individuals of each drawn" in record["source"]
        assert "seeded by [1313" in record["source"]
        stats = record[REFERENCE]
        assert stats["window_bp"] == 10_000 and stats["n_windows"] > LOCI  # sweeps too
        assert set(stats["statistics"]) >= {"snp_density", "informative_sites"}
    # fewer individuals, fewer segregating sites: the statistics move with the size
    densities = [r[REFERENCE]["statistics"]["snp_density"]["mean"] for r in records]
    assert densities[0] < densities[1]
    assert NULL_SCORE in contract.references and REFERENCE in contract.references  # pooled


def test_the_draws_do_not_depend_on_the_workers(trained, genotype_model, tmp_path,
                                                monkeypatch):
    again = calibrated(trained, tmp_path, "exchangeable_cnn", monkeypatch,
                       sample_sizes=(5, 10), workers=2)
    stored = [json.loads((folder / "config.json").read_text())["references"][CONDITIONS]
              for folder in (genotype_model, again)]
    assert stored[0] == stored[1]


def test_a_likelihood_model_stores_each_size_at_each_depth_and_depth_unknown(
        trained, tmp_path, monkeypatch, caplog):
    with caplog.at_level(logging.INFO, logger="popgen_hub"):
        folder = calibrated(trained, tmp_path, "exchangeable_cnn_gl", monkeypatch,
                            sample_sizes=(5, 10), depths=(1, 4, 50))
    assert "--depths: 50 left out" in caplog.text
    contract = ModelContract.from_json_file(folder / "config.json")
    records = contract.references[CONDITIONS]
    assert [(r["individuals"], r["depth"]) for r in records] == [
        (5, 1), (5, 4), (5, None), (10, 1), (10, 4), (10, None)]
    assert "reads at 4x mean depth" in records[1]["source"]
    assert "log-uniform in 0.5-20x" in records[2]["source"]
    # low coverage hides alleles: fewer informative sites at 1x than at 4x
    sites = [r[REFERENCE]["statistics"]["informative_sites"]["mean"] for r in records[:2]]
    assert sites[0] < sites[1]
    # a BAM scan of 9 individuals at 1.7x takes 10 individuals at 1x (log scale)
    windows = np.zeros(30, dtype=window_dtype(2))
    windows["probabilities"] = np.random.default_rng(0).dirichlet([1, 1], 30)
    result = ScanResult(contract=contract, vcf=folder / "x.bam", regions=[Region("chr1", 0, 1)],
                        window=10_000, step=10_000, seed=0, n_available=9,
                        haplotypes=[(f"s{i}", slot) for i in range(9) for slot in (0, 1)],
                        provider="CPU", contig_lengths={}, windows=windows,
                        stats=ReadStats(read_bases=17, sample_bp=10, of_reads=True))
    chosen = records[3]
    assert nearest_condition(contract.references, 9, 1.7) is chosen
    assert scan_reference(contract.references, 9, 1.7) is chosen[REFERENCE]
    expected = scan_significance({NULL_SCORE: chosen}, windows["probabilities"], 0)
    assert np.array_equal(result.p_values, expected[0], equal_nan=True)
    assert (f"against {LOCI} null loci of 10 individuals at 1x mean depth (nearest to the 9 "
            f"individuals read at 1.7x)") in result.significance_note()


def test_the_nearest_condition_is_on_a_log_scale():
    references = {CONDITIONS: [{"individuals": k, "depth": d} for k in (5, 10, 20)
                               for d in (1.0, 4.0, None)]}

    def nearest(individuals, depth):
        record = nearest_condition(references, individuals, depth)
        return record["individuals"], record["depth"]

    assert nearest(18, 1.7) == (20, 1.0)  # log(1.7) < log(4 / 1.7)
    assert nearest(7, 2.5) == (5, 4.0)  # 7 / 5 < 10 / 7; 4 / 2.5 < 2.5
    assert nearest(200, None) == (20, None)  # a VCF: depth unknown
    assert nearest(2, 0.1) == (5, 1.0)
    assert nearest_condition({}, 5, None) is None


def test_a_scan_of_few_individuals_uses_the_small_sample_null(genotype_model, simulate_vcf,
                                                               tmp_path):
    model = popgen_hub.load(f"local-dir:{genotype_model}", device="cpu")
    vcf = simulate_vcf(length=200_000, sweep_at=100_000, n_haplotypes=40)
    from popgen_hub.readers import open_reader

    table = tmp_path / "five.tsv"
    table.write_text("sample\n" + "\n".join(open_reader(vcf).samples[:5]) + "\n")
    result = model.score(vcf, samples=table, progress=False)
    assert result.n_individuals == 5 and len(result.scored()) > 10
    note = result.significance_note()
    assert f"against {LOCI} null loci of 5 individuals (nearest to the 5 individuals read)" in note
    references = model.contract.references
    small = references[CONDITIONS][0]
    probabilities = result.windows["probabilities"]
    assert np.array_equal(result.p_values, scan_significance(
        {NULL_SCORE: small}, probabilities, result.seed)[0], equal_nan=True)
    pooled = scan_significance({NULL_SCORE: references[NULL_SCORE]}, probabilities, result.seed)
    scored = ~np.isnan(result.p_values)
    assert not np.allclose(result.p_values[scored], pooled[0][scored])


@pytest.mark.parametrize(("edit", "message"), [
    (lambda r: r.update(individuals=0), "individuals 0 and depth None must be positive"),
    (lambda r: r.pop("depth"), "no 'depth'"),
    (lambda r: r.update(depth="deep"), "depth is 'deep'"),
    (lambda r: r.update(n=3), "n is 3 but it holds"),
    (lambda r: r[REFERENCE].update(window_bp=0), f"{CONDITIONS}[1].{REFERENCE}.window_bp"),
])
def test_a_bad_condition_record_is_refused_in_one_line(genotype_model, tmp_path, edit, message):
    data = json.loads((genotype_model / "config.json").read_text())
    edit(data["references"][CONDITIONS][1])
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    with pytest.raises(PopgenHubError) as error:
        ModelContract.from_json_file(path)
    text = str(error.value)
    assert message in text and "exchangeable_cnn.test" in text and str(path) in text
    assert "popgen-hub calibrate" in text and "\n" not in text


def test_info_shows_the_conditions_as_a_table(genotype_model, capsys):
    from popgen_hub.cli import main

    assert main(["info", f"local-dir:{genotype_model}"]) == 0
    out = capsys.readouterr().out
    assert "nulls by condition (a scan uses the nearest to the individuals it reads):" in out
    assert "  individuals      n  P(sweep) > 0.5\n" in out
    assert f"\n            5{LOCI:>7}  0." in out and f"\n           10{LOCI:>7}  0." in out


def test_a_grid_outside_the_model_is_refused_before_any_work(trained, tmp_path, monkeypatch):
    with pytest.raises(PopgenHubError, match=r"--sample-sizes 50,100: none is within the "
                                             r"model's 5-20 individuals"):
        calibrated(trained, tmp_path, "exchangeable_cnn", monkeypatch, sample_sizes=(50, 100))
