"""`popgen-hub explain`: occlusion attributions on the ONNX model, mapped back to the genome.

The measure of localisation: the mean positive attribution of the column blocks whose sites
(span midpoint) lie within 20 kb of the planted sweep, over the mean of the other blocks of
the window. Per column block, not per bp: the columns are an even resampling of the window's
informative sites, and a sweep removes sites near itself, so per bp its own footprint would
lower the density there (measured per bp: 0.7-1.8). Measured with the defaults (mean fill,
4 columns per block) on the 80 kb window centred on a sweep planted at 200 kb of 400 kb,
seeds 1-8: ratios 1.50, 1.61, 1.21, 2.04, 1.26, 1.22, 1.31, 1.29; near-site mean 0.17-0.39
log-odds per block. On neutral windows (same seeds) almost nothing supports P(sweep): near-site
mean 0.000-0.012, so their ratio is noise over noise (0.0-290) and the comparison is of the
near-site attribution itself.

A model of statistics beside its genome's background (``stats_fc_genome``) is explained by
replacing each sub-window's statistics, and each statistic, by the genome's: measured on the
80 kb window centred on a sweep planted at 1.2 Mb of 2 Mb (the conftest's chromosome, seeds
1-8), the sub-windows within 20 kb of the site have a mean positive attribution of 0.60-1.68,
8-73 times the others', and H1 over the sub-windows is the strongest statistic in all 8; the
window 1 Mb from the site (log-odds -2.7 to -4.7) has 0.000-0.067 near its centre.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from conftest import BUNDLED_MODEL, SWEEP_AT, encode, png_size, run_cli
from popgen_hub.errors import PopgenHubError
from popgen_hub.explain import MAX_WINDOWS, explain

SITE, HALF = 200_000, 20_000
REGION = "chr1:160001-240000"  # the model's 80 kb window centred on the site


def near_site(spans: np.ndarray, attribution: np.ndarray, site: int = SITE
              ) -> tuple[float, float]:
    """Mean positive attribution of the column blocks (or sub-windows) near the site, and of
    the others."""
    near = np.abs(spans.mean(axis=1) - site) <= HALF
    positive = np.maximum(attribution, 0)
    return float(positive[near].mean()), float(positive[~near].mean())


@pytest.fixture(scope="module")
def sweep_and_neutral(simulate_vcf):
    return (simulate_vcf(length=400_000, sweep_at=SITE, seed=1),
            simulate_vcf(length=400_000, sweep_at=None, seed=1))


def test_attribution_gathers_near_a_planted_sweep(sweep_and_neutral, bundled_model, tmp_path):
    sweep, neutral = sweep_and_neutral
    out = tmp_path / "explain"
    stdout = run_cli("explain", BUNDLED_MODEL, "--vcf", sweep, "--region", REGION, "-q",
                     "-o", out).stdout
    assert "chr1:160001-240000  log-odds P(sweep)" in stdout
    prefix = f"{out}/{BUNDLED_MODEL}.chr1_160001-240000"
    width, height = png_size(Path(f"{prefix}.png"))
    assert width > 600 and height > 400
    arrays = np.load(f"{prefix}.npz")
    assert arrays["image"].shape == (128, 128) and arrays["score"] > 3
    assert arrays["col_blocks"].shape == (32, 2) and arrays["row_blocks"].shape == (16, 2)
    spans = arrays["col_spans"]
    assert (spans[:, 0] >= 160_000).all() and (spans[:, 1] <= 240_000).all()
    assert (np.diff(spans[:, 0]) > 0).all()  # columns in genome order
    rows = [line.split("\t") for line in Path(f"{prefix}.tsv").read_text().splitlines()
            if not line.startswith(("#", "contig"))]
    assert len(rows) == 32
    assert np.allclose([float(r[5]) for r in rows], arrays["col_attribution"], rtol=1e-5)
    near, far = near_site(spans, arrays["col_attribution"])
    assert near >= 0.1 and near / far >= 1.1, (near, far)
    (calm,) = explain(bundled_model, neutral, REGION)
    assert calm.score < 0
    assert near_site(calm.col_spans, calm.col_attribution)[0] <= near / 10


def test_each_window_of_a_longer_region_and_the_limit(sweep_and_neutral, bundled_model):
    sweep, _ = sweep_and_neutral
    windows = explain(bundled_model, sweep, "chr1:120001-280000", step=40_000)
    assert [(w.start, w.end) for w in windows] == [(120_000, 200_000), (160_000, 240_000),
                                                    (200_000, 280_000)]
    (short,) = explain(bundled_model, sweep, "chr1:195001-205000", block_cols=8)
    assert (short.start, short.end) == (160_000, 240_000) and len(short.col_blocks) == 16
    with pytest.raises(PopgenHubError, match=f"explain draws at most {MAX_WINDOWS}"):
        explain(bundled_model, sweep, "chr1:1-400000", step=1_000)
    with pytest.raises(PopgenHubError, match="--label 'selection'.*neutral, sweep"):
        explain(bundled_model, sweep, REGION, label="selection")


def test_a_region_off_the_vcfs_contigs_is_one_line(sweep_and_neutral, tmp_path):
    sweep, _ = sweep_and_neutral
    result = run_cli("explain", BUNDLED_MODEL, "--vcf", sweep, "--region", "chr2:1-80000",
                     "-o", tmp_path / "x", check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"popgen-hub explain: error: contig 'chr2' is not in {sweep.name} (its contigs: chr1)"]
    assert not (tmp_path / "x").exists()


def test_statistics_beside_their_genome_are_explained_by_sub_window_and_statistic(
        sweep_vcf, tmp_path):
    import popgen_hub

    name, out = "stats_fc_genome.sweep_hsap_general", tmp_path / "explain"
    stdout = run_cli("explain", name, "--vcf", sweep_vcf, "--region", "chr1:1160001-1240000",
                     "-q", "-o", out).stdout
    assert "strongest sub-window: chr1:" in stdout and "statistics: h1 (sub-windows)" in stdout
    prefix = f"{out}/{name}.chr1_1160001-1240000"
    width, height = png_size(Path(f"{prefix}.png"))
    assert width > 600 and height > 400
    arrays = np.load(f"{prefix}.npz")
    assert "image" not in arrays and arrays["input_genome_background"].shape == (69,)
    spans = arrays["col_spans"]
    assert spans.tolist() == [[s, s + 10_000] for s in range(1_160_000, 1_240_000, 10_000)]
    rows = [line.split("\t") for line in Path(f"{prefix}.tsv").read_text().splitlines()
            if not line.startswith(("#", "contig"))]
    assert np.allclose([float(r[3]) for r in rows], arrays["col_attribution"], rtol=1e-5)
    statistics = dict(line.split("\t") for line in Path(f"{prefix}.statistics.tsv").read_text()
                      .splitlines() if not line.startswith(("#", "statistic")))
    assert list(statistics) == arrays["statistics"].tolist() and len(statistics) == 14
    assert max(statistics, key=lambda k: float(statistics[k])) == "h1 (sub-windows)"
    near, far = near_site(spans, arrays["col_attribution"], SWEEP_AT)
    assert near >= 0.3 and near >= 3 * far, (near, far)
    (away,) = explain(popgen_hub.load(name, device="cpu"), sweep_vcf, "chr1:160001-240000")
    assert away.score < 0
    assert near_site(away.col_spans, away.col_attribution, 200_000)[0] <= near / 5


def test_a_model_without_a_baseline_to_mask_with_is_refused_in_one_line(sweep_vcf, tmp_path):
    for name, option, message in (
            ("stats_fc.sweep_hsap_general", (), "the summary_statistics encoder gives none"),
            ("stats_fc_genome.sweep_hsap_general", ("--fill", "zero"),
             "replaced by its genome's background, not filled")):
        done = run_cli("explain", name, "--vcf", sweep_vcf, "--region", "chr1:1160001-1240000",
                       *option, "-o", tmp_path / "x", check=False)
        assert done.returncode == 1 and message in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "x").exists()


def test_columns_map_to_the_bp_of_their_sites():
    from popgen_hub.encoders import HaplotypeImageEncoder
    from popgen_hub.genotypes import GenotypeBlock

    rng = np.random.default_rng(0)
    haplotypes = (rng.random((8, 10)) < 0.4).astype(np.int8)
    haplotypes[0] = 1 - haplotypes[1:].max(axis=0)  # every site segregates
    positions = np.arange(10) * 100 + 5
    block = GenotypeBlock.from_haplotypes(haplotypes, positions)
    halved = HaplotypeImageEncoder(n_rows=8, n_cols=5).column_spans(block)
    assert halved.tolist() == [[5, 106], [205, 306], [405, 506], [605, 706], [805, 906]]
    padded = HaplotypeImageEncoder(n_rows=8, n_cols=14, fit="crop_pad").column_spans(block)
    assert padded[:2].tolist() == [[-1, -1]] * 2 and padded[2].tolist() == [5, 6]
    image = encode(HaplotypeImageEncoder(n_rows=8, n_cols=14, fit="crop_pad"), haplotypes,
                   positions).inputs["haplotype_image"][0]
    assert not image[:, :2].any() and image[:, 2:12].any(axis=0).all()


def test_a_temporal_model_gets_one_weight_per_time_point(tmp_path):
    vcf = tmp_path / "loci.vcf.gz"
    run_cli("simulate", "temporal_balancing", "--vcf", vcf, "--loci", "moderate_overdominance",
            "--seed", "8", "-q")
    out = tmp_path / "explain"
    run_cli("explain", "temporal_balsel.hsap_eur", "--vcf", vcf, "--samples",
            tmp_path / "loci.samples.tsv", "--region", "chr1:1-50000", "--label",
            "moderate_overdominance", "-q", "-o", out)
    prefix = "temporal_balsel.hsap_eur.chr1_1-50000"
    rows = [line.split("\t") for line in (out / f"{prefix}.time_points.tsv").read_text()
            .splitlines() if not line.startswith(("#", "time_point"))]
    assert [r[0] for r in rows] == ["present-day", "500-1500 y", "1500-3000 y", "3000-6000 y",
                                    "6000-12000 y"]
    weights = np.array([float(r[1]) for r in rows])
    assert np.isfinite(weights).all() and np.abs(weights).max() > 0.1
    png_size(out / f"{prefix}.time_points.png")
    arrays = np.load(out / f"{prefix}.npz")
    assert np.allclose(arrays["time_attribution"], weights, rtol=1e-5)
    assert arrays["input_present"].shape == (1, 40, 64)
    assert arrays["input_ancient"].shape == (4, 10, 64)


def test_explain_needs_no_torch(sweep_and_neutral, tmp_path):
    """On the inference install plus matplotlib (the explain extra)."""
    import subprocess
    import sys

    from test_no_torch import TRAINING_ONLY

    blocked = tuple(m for m in TRAINING_ONLY if m != "matplotlib")
    code = textwrap.dedent(f"""
        import importlib.abc, sys
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {blocked!r}:
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        sys.meta_path.insert(0, Block())
        from popgen_hub.cli import main
        assert main(["explain", "{BUNDLED_MODEL}", "--vcf", "{sweep_and_neutral[0]}",
                     "--region", "{REGION}", "-q", "-o", "{tmp_path / 'x'}"]) == 0
        assert not [m for m in {blocked!r} if m in sys.modules]
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
