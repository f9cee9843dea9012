"""IGV desktop, live and from files: `popgen-hub igv` sends a scan folder's tracks to a real IGV
listening on its batch port (under Xvfb), and the folder's igv_session.xml opens in IGV."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from conftest import BUNDLED_MODEL, ROOT, keep, needs, png_size, run_cli, shared
from hub_servers import free_port
from popgen_hub.browsers.igv_live import IgvPort
from popgen_hub.errors import PopgenHubError
from popgen_hub.writers.igv import IGV_JAR, render_snapshot

EXAMPLE_VCF = ROOT / "hub" / "data" / "example_sweep.vcf.gz"
#: a model of one track class and one of two: three BigWigs, two flagged-window BEDs; the
#: second's scan adds two classic statistics (autoscaled)
MODELS = (BUNDLED_MODEL, "imagene_cnn.sweep_hsap_general")
BIGWIG_TRACKS = ("P(sweep)_imagene_cnn.sweep_hsap_eur", "P(sweep)_imagene_cnn.sweep_hsap_general",
                 "P(linked)_imagene_cnn.sweep_hsap_general")
STATISTICS = ("pi", "tajima_d")
IGV_TRACK_BLUE = (0, 0, 178)


@pytest.fixture(scope="module")
def scan_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("scan")
    for model, stats in zip(MODELS, ([], ["--stats", ",".join(STATISTICS)]), strict=True):
        run_cli("scan", "--vcf", EXAMPLE_VCF, "--model", model, *stats, "-q", "-o", folder)
    return folder


def needs_igv() -> None:
    needs("java", "xvfb-run")
    if not IGV_JAR.is_file():
        pytest.skip(f"IGV desktop not installed ({IGV_JAR}); `make test` installs it")


@pytest.fixture(scope="module")
def igv_port(scan_folder, tmp_path_factory):
    """A real IGV desktop on a virtual display, its batch port enabled, on a genome of other
    contigs than the scan's (a local one: it never tries to download one; and offline, no
    message box on changing genome)."""
    needs_igv()
    home, port = tmp_path_factory.mktemp("igv_home"), free_port()
    (home / "other.chrom.sizes").write_text("other_contig\t5000000\n")
    prefs = home / "prefs.properties"
    prefs.write_text(f"DEFAULT_GENOME_KEY={home / 'other.chrom.sizes'}\nPORT_ENABLED=true\n"
                     f"PORT_NUMBER={port}\nSHOW_GENOME_SERVER_WARNING=false\n")
    igv = subprocess.Popen(
        [shutil.which("xvfb-run"), "-a", "-s", "-screen 0 1400x900x24", "java", "-Xmx2g",
         f"-Duser.home={home}", "-cp", str(IGV_JAR), "org.broad.igv.ui.Main", "-o", str(prefs)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if igv.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"IGV did not open port {port} (exit code {igv.poll()})")
                time.sleep(0.5)
        yield port
    finally:
        os.killpg(igv.pid, 15)  # xvfb-run, Xvfb and java: the group this fixture started
        igv.wait(timeout=30)


def blue_columns(png: Path) -> np.ndarray:
    """Per column of the picture, how many pixels are in IGV's colour of numeric tracks."""
    from PIL import Image

    png_size(png)  # a complete, non-blank PNG
    pixels = np.asarray(Image.open(png).convert("RGB"))
    return np.all(pixels == IGV_TRACK_BLUE, axis=-1).sum(axis=0)


def check_tracks_shown(png: Path, saved_session: Path, folder: Path) -> None:
    """IGV's snapshot has bars, tallest near the sweep, and the session IGV saved has every
    BigWig of scores on a fixed 0-1 range, the statistics autoscaled, at the top window."""
    columns = blue_columns(png)
    assert columns.sum() > 5000, "no tracks drawn"
    drawn = np.flatnonzero(columns)
    assert drawn.min() < int(np.argmax(columns)) < drawn.max()
    root = ET.parse(saved_session).getroot()
    locus = ET.parse(folder / "igv_session.xml").getroot().attrib["locus"]
    contig, span = locus.split(":")
    start, end = (int(x) for x in span.split("-"))
    assert root.attrib["locus"] in (locus, f"{contig}:{start - 1}-{end}")  # IGV saves 0-based
    tracks = {t.attrib["name"]: t for t in root.iter("Track")}
    for name in BIGWIG_TRACKS:
        assert tracks[name].attrib["autoScale"] == "false"
        data_range = tracks[name].find("DataRange").attrib
        assert (float(data_range["minimum"]), float(data_range["maximum"])) == (0.0, 1.0)
    assert {f"flagged_{model}" for model in MODELS} <= set(tracks)
    for name in STATISTICS:
        assert tracks[name].attrib["autoScale"] == "true"
        assert tracks[name].attrib["color"] == "0,128,0"  # apart from the probabilities
        assert tracks[name].attrib["clazz"] == "org.broad.igv.track.DataSourceTrack"


@pytest.mark.slow
def test_igv_receives_the_tracks_over_its_port(scan_folder, igv_port, tmp_path):
    # IGV's genome lacks chr1: --genome alone switches it to the folder's chrom.sizes
    result = run_cli("igv", scan_folder, "--new", "--port", igv_port, "--genome")
    assert f"127.0.0.1:{igv_port} shows 7 tracks" in result.stdout
    with IgvPort(port=igv_port, timeout=60) as igv:
        for command in (f"snapshotDirectory {tmp_path}", "snapshot live.png",
                        f"saveSession {tmp_path / 'saved.xml'}"):
            igv.send(command)
    check_tracks_shown(tmp_path / "live.png", tmp_path / "saved.xml", scan_folder)


@pytest.mark.slow
def test_igv_errors_are_named(scan_folder, igv_port, tmp_path):
    missing = tmp_path / "missing.bw"
    with IgvPort(port=igv_port, timeout=60) as igv:
        with pytest.raises(PopgenHubError, match=rf"answered `load {missing}` with: Error: "
                                                 rf".*does not exist"):
            igv.send(f"load {missing}")


@pytest.mark.slow
def test_the_session_file_opens_in_igv(scan_folder, tmp_path):
    """IGV 2.16 opens igv_session.xml of a folder moved elsewhere (its paths are relative)."""
    needs_igv()
    moved = tmp_path / "moved"
    shutil.copytree(scan_folder, moved)
    batch = tmp_path / "batch.txt"
    batch.write_text(f"load {moved / 'igv_session.xml'}\nsaveSession {tmp_path / 'saved.xml'}\n")
    png = render_snapshot(batch, tmp_path / "session.png", genome=moved / "scan.chrom.sizes")
    check_tracks_shown(png, tmp_path / "saved.xml", moved)
    keep(png, "igv_desktop_example.png")


@pytest.mark.slow
@pytest.mark.real_data
def test_lct_session_with_statistics_in_igv(bundled_model, tmp_path):
    """The LCT region of 1000 Genomes CEU (80 kb, GRCh38) scanned with classic statistics:
    IGV draws the window's P(sweep) on 0-1 and every statistic autoscaled, in green."""
    from PIL import Image

    needs_igv()
    out = tmp_path / "lct"
    statistics = ["pi", "tajima_d", "h12", "nsl"]  # iHS: all NA here (see test_report)
    bundled_model.scan(shared("real/lct_ceu_grch38/LCT.CEU.GRCh38.vcf.gz"), out,
                       progress=False, stats=statistics)
    batch = tmp_path / "batch.txt"
    batch.write_text(f"load {out / 'igv_session.xml'}\n")
    png = render_snapshot(batch, tmp_path / "lct.png", genome=out / "scan.chrom.sizes")
    keep(png, "igv_desktop_lct.png")
    pixels = np.asarray(Image.open(png).convert("RGB"))
    rows = {name: np.all(pixels == colour, axis=-1).any(axis=1)
            for name, colour in (("score", IGV_TRACK_BLUE), ("statistic", (0, 128, 0)))}
    assert rows["score"].sum() > 100  # the two windows' bins, a tall bar
    # green in as many separate bands as statistic tracks (nsl has a standardised column and
    # an unstandardised one)
    bands = np.flatnonzero(np.diff(rows["statistic"].astype(int)) == 1)
    assert len(bands) >= len(statistics) + 1, len(bands)


def test_no_igv_listening_is_one_line(scan_folder):
    port = free_port()
    result = run_cli("igv", scan_folder, "--port", port, check=False)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"no IGV listens on 127.0.0.1:{port}" in lines[0]
    assert "View > Preferences > Advanced > Enable port" in lines[0]


def test_a_folder_without_a_session_is_named(tmp_path):
    result = run_cli("igv", tmp_path, check=False)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert f"{tmp_path / 'igv_session.xml'} not found: scan into" in result.stderr
