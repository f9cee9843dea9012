"""The recurrent recombination-rate regression (issue 16, item 2): the SNP-sequence encoder, a
tiny model from simulation through training, ONNX export, evaluate and a scan that writes the
rate as a BigWig, all as a user runs them; and the one-line refusals of mismatched parts."""

from __future__ import annotations

import json

import numpy as np
import pyBigWig
import pytest

from conftest import run_cli
from popgen_hub.encoders import SnpSequenceEncoder
from popgen_hub.genotypes import GenotypeBlock
from popgen_hub.writers.folder import SCANS

LABEL = "recombination_rate_cM_per_Mb"


def random_block(seed: int = 1, n_sites: int = 120, n_haplotypes: int = 20) -> GenotypeBlock:
    rng = np.random.default_rng(seed)
    haplotypes = (rng.random((n_haplotypes, n_sites)) < rng.beta(0.5, 1.5, n_sites)
                  ).astype(np.int8)
    haplotypes[0] = 1 - haplotypes[1]  # no site is monomorphic
    positions = np.sort(rng.choice(50_000, n_sites, replace=False))
    return GenotypeBlock.from_haplotypes(haplotypes, positions)


def test_a_site_reads_the_same_whatever_the_order_of_the_haplotypes():
    block = random_block()
    encoder = SnpSequenceEncoder(max_sites=160, neighbours=3)
    encoded = encoder.encode(block, (0, 50_000))
    shuffled = block.take_columns(np.random.default_rng(2).permutation(20))
    assert np.allclose(encoded.inputs["snp_sequence"],  # to the order of float sums
                       encoder.encode(shuffled, (0, 50_000)).inputs["snp_sequence"], atol=1e-6)
    tensor = encoded.inputs["snp_sequence"]
    assert tensor.shape == (160, 4 + 3 * 3) and encoded.n_sites == 120
    assert (tensor[:120, 0] == 1).all() and not tensor[120:].any()  # padding after the sites
    assert np.all(np.diff(tensor[:120, 1]) > 0) and tensor[:120, 3].max() <= 0.5  # folded


def test_the_four_gamete_test_and_the_distance_to_the_next_site():
    # sites 0 and 1 show all four gametes (00, 01, 10, 11); sites 1 and 2 only three
    haplotypes = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 0], [1, 1, 0]], dtype=np.int8)
    block = GenotypeBlock.from_haplotypes(haplotypes, np.array([100, 1_100, 101_100]))
    tensor = SnpSequenceEncoder(max_sites=4, neighbours=1).encode(block, (0, 200_000)).inputs[
        "snp_sequence"]
    r2, four, distance = tensor[:, 4], tensor[:, 5], tensor[:, 6]
    assert four[:3].tolist() == [1, 0, 0]  # the last site has no next one
    assert distance[0] == pytest.approx(np.log10(1_001) / 5)
    assert distance[1] == pytest.approx(np.log10(100_001) / 5)
    assert r2[0] == pytest.approx(0) and r2[1] == pytest.approx(1 / 3)


def test_crowded_windows_keep_evenly_spaced_sites():
    block = random_block(n_sites=300)
    encoded = SnpSequenceEncoder(max_sites=100).encode(block, (0, 50_000))
    assert encoded.n_sites == 300
    kept = encoded.inputs["snp_sequence"][:, 1] * 50_000
    assert kept[0] == pytest.approx(block.positions[0]) and kept[-1] == pytest.approx(
        block.positions[-1], rel=1e-6)


def test_regression_figures_without_spread_have_no_correlation(tmp_path):
    from popgen_hub.contract import regression_summary
    from popgen_hub.evaluate import format_metrics, regression_metrics
    from popgen_hub.training.plots import plot_predicted_vs_true

    result = regression_metrics(np.full(5, 1.0), np.array([0.5, 1, 2, 1, 1]), LABEL,
                                log10=True)
    assert result["pearson"] is None and result["spearman"] is None
    assert result["rmse"] == pytest.approx(np.sqrt(2 * np.log10(2) ** 2 / 5))
    shown = format_metrics({**result, "model": "m", "data": "d"})
    assert "Pearson r n/a" in shown
    # as `popgen-hub info` and the zoo table give a contract's test figures
    assert regression_summary(result) == (
        f"Pearson r n/a, RMSE {result['rmse']:.3f} (log10) (n = 5)")
    # and the run's figure (training ends with it) says so instead of failing
    plot_predicted_vs_true(result, tmp_path / "predicted.png", "constant predictions")
    assert (tmp_path / "predicted.png").stat().st_size > 1000


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """simulate -> train (2 epochs) -> export, as a user would: 160 windows of 20 kb, 16
    haplotypes."""
    base = tmp_path_factory.mktemp("recombination")
    data, run, model = base / "data", base / "run", base / "model"
    run_cli("simulate", "recombination_regime", "--param", "length=20000", "--param",
            "n_haplotypes=16", "--encoder", "name=snp_sequence", "--encoder", "max_sites=48",
            "--n", "160", "--seed", "1", "-q", "-o", data)
    trained = run_cli("train", "relernn_gru", "--data", data, "--epochs", "2", "--threads", "1",
                      "--batch-size", "16", "--seed", "2", "-q", "-o", run)
    run_cli("export", run, "--name", "relernn_gru.test", "-o", model)
    return data, run, model, trained.stdout


@pytest.mark.slow
def test_training_regresses_the_log_rate_and_export_gives_the_rate(tiny):
    data, run, model, printed = tiny
    record = json.loads((run / "run.json").read_text())
    test = record["metrics"]["test"]
    assert record["output_kind"] == "regression" and test["n"] == 16 and test["log10"]
    assert sum(b["n"] for b in test["by_true_value"]) == 16
    assert "Pearson r" in printed and (run / "predicted_vs_true.png").stat().st_size > 1000
    config = json.loads((model / "config.json").read_text())
    assert config["output_kind"] == "regression" and config["labels"] == [LABEL]
    assert config["training"]["target"] == {"parameter": "recombination_rate", "factor": 1e8,
                                            "log10": True}
    assert config["weights"]["parity_max_abs_diff_vs_torch"] <= 1e-5
    import popgen_hub

    loaded = popgen_hub.load(f"local-dir:{model}", device="cpu")
    inputs = dict(np.load(run / "parity_inputs.npz"))
    values = loaded.predict(inputs)
    assert values.shape == (16, 1) and (values > 0).all()  # rates, not their logs


@pytest.mark.slow
def test_the_target_is_each_replicates_drawn_rate(tiny):
    from popgen_hub.datasets import load_manifest, target_values
    from popgen_hub.simulate.scenarios import get_scenario

    data = tiny[0]
    manifest = load_manifest(data)
    values = target_values(data, manifest)
    scenario = get_scenario("recombination_regime", **{
        k: manifest["parameters"][k] for k in ("length", "n_haplotypes")})
    for index in (0, 77):
        drawn = scenario.simulate(index, manifest["seed"]).params["recombination_rate"]
        assert values[index] == pytest.approx(drawn * 1e8)
    assert 0.01 <= values.min() and values.max() <= 10  # the prior, in cM/Mb


@pytest.mark.slow
def test_evaluate_gives_errors_by_true_rate(tiny, tmp_path):
    data, _, model, _ = tiny
    done = run_cli("evaluate", f"local-dir:{model}", data, "-q", "--json", tmp_path / "e.json")
    result = json.loads((tmp_path / "e.json").read_text())
    assert result["n"] == 160 and -1 <= result["pearson"] <= 1 and result["rmse"] > 0
    assert len(result["by_true_value"]) == 8 and "by true value" in done.stdout


@pytest.mark.slow
def test_a_scan_writes_the_rate_as_an_autoscaled_bigwig(tiny, simulate_vcf, tmp_path):
    model = tiny[2]
    vcf = simulate_vcf(length=200_000, sweep_at=None, n_haplotypes=20)
    out = tmp_path / "scan"
    done = run_cli("scan", "--vcf", vcf, "--model", f"local-dir:{model}", "-o", out)
    assert f"{LABEL}: median" in done.stdout and "log-odds" not in done.stdout
    rows = [line.split("\t") for line in (out / "relernn_gru.test.windows.tsv").read_text()
            .splitlines() if not line.startswith("#")]
    header, rows = rows[0], rows[1:]
    column = header.index(LABEL)
    assert "p_" + LABEL not in header and len(rows) > 50
    with pyBigWig.open(str(out / f"relernn_gru.test.{LABEL}.bw")) as bigwig:
        for row in rows[::10]:
            start, end = int(row[header.index("bin_start")]), int(row[header.index("bin_end")])
            assert bigwig.stats("chr1", start, end)[0] == pytest.approx(float(row[column]),
                                                                         rel=1e-5)
    scans = json.loads((out / SCANS).read_text())["scans"]["relernn_gru.test"]
    assert scans["tracks"] == {} and scans["statistics"] == {}
    assert scans["values"] == {LABEL: f"relernn_gru.test.{LABEL}.bw"}
    batch = (out / "igv_batch.txt").read_text()
    assert f"setDataRange auto {LABEL}_relernn_gru.test" in batch
    assert "track relernn_gru_test" in (out / "hub.txt").read_text().replace(".", "_")
    assert "statistics" not in (out / "hub.txt").read_text()  # not a classic statistic


@pytest.mark.slow
@pytest.mark.parametrize(("architecture", "data", "said"), [
    ("imagene_cnn", "regression", "holds a regression target"),
    ("relernn_gru", "classes", "this architecture regresses a value")])
def test_architectures_and_data_of_other_kinds_are_refused(tiny, tmp_path, architecture, data,
                                                             said):
    if data == "classes":
        data = tmp_path / "classes"
        run_cli("simulate", "imagene_sweep", "--param", "length=20000", "--param",
                "n_haplotypes=16", "--n", "4", "-q", "-o", data)
    else:
        data = tiny[0]
    done = run_cli("train", architecture, "--data", data, "--epochs", "1", "-o",
                   tmp_path / "run", check=False)
    assert done.returncode == 1 and said in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not (tmp_path / "run").exists()


@pytest.mark.slow
def test_repeats_and_ms_folders_are_for_classifiers(tiny, tmp_path):
    data, _, model, _ = tiny
    done = run_cli("train", "relernn_gru", "--data", data, "--repeats", "2", "-o",
                   tmp_path / "run", check=False)
    assert done.returncode == 1 and "not a classifier" in done.stderr
    (tmp_path / "ms").mkdir()
    done = run_cli("evaluate", f"local-dir:{model}", tmp_path / "ms", check=False)
    assert done.returncode == 1 and "is not a dataset" in done.stderr


@pytest.mark.slow
def test_serve_draws_the_rate_autoscaled_on_demand_and_from_the_scan(tiny, simulate_vcf,
                                                                      tmp_path):
    pytest.importorskip("starlette")
    import httpx

    import popgen_hub
    from live_server import serving
    from popgen_hub.browsers.server import Hub

    model = popgen_hub.load(f"local-dir:{tiny[2]}", device="cpu")
    vcf = simulate_vcf(length=200_000, sweep_at=None, n_haplotypes=20)
    model.scan(vcf, tmp_path / "scan", progress=False)
    with serving(Hub([tmp_path / "scan"], str(vcf), [model])) as base:
        region = {"model": "relernn_gru.test", "chr": "chr1", "start": 40_000,
                  "end": 80_000}
        on_demand = httpx.get(f"{base}/api/scores", params=region, timeout=60).json()[
            "features"]
        # wider than the server scores on demand: the scan's window table answers
        from_scan = httpx.get(f"{base}/api/scores", params={**region, "end": 2_000_000},
                              timeout=60).json()
        page = httpx.get(base).text
        jbrowse = httpx.get(f"{base}/jbrowse/config.json").json()
    assert on_demand and all(f["value"] > 0 and list(f["values"]) == [LABEL]
                             for f in on_demand)
    assert from_scan["source"].startswith("scan") and len(from_scan["features"]) > 50
    assert all(f["value"] > 0 and list(f["values"]) == [LABEL] for f in from_scan["features"])
    assert f"{LABEL} relernn_gru.test, on demand" in page and "P(" + LABEL not in page
    on_demand_track = next(t for t in jbrowse["tracks"] if t["trackId"].endswith("on_demand"))
    assert "maxScore" not in on_demand_track["displays"][0]  # autoscaled
    assert on_demand_track["adapter"]["probability"] is False  # named without P(...)
