"""End to end: simulated VCFs with a known sweep -> scan -> BigWig read back with pyBigWig."""

from __future__ import annotations

import subprocess

import numpy as np
import pyBigWig
import pytest

from conftest import BUNDLED_MODEL, SWEEP_AT, needs, run_cli
from popgen_hub.genotypes import GenotypeBlock, Region
from popgen_hub.result import (
    CHROM_SIZES,
    IGV_BATCH,
    IGV_SCRIPT,
    IGV_SESSION,
    JBROWSE_CONFIG,
    JBROWSE_DIR,
    REPORT,
    UCSC_HUB,
)
from popgen_hub.scoring import iter_windows, split_starts, window_starts

TRACK = f"{BUNDLED_MODEL}.sweep.bw"
TABLE = f"{BUNDLED_MODEL}.windows.tsv"


def read_table(path):
    header, rows = {}, []
    with open(path) as handle:
        for line in handle:
            if line.startswith("# "):
                key, _, value = line[2:].rstrip("\n").partition(": ")
                header[key] = value
            elif line.startswith("contig\t"):
                columns = line.rstrip("\n").split("\t")
            else:
                rows.append(dict(zip(columns, line.rstrip("\n").split("\t"), strict=True)))
    return header, rows


def bigwig_intervals(path, contig):
    with pyBigWig.open(str(path)) as bw:
        return bw.chroms(), np.array(bw.intervals(contig), dtype=float)


@pytest.fixture(scope="module")
def sweep_scan(sweep_vcf, tmp_path_factory):
    out = tmp_path_factory.mktemp("scan")
    result = run_cli("scan", "--vcf", sweep_vcf, "--model", BUNDLED_MODEL, "-q", "-o", out)
    return out, result.stdout


def high_region(starts, ends, scores, around: int) -> tuple[float, float]:
    """The run of consecutive bins with P >= 0.5 that holds position ``around``."""
    i = int(np.searchsorted(ends, around, side="right"))
    assert scores[i] >= 0.5, "the bin at the sweep does not score"
    lo = hi = i
    while lo > 0 and scores[lo - 1] >= 0.5:
        lo -= 1
    while hi + 1 < len(scores) and scores[hi + 1] >= 0.5:
        hi += 1
    return starts[lo], ends[hi]


def test_planted_sweep_is_the_top_scoring_region(sweep_scan):
    out, stdout = sweep_scan
    chroms, intervals = bigwig_intervals(out / TRACK, "chr1")
    assert chroms == {"chr1": 2_000_000}
    starts, ends, scores = intervals.T
    assert (ends - starts == 10_000).all() and (starts[1:] == ends[:-1]).all()  # tiled bins
    middle = (starts + ends) / 2
    # A strong sweep (s = 3 % for homozygotes) lowers diversity over hundreds of kb, so the
    # track marks its footprint: one high region around the site, low scores elsewhere.
    lo, hi = high_region(starts, ends, scores, SWEEP_AT)
    assert hi - lo < 800_000
    outside = (middle < lo) | (middle > hi)
    far = np.abs(middle - SWEEP_AT) > 500_000
    assert scores[far].mean() < 0.1 and np.quantile(scores[far], 0.9) < 0.2
    assert scores[outside].mean() < 0.2
    # the top window (ranked by log-odds, as probabilities saturate) is at the sweep
    top = stdout.split("log-odds of P(sweep):\n")[1].splitlines()[0].split()[0]
    start, end = map(int, top.split(":")[1].split("-"))
    assert abs((start + end) / 2 - SWEEP_AT) <= 80_000
    assert "windows (193 scored)" in stdout


def test_window_table_carries_provenance_and_matches_the_track(sweep_scan, sweep_vcf):
    out, _ = sweep_scan
    header, rows = read_table(out / TABLE)
    assert header["model"].startswith(f"{BUNDLED_MODEL} (revision bundled, sha256 ")
    assert header["window_bp"] == "80000" and header["step_bp"] == "10000"
    assert header["input"] == str(sweep_vcf.resolve())
    assert "0-based half-open" in header["coordinates"]
    assert header["haplotypes"].startswith("128 of 128")
    top = min(rows, key=lambda r: float(r["p_neutral"]))  # log-odds ranking, from the table
    assert abs((int(top["start"]) + int(top["end"])) / 2 - SWEEP_AT) <= 80_000
    with pyBigWig.open(str(out / TRACK)) as bw:
        for row in rows[::17]:
            value = bw.values("chr1", int(row["bin_start"]), int(row["bin_start"]) + 1)[0]
            assert value == pytest.approx(float(row["p_sweep"]), abs=1e-5)
    assert all(abs(float(r["p_neutral"]) + float(r["p_sweep"]) - 1) < 1e-5 for r in rows)


def test_igv_batch_loads_the_track_and_goes_to_the_peak(sweep_scan):
    out, _ = sweep_scan
    batch = (out / "igv_batch.txt").read_text().splitlines()
    assert batch[:2] == ["new", f"genome {(out / 'scan.chrom.sizes').resolve()}"]
    assert f"load {(out / TRACK).resolve()} name=P(sweep)_{BUNDLED_MODEL}" in batch
    contig, _, span = batch[-1].removeprefix("goto ").partition(":")
    start, end = map(int, span.split("-"))
    assert contig == "chr1" and start <= SWEEP_AT <= end
    assert (out / "scan.chrom.sizes").read_text() == "chr1\t2000000\n"


def test_python_api_scan_and_predict(sweep_vcf, bundled_model, tmp_path):
    result = bundled_model.scan(sweep_vcf, tmp_path, region="chr1:1100001-1300000",
                                progress=False)
    # the model's files, then the folder's files for genome browsers
    assert set(result.outputs) == {TRACK, TABLE, f"{BUNDLED_MODEL}.flagged.bed", CHROM_SIZES,
                                   IGV_SESSION, UCSC_HUB, JBROWSE_DIR, REPORT, IGV_SCRIPT,
                                   IGV_BATCH}
    assert all(path == (tmp_path / name).resolve() and path.exists()
               for name, path in result.outputs.items())
    assert (tmp_path / JBROWSE_CONFIG).is_file() and result.statistics == {}
    top = result.top_window()
    assert abs((top["start"] + top["end"]) / 2 - SWEEP_AT) <= 80_000
    assert result.windows["start"][0] == 1_100_000
    probabilities = bundled_model.predict(np.zeros((3, 1, 128, 128), dtype=np.float32))
    assert probabilities.shape == (3, 2)


def test_contig_named_2_is_found_as_chr2_and_the_other_way_round(simulate_vcf, tmp_path):
    numeric = simulate_vcf(length=400_000, sweep_at=200_000, seed=4, contig="2")
    run_cli("scan", "--vcf", numeric, "--model", BUNDLED_MODEL, "--region",
            "chr2:100001-300000", "-q", "-o", tmp_path / "a")
    with pyBigWig.open(str(tmp_path / "a" / TRACK)) as bw:
        assert list(bw.chroms()) == ["2"]  # outputs keep the file's own names
    prefixed = simulate_vcf(length=400_000, sweep_at=200_000, seed=4, contig="chr2")
    run_cli("scan", "--vcf", prefixed, "--model", BUNDLED_MODEL, "--region", "2:100001-300000",
            "-q", "-o", tmp_path / "b")
    a = bigwig_intervals(tmp_path / "a" / TRACK, "2")[1]
    b = bigwig_intervals(tmp_path / "b" / TRACK, "chr2")[1]
    assert np.array_equal(a, b)


def test_more_haplotypes_than_the_model_are_subsampled_by_seed(simulate_vcf, tmp_path):
    wide = simulate_vcf(length=500_000, sweep_at=250_000, seed=6, n_haplotypes=200)
    tables = {}
    for name, seed in (("s0", "0"), ("s0_again", "0"), ("s1", "1")):
        run_cli("scan", "--vcf", wide, "--model", BUNDLED_MODEL, "--seed", seed, "-q", "-o",
                tmp_path / name)
        tables[name] = read_table(tmp_path / name / TABLE)
    assert tables["s0"][0]["haplotypes"] == "128 of 200 (rule subsample, seed 0)"
    assert tables["s0"][1] == tables["s0_again"][1]
    assert tables["s0"][1] != tables["s1"][1]
    for _, rows in tables.values():  # every subset sees the sweep
        at_sweep = [r for r in rows if int(r["start"]) <= 250_000 < int(r["end"])]
        assert min(float(r["p_sweep"]) for r in at_sweep) > 0.9


def test_bcf_gives_the_same_track_as_vcf(sweep_vcf, tmp_path):
    needs("bcftools")
    bcf = tmp_path / "sweep.bcf"
    subprocess.run(["bcftools", "view", "-Ob", "-o", bcf, sweep_vcf], check=True)
    subprocess.run(["bcftools", "index", bcf], check=True)
    for name, path in (("vcf", sweep_vcf), ("bcf", bcf)):
        run_cli("scan", "--vcf", path, "--model", BUNDLED_MODEL, "--region",
                "chr1:1000001-1400000", "-q", "-o", tmp_path / name)
    assert np.array_equal(bigwig_intervals(tmp_path / "vcf" / TRACK, "chr1")[1],
                          bigwig_intervals(tmp_path / "bcf" / TRACK, "chr1")[1])


def test_custom_window_and_step_read_every_window_in_full(sweep_vcf, tmp_path):
    # 455 kb is no whole number of 20 kb steps after the first 60 kb window: the last window,
    # [1,400,000, 1,460,000), reaches past the region's end and is still read in full
    run_cli("scan", "--vcf", sweep_vcf, "--model", BUNDLED_MODEL, "--region",
            "chr1:1000001-1455000", "--window-size", "60000", "--step", "20000",
            "--batch-size", "3", "-q", "-o", tmp_path)
    header, rows = read_table(tmp_path / TABLE)
    assert [int(r["start"]) for r in rows] == list(range(1_000_000, 1_400_001, 20_000))
    assert all(int(r["end"]) - int(r["start"]) == 60_000 for r in rows)
    assert all(int(r["bin_end"]) - int(r["bin_start"]) == 20_000 for r in rows)
    import cyvcf2

    last_window_sites = sum(1 for v in cyvcf2.VCF(str(sweep_vcf))("chr1:1400001-1460000")
                            if v.is_snp and len(v.ALT) == 1)
    assert int(rows[-1]["n_sites"]) == last_window_sites


def brute_force_windows(positions, region, window, step):
    """Reference: every window start up to the first window that reaches the region's end,
    and the sites that fall in each window."""
    start, out = region.start, []
    while True:
        out.append((start, [p for p in positions if start <= p < start + window]))
        if start + window >= region.end:
            return out
        start += step


def blocks_of(positions, block_size):
    whole = GenotypeBlock.from_haplotypes(np.zeros((2, len(positions)), dtype=np.int8),
                                          positions)
    return [whole.take_sites(slice(i, i + block_size))
            for i in range(0, len(positions), block_size)]


@pytest.mark.parametrize("block_size", [1, 3, 50])
@pytest.mark.parametrize(("start", "end"), [(0, "last site"), (0, 5_000), (1_000, 2_345)])
def test_streaming_windows_match_a_brute_force_reference(block_size, start, end):
    rng = np.random.default_rng(block_size)
    positions = np.unique(rng.integers(100, 4_000, 120))
    region = Region("c", start, int(positions[-1]) + 1 if end == "last site" else end)
    starts = window_starts(region, 700, 250)
    # the reader returns the sites of [first start, last start + window)
    read = positions[(positions >= starts[0]) & (positions < starts[-1] + 700)]
    fast = [(s, [] if sites is None else sites.positions.tolist())
            for s, sites in iter_windows(blocks_of(read, block_size), starts, 700)]
    assert fast == brute_force_windows(positions.tolist(), region, 700, 250)


@pytest.mark.parametrize("parts", [1, 2, 3, 7, 100])
def test_split_starts_cover_the_windows_once_in_order(parts):
    starts = window_starts(Region("c", 1_000, 20_500), 900, 300)
    runs = split_starts(starts, parts)
    assert len(runs) == min(parts, len(starts))
    assert [s for run in runs for s in run] == list(starts)


def test_workers_give_the_same_windows_as_one_process(sweep_vcf, bundled_model, tmp_path):
    one = bundled_model.scan(sweep_vcf, tmp_path / "one", region="chr1:700001-1700000",
                             progress=False)
    two = bundled_model.scan(sweep_vcf, tmp_path / "two", region="chr1:700001-1700000",
                             workers=2, progress=False)
    for name in one.windows.dtype.names[:-1]:
        assert np.array_equal(one.windows[name], two.windows[name]), name
    # one onnxruntime thread per worker may sum in another order than two threads
    np.testing.assert_allclose(one.windows["probabilities"], two.windows["probabilities"],
                               atol=1e-6)
    assert one.stats == two.stats
