"""The fully connected network on summary statistics (issue 16, item 1): the statistics encoder
agrees with the house's statistics module, a tiny model goes from simulation to a scan through
ONNX, and the bundled sweep model marks a planted sweep."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import SWEEP_AT, assert_torch_matches_onnx, random_haplotype_block, train_tiny
from popgen_hub.encoders import SummaryStatisticsEncoder, build_encoder
from popgen_hub.errors import PopgenHubError
from popgen_hub.stats import diversity, garud_h


def test_the_statistics_are_the_stats_modules_of_each_sub_window():
    block = random_haplotype_block()
    encoder = SummaryStatisticsEncoder(n_bins=4)
    features = dict(zip(encoder.feature_names, encoder.encode(block, (0, 40_000)).inputs[
        "summary_statistics"].tolist(), strict=True))
    assert len(features) == encoder.shapes["summary_statistics"][0] == 4 * 7 + 6 + 7
    whole = diversity(block, 0, 40_000)
    for b in range(4):
        part = diversity(block, b * 10_000, (b + 1) * 10_000)
        assert features[f"bin{b}_pi_share"] == pytest.approx(4 * part.pi / whole.pi, rel=1e-5)
        assert features[f"bin{b}_theta_w_share"] == pytest.approx(
            4 * part.theta_w / whole.theta_w, rel=1e-5)
        assert features[f"bin{b}_tajimas_d"] == pytest.approx(part.tajimas_d, rel=1e-4)
        h = garud_h(block, b * 10_000, (b + 1) * 10_000)
        assert features[f"bin{b}_h12"] == pytest.approx(h.h12, rel=1e-5)
        assert 0 <= features[f"bin{b}_r2"] <= 1
    assert features["window_log10_pi_per_bp"] == pytest.approx(np.log10(whole.pi / 40_000),
                                                               rel=1e-5)
    assert features["window_tajimas_d"] == pytest.approx(whole.tajimas_d, rel=1e-4)
    sfs = [value for name, value in features.items() if name.startswith("sfs_")]
    assert sum(sfs) == pytest.approx(1, abs=1e-6) and sfs[0] > 0  # singletons (1 of 40) kept


def test_the_entries_of_each_statistic_and_sub_window_are_those_named_so():
    """What explain replaces together: each statistic's entries and each sub-window's."""
    encoder = SummaryStatisticsEncoder(n_bins=4)
    names = np.array(encoder.feature_names)
    statistics = encoder.statistic_entries
    assert sorted(np.concatenate(list(statistics.values())).tolist()) == list(range(len(names)))
    assert names[statistics["h1 (sub-windows)"]].tolist() == [f"bin{b}_h1" for b in range(4)]
    assert names[statistics["window_h12"]].tolist() == ["window_h12"]
    assert all(name.startswith("sfs_") for name in names[statistics["folded SFS"]])
    assert len(statistics) == 7 + 6 + 1
    for b, entries in enumerate(encoder.sub_window_entries):
        assert [name.split("_", 1)[0] for name in names[entries]] == [f"bin{b}"] * 7


def test_a_trough_shows_in_the_shares_whatever_the_diversity_level():
    block = random_haplotype_block(n_sites=400)
    centre = (block.positions >= 10_000) & (block.positions < 30_000)
    trough = block.take_sites(~centre | (np.arange(block.n_sites) % 10 == 0))
    encoder = SummaryStatisticsEncoder(n_bins=4)
    features = encoder.encode(trough, (0, 40_000)).inputs["summary_statistics"]
    shares = features[0:28:7]
    assert max(shares[1], shares[2]) < 0.5 and min(shares[0], shares[3]) > 1.5
    # half the sites everywhere: the same shape, a lower level
    thinned = encoder.encode(trough.take_sites(np.arange(trough.n_sites) % 2 == 0), (0, 40_000))
    half = thinned.inputs["summary_statistics"]
    assert np.abs(half[0:28:7] - shares).max() < 0.4
    assert half[28] < features[28] - 0.2  # log10 pi per bp
    # a sub-window without a segregating site gives zeros, not NaN
    empty = encoder.encode(block.take_sites(block.positions < 10_000), (0, 40_000))
    assert np.isfinite(empty.inputs["summary_statistics"]).all()


def test_bad_parameters_are_named():
    with pytest.raises(PopgenHubError, match="n_bins=0"):
        build_encoder({"name": "summary_statistics", "n_bins": 0})


@pytest.fixture(scope="module")
def exported(tmp_path_factory, tiny_sweep_data):
    """train (3 epochs) -> export on the tiny simulated data, as a user would."""
    import popgen_hub

    run, model = train_tiny(tmp_path_factory.mktemp("stats_fc"), tiny_sweep_data,
                            "stats_fc", 3)
    return tiny_sweep_data, run, popgen_hub.load(f"local-dir:{model}", device="cpu")


def test_torch_and_onnx_agree_and_a_window_scores_alone_as_in_a_batch(exported):
    from popgen_hub.datasets import encode_dataset

    data, run, model = exported
    assert model.contract.encoder["name"] == "summary_statistics"
    assert model.contract.weights["parity_max_abs_diff_vs_torch"] < 1e-5
    inputs, _ = encode_dataset(data, model.encoder, progress=False)
    assert_torch_matches_onnx(run, model, inputs)


# stats_fc_genome: the same network beside the genome's background (test_genome_background.py)
@pytest.mark.parametrize("name", ["stats_fc.sweep_hsap_general",
                                  "stats_fc_genome.sweep_hsap_general"])
def test_the_bundled_model_scores_a_planted_sweep_above_its_neutral_flanks(name, sweep_vcf):
    import popgen_hub

    model = popgen_hub.load(name, device="cpu")
    assert model.contract.references["null_score"] is not None
    windows = model.score(sweep_vcf, progress=False).scored()
    middle = (windows["start"] + windows["end"]) / 2
    p_sweep = windows["probabilities"][:, model.contract.labels.index("sweep")]
    near = np.abs(middle - SWEEP_AT) <= 100_000
    far = np.abs(middle - SWEEP_AT) > 600_000
    assert p_sweep[near].max() > 0.5 > np.quantile(p_sweep[far], 0.9)
