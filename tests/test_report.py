"""Every scan writes ``report.html`` (igv.js shipped in the package, the tracks, the top
windows, the model, thresholds and flags); headless Chromium opens it through ``popgen-hub
serve``, and the server's own page with its on-demand track: the canvases are drawn where the
scores are, and the top windows' links move the view."""

from __future__ import annotations

import csv
import re

import pytest

from chromium import colour_columns, dom, screenshot
from conftest import BUNDLED_MODEL, ROOT, keep, png_size, shared
from live_server import serving

EXAMPLE_VCF = ROOT / "hub" / "data" / "example_sweep.vcf.gz"
RED, BLUE = (200, 40, 40), (30, 90, 200)  # igvjs.bigwig_track's and scores_track's colours
GREEN = (0, 128, 0)  # igvjs.statistic_track's
TRACK_HEIGHT = 80  # igvjs's track height in pixels


@pytest.fixture(scope="module")
def scan_dir(tmp_path_factory, bundled_model):
    out = tmp_path_factory.mktemp("report") / "scan"
    bundled_model.scan(EXAMPLE_VCF, out, progress=False)
    return out


@pytest.fixture(scope="module")
def url(scan_dir, bundled_model):
    pytest.importorskip("uvicorn")
    from popgen_hub.browsers.server import Hub

    with serving(Hub([scan_dir], str(EXAMPLE_VCF), [bundled_model])) as base:
        yield base


def windows(scan_dir):
    with open(scan_dir / f"{BUNDLED_MODEL}.windows.tsv") as handle:
        return list(csv.DictReader((line for line in handle if not line.startswith("#")),
                                   delimiter="\t"))


def low_region(scan_dir, width: int = 200_000) -> str:
    """A stretch of ``width`` bp whose windows all score P(sweep) < 0.2, as a 1-based locus."""
    rows = windows(scan_dir)
    for row in rows:
        start = int(row["bin_start"])
        inside = [r for r in rows if start <= int(r["bin_start"]) < start + width]
        if len(inside) >= width // 10_000 and all(float(r["p_sweep"]) < 0.2 for r in inside):
            return f"chr1:{start + 1}-{start + width}"
    raise AssertionError("no low-scoring stretch in the example")


def test_every_scan_writes_the_report(scan_dir):
    from popgen_hub.browsers.igvjs import igv_script

    page = (scan_dir / "report.html").read_text()
    assert (scan_dir / "igv.min.js").read_bytes() == igv_script().read_bytes()
    assert '<script src="igv.min.js"></script>' in page
    assert f'"url": "{BUNDLED_MODEL}.sweep.bw"' in page and '"url": "scan.chrom.sizes"' in page
    assert f"{BUNDLED_MODEL}.flagged.bed" in page
    assert "decision threshold" in page and "windows pass q &lt; 0.05" in page
    assert "tajimas_d_high" in page  # the flags in words
    loci = re.findall(r'<a href="#locus=([^"]+)">', page)
    top = max(windows(scan_dir), key=lambda row: float(row["p_sweep"]))
    assert len(loci) == 20 and loci[0] == "chr1:1230001-1310000"
    assert float(top["p_sweep"]) > 0.999
    assert '"locus": "chr1:1230001-1310000"' in page  # it opens on the top window


def test_report_through_serve_draws_the_tracks(url, scan_dir, tmp_path):
    report = f"{url}/files/0/report.html"
    shot = screenshot(report, tmp_path / "top.png")
    png_size(shot)
    keep(shot, "igvjs_report_example.png")
    high = colour_columns(shot, RED)
    # the top window: P(sweep) ~ 1 over the whole view, a full-height bar in every column
    # (less the track's name drawn over its left part)
    assert (high >= 0.75 * TRACK_HEIGHT).sum() > 900, (high >= 0.75 * TRACK_HEIGHT).sum()
    locus = low_region(scan_dir)
    low = colour_columns(screenshot(f"{report}#locus={locus}", tmp_path / "low.png"), RED)
    assert low.sum() < 0.25 * high.sum()


def test_a_top_window_link_moves_the_view(url, scan_dir):
    page = dom(f"{url}/files/0/report.html#locus=chr1:1270001-1350000")
    assert 'data-ready="true"' in page and "data-error" not in page
    assert 'data-locus="chr1:1270001-1350000"' in page


def test_the_on_demand_track_draws_the_scans_scores(url, tmp_path):
    shot = screenshot(f"{url}/#locus=chr1:1000001-1500000", tmp_path / "serve.png")
    keep(shot, "igvjs_serve_example.png")
    scan, on_demand = colour_columns(shot, RED), colour_columns(shot, BLUE)
    drawn = (scan > 0) | (on_demand > 0)
    assert drawn.sum() > 800
    assert scan.max() - scan[drawn].min() > 40  # low and high scores in view
    # the same bars, one track from the scan's BigWig, the other scored on demand
    assert abs(scan[drawn].astype(int) - on_demand[drawn]).mean() < 2


def test_opened_from_a_file_the_report_says_how_to_serve_it(scan_dir):
    page = dom((scan_dir / "report.html").as_uri(), budget_ms=3000)
    assert '<p id="note">Browsers do not let a page opened from a file' in page  # set by its script
    assert 'href="#locus=chr1:1230001-1310000"' in page  # the tables show all the same


@pytest.mark.real_data
def test_lct_region_in_igvjs(bundled_model, tmp_path):
    """The LCT region of 1000 Genomes CEU (80 kb, GRCh38) scanned with classic statistics: its
    report and the on-demand track through serve draw the two windows the region holds, and
    the report every statistic beside them."""
    from popgen_hub.browsers.server import Hub

    vcf = shared("real/lct_ceu_grch38/LCT.CEU.GRCh38.vcf.gz")
    out = tmp_path / "lct"
    # iHS left out: LCT's haplotype is so long that EHH never decays within these 80 kb
    statistics = ["pi", "tajima_d", "h12", "nsl"]
    bundled_model.scan(vcf, out, progress=False, stats=statistics)
    with serving(Hub([out], str(vcf), [bundled_model])) as base:
        size = (1200, 1000 + TRACK_HEIGHT * len(statistics))  # the statistics' tracks too
        report = screenshot(f"{base}/files/0/report.html", tmp_path / "lct_report.png", size)
        page = screenshot(f"{base}/#locus=2:135810001-135890000", tmp_path / "lct_serve.png",
                          size)
    keep(report, "igvjs_report_lct.png")
    keep(page, "igvjs_serve_lct.png")
    # the view is the 80 kb window; its bins (2 of 10 kb) fill a quarter of the track
    for shot, colour in ((report, RED), (page, BLUE)):
        drawn = colour_columns(shot, colour)
        assert 150 < (drawn >= 0.75 * TRACK_HEIGHT).sum() < 400
    # the statistics, autoscaled in their own tracks: the window ones on the scan's bins, nSL
    # at sites across the view
    bins = colour_columns(report, RED) > 0
    for shot in (report, page):
        green = colour_columns(shot, GREEN) > 0
        assert green[bins].mean() > 0.9 and green[~bins].sum() > 50
