"""Calibrated scores (issue 12): the stored null, empirical p-values, BH q-values, the scan's
p_value/q_value columns and `popgen-hub calibrate`."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from statistics import NormalDist

import numpy as np
import pytest

from conftest import BUNDLED_MODEL, ROOT, run_cli, window_table
from popgen_hub.calibration import (
    NULL_SCORE,
    TAIL_ABOVE,
    TAIL_MIN_NULL,
    TAIL_REACH,
    ParetoTail,
    bh_q_values,
    empirical_p_values,
    log_odds,
    null_reference,
    round_significant,
    scan_significance,
)
from popgen_hub.contract import ONNX_METADATA_KEY, ModelContract
from popgen_hub.errors import PopgenHubError
from popgen_hub.registry import get_contract, list_models

BUNDLED_DIR = ROOT / "hub" / "pretrained" / BUNDLED_MODEL
EXAMPLE_VCF = ROOT / "tests" / "data" / "example_sweep.vcf.gz"
TABLE = f"{BUNDLED_MODEL}.windows.tsv"
#: seeds of imagene_sweep datasets already used: training (1) and the stored null (7)
FRESH_SEED = 23


def ks_p_value(p: np.ndarray) -> float:
    """Kolmogorov-Smirnov test of ``p`` against U(0, 1): the asymptotic p-value (scipy is
    not a dependency)."""
    x, n = np.sort(p), len(p)
    d = max((np.arange(1, n + 1) / n - x).max(), (x - np.arange(n) / n).max())
    t = (math.sqrt(n) + 0.12 + 0.11 / math.sqrt(n)) * d  # Stephens' small-sample correction
    return float(min(1.0, max(0.0, 2 * sum((-1) ** (k - 1) * math.exp(-2 * k * k * t * t)
                                           for k in range(1, 101)))))


# ------------------------------------------------------------------------- the statistics
def test_bh_q_values_match_a_hand_computation():
    p = np.array([0.01, 0.04, 0.03, 0.2, np.nan, 0.5])
    # m = 5 tested; sorted 0.01 0.03 0.04 0.2 0.5 -> p m / rank 0.05 0.075 0.0667 0.25 0.5,
    # then the running minimum from the largest down
    expected = [0.05, 0.2 / 3, 0.2 / 3, 0.25, np.nan, 0.5]
    np.testing.assert_allclose(bh_q_values(p), expected, rtol=1e-12, equal_nan=True)
    assert bh_q_values(np.array([0.9, 0.8])).tolist() == [0.9, 0.9]
    assert len(bh_q_values(np.array([]))) == 0


def test_ties_are_broken_at_random_seeded_and_never_give_zero():
    null = np.array([0.0, 0.0, 1.0, 1.0, 1.0, 2.0])
    scores = np.array([5.0, 5.0, 1.0, 1.0, -1.0, np.nan])
    p = empirical_p_values(scores, null, np.random.default_rng(3))
    assert (p[:5] > 0).all() and np.isnan(p[5])
    assert (p[:2] <= 1 / 7).all() and p[0] != p[1]  # above the whole null: (0 + U) / 7
    assert ((p[2:4] > 1 / 7) & (p[2:4] <= 5 / 7)).all()  # 1 above, 3 ties: (1 + 4U) / 7
    assert 6 / 7 < p[4] <= 1
    again = empirical_p_values(scores, null, np.random.default_rng(3))
    other = empirical_p_values(scores, null, np.random.default_rng(4))
    assert np.array_equal(p, again, equal_nan=True) and not np.array_equal(p[:5], other[:5])
    # a score tied with the whole null: p = U, uniform on (0, 1]
    ties = empirical_p_values(np.zeros(20_000), np.zeros(9), np.random.default_rng(0))
    assert ties.min() > 0 and abs(ties.mean() - 0.5) < 0.01 and ks_p_value(ties) > 0.01
    # a scan's draws are seeded by the scan's seed
    references = {NULL_SCORE: null_reference(null, "sweep", "test")}
    probabilities = np.array([[0.2, 0.8], [0.5, 0.5], [np.nan, np.nan]], dtype=np.float32)
    first, second = (scan_significance(references, probabilities, seed=5) for _ in range(2))
    assert np.array_equal(first[0], second[0], equal_nan=True) and np.isnan(first[1][2])


def test_the_tail_gives_conservative_p_values_beyond_light_nulls():
    """Nulls of 10,000 normal or logistic draws (light tails, as the sweep models' log-odds
    have): beyond the null's reach (1e-4) the tail's p-value is rarely below the truth and not
    absurdly above it. Measured over these seeds 0-19: at 1e-4 / 1e-5 / 1e-6 the 5th
    percentile of (tail p / true p) is 1.7 / 2.8 / 5.0, the median 4.2 / 13.5 / 48, the worst
    0.1 (one null at 1e-5); 97.5 % of the ratios are at least 1."""
    ratios = []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        normal, logistic = np.sort(rng.normal(size=10_000)), np.sort(rng.logistic(size=10_000))
        for null, quantile in ((normal, lambda p: NormalDist().inv_cdf(1 - p)),
                               (logistic, lambda p: math.log(1 / p - 1))):
            tail = ParetoTail.fit(null)
            ratios += [tail.p_values(np.array([quantile(p)]))[0] / p for p in (1e-4, 1e-5, 1e-6)]
    ratios = np.array(ratios)
    assert (ratios >= 1).mean() >= 0.9 and ratios.min() > 0.05, np.sort(ratios)[:10]
    assert np.median(ratios) < 60


def test_the_tail_of_a_heavy_null_is_conservative_on_the_whole():
    """A generalised Pareto null of shape 0.25: over eight nulls the median p-value beyond
    the null's reach is above the truth, within a small factor (single nulls vary: 250 values
    leave the shape uncertain)."""
    shape = 0.25
    ratios = []
    for seed in range(8):
        draws = np.random.default_rng(seed).random(10_000)
        tail = ParetoTail.fit(np.sort(((1 - draws) ** -shape - 1) / shape))
        ratios.append([tail.p_values(np.array([(p ** -shape - 1) / shape]))[0] / p
                       for p in (1e-4, 1e-5)])
    median = np.median(ratios, axis=0)
    assert ((median > 1) & (median < 30)).all(), ratios


@pytest.mark.parametrize("name", [name for name in list_models("imagene_cnn.*") if len(
    get_contract(name).references.get(NULL_SCORE, {}).get("values", ())) >= 2 * TAIL_MIN_NULL])
def test_a_tail_fitted_to_half_a_bundled_null_is_conservative_on_the_other_half(name):
    """The real thing: a bundled model's null split in halves at random; the tail of one half
    gives at least the other half's empirical p-values beyond the first half's reach."""
    values = np.asarray(get_contract(name).references[NULL_SCORE]["values"])
    rng = np.random.default_rng(0)
    for _ in range(5):
        order = rng.permutation(len(values))
        half, other = np.sort(values[order[::2]]), np.sort(values[order[1::2]])
        tail = ParetoTail.fit(half)
        for p in (5e-4, 2e-4):
            ratio = tail.p_values(np.array([np.quantile(other, 1 - p)]))[0] / p
            assert ratio > 0.8, (p, ratio, tail)


def test_the_tail_only_replaces_p_values_the_null_cannot_resolve():
    null = np.sort(np.random.default_rng(1).normal(size=TAIL_MIN_NULL))
    scores = np.linspace(-3, 8, 500)
    p = empirical_p_values(scores, null, np.random.default_rng(2))
    above = len(null) - np.searchsorted(null, scores, side="right")
    bulk = above >= TAIL_ABOVE
    expected = (above[bulk] + (1.0 - np.random.default_rng(2).random(500))[bulk]) / (
        len(null) + 1)
    np.testing.assert_allclose(p[bulk], expected)  # the empirical p where the null reaches
    far = p[~bulk]
    assert (np.diff(far) <= 0).all() and far[-1] < 1 / (len(null) + 1) / 10
    assert far.min() >= 1 / (len(null) + 1) / TAIL_REACH
    assert far.max() <= TAIL_ABOVE / (len(null) + 1)
    # a null under TAIL_MIN_NULL has no tail: nothing under 1 / (n + 1)
    small = null[::2]
    assert ParetoTail.fit(small) is None
    beyond = scores > small[-1]
    u = 1.0 - np.random.default_rng(2).random(500)
    np.testing.assert_allclose(empirical_p_values(scores, small, np.random.default_rng(2))[
        beyond], u[beyond] / (len(small) + 1))  # (0 + U) / (n + 1): no extrapolation


def test_log_odds_resolve_saturated_probabilities_against_all_other_classes():
    probabilities = np.array([[1e-9, 1.0, 0.0], [1e-7, 1.0, 0.0], [0.2, 0.5, 0.3]],
                             dtype=np.float32)
    odds = log_odds(probabilities)
    assert odds[0] > odds[1] > 0  # P = 1 in float32 for both, still ranked
    assert odds[2] == pytest.approx(0.0, abs=1e-6)  # 0.5 vs 0.2 + 0.3
    assert round_significant(np.array([123.456789, -0.000123456789])).tolist() == [
        123.46, -0.00012346]


# ------------------------------------------------------------------------- the stored null
@pytest.mark.timeout(120)
def test_p_values_are_uniform_on_fresh_neutral_loci(bundled_model):
    """Independent neutral loci of the training history, simulated with a seed neither
    training nor the stored null used, give p-values uniform on (0, 1)."""
    pytest.importorskip("msprime")
    from popgen_hub.genotypes import GenotypeBlock
    from popgen_hub.simulate.scenarios import get_scenario

    contract = bundled_model.contract
    null = contract.references[NULL_SCORE]
    assert null["n"] >= 2000 and "seed 7" in null["source"]
    scenario = get_scenario(contract.training["scenario"], **contract.training["parameters"])
    assert scenario.labels[0] == "neutral"
    images = []
    for index in range(0, 600, 2):  # even replicates are neutral
        replicate = scenario.simulate(index, FRESH_SEED)
        block = GenotypeBlock.from_haplotypes(replicate.haplotypes, replicate.positions)
        images.append(bundled_model.encoder.encode(block, (0, scenario.length)).inputs)
    inputs = {name: np.stack([image[name] for image in images]) for name in images[0]}
    scores = round_significant(log_odds(bundled_model.predict(inputs)))
    p = empirical_p_values(scores, np.asarray(null["values"]), np.random.default_rng(0))
    assert len(p) == 300 and p.min() > 0
    assert ks_p_value(p) > 0.01, np.quantile(p, [0.1, 0.5, 0.9])


def test_bundled_null_round_trips_through_config_and_onnx_metadata():
    import onnxruntime as ort

    config = ModelContract.from_json_file(BUNDLED_DIR / "config.json")
    session = ort.InferenceSession(str(BUNDLED_DIR / "model.onnx"),
                                   providers=["CPUExecutionProvider"])
    embedded = ModelContract.from_json(
        session.get_modelmeta().custom_metadata_map[ONNX_METADATA_KEY])
    null = config.references[NULL_SCORE]
    assert embedded.references[NULL_SCORE] == null
    assert set(null) == {"score", "label", "values", "n", "source"} and null["label"] == "sweep"
    assert null["n"] == len(null["values"]) and null["values"] == sorted(null["values"])
    again = ModelContract.from_json(config.to_json())
    assert again.references == config.references


@pytest.mark.parametrize("change, message", [
    (lambda null: null.update(n=3), "n is 3 but it holds"),
    (lambda null: null.update(values=null["values"][::-1]), "values are not sorted"),
    (lambda null: null.update(label="neutral"), "is not the model's primary class"),
    (lambda null: null.pop("source"), "no 'source'"),
    (lambda null: null.update(values=["x"]), "values is ['x']"),
])
def test_a_malformed_null_is_refused_naming_the_model_and_field(tmp_path, change, message):
    data = json.loads((BUNDLED_DIR / "config.json").read_text())
    change(data["references"][NULL_SCORE])
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    with pytest.raises(PopgenHubError, match="references.null_score") as error:
        ModelContract.from_json_file(path)
    text = str(error.value)
    assert message in text and BUNDLED_MODEL in text and str(path) in text
    assert "popgen-hub calibrate" in text and "\n" not in text


# ------------------------------------------------------------------------- scans
def test_scan_window_table_has_p_and_q_values(tmp_path):
    out = tmp_path / "scan"
    stdout = run_cli("scan", "--vcf", EXAMPLE_VCF, "--model", BUNDLED_MODEL, "--region",
                     "chr1:900001-1500000", "-q", "-o", out).stdout
    header, rows = window_table(out / TABLE)
    assert "empirical" in header["p_value"] and "Benjamini-Hochberg" in header["p_value"]
    p = np.array([float(row["p_value"]) for row in rows])
    q = np.array([float(row["q_value"]) for row in rows])
    assert ((p > 0) & (p <= 1)).all() and (q >= p - 1e-12).all() and (q <= 1).all()
    # the planted sweep (at 1.2 Mb) scores above the whole null: p <= 1 / (n + 1)
    n_null = int(header["p_value"].split(" against ")[1].split()[0])
    centres = np.array([(int(row["start"]) + int(row["end"])) / 2 for row in rows])
    assert (p[np.abs(centres - 1_200_000) <= 20_000] <= 1 / (n_null + 1)).all()
    passing = int((q < 0.05).sum())
    assert passing > 0
    assert f"{passing} of {len(rows)} scored windows pass q < 0.05" in stdout


def test_a_model_without_a_null_leaves_them_empty_and_says_so(bundled_model, tmp_path,
                                                              capsys):
    from popgen_hub.cli.cmd_scan import _report

    # the bundled model with a contract that stores no null
    bare = dataclasses.replace(bundled_model.contract, references={})
    original, bundled_model.contract = bundled_model.contract, bare
    try:
        result = bundled_model.scan(EXAMPLE_VCF, tmp_path / "scan", region="chr1:1-300000",
                                    progress=False)
    finally:
        bundled_model.contract = original
    assert result.p_values is None and result.q_values is None
    header, rows = window_table(tmp_path / "scan" / TABLE)
    assert rows and all(row["p_value"] == row["q_value"] == "NA" for row in rows)
    assert header["p_value"].startswith("NA: ")
    _report(result)
    assert "has no stored null distribution, so no p- or q-values" in capsys.readouterr().out


# ------------------------------------------------------------------------- calibrate
@pytest.mark.timeout(180)
def test_calibrate_stores_the_null_and_leaves_the_probabilities(tmp_path):
    pytest.importorskip("msprime")
    pytest.importorskip("onnx")
    import popgen_hub

    model_dir = tmp_path / "model"
    shutil.copytree(BUNDLED_DIR, model_dir)
    data = tmp_path / "data"
    run_cli("simulate", "imagene_sweep", "--n", "220", "--seed", "31", "-q", "-o", data)
    before = popgen_hub.load(model_dir, device="cpu")
    image = np.random.default_rng(0).integers(0, 2, (4, 1, 128, 128)).astype(np.float32)
    expected = before.predict(image)
    # a decision threshold given with the data is written with the null, in one rewrite
    stdout = run_cli("calibrate", model_dir, "--data", data, "--max-loci", "105", "-q",
                     "--decision-threshold", "0.7", "--threshold-source", "by hand").stdout
    assert "n = 105" in stdout and "share with P(sweep) > 0.5" in stdout
    assert "decision threshold P(sweep) > 0.7 (by hand)" in stdout
    after = popgen_hub.load(model_dir, device="cpu")  # sha256 and both contracts checked
    assert f"sha256 {after.contract.weights['sha256'][:12]}..." in stdout
    assert after.contract.decision_threshold().value == 0.7
    assert np.array_equal(after.predict(image), expected)  # bit-identical
    null = after.contract.references[NULL_SCORE]
    assert null["n"] == 105 and "seed 31" in null["source"]
    assert "training_stats" in after.contract.references
    assert after.contract.weights["sha256"] != before.contract.weights["sha256"]
    with pytest.raises(AssertionError, match="at least 100"):
        run_cli("calibrate", model_dir, "--data", data, "--max-loci", "20", "-q")


@pytest.mark.timeout(120)
def test_calibrate_refuses_a_dataset_of_another_window_before_scoring_it(tmp_path):
    """A null or training statistics of 40 kb windows do not describe a model that scans 80 kb
    ones: calibrate stops in one line before encoding anything, and the model is untouched."""
    pytest.importorskip("msprime")
    pytest.importorskip("onnx")
    model_dir = tmp_path / "model"
    shutil.copytree(BUNDLED_DIR, model_dir)
    before = (model_dir / "config.json").read_bytes()
    data = tmp_path / "data"
    run_cli("simulate", "imagene_sweep", "--n", "4", "--param", "length=40000", "--seed", "3",
            "-q", "-o", data)
    result = run_cli("calibrate", model_dir, "--data", data, "-q", check=False)
    assert result.returncode != 0 and len(result.stderr.strip().splitlines()) == 1
    assert f"{data}: its windows are 40,000 bp and {BUNDLED_MODEL} reads 80,000 bp" \
           in result.stderr and "--param length=80000" in result.stderr
    assert (model_dir / "config.json").read_bytes() == before
