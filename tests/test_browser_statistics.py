"""The classic statistics of ``scan --stats`` in every genome-browser file of a scan folder
(IGV batch script and session, UCSC hub, igv.js report), autoscaled beside the 0-1 scores,
each file listed once however many models' scans wrote it: the newest scan's."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pyBigWig
import pytest
from test_ucsc_hub import rebuilt, stanzas

import popgen_hub
from chromium import colour_columns, screenshot
from conftest import BUNDLED_MODEL, ROOT, keep, threshold_line
from live_server import serving

EXAMPLE_VCF = ROOT / "hub" / "data" / "example_sweep.vcf.gz"
THREE_CLASSES = "imagene_cnn.sweep_hsap_general"  # two score tracks
#: the first scan's statistics and region; the second's overlap them (pi) and end later
FIRST, SECOND = (["pi", "tajima_d"], "chr1:1000001-1500000"), (["pi"], "chr1:1200001-1600000")
STATISTICS = {"pi.bw", "tajima_d.bw"}
SCORES = {f"{BUNDLED_MODEL}.sweep.bw", f"{THREE_CLASSES}.sweep.bw", f"{THREE_CLASSES}.linked.bw"}
GREEN = (0, 128, 0)  # igvjs.statistic_track's colour


@pytest.fixture(scope="module")
def folder(tmp_path_factory, bundled_model) -> Path:
    out = tmp_path_factory.mktemp("statistics") / "scan"
    (stats, region) = FIRST
    bundled_model.scan(EXAMPLE_VCF, out, region=region, stats=stats, progress=False)
    (stats, region) = SECOND
    second = popgen_hub.load(THREE_CLASSES, device="cpu")
    result = second.scan(EXAMPLE_VCF, out, region=region, stats=stats, progress=False)
    assert result.statistics == {"pi": "pi.bw"}
    return out


def test_the_manifest_names_each_scans_statistics(folder):
    scans = json.loads((folder / "popgen-hub.scans.json").read_text())["scans"]
    assert list(scans) == [BUNDLED_MODEL, THREE_CLASSES]  # oldest first
    # pi.bw, written again by the second scan, is the second scan's alone
    assert scans[BUNDLED_MODEL]["statistics"] == {"tajima_d": "tajima_d.bw"}
    assert "pi.bw" not in scans[BUNDLED_MODEL]["files"]
    assert scans[THREE_CLASSES]["statistics"] == {"pi": "pi.bw"}
    with pyBigWig.open(str(folder / "pi.bw")) as bw:  # the second scan's pi is the one there
        assert bw.intervals("chr1")[-1][1] > 1_500_000


def test_the_igv_batch_autoscales_the_statistics(folder):
    batch = (folder / "igv_batch.txt").read_text().splitlines()
    loaded = [line.split()[1] for line in batch if line.startswith("load ")]
    assert len(loaded) == len(set(loaded))  # each file once
    assert {Path(file).name for file in loaded if file.endswith(".bw")} == SCORES | STATISTICS
    # each statistic with the newest scan that wrote it, after that model's tracks
    assert [Path(file).name for file in loaded] == [
        f"{BUNDLED_MODEL}.sweep.bw", f"{BUNDLED_MODEL}.flagged.bed", "tajima_d.bw",
        f"{THREE_CLASSES}.sweep.bw", f"{THREE_CLASSES}.linked.bw",
        f"{THREE_CLASSES}.flagged.bed", "pi.bw"]
    for name in ("pi", "tajima_d"):
        assert f"setDataRange auto {name}" in batch and f"setColor 0,128,0 {name}" in batch
        assert not any(line.startswith("setDataRange 0,1 ") and line.endswith(f" {name}")
                       for line in batch)
    assert f"setDataRange 0,1 P(linked)_{THREE_CLASSES}" in batch


def test_the_igv_session_autoscales_the_statistics(folder):
    root = ET.parse(folder / "igv_session.xml").getroot()
    paths = [resource.attrib["path"] for resource in root.iter("Resource")]
    assert len(paths) == len(set(paths)) and {p for p in paths if p.endswith(".bw")} == \
        SCORES | STATISTICS
    tracks = {track.attrib["id"]: track for track in root.iter("Track")}
    for file in STATISTICS:
        assert tracks[file].attrib["autoScale"] == "true"
        assert tracks[file].find("DataRange") is None  # no fixed range
        assert tracks[file].attrib["name"] == Path(file).stem
    for file in SCORES:
        assert tracks[file].attrib["autoScale"] == "false"
        scale = tracks[file].find("DataRange").attrib
        assert (scale["minimum"], scale["maximum"]) == ("0.0", "1.0")


@pytest.mark.filterwarnings("error")  # trackhub warns of labels UCSC would truncate
def test_the_ucsc_hub_has_an_autoscaled_statistics_composite(folder):
    tracks = stanzas((folder / "hub.txt").read_text())[2:]
    urls = [stanza["bigDataUrl"] for stanza in tracks if "bigDataUrl" in stanza]
    assert len(urls) == len(set(urls)) and set(urls) == SCORES | STATISTICS
    composite = next(stanza for stanza in tracks if stanza["track"] == "statistics")
    assert composite["compositeTrack"] == "on"
    rebuilt(composite, composite=True)  # trackhub checks every setting
    members = [stanza for stanza in tracks if stanza.get("parent") == "statistics on"]
    assert {stanza["bigDataUrl"] for stanza in members} == STATISTICS
    for stanza in members:
        rebuilt(stanza, composite=False)
        assert (stanza["type"], stanza["autoScale"]) == ("bigWig", "on")
        assert "yLineMark" not in stanza and "viewLimits" not in stanza
        assert stanza["shortLabel"] == Path(stanza["bigDataUrl"]).stem
    for stanza in (s for s in tracks if s.get("bigDataUrl") in SCORES):
        assert (stanza["viewLimits"], stanza["yLineMark"]) == (
            "0:1", threshold_line(stanza["bigDataUrl"]))


def report_config(folder: Path) -> dict:
    page = (folder / "report.html").read_text()
    return json.loads(re.search(r"const PAGE = (.*);\n", page)[1])


def test_the_report_shows_the_statistics_autoscaled(folder):
    tracks = report_config(folder)["tracks"]
    urls = [track["url"] for track in tracks]
    assert len(urls) == len(set(urls)) and {u for u in urls if u.endswith(".bw")} == \
        SCORES | STATISTICS
    for track in tracks:
        if track["url"] in STATISTICS:
            assert track["autoscale"] is True and "max" not in track
            assert track["color"] == f"rgb{GREEN}".replace(" ", "")
        elif track["url"] in SCORES:
            assert (track["autoscale"], track["min"], track["max"]) == (False, 0, 1)
    page = (folder / "report.html").read_text()
    assert "<th>statistics</th><td>tajima_d, pi (green" in page


def test_chromium_draws_the_statistics(folder, tmp_path):
    pytest.importorskip("uvicorn")
    from popgen_hub.browsers.server import Hub

    with serving(Hub([folder], None, [])) as base:
        shot = screenshot(f"{base}/files/0/report.html#locus=chr1:1200001-1500000",
                          tmp_path / "statistics.png", size=(1200, 1400))
    keep(shot, "igvjs_report_statistics.png")
    drawn = colour_columns(shot, GREEN)
    # pi (always > 0) and Tajima's D across the whole view, in their own colour
    assert (drawn > 0).sum() > 800, (drawn > 0).sum()
