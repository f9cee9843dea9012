"""JBrowse 2 in headless Chromium, through a real ``popgen-hub serve``: the scan's
``jbrowse/config.json`` draws its BigWig as a QuantitativeTrack, and popgen-hub's plugin
(``hub/browsers/static/jbrowse/popgen-hub-plugin.js``, built from ``browsers/jbrowse/``) draws
the scores the server computes on demand, each bar where its window's bin is and as tall as
its score (read back from the screenshot).

The test page (``tests/data/jbrowse/index.html``) runs ``@jbrowse/react-linear-genome-view2``'s
own UMD build from ``browsers/jbrowse/node_modules`` (``npm ci`` there; ``make test`` does it),
served from a second folder of the same server, so that the page, the plugin, the scan and
``/api/scores`` share one origin.
"""

from __future__ import annotations

import html
import json
import shutil
import subprocess

import numpy as np
import pytest

from chromium import colour_columns, dom, screenshot
from conftest import BUNDLED_MODEL, ROOT, keep, needs, shared
from live_server import serving
from popgen_hub.result import JBROWSE_CONFIG
from popgen_hub.writers.jbrowse import (
    ON_DEMAND_COLOUR,
    PLUGIN_FILE,
    PROBABILITY_COLOUR,
    STATISTIC_COLOUR,
    assembly_config,
    jbrowse_config,
    on_demand_track,
    plugin_definition,
)

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

EXAMPLE_VCF = ROOT / "hub" / "data" / "example_sweep.vcf.gz"
JBROWSE_PACKAGE = ROOT / "browsers" / "jbrowse"
VIEWER = (JBROWSE_PACKAGE / "node_modules" / "@jbrowse" / "react-linear-genome-view2" / "dist"
          / "react-linear-genome-view.umd.production.min.js")
BIGWIG_RGB, ON_DEMAND_RGB, STATISTIC_RGB = (
    tuple(bytes.fromhex(colour[1:])) for colour in (PROBABILITY_COLOUR, ON_DEMAND_COLOUR,
                                                    STATISTIC_COLOUR))
#: the square the test page shows once every track has drawn
DRAWN_RGB = (0xFF, 0x00, 0xFF)
#: Chromium's virtual time. The page's polls advance it while JBrowse loads the assembly, so
#: the budget bounds how slowly a loaded machine may load it: 5 s stops every run at "loading:
#: the assembly", 60 s stopped one CI run of 925 tests there. A long budget costs nothing once
#: the page is idle (600 s: this file's run time unchanged, 44 s)
BUDGET_MS = 600_000
#: the rise to the example's sweep: 40 bins of 10 kb, well under what the server scores at once
ON_DEMAND = {"chr": "chr1", "start": 800_000, "end": 1_200_000}


@pytest.fixture(scope="module")
def page_dir(tmp_path_factory):
    """The test page, the linear view's UMD build and the plugin, as one served folder."""
    needs("chromium")
    if not VIEWER.is_file():
        pytest.skip(f"{VIEWER.relative_to(ROOT)} missing: run `npm ci` in "
                    f"{JBROWSE_PACKAGE.relative_to(ROOT)} (make test does)")
    folder = tmp_path_factory.mktemp("jbrowse_page")
    for file in (ROOT / "tests" / "data" / "jbrowse" / "index.html", VIEWER, PLUGIN_FILE):
        shutil.copy(file, folder)
    return folder


@pytest.fixture(scope="module")
def scan_dir(tmp_path_factory, bundled_model):
    out = tmp_path_factory.mktemp("jbrowse_scan") / "scan"
    bundled_model.scan(EXAMPLE_VCF, out, progress=False)
    return out


@pytest.fixture(scope="module")
def url(scan_dir, page_dir, bundled_model):
    from popgen_hub.browsers.server import Hub

    with serving(Hub([scan_dir, page_dir], str(EXAMPLE_VCF), [bundled_model])) as base:
        yield base


def page_status(page: str) -> str:
    """The test page's status text once its scripts ran."""
    text = dom(page, budget_ms=BUDGET_MS)
    return html.unescape(text.split('<pre id="status">', 1)[1].split("</pre>", 1)[0])


def rendered(url: str, config: str, png, height: int = 300) -> dict:
    """The page's status once every track drew; its screenshot saved as ``png``."""
    page = f"{url}/files/1/index.html?config={config}"
    status = page_status(page)
    assert status.startswith("{"), f"JBrowse did not draw {config}: {status[:500]}"
    state = json.loads(status)
    assert all(not track["error"] for track in state["tracks"]), state["tracks"]
    screenshot(page, png, (1020, height), budget_ms=BUDGET_MS)
    assert colour_columns(png, DRAWN_RGB, tolerance=0).sum() == 36, (
        f"the screenshot of {config} was taken before JBrowse finished drawing")
    keep(png, f"jbrowse_{png.name}")
    return state


def bar_heights(png, state: dict, track_id: str, rgb: tuple[int, int, int],
                features: list[tuple[int, int, float]]) -> np.ndarray:
    """Per feature (start, end, score), the mean height in pixels of the bar drawn in ``rgb``
    over its columns of the screenshot, within the rows of track ``track_id``."""
    from PIL import Image

    (track,) = (track for track in state["tracks"] if track["trackId"] == track_id)
    top, bottom = int(track["top"]), int(track["bottom"])
    with Image.open(png) as image:
        band = png.with_name(f"band_{png.name}")
        image.crop((0, top, image.width, bottom)).save(band)
    counts = colour_columns(band, rgb)
    heights = []
    for start, end, _ in features:
        left, right = (track["left"] + bp / state["bpPerPx"] - state["offsetPx"]
                       for bp in (start, end))
        left, right = max(int(np.ceil(left)), 0), min(int(right), len(counts))
        heights.append(counts[left:right].mean() if right > left + 1 else np.nan)
    return np.array(heights)


def assert_bars_follow(heights: np.ndarray, scores: np.ndarray) -> None:
    """Bars as tall as their scores (a 0-1 scale): tall where the score is, flat elsewhere."""
    shown = ~np.isnan(heights)
    assert shown.sum() >= 10, f"only {shown.sum()} features in view"
    heights, scores = heights[shown], scores[shown]
    assert np.corrcoef(heights, scores)[0, 1] > 0.95, list(zip(scores, heights, strict=True))
    assert heights[scores > 0.5].min() > 10
    assert heights[scores < 0.02].max(initial=0) < 3


def test_the_plugin_build_is_current(tmp_path):
    """The committed plugin is what ``browsers/jbrowse/build.mjs`` builds from ``src/``."""
    needs("node")
    if not (JBROWSE_PACKAGE / "node_modules" / "esbuild").is_dir():
        pytest.skip(f"esbuild missing: run `npm ci` in {JBROWSE_PACKAGE.relative_to(ROOT)}")
    built = tmp_path / "plugin.js"
    subprocess.run(["node", "build.mjs", str(built)], cwd=JBROWSE_PACKAGE, check=True,
                   capture_output=True, timeout=60)
    assert built.read_text() == PLUGIN_FILE.read_text(), (
        "hub/browsers/static/jbrowse/popgen-hub-plugin.js is stale: run make jbrowse-plugin")


def test_config_has_every_model_of_the_folder(scan_dir, tmp_path):
    """A second model scanned into the folder adds its tracks and shows them; the first's
    stay, not shown."""
    import popgen_hub

    folder = tmp_path / "two"
    shutil.copytree(scan_dir, folder)
    general = popgen_hub.load("imagene_cnn.sweep_hsap_general", device="cpu")
    general.scan(EXAMPLE_VCF, folder, progress=False)
    config = json.loads((folder / JBROWSE_CONFIG).read_text())
    uris = {track["trackId"]: location["uri"] for track in config["tracks"]
            for key, location in track["adapter"].items() if key.endswith("Location")}
    first, second = BUNDLED_MODEL, general.contract.name
    assert uris == {f"{first}.sweep": f"../{first}.sweep.bw",
                    f"{first}.flagged": f"../{first}.flagged.bed",
                    f"{second}.sweep": f"../{second}.sweep.bw",
                    f"{second}.linked": f"../{second}.linked.bw",
                    f"{second}.flagged": f"../{second}.flagged.bed"}
    (view,) = config["defaultSession"]["views"]
    assert view["init"]["tracks"] == [f"{second}.sweep", f"{second}.linked",
                                      f"{second}.flagged"]
    assert all((folder / JBROWSE_CONFIG).parent.joinpath(uri).resolve().is_file()
               for uri in uris.values())


def test_scan_config_draws_its_bigwig(url, scan_dir, tmp_path):
    import pyBigWig

    config = json.loads((scan_dir / JBROWSE_CONFIG).read_text())
    assert [track["trackId"] for track in config["tracks"]] == [
        f"{BUNDLED_MODEL}.sweep", f"{BUNDLED_MODEL}.flagged"]
    png = tmp_path / "bigwig.png"
    state = rendered(url, f"../0/{JBROWSE_CONFIG}", png, height=440)
    assert [track["trackId"] for track in state["tracks"]] == [
        f"{BUNDLED_MODEL}.sweep", f"{BUNDLED_MODEL}.flagged"]
    with pyBigWig.open(str(scan_dir / f"{BUNDLED_MODEL}.sweep.bw")) as bigwig:
        features = bigwig.intervals("chr1")
    heights = bar_heights(png, state, f"{BUNDLED_MODEL}.sweep", BIGWIG_RGB, features)
    assert_bars_follow(heights, np.array([value for _, _, value in features]))


def on_demand_config(url: str, page_dir, model: str) -> str:
    """A configuration of the on-demand track of ``model`` in the page's folder; its name."""
    assembly = assembly_config("served", f"{url}/chrom.sizes")
    track = on_demand_track("on_demand", f"P(sweep) {model}, on demand", "served",
                            base_url=url, model=model)
    locus = f"{ON_DEMAND['chr']}:{ON_DEMAND['start'] + 1}-{ON_DEMAND['end']}"
    config = jbrowse_config(assembly, [track], location=locus,
                            plugins=[plugin_definition(PLUGIN_FILE.name)])
    (page_dir / f"{model}.json").write_text(json.dumps(config))
    return f"{model}.json"


def test_plugin_draws_scores_on_demand(url, page_dir, tmp_path):
    import httpx

    png = tmp_path / "on_demand.png"
    state = rendered(url, on_demand_config(url, page_dir, BUNDLED_MODEL), png)
    assert state["plugins"] == ["PopgenHubPlugin"]
    answer = httpx.get(f"{url}/api/scores", params={"model": BUNDLED_MODEL, **ON_DEMAND}).json()
    assert answer["source"] == "on demand"
    features = [(f["start"], f["end"], f["value"]) for f in answer["features"]]
    heights = bar_heights(png, state, "on_demand", ON_DEMAND_RGB, features)
    assert_bars_follow(heights, np.array([value for _, _, value in features]))


def test_plugin_shows_the_servers_error(url, page_dir):
    """A request the server refuses shows in the track as the server's one line."""
    config = on_demand_config(url, page_dir, "no_such")
    (track,) = json.loads(page_status(f"{url}/files/1/index.html?config={config}"))["tracks"]
    assert (f"popgen-hub: unknown model 'no_such'; this server has: {BUNDLED_MODEL}"
            in track["error"])


@pytest.mark.real_data
def test_lct_region_with_statistics(bundled_model, page_dir, tmp_path):
    """The LCT region of 1000 Genomes CEU (80 kb, GRCh38) scanned with classic statistics:
    config.json shows the window's P(sweep) and every statistic's track, each drawn."""
    from PIL import Image

    from popgen_hub.browsers.server import Hub

    vcf = shared("real/lct_ceu_grch38/LCT.CEU.GRCh38.vcf.gz")
    out = tmp_path / "lct"
    # iHS left out: LCT's haplotype is so long that EHH never decays within these 80 kb
    bundled_model.scan(vcf, out, progress=False, stats=["pi", "tajima_d", "h12", "nsl"])
    statistics = sorted(path.stem for path in out.glob("*.bw")
                        if not path.name.startswith(BUNDLED_MODEL))
    assert {"pi", "tajima_d", "h12", "nsl"} <= set(statistics)
    png = tmp_path / "lct.png"
    with serving(Hub([out, page_dir], str(vcf), [bundled_model])) as base:
        state = rendered(base, f"../0/{JBROWSE_CONFIG}", png,
                         height=440 + 135 * len(statistics))
    tracks = {track["trackId"]: track for track in state["tracks"]}
    assert sorted(tracks) == sorted([f"{BUNDLED_MODEL}.sweep", f"{BUNDLED_MODEL}.flagged",
                                     *statistics])
    del tracks[f"{BUNDLED_MODEL}.flagged"]  # features, not scores: drawn in their own colour
    with Image.open(png) as image:
        for track in tracks.values():
            rgb = BIGWIG_RGB if track["trackId"].startswith(BUNDLED_MODEL) else STATISTIC_RGB
            band = tmp_path / f"band_{track['trackId']}.png"
            image.crop((0, int(track["top"]), image.width, int(track["bottom"]))).save(band)
            assert colour_columns(band, rgb).sum() > 100, f"{track['trackId']} drew nothing"


def test_serve_offers_the_plugin_and_a_configuration(url, page_dir, tmp_path):
    """``serve``'s own /jbrowse/config.json: the served scan's track and an on-demand track
    through the plugin it serves (absolute URLs), both drawn (the view moved to the sweep)."""
    import httpx

    config = httpx.get(f"{url}/jbrowse/config.json").json()
    (plugin,) = config["plugins"]
    assert httpx.get(plugin["url"]).text == PLUGIN_FILE.read_text()
    ids = [track["trackId"] for track in config["tracks"]]
    assert ids == [f"0.{BUNDLED_MODEL}.sweep", f"0.{BUNDLED_MODEL}.flagged",
                   f"{BUNDLED_MODEL}.on_demand"]
    (view,) = config["defaultSession"]["views"]
    view["init"]["loc"] = f"{ON_DEMAND['chr']}:{ON_DEMAND['start'] + 1}-{ON_DEMAND['end']}"
    (page_dir / "served.json").write_text(json.dumps(config))
    png = tmp_path / "served.png"
    state = rendered(url, "served.json", png, height=560)
    answer = httpx.get(f"{url}/api/scores", params={"model": BUNDLED_MODEL, **ON_DEMAND}).json()
    features = [(f["start"], f["end"], f["value"]) for f in answer["features"]]
    scores = np.array([value for _, _, value in features])
    for track_id, rgb in ((f"0.{BUNDLED_MODEL}.sweep", BIGWIG_RGB),
                          (f"{BUNDLED_MODEL}.on_demand", ON_DEMAND_RGB)):
        assert_bars_follow(bar_heights(png, state, track_id, rgb, features), scores)
