"""`popgen-hub stats` and `scan --stats`: classic statistics as STAT.tsv and BigWig tracks,
read back with pyBigWig and compared with the statistics module they come from."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import BUNDLED_MODEL, ROOT, SWEEP_AT, shared
from popgen_hub import cli
from popgen_hub.genotypes import GenotypeBlock, concatenate
from popgen_hub.readers import SampleSelection, haplotype_columns, open_reader
from popgen_hub.stats import diversity, ehh, windowed
from popgen_hub.stats_tracks import STATISTICS, statistics_files

EXAMPLE = ROOT / "hub" / "data" / "example_sweep.vcf.gz"
REGION = "chr1:1000001-1500000"  # around the planted sweep, to keep the test short
SINGLE = ["pi", "theta_w", "tajima_d", "h12", "ihh", "ihs", "nsl"]


def read_table(path: Path) -> tuple[list[str], list[list[str]]]:
    lines = [line.rstrip("\n").split("\t") for line in path.read_text().splitlines()
             if not line.startswith("#")]
    return lines[0], lines[1:]


def numbers(rows: list[list[str]], column: int) -> np.ndarray:
    return np.array([np.nan if row[column] == "NA" else float(row[column]) for row in rows])


def region_block() -> GenotypeBlock:
    """Every haplotype of the example VCF in REGION."""
    reader = open_reader(EXAMPLE)
    return concatenate(list(reader.blocks(reader.region(REGION), SampleSelection(
        tuple(haplotype_columns(reader))), stats=reader.new_stats())))


@pytest.fixture(scope="module")
def single(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("stats") / "out"
    assert cli.main(["stats", "--vcf", str(EXAMPLE), "--region", REGION, "--stat",
                     ",".join(SINGLE), "--window", "50000", "--step", "25000", "-o", str(out),
                     "-q"]) == 0
    return out


def test_every_statistic_writes_its_table_and_one_bigwig_per_column(single):
    assert sorted(p.name for p in single.iterdir()) == sorted(statistics_files(SINGLE))
    for name in SINGLE:
        header, rows = read_table(single / f"{name}.tsv")
        site = name not in ("pi", "theta_w", "tajima_d", "h12")
        assert header == ["contig", *(["position"] if site else ["start", "end"]),
                          *STATISTICS[name]]
        assert rows and all(row[0] == "chr1" for row in rows)
    assert read_table(single / "ihh.tsv")[0][2:] == ["ihh_ancestral", "ihh_derived"]


def test_a_last_window_past_the_region_is_cut_to_it(tmp_path):
    """130 kb in windows of 50 kb: the last one, [1.10, 1.15) Mb, holds only the region's
    30 kb, so its per-bp values divide by 30 kb; its BigWig bin stays the window's centre."""
    import pyBigWig

    out = tmp_path / "out"
    assert cli.main(["stats", "--vcf", str(EXAMPLE), "--region", "chr1:1000001-1130000",
                     "--stat", "pi", "--window", "50000", "-o", str(out), "-q"]) == 0
    _, rows = read_table(out / "pi.tsv")
    assert [(int(row[1]), int(row[2])) for row in rows] == [
        (1_000_000, 1_050_000), (1_050_000, 1_100_000), (1_100_000, 1_130_000)]
    last = diversity(region_block(), 1_100_000, 1_130_000)
    assert numbers(rows, 3)[-1] == pytest.approx(last.pi / 30_000, rel=1e-5)
    with pyBigWig.open(str(out / "pi.bw")) as bw:
        assert [(start, end) for start, end, _ in bw.intervals("chr1")] == [
            (1_000_000, 1_050_000), (1_050_000, 1_100_000), (1_100_000, 1_150_000)]


def test_window_values_are_the_statistics_modules_and_the_bigwigs_hold_them(single):
    import pyBigWig

    block = region_block()
    for name, field in (("pi", "pi_per_bp"), ("tajima_d", "tajimas_d"), ("h12", "h12")):
        _, rows = read_table(single / f"{name}.tsv")
        starts = np.array([int(row[1]) for row in rows])
        expected = windowed(block, starts, 50_000)[field]
        assert np.allclose(numbers(rows, 3), expected, rtol=1e-5, equal_nan=True)
        with pyBigWig.open(str(single / f"{name}.bw")) as bw:
            compared = 0
            for start, value in zip(starts, numbers(rows, 3), strict=True):
                middle = start + 12_500 + 1000  # inside the window's central step
                if np.isfinite(value) and middle < bw.chroms("chr1"):
                    assert bw.values("chr1", middle, middle + 1)[0] == pytest.approx(
                        value, rel=1e-5)
                    compared += 1
            assert compared > 10, (name, compared)
    _, rows = read_table(single / "h12.tsv")  # the sweep's haplotypes are the commonest
    top = rows[int(np.nanargmax(numbers(rows, 3)))]
    assert int(top[1]) <= SWEEP_AT + 50_000 and int(top[2]) >= SWEEP_AT - 50_000


def test_site_values_sit_on_their_positions_and_ihs_is_standardised(single):
    import pyBigWig

    _, rows = read_table(single / "ihs.tsv")
    ihs = numbers(rows, 2)
    finite = np.isfinite(ihs)  # curves that reach the region's ends give none (rehh's rule)
    assert finite.sum() > 100
    # ln(iHH_A / iHH_D) of ihh.tsv standardised in the derived allele's frequency bins
    _, ihh_rows = read_table(single / "ihh.tsv")
    with np.errstate(divide="ignore", invalid="ignore"):
        unstandardised = np.log(numbers(ihh_rows, 2) / numbers(ihh_rows, 3))
    unstandardised[~np.isfinite(unstandardised)] = np.nan  # an allele no pair carries: iHH 0
    block = region_block()
    assert [int(row[1]) for row in rows] == block.positions.tolist()
    derived = (block.values == 1).sum(axis=1) / (block.values >= 0).sum(axis=1)
    expected = ehh.by_frequency(unstandardised, derived)
    assert np.allclose(ihs, expected, atol=1e-4, equal_nan=True)
    assert np.allclose(numbers(rows, 3), unstandardised, rtol=1e-4, atol=1e-5, equal_nan=True)
    with pyBigWig.open(str(single / "ihh_derived.bw")) as bw:
        for row in ihh_rows[::97]:
            value = bw.values("chr1", int(row[1]), int(row[1]) + 1)[0]
            if row[3] == "NA":
                assert np.isnan(value)
            else:
                assert value == pytest.approx(float(row[3]), rel=1e-5)


def test_two_populations_give_xpehh_and_rsb(tmp_path):
    samples = open_reader(EXAMPLE).samples
    table = tmp_path / "panel.tsv"
    table.write_text("sample\tpopulation\n" + "".join(
        f"{s}\t{'A' if i % 2 else 'B'}\n" for i, s in enumerate(samples)))
    for first, second in (("A", "B"), ("B", "A")):
        assert cli.main(["stats", "--vcf", str(EXAMPLE), "--region", REGION, "--samples",
                         str(table), "--population", first, "--population", second, "--stat",
                         "xpehh,rsb", "-o", str(tmp_path / first), "-q"]) == 0
    for name in ("xpehh", "rsb"):
        header, rows = read_table(tmp_path / "A" / f"{name}.tsv")
        assert header == ["contig", "position", name]
        values = numbers(rows, 2)
        finite = values[np.isfinite(values)]
        assert len(finite) > 500
        centre = np.median(finite) if name == "rsb" else finite.mean()
        assert abs(centre) < 1e-6 and finite.std(ddof=1) == pytest.approx(1)
        # the first population against the second: swapped, every value changes sign
        swapped = numbers(read_table(tmp_path / "B" / f"{name}.tsv")[1], 2)
        assert np.allclose(swapped, -values, equal_nan=True)
        assert np.abs(finite).max() > 1  # not all zero
    assert "population A of panel.tsv; population B of panel.tsv" in (
        tmp_path / "A" / "rsb.tsv").read_text()


@pytest.mark.parametrize("arguments, said", [
    (["--stat", "pi,fst"], "--stat fst: not a statistic"),
    (["--stat", "xpehh"], "xpehh compare two populations"),
    (["--stat", "pi", "--population", "A"], "--population needs --samples"),
    (["--stat", "pi", "--window", "0"], "--window 0 must be a positive"),
    (["--stat", "pi", "--window", "1000", "--step", "2000"], "--step 2000 is larger than"),
])
def test_bad_input_is_one_line(arguments, said, tmp_path, capsys):
    assert cli.main(["stats", "--vcf", str(EXAMPLE), *arguments, "-o",
                     str(tmp_path / "out")]) == 1
    error = capsys.readouterr().err.strip()
    assert said in error and len(error.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_scan_stats_share_the_folder_between_models(tmp_path, capsys):
    out = tmp_path / "scan"
    other = "imagene_cnn.sweep_hsap_east_asian"
    scan = ["scan", "--vcf", str(EXAMPLE), "--region", REGION, "-o", str(out), "-q"]
    assert cli.main([*scan, "--model", BUNDLED_MODEL, "--stats", "pi,h12"]) == 0
    assert cli.main([*scan, "--model", other, "--stats", "pi"]) == 0
    scans = json.loads((out / "popgen-hub.scans.json").read_text())["scans"]
    # pi, written again by the second scan, is now its own; h12 stays the first's
    assert {"h12.tsv", "h12.bw"} <= set(scans[BUNDLED_MODEL]["files"])
    assert not {"pi.tsv", "pi.bw"} & set(scans[BUNDLED_MODEL]["files"])
    assert {"pi.tsv", "pi.bw"} <= set(scans[other]["files"])
    assert scans[BUNDLED_MODEL]["parameters"]["stats"] == ["pi", "h12"]
    # the first model again without statistics: its own are gone, the other's pi stays
    assert cli.main([*scan, "--model", BUNDLED_MODEL]) == 0
    assert not (out / "h12.tsv").exists() and (out / "pi.tsv").exists()
    _, rows = read_table(out / "pi.tsv")
    window = json.loads((out / "popgen-hub.scans.json").read_text())["scans"][other]
    assert int(rows[0][2]) - int(rows[0][1]) == window["parameters"]["window"]
    # two populations cannot come from a scan: refused before any work
    capsys.readouterr()
    assert cli.main([*scan, "--model", BUNDLED_MODEL, "--stats", "rsb", "-o",
                     str(tmp_path / "never")]) == 1
    assert "popgen-hub stats --samples TABLE" in capsys.readouterr().err
    assert not (tmp_path / "never").exists()


def test_windows_read_a_chunk_at_a_time_equal_those_of_the_whole_contig(monkeypatch):
    from popgen_hub import stats_tracks

    reader = open_reader(EXAMPLE)
    regions = [reader.region(REGION)]
    groups = [("all", list(reader.samples))]
    whole = stats_tracks.compute_statistics(reader, ["pi", "h12", "ihh"], regions,
                                            groups=groups, window=20_000, progress=False)
    monkeypatch.setattr(stats_tracks, "WINDOW_CHUNK", 3)  # 25 windows: 9 chunks
    chunked = stats_tracks.compute_statistics(reader, ["pi", "h12"], regions, groups=groups,
                                              window=20_000, progress=False)
    for a, b in zip(whole[:2], chunked, strict=True):
        assert a.name == b.name and np.array_equal(a.starts, b.starts)
        assert np.allclose(a.columns[a.name], b.columns[b.name], equal_nan=True)


def test_the_lactase_persistence_allele_carries_long_haplotypes_in_ceu(tmp_path):
    """rs4988235 (LCT -13910, ALT A derived) in 1000 Genomes CEU: 80 kb, shorter than its
    haplotypes, so the curves are integrated up to the region's ends (--to-ends)."""
    vcf = shared("real/lct_ceu_grch38/LCT.CEU.GRCh38.vcf.gz")
    out = tmp_path / "lct"
    assert cli.main(["stats", "--vcf", str(vcf), "--stat", "ihs,h12", "--window", "10000",
                     "--step", "5000", "--to-ends", "-o", str(out), "-q"]) == 0
    _, rows = read_table(out / "ihs.tsv")
    (row,) = [row for row in rows if row[1] == "135851075"]
    assert float(row[3]) < -1.5  # ln(iHH_A / iHH_D): the derived allele's are longer
    _, windows = read_table(out / "h12.tsv")
    assert np.nanmedian(numbers(windows, 3)) > 0.5  # one haplotype dominates the region
    assert "integrated up to the region's ends" in (out / "ihs.tsv").read_text()
