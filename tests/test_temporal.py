"""The review's temporal task: encoder, ms import of its layout, branched network, evaluate,
temporal scans of present-day + ancient samples, and their bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import encode, png_size, run_cli
from popgen_hub.encoders import rows_for

AGES = [{"age_years": 0.0, "n_haplotypes": 40}] + [
    {"age_years": a, "n_haplotypes": 10} for a in (1000.0, 2000.0, 4000.0, 8000.0)]


# ------------------------------------------------------------------------- encoder
def test_columns_are_the_same_sites_in_every_time_point_centred_on_the_middle():
    from popgen_hub.encoders import TemporalStackEncoder

    encoder = TemporalStackEncoder(n_sites=8)
    rng = np.random.default_rng(1)
    positions = np.arange(0, 50_000, 1_000, dtype=float)  # 50 sites, the middle is site 25
    haplotypes = (rng.random((80, 50)) < 0.3).astype(np.uint8)
    haplotypes[:70, 25] = 0  # the middle site: absent today, common 8,000 years ago
    haplotypes[70:, 25] = 1
    window = encode(encoder, haplotypes, positions, (0, 50_000))
    present, ancient = window.inputs["present"], window.inputs["ancient"]
    assert present.shape == (1, 40, 8) and ancient.shape == (4, 10, 8)
    # columns 21..28: the middle site is column 4 in every time point
    assert present[0, :, 4].sum() == 0 and ancient[3, :, 4].sum() == 10
    assert ancient[:3, :, 4].sum() == 0
    # each time point's column holds the same site: the pooled minor allele of sites 21..28
    minor = haplotypes[:, 21:29] ^ (haplotypes[:, 21:29].mean(0) > 0.5)
    assert np.array_equal(np.sort(present[0].sum(0)), np.sort(minor[:40].sum(0)))
    assert np.array_equal(ancient.sum(1), np.stack([minor[40 + 10 * k:50 + 10 * k].sum(0)
                                                    for k in range(4)]))


def test_few_sites_are_padded_on_the_side_that_lacks_them():
    from popgen_hub.encoders import TemporalStackEncoder

    encoder = TemporalStackEncoder(n_sites=8, row_sort="none")
    haplotypes = np.zeros((80, 3), np.uint8)
    haplotypes[0] = 1  # three singletons, all right of the middle
    window = encode(encoder, haplotypes, np.array([30_000.0, 31_000.0, 32_000.0]), (0, 50_000))
    assert window.n_sites == 3
    assert window.inputs["present"][0, 0].tolist() == [0, 0, 0, 0, 1, 1, 1, 0]


def test_missing_calls_follow_the_stated_rule_and_encode_the_same_every_time():
    from popgen_hub.encoders import TemporalStackEncoder

    encoder = TemporalStackEncoder(n_sites=64, row_sort="none")
    rng = np.random.default_rng(2)
    haplotypes = (rng.random((80, 64)) < 0.4).astype(np.int8)
    haplotypes[:40] = 0  # today every site is absent, so frequencies are time-point specific
    with_missing = haplotypes.copy()
    with_missing[40:][rng.random((40, 64)) < 0.5] = -1
    positions = np.linspace(100, 49_900, 64)
    first = encode(encoder, with_missing, positions, (0, 50_000)).inputs
    again = encode(encoder, with_missing, positions, (0, 50_000)).inputs
    assert all(np.array_equal(first[k], again[k]) for k in first)
    assert first["present"].sum() == 0  # imputed from its own time point, not pooled
    truth = encode(encoder, haplotypes, positions, (0, 50_000)).inputs["ancient"]
    assert abs(first["ancient"].mean() - truth.mean()) < 0.05


def test_rows_are_taken_per_time_bin_and_missing_bins_are_named():
    from popgen_hub.encoders import TemporalStackEncoder
    from popgen_hub.errors import PopgenHubError

    encoder = TemporalStackEncoder()
    rows = rows_for(encoder, AGES)
    assert rows.tolist() == list(range(80))
    three_bins = AGES[:4]
    with pytest.raises(PopgenHubError, match="0 haplotypes in the 6000-12000 years bin"):
        rows_for(encoder, three_bins)
    with pytest.raises(PopgenHubError, match="20000 years old fall in none"):
        rows_for(encoder, [*AGES, {"age_years": 20_000.0, "n_haplotypes": 10}])


# ------------------------------------------------------------------------- ms import
def _ms(path: Path, rows: list[str], positions: list[float]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not positions:  # ms prints neither positions nor rows
        path.write_text("ms 2 1\n1 2 3\n\n//\nsegsites: 0\n")
        return
    path.write_text(f"ms 2 1\n1 2 3\n\n//\nsegsites: {len(positions)}\npositions: "
                    + " ".join(map(str, positions)) + "\n" + "\n".join(rows) + "\n")


def test_the_reviews_layout_imports_with_time_points_paired_by_file_name(tmp_path):
    for label in ("neutral", "selected"):
        for k in (1, 2, 10):  # natural order: 1, 2, 10
            oldest = ([], []) if k == 10 else (["10", "01"], [0.1, 0.5])  # R_10: no sites
            _ms(tmp_path / label / "1" / f"R_{k}.txt", *oldest)
            _ms(tmp_path / label / "2" / f"R_{k}.txt", ["1", "0", "1", "1"], [0.5])  # present
    run_cli("import", "ms", "--class", f"neutral={tmp_path / 'neutral'}", "--class",
            f"selected={tmp_path / 'selected'}", "--time-points", "8000,0",
            "--length", "1000", "--encoder", "n_rows=4", "--encoder", "n_cols=4", "-q",
            "-o", tmp_path / "data")
    manifest = json.loads((tmp_path / "data" / "manifest.json").read_text())
    assert [p["age_years"] for p in manifest["time_points"]] == [0.0, 8000.0]
    assert [p["n_haplotypes"] for p in manifest["time_points"]] == [4, 2]
    assert manifest["sources"]["neutral"] == ["R_1.txt", "R_2.txt", "R_10.txt"]
    from popgen_hub.datasets import iter_replicates

    replicates = list(iter_replicates(tmp_path / "data"))
    label, block = replicates[0]
    assert label == 0 and block.positions.tolist() == [100.0, 500.0]
    # present-day rows first; the site only the ancient file has is ancestral today
    assert block.values.T.tolist() == [[0, 1], [0, 0], [0, 1], [0, 1], [1, 0], [0, 1]]
    assert block.samples.age_years == (0.0,) * 4 + (8000.0,) * 2
    _, block = replicates[2]  # R_10: its ancient sample has no segregating site
    assert block.values.T.tolist() == [[1], [0], [1], [1], [0], [0]]

    (tmp_path / "neutral" / "2" / "R_2.txt").rename(tmp_path / "neutral" / "2" / "R_3.txt")
    result = run_cli("import", "ms", "--class", f"neutral={tmp_path / 'neutral'}", "--class",
                     f"selected={tmp_path / 'selected'}", "--time-points", "8000,0",
                     "--length", "1000", "-o", tmp_path / "bad", check=False)
    assert result.returncode == 1 and "paired by file name" in result.stderr
    assert "R_2.txt" in result.stderr and not (tmp_path / "bad").exists()
    result = run_cli("import", "ms", "--class", f"neutral={tmp_path / 'neutral'}", "--class",
                     f"selected={tmp_path / 'selected'}", "--time-points", "8000,4000,0",
                     "--length", "1000", "-o", tmp_path / "bad", check=False)
    assert result.returncode == 1 and "2 subfolders" in result.stderr


# ------------------------------------------------------------------- scenario → model
@pytest.fixture(scope="module")
def temporal_data(tmp_path_factory) -> Path:
    """Nine replicates of the review's task from our simulator (three per class)."""
    out = tmp_path_factory.mktemp("temporal") / "data"
    run_cli("simulate", "temporal_balancing", "--n", "9", "--seed", "5", "--workers", "2",
            "--shard-size", "5", "-q", "-o", out)
    return out


@pytest.mark.slow
def test_the_scenario_has_two_strengths_and_samples_five_time_points(temporal_data):
    manifest = json.loads((temporal_data / "manifest.json").read_text())
    assert manifest["labels"] == ["neutral", "weak_overdominance", "moderate_overdominance"]
    assert [p["age_years"] for p in manifest["time_points"]] == [0, 1000, 2000, 4000, 8000]
    with np.load(temporal_data / "shard-000000.npz") as shard:
        dominance = dict(zip(shard["labels"].tolist(), shard["param_dominance"].tolist(),
                             strict=True))
        frequency = shard["param_present_frequency"][shard["labels"] > 0]
    assert dominance == {0: 0.0, 1: 40.0, 2: 120.0}
    assert ((frequency >= 0.4) & (frequency <= 0.6)).all()


@pytest.fixture(scope="module")
def branched(temporal_data, tmp_path_factory) -> dict[str, Path]:
    """The branched network trained twice (repeats), exported; a present-only baseline."""
    work = tmp_path_factory.mktemp("branched")
    run_cli("train", "temporal_balsel", "--data", temporal_data, "--repeats", "2",
            "--epochs", "1", "--optimizer", "adamw", "--schedule", "cosine", "-q",
            "-o", work / "run")
    run_cli("train", "temporal_present", "--data", temporal_data, "--epochs", "1", "-q",
            "-o", work / "present")
    for run, name in ((work / "run", "temporal_balsel.test"),
                      (work / "present", "temporal_present.test")):
        run_cli("export", run, "--name", name, "-o", work / name)
    return {"run": work / "run", "model": work / "temporal_balsel.test",
            "present": work / "temporal_present.test"}


@pytest.mark.slow
def test_repeats_report_mean_and_sd_and_export_with_named_inputs(branched, tmp_path):
    import onnxruntime as ort

    summary = json.loads((branched["run"] / "repeats.json").read_text())
    assert summary["repeats"] == 2 and summary["seeds"] == [0, 1]
    assert np.isclose(summary["accuracy"]["mean"], np.mean(summary["accuracy"]["each"]))
    assert np.array(summary["sd_normalised"]).shape == (3, 3)
    session = ort.InferenceSession(str(branched["model"] / "model.onnx"))
    assert [(i.name, i.shape[1:]) for i in session.get_inputs()] == [
        ("present", [1, 40, 64]), ("ancient", [4, 10, 64])]
    config = json.loads((branched["model"] / "config.json").read_text())
    assert config["input"]["tensor_names"] == ["present", "ancient"]
    assert config["metrics"]["repeats"]["accuracy"] == summary["accuracy"]
    assert sorted(p.name for p in (branched["model"] / "test_data_set_0").iterdir()) == [
        "input_0.pb", "input_1.pb", "output_0.pb"]
    baseline = ort.InferenceSession(str(branched["present"] / "model.onnx"))
    assert [i.name for i in baseline.get_inputs()] == ["present"]
    run_cli("compare", f"present={branched['run']}", f"both={branched['run']}",
            "-o", tmp_path / "fig3.png")
    assert png_size(tmp_path / "fig3.png") == (2 * 468, 468)  # 2 panels, 3.9 in at 120 dpi


@pytest.mark.slow
def test_evaluate_reproduces_the_held_out_figures_of_training(branched, temporal_data):
    """onnxruntime on windows encoded from the raw haplotypes = torch at training time."""
    import popgen_hub
    from popgen_hub.evaluate import evaluate_model

    run = json.loads((branched["run"] / "run.json").read_text())
    model = popgen_hub.load(f"local-dir:{branched['model']}", device="cpu")
    result = evaluate_model(model, temporal_data, indices=run["data"]["test_indices"],
                            progress=False)
    assert result["confusion_matrix"] == run["metrics"]["test"]["confusion_matrix"]
    out = run_cli("evaluate", f"local-dir:{branched['present']}", temporal_data, "-q",
                  "--json", temporal_data.parent / "scores.json").stdout
    assert "row-normalised confusion matrix" in out
    scores = json.loads((temporal_data.parent / "scores.json").read_text())
    assert scores["n"] == 9 and np.array(scores["confusion_matrix"]).sum() == 9


# ---------------------------------------------------------------------- temporal scan
@pytest.fixture(scope="module")
def temporal_vcf(tmp_path_factory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("temporal_vcf") / "loci.vcf.gz"
    run_cli("simulate", "temporal_balancing", "--vcf", out, "--loci",
            "neutral,moderate_overdominance", "--seed", "8")
    return out, out.with_name("loci.samples.tsv")


@pytest.mark.slow
def test_a_temporal_scan_scores_each_locus_as_training_encoded_it(branched, temporal_vcf,
                                                                   tmp_path):
    import popgen_hub
    from popgen_hub.simulate.scenarios import get_scenario

    vcf, table = temporal_vcf
    run_cli("scan", "--vcf", vcf, "--model", f"local-dir:{branched['model']}", "--samples",
            table, "--step", "50000", "-q", "-o", tmp_path / "scan")
    lines = [line.split("\t") for line in (tmp_path / "scan" / "temporal_balsel.test.windows.tsv")
             .read_text().splitlines() if not line.startswith("#")]
    probabilities = [i for i, name in enumerate(lines[0]) if name.startswith("p_")
                     and name not in ("p_value",)]
    rows = [[row[i] for i in (0, 1, *probabilities)] for row in lines[1:]]
    assert [int(r[1]) for r in rows] == [0, 50_000]
    header = (tmp_path / "scan" / "temporal_balsel.test.windows.tsv").read_text()
    assert "present-day: 40 of 40 haplotypes; 500-1500 y: 10 of 10 samples" in header
    model = popgen_hub.load(f"local-dir:{branched['model']}", device="cpu")
    scenario = get_scenario("temporal_balancing")
    for locus, (index, row) in enumerate(zip((0, 2), rows, strict=True)):
        replicate = scenario.simulate(3 * locus + index, 8)  # as simulate --vcf laid them out
        start = 50_000 * locus
        bp = start + replicate.positions.astype(np.int64)  # the VCF's 0-based positions
        keep = np.r_[True, np.diff(bp) > 0]  # one record per position
        encoded = encode(model.encoder, replicate.haplotypes[:, keep], bp[keep],
                         (start, start + 50_000)).inputs
        expected = model.predict({k: v[None] for k, v in encoded.items()})[0]
        assert np.allclose([float(x) for x in row[-3:]], expected, atol=1e-5)


@pytest.mark.slow
def test_temporal_scan_bad_input_is_named_and_leaves_nothing(branched, temporal_vcf, tmp_path):
    vcf, table = temporal_vcf
    lines = table.read_text().splitlines()
    cases = {
        "absent": ([*lines, "ghost_sample\t1000"], "lacks (ghost_sample)"),
        "few": ([line for line in lines if "ancient8000y" not in line],
                "the 6000-12000 y time bin has 0 samples"),
        "outside": ([line.replace("\t8000", "\t20000") for line in lines],
                    "older or younger than every time bin"),
    }
    model = f"local-dir:{branched['model']}"
    for name, (content, message) in cases.items():
        bad = tmp_path / f"{name}.tsv"
        bad.write_text("\n".join(content) + "\n")
        result = run_cli("scan", "--vcf", vcf, "--model", model, "--samples", bad,
                         "-o", tmp_path / name, check=False)
        assert result.returncode == 1, name
        assert message in result.stderr and "Traceback" not in result.stderr, result.stderr
        assert not (tmp_path / name).exists()
    result = run_cli("scan", "--vcf", vcf, "--model", model, "-o", tmp_path / "x", check=False)
    assert result.returncode == 1 and "give --samples" in result.stderr
    result = run_cli("scan", "--vcf", vcf, "--model", "imagene_cnn.sweep_hsap_eur",
                     "--samples", table, "-o", tmp_path / "x", check=False)
    assert result.returncode == 1 and "--samples is for temporal models" in result.stderr


def test_pseudo_haploid_ancient_calls_heterozygous_ones_are_missing(tmp_path):
    import pysam

    from popgen_hub.readers import SampleSelection, open_reader

    plain = tmp_path / "x.vcf"
    plain.write_text("##fileformat=VCFv4.2\n##contig=<ID=1,length=1000>\n"
                     '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
                     "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tnow\told\n"
                     "1\t10\t.\tA\tG\t.\tPASS\t.\tGT\t0|1\t0/1\n"
                     "1\t20\t.\tA\tG\t.\tPASS\t.\tGT\t1|1\t1/1\n")
    pysam.tabix_index(str(plain), preset="vcf", force=True)
    reader = open_reader(tmp_path / "x.vcf.gz")
    region = reader.region("1")
    selection = SampleSelection((("now", 0), ("now", 1), ("old", 0)), pseudo_haploid=("old",))
    blocks = list(reader.blocks(region, selection, stats=reader.new_stats()))
    assert blocks[0].values.tolist() == [[0, 1, -1], [1, 1, 1]]
    assert blocks[0].samples.names == ("now", "old")
    assert blocks[0].haplotype_sample.tolist() == [0, 0, 1]


@pytest.mark.slow
def test_evaluate_and_temporal_scan_need_no_torch(branched, temporal_vcf, tmp_path):
    """An ms folder in the review's layout, scored and scanned on the inference install."""
    from test_no_torch import TRAINING_ONLY, run_without_training_packages

    rng = np.random.default_rng(4)
    for label in ("neutral", "weak_overdominance", "moderate_overdominance"):
        for folder, n in (("1", 10), ("2", 10), ("3", 10), ("4", 10), ("5", 40)):
            for k in (1, 2):
                rows = ["".join(map(str, r)) for r in (rng.random((n, 30)) < 0.3).astype(int)]
                _ms(tmp_path / "review" / label / folder / f"R_{k}.txt", rows,
                    sorted(rng.uniform(0, 1, 30).round(5)))
    vcf, table = temporal_vcf
    result = run_without_training_packages(f"""
        import sys
        from popgen_hub.cli import main
        assert main(["evaluate", "local-dir:{branched['model']}", "{tmp_path / 'review'}",
                     "--time-points", "8000,4000,2000,1000,0", "-q"]) == 0
        assert main(["scan", "--vcf", "{vcf}", "--samples", "{table}", "--model",
                     "local-dir:{branched['model']}", "-q", "-o", "{tmp_path / 'scan'}"]) == 0
        assert not [m for m in {TRAINING_ONLY!r} if m in sys.modules]
    """)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(6 replicates): accuracy" in result.stdout
    import pyBigWig

    tracks = []  # one per class but the null one (neutral)
    for label in ("weak_overdominance", "moderate_overdominance"):
        with pyBigWig.open(str(tmp_path / "scan" / f"temporal_balsel.test.{label}.bw")) as bw:
            assert bw.chroms() == {"chr1": 100_000}  # two loci of 50 kb
            tracks.append(np.array(bw.intervals("chr1"), dtype=float))
    starts, ends, _ = tracks[0].T
    assert len(starts) > 1 and (starts[1:] == ends[:-1]).all() and ends[-1] <= 100_000
    assert (tracks[1][:, :2] == tracks[0][:, :2]).all()  # the same bins
    values = np.stack([track[:, 2] for track in tracks])
    assert ((values >= 0) & (values <= 1)).all()
    assert (values.sum(axis=0) <= 1 + 1e-5).all()  # probabilities of two of three classes
