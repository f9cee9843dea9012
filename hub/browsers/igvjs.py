"""igv.js pages: the one builder behind a scan's ``report.html`` and ``popgen-hub serve``'s ``/``.

igv.js (npm ``igv``, version in ``static/igv/VERSION``) ships inside the package, so a page
needs neither Node nor a CDN: the report copies ``igv.min.js`` beside itself, the server serves
it. A page is static HTML whose configuration is one JSON object; the tracks it names load
over HTTP, with Range requests for BigWigs and indexed VCFs, which browsers refuse to pages
opened from ``file://`` (such a page says to open it through ``popgen-hub serve``).

Track configurations are igv.js's own, plus one key of ours: ``scores``, the URL of
``/api/scores?model=NAME`` (see :mod:`popgen_hub.browsers.server`), which the page turns into
an igv.js custom source that asks for the region in view. The top-windows table's rows are
links to ``#locus=chr:start-end``; the page goes to the locus of its URL's hash on load and
whenever the hash changes, and keeps the locus in view in ``<body data-locus>``.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from ..result import IGV_SCRIPT


def igv_script() -> Path:
    """The bundled igv.min.js."""
    return Path(str(files("popgen_hub.browsers") / "static" / "igv" / IGV_SCRIPT))


def bigwig_track(url: str, name: str, color: str = "rgb(200,40,40)") -> dict[str, Any]:
    """A score track of a BigWig on a fixed 0-1 scale."""
    return {"type": "wig", "format": "bigwig", "url": url, "name": name, "min": 0, "max": 1,
            "color": color, "height": 80, "autoscale": False}


def statistic_track(url: str, name: str, color: str = "rgb(0,128,0)") -> dict[str, Any]:
    """A track of a classic statistic's BigWig, autoscaled (its values are on no fixed
    scale), in a colour apart from the scores'."""
    return {"type": "wig", "format": "bigwig", "url": url, "name": name, "color": color,
            "height": 80, "autoscale": True}


def bed_track(url: str, name: str) -> dict[str, Any]:
    return {"type": "annotation", "format": "bed", "url": url, "name": name,
            "displayMode": "EXPANDED", "color": "rgb(120,120,120)"}


def scores_track(scores_url: str, name: str, visibility_window: int,
                 color: str = "rgb(30,90,200)", probability: bool = True) -> dict[str, Any]:
    """A track scored on demand by the server for the region in view (never wider than
    ``visibility_window``, the most the server scores at once): probabilities on 0-1, a
    regression's values autoscaled."""
    scale = {"min": 0, "max": 1, "autoscale": False} if probability else {"autoscale": True}
    return {"type": "wig", "scores": scores_url, "name": name, **scale, "color": color,
            "height": 80, "visibilityWindow": visibility_window}


@dataclass
class Page:
    """What an igv.js page shows: a reference (an igv.js reference object, e.g. chrom sizes),
    tracks, the first locus, facts (label -> text, e.g. the model and thresholds), and a table
    of windows to jump to (column names; rows of cells with their locus)."""

    title: str
    reference: dict[str, Any]
    tracks: list[dict[str, Any]]
    locus: str | None = None
    facts: dict[str, str] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)
    rows: list[tuple[str, list[str]]] = field(default_factory=list)  # (locus, cells)
    script: str = IGV_SCRIPT  # where igv.min.js is, relative to the page

    def html(self) -> str:
        config = {"reference": self.reference, "tracks": self.tracks, "locus": self.locus}
        # JSON inside <script>: "</" would end the element
        data = json.dumps(config).replace("</", "<\\/")
        facts = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                        for k, v in self.facts.items())
        return _TEMPLATE.format(title=html.escape(self.title), script=html.escape(self.script),
                                config=data, facts=facts, windows=self._windows())

    def _windows(self) -> str:
        if not self.rows:
            return ""
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join(
            f'<tr><td><a href="#locus={html.escape(locus)}">{html.escape(locus)}</a></td>'
            + "".join(f"<td>{html.escape(cell)}</td>" for cell in cells) + "</tr>"
            for locus, cells in self.rows)
        return (f'<h2>Top windows</h2><table id="windows"><tr><th>locus</th>{head}</tr>'
                f"{body}</table>")


_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 1em; }}
table {{ border-collapse: collapse; margin: 0.5em 0; font-size: 90%; }}
th, td {{ border: 1px solid #ccc; padding: 2px 8px; text-align: left; }}
#note {{ color: #a00; }}
</style></head>
<body data-locus="">
<h1>{title}</h1>
<p id="note"></p>
<div id="igv"></div>
<table id="facts">{facts}</table>
{windows}
<script src="{script}"></script>
<script>
const PAGE = {config};
function locusFromHash() {{
  const match = /^#locus=(.+)$/.exec(window.location.hash);
  return match ? decodeURIComponent(match[1]) : null;
}}
function onDemand(track) {{
  // popgen-hub's /api/scores for the region in view, in whole base pairs
  const config = Object.assign({{}}, track);
  delete config.scores;
  config.sourceType = "custom";
  config.source = {{
    url: ({{chr, start, end}}) => track.scores + "&chr=" + encodeURIComponent(chr) +
      "&start=" + Math.max(0, Math.floor(start)) + "&end=" + Math.ceil(end),
    parser: (text) => JSON.parse(text).features,
  }};
  config.expandQuery = false;
  return config;
}}
async function start() {{
  if (window.location.protocol === "file:") {{
    document.getElementById("note").textContent = "Browsers do not let a page opened from " +
      "a file read the tracks beside it: open this folder with `popgen-hub serve FOLDER`.";
    return;
  }}
  const tracks = PAGE.tracks.map((t) => t.scores ? onDemand(t) : t);
  const browser = await igv.createBrowser(document.getElementById("igv"), {{
    reference: PAGE.reference, locus: locusFromHash() || PAGE.locus || undefined, tracks,
  }});
  const show = () => {{
    document.body.dataset.locus = [].concat(browser.currentLoci()).join(" ");
  }};
  browser.on("locuschange", show);
  show();
  window.addEventListener("hashchange", async () => {{
    const locus = locusFromHash();
    if (locus) {{ await browser.search(locus); show(); }}
  }});
  document.body.dataset.ready = "true";
}}
start().catch((error) => {{
  document.getElementById("note").textContent = "igv.js failed: " + error;
  document.body.dataset.error = String(error);
}});
</script>
</body></html>
"""
