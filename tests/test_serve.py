"""``popgen-hub serve`` on a real uvicorn server: /api/models, /api/scores scored on demand
as the scan scores the same windows, files with HTTP Range, and bad requests (unknown model or
contig, reversed or huge regions, path traversal, malformed ranges) answered with a clear 4xx
and nothing outside the served folders readable."""

from __future__ import annotations

import csv
import http.client
import signal
import subprocess
import sys
import time
from urllib.parse import urlsplit

import httpx
import pytest

from conftest import BUNDLED_MODEL, ROOT, run_cli
from hub_servers import free_port
from live_server import serving

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

EXAMPLE_VCF = ROOT / "hub" / "data" / "example_sweep.vcf.gz"
SECRET = "not for the browser"


@pytest.fixture(scope="module")
def scan_dir(tmp_path_factory, bundled_model):
    out = tmp_path_factory.mktemp("served") / "scan"
    bundled_model.scan(EXAMPLE_VCF, out, progress=False)
    outside = out.parent / "secret.txt"
    outside.write_text(SECRET)
    (out / "escape.txt").symlink_to(outside)  # a link out of the folder: must not be served
    return out


@pytest.fixture(scope="module")
def hub(scan_dir, bundled_model):
    from popgen_hub.browsers.server import Hub

    return Hub([scan_dir], str(EXAMPLE_VCF), [bundled_model])


@pytest.fixture(scope="module")
def url(hub):
    with serving(hub) as base:
        yield base


def table_rows(scan_dir):
    with open(scan_dir / f"{BUNDLED_MODEL}.windows.tsv") as handle:
        return list(csv.DictReader((line for line in handle if not line.startswith("#")),
                                   delimiter="\t"))


def raw_get(base: str, path: str, headers: dict | None = None) -> tuple[int, bytes]:
    """GET ``path`` sent exactly as written (no client normalises ``..`` or escapes)."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_models_lists_what_it_scores(url):
    models = httpx.get(f"{url}/api/models").json()["models"]
    assert [m["name"] for m in models] == [BUNDLED_MODEL]
    model = models[0]
    assert model["labels"] == ["neutral", "sweep"] and model["primary"] == "sweep"
    assert (model["window_bp"], model["step_bp"]) == (80_000, 10_000)
    assert model["on_demand"] and model["scan"] and len(model["sha256"]) == 64


def test_scores_on_demand_are_the_scans(url, hub, scan_dir):
    start, end = 1_203_000, 1_262_000
    query = {"model": BUNDLED_MODEL, "chr": "chr1", "start": start, "end": end}
    answer = httpx.get(f"{url}/api/scores", params=query, timeout=60).json()
    assert answer["source"] == "on demand"
    features = answer["features"]
    expected = [row for row in table_rows(scan_dir)
                if int(row["bin_start"]) < end and int(row["bin_end"]) > start]
    assert [(f["start"], f["end"]) for f in features] == [
        (int(r["bin_start"]), int(r["bin_end"])) for r in expected]
    assert len(features) == 7  # bins 1,195,000-1,265,000, each 10 kb
    for feature, row in zip(features, expected, strict=True):
        assert feature["value"] == pytest.approx(float(row["p_sweep"]), abs=1e-5)
        assert feature["values"]["neutral"] == pytest.approx(float(row["p_neutral"]), abs=1e-5)
        assert feature["flag"] == row["flag"]
        # its own tie-breaking draws: within a null step (1/2001) of the scan's p-value
        assert feature["p_value"] == pytest.approx(float(row["p_value"]), abs=1 / 2001)
        assert "q_value" not in feature
    assert len(hub.cache) >= 1
    again = httpx.get(f"{url}/api/scores", params=query).json()
    assert again == answer


def test_the_whole_contig_on_demand_has_the_scans_windows(url, scan_dir):
    """Windows hanging off the data's ends are not scored: exactly the scan's windows."""
    features = httpx.get(f"{url}/api/scores", params={
        "model": BUNDLED_MODEL, "chr": "chr1", "start": 0, "end": 2_000_000},
        timeout=120).json()["features"]
    rows = table_rows(scan_dir)
    assert [(f["window_start"], f["window_end"]) for f in features] == [
        (int(r["start"]), int(r["end"])) for r in rows]
    values = [f["value"] for f in features]
    assert values == pytest.approx([float(r["p_sweep"]) for r in rows], abs=1e-5)


def test_large_regions_come_from_the_scan(url, scan_dir):
    answer = httpx.get(f"{url}/api/scores", params={
        "model": BUNDLED_MODEL, "chr": "chr1", "start": 0, "end": 4_000_000}).json()
    assert answer["source"].startswith("scan ")
    assert len(answer["features"]) == 193 and "q_value" in answer["features"][0]


def test_bad_score_requests_get_clear_4xx(url):
    def ask(**query):
        response = httpx.get(f"{url}/api/scores", params=query, timeout=60)
        return response.status_code, response.json()["error"]

    base = {"model": BUNDLED_MODEL, "chr": "chr1", "start": 1_000_000, "end": 1_100_000}
    status, message = ask(**{**base, "model": "no_such_model"})
    assert status == 404 and "unknown model 'no_such_model'" in message and BUNDLED_MODEL in message
    status, message = ask(**{**base, "chr": "chr9"})
    assert status == 404 and "contig 'chr9'" in message and "chr1" in message
    status, message = ask(**{**base, "start": 1_100_000, "end": 1_000_000})
    assert status == 400 and "reversed or empty" in message
    status, message = ask(**{**base, "start": -5})
    assert status == 400 and "reversed or empty" in message
    status, message = ask(**{**base, "start": "1e6"})
    assert status == 400 and "whole numbers" in message
    status, message = ask(model=BUNDLED_MODEL, chr="chr1")
    assert status == 400 and "missing query parameter 'start'" in message
    status, message = ask(**{**base, "start": 5_000_000, "end": 5_100_000})
    assert status == 400 and "after the end of chr1" in message


def test_huge_regions_without_a_scan_are_refused(bundled_model):
    from popgen_hub.browsers.server import Hub

    with serving(Hub([], str(EXAMPLE_VCF), [bundled_model])) as base:
        response = httpx.get(f"{base}/api/scores", params={
            "model": BUNDLED_MODEL, "chr": "chr1", "start": 0, "end": 50_000_000})
    assert response.status_code == 400
    assert "larger than the 3,000,000 bp" in response.json()["error"]


def test_files_are_served_with_ranges(url, scan_dir):
    track = scan_dir / f"{BUNDLED_MODEL}.sweep.bw"
    data, size = track.read_bytes(), track.stat().st_size
    path = f"/files/0/{track.name}"
    whole = httpx.get(url + path)
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["accept-ranges"] == "bytes"
    part = httpx.get(url + path, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{size}"
    tail = httpx.get(url + path, headers={"Range": "bytes=-50"})
    assert tail.status_code == 206 and tail.content == data[-50:]
    several = httpx.get(url + path, headers={"Range": "bytes=0-9,20-29"})
    assert several.status_code == 206
    assert several.headers["content-type"].startswith("multipart/byteranges")
    beyond = httpx.get(url + path, headers={"Range": f"bytes={size}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{size}"
    for malformed in ("bytes=abc", "items=0-1", "bytes=", "bytes=5-4"):
        assert httpx.get(url + path, headers={"Range": malformed}).status_code in (400, 416)
    vcf = httpx.get(f"{url}/inputs/{EXAMPLE_VCF.name}", headers={"Range": "bytes=0-1"})
    assert vcf.status_code == 206 and vcf.content == b"\x1f\x8b"  # BGZF
    assert httpx.get(f"{url}/inputs/{EXAMPLE_VCF.name}.tbi").status_code == 200


@pytest.mark.parametrize("path", [
    "/files/0/../secret.txt", "/files/0/../../../../../etc/passwd",
    "/files/0/%2e%2e/secret.txt", "/files/0/%2E%2E%2Fsecret.txt", "/files/0//etc/passwd",
    "/files/0/%2Fetc%2Fpasswd", "/files/0/escape.txt", "/files/1/report.html",
    "/files/-1/report.html", "/inputs/..%2F..%2Fetc%2Fpasswd", "/inputs/secret.txt",
    "/inputs/%2Fetc%2Fpasswd", "/static/../../../etc/passwd", "/files/0/a%00b",
    "/files/0/" + "x" * 5000])
def test_nothing_outside_the_served_folders(url, path):
    status, body = raw_get(url, path)
    assert status in (400, 404), (path, status)
    assert SECRET.encode() not in body and b"root:" not in body


def test_the_page_names_tracks_and_the_on_demand_source(url):
    page = httpx.get(url + "/").text
    assert "static/igv.min.js" in page and f"api/scores?model={BUNDLED_MODEL}" in page
    assert f"inputs/{EXAMPLE_VCF.name}" in page and f"files/0/{BUNDLED_MODEL}.sweep.bw" in page
    assert httpx.get(url + "/chrom.sizes").text == "chr1\t2000000\n"
    script = httpx.get(url + "/static/igv.min.js")
    assert script.status_code == 200 and len(script.content) > 1_000_000


def test_a_damaged_folder_is_one_line_and_a_model_that_cannot_score_is_left_out(
        scan_dir, tmp_path, bundled_model, caplog):
    """A scan folder whose chrom.sizes is damaged answers 500 with one line naming it; a model
    of a served scan that cannot read the input (here, a temporal model, which needs the
    samples' ages) is left out of on-demand scoring with a warning when only its scan named
    it, and refused when asked for with --model."""
    import shutil

    import popgen_hub
    from popgen_hub.browsers.server import Hub
    from popgen_hub.errors import PopgenHubError

    damaged = tmp_path / "damaged"
    shutil.copytree(scan_dir, damaged, symlinks=True)
    (damaged / "scan.chrom.sizes").write_text("chr1\tlong\n")
    temporal = popgen_hub.load("temporal_balsel.hsap_eur", device="cpu")
    name = temporal.contract.name
    with caplog.at_level("WARNING", logger="popgen_hub"):
        hub = Hub([damaged], str(EXAMPLE_VCF), [bundled_model, temporal], optional=[name])
    assert f"{name} is not scored on demand" in caplog.text and name not in hub.scorers
    with serving(hub) as base:
        answer = httpx.get(base + "/chrom.sizes")
        assert answer.status_code == 500
        assert answer.json() == {"error": f"{damaged / 'scan.chrom.sizes'} line 1 is not "
                                          f"CONTIG<tab>LENGTH: scan into {damaged} again"}
    with pytest.raises(PopgenHubError):
        Hub([damaged], str(EXAMPLE_VCF), [temporal])


def test_serve_command_line(scan_dir):
    result = run_cli("serve", check=False)
    assert result.returncode == 1 and "nothing to serve" in result.stderr
    result = run_cli("serve", "--vcf", EXAMPLE_VCF, check=False)
    assert result.returncode == 1 and "--model NAME" in result.stderr
    result = run_cli("serve", scan_dir / "missing", check=False)
    assert result.returncode == 1 and "is not a folder" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "popgen_hub", "serve", str(scan_dir),
                               "--port", str(port)], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                models = httpx.get(f"http://127.0.0.1:{port}/api/models").json()["models"]
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read()
                assert time.monotonic() < deadline, "popgen-hub serve did not start"
                time.sleep(0.2)
        assert models[0]["name"] == BUNDLED_MODEL and not models[0]["on_demand"]
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)


def test_windows_past_a_contigs_end_are_the_scans(simulate_vcf, bundled_model):
    """A contig whose length is no multiple of the step: its last window overhangs the end,
    on demand as in a scan."""
    from popgen_hub.browsers.server import Hub

    vcf = simulate_vcf(length=456_789, sweep_at=None, seed=5, contig="chr7")
    scanned = bundled_model.score(vcf, progress=False).scored()
    features = Hub([], str(vcf), [bundled_model]).scores(
        BUNDLED_MODEL, "chr7", 0, 456_789)["features"]
    assert [f["window_start"] for f in features] == scanned["start"].tolist()
    assert scanned["end"][-1] > 456_789
    assert [f["value"] for f in features] == pytest.approx(
        scanned["probabilities"][:, 1].tolist(), abs=1e-5)
