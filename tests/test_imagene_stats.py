"""The two-branch sweep network (issue 12): its encoder gives exactly the image's and the
statistics' tensors, a tiny model goes from simulation through ONNX to a scan and an
explanation. No model of it is bundled: measured on the sweep regime it is no better than
stats_fc (docs/sweep_models.md)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from conftest import assert_torch_matches_onnx, random_haplotype_block, run_cli, train_tiny
from popgen_hub.encoders import (
    HaplotypeImageEncoder,
    SummaryStatisticsEncoder,
    build_encoder,
)
from popgen_hub.errors import PopgenHubError


def test_the_tensors_are_each_encoders_own():
    block = random_haplotype_block(n_sites=400)
    encoder = build_encoder({"name": "image_statistics", "image": {"n_rows": 40, "n_cols": 32},
                             "statistics": {"n_bins": 4}})
    got = encoder.encode(block, (0, 40_000))
    image = HaplotypeImageEncoder(n_rows=40, n_cols=32).encode(block, (0, 40_000))
    statistics = SummaryStatisticsEncoder(n_bins=4).encode(block, (0, 40_000))
    assert encoder.shapes == {"haplotype_image": (1, 40, 32), "summary_statistics": (41,)}
    assert np.array_equal(got.inputs["haplotype_image"], image.inputs["haplotype_image"])
    assert np.array_equal(got.inputs["summary_statistics"],
                          statistics.inputs["summary_statistics"])
    assert got.n_sites == image.n_sites  # the image's informative sites, as image models count
    # a contract stores every parameter of each part, defaults included, and rebuilds it
    config = encoder.to_config()
    image_config = HaplotypeImageEncoder(n_rows=40, n_cols=32).to_config()
    assert config["image"] == {k: v for k, v in image_config.items() if k != "name"}
    assert build_encoder(config) == encoder and hash(build_encoder(config)) == hash(encoder)
    # a part left out takes its encoder's defaults; the other keeps what it was given
    partial = build_encoder({"name": "image_statistics", "image": {"n_rows": 40}})
    assert partial.image == HaplotypeImageEncoder(n_rows=40)
    assert partial.statistics == SummaryStatisticsEncoder()


@pytest.mark.parametrize("config, message", [
    ({"image": {"n_rows": 0}}, "n_rows and n_cols must be positive"),
    ({"statistics": {"bins": 4}}, "unknown field 'bins'"),
    ({"image": {"name": "haplotype_image"}}, "without a name"),
    ({"image": 5}, "image is 5, not an object"),
    ({"image": {"n_rows": "x"}}, "image: haplotype_image encoder: n_rows is 'x'"),
    ({"images": {}}, "unknown field 'images'; its fields are image and statistics"),
])
def test_bad_parameters_are_named(config, message):
    with pytest.raises(PopgenHubError, match=message):
        build_encoder({"name": "image_statistics", **config})


@pytest.fixture(scope="module")
def exported(tmp_path_factory, tiny_sweep_data):
    """train (2 epochs) -> export on the tiny simulated data, as a user would."""
    import popgen_hub

    run, model = train_tiny(tmp_path_factory.mktemp("imagene_stats"), tiny_sweep_data,
                            "imagene_stats", 2)
    return tiny_sweep_data, run, model, popgen_hub.load(f"local-dir:{model}", device="cpu")


def test_torch_and_onnx_agree_on_both_inputs(exported):
    from popgen_hub.datasets import encode_dataset

    data, run, _, model = exported
    assert model.contract.input.names == ["haplotype_image", "summary_statistics"]
    assert model.contract.weights["parity_max_abs_diff_vs_torch"] < 1e-5
    inputs, _ = encode_dataset(data, model.encoder, progress=False)
    assert_torch_matches_onnx(run, model, inputs)


def test_a_scan_and_an_explanation_of_the_tiny_model(exported, sweep_vcf, tmp_path):
    import pyBigWig

    _, _, folder, _ = exported
    run_cli("scan", "--vcf", sweep_vcf, "--model", f"local-dir:{folder}", "--region",
            "chr1:1-200000", "-q", "-o", tmp_path / "scan")
    lines = (tmp_path / "scan" / "imagene_stats.test.windows.tsv").read_text().splitlines()
    rows = list(csv.DictReader((line for line in lines if not line.startswith("#")),
                               delimiter="\t"))
    scored = [row for row in rows if row["p_sweep"] != "NA"]
    assert len(scored) >= 10
    with pyBigWig.open(str(tmp_path / "scan" / "imagene_stats.test.sweep.bw")) as track:
        for row in scored:  # each window's P(sweep) over its bin, as the table says
            (value,) = track.stats("chr1", int(row["bin_start"]), int(row["bin_end"]))
            assert value == pytest.approx(float(row["p_sweep"]), abs=1e-6)
    run_cli("explain", f"local-dir:{folder}", "--vcf", sweep_vcf, "--region",
            "chr1:100001-120000", "-q", "-o", tmp_path / "explain")
    arrays = np.load(tmp_path / "explain" / "imagene_stats.test.chr1_100001-120000.npz")
    assert arrays["image"].shape == (128, 128)
    assert arrays["input_summary_statistics"].shape == (69,)
    assert len(arrays["col_attribution"]) == 32 and np.isfinite(arrays["col_attribution"]).all()
    assert len(arrays["row_attribution"]) == 16 and np.isfinite(arrays["row_attribution"]).all()
    spans = arrays["col_spans"]
    assert (spans[:, 0] >= 100_000).all() and (spans[:, 1] <= 120_000).all()

