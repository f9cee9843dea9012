"""JBrowse 2: ``jbrowse/config.json``, a configuration JBrowse 2 opens directly (the web app's
``?config=OUTDIR/jbrowse/config.json``, OUTDIR in the app's folder), and the configurations
of the on-demand tracks of ``popgen-hub serve``.

The assembly is the folder's ``scan.chrom.sizes`` read by JBrowse's ``ChromSizesAdapter``
(``@jbrowse/plugin-sequence``): contig names and lengths, no FASTA needed. The tracks are those
of every model scanned into the folder (:func:`~popgen_hub.writers.folder.folder_tracks`), their
URIs relative to the configuration (JBrowse resolves them against the file's own URL): each
BigWig of probabilities a ``QuantitativeTrack`` with a ``BigWigAdapter`` drawn on 0-1, the
flagged windows a ``FeatureTrack`` of the BED, and the classic statistics of ``scan --stats``
autoscaled, as ``QuantitativeTrack`` too. The default session opens at the top window, as IGV's
batch script does, with this scan's tracks shown.

On-demand tracks read ``/api/scores`` of a running server through popgen-hub's JBrowse
plugin (``browsers/jbrowse/``: TypeScript, built into the one file :data:`PLUGIN_FILE` shipped
in the package), whose ``PopgenHubAdapter`` takes the server's ``baseUrl`` and a ``model``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..files import Staging
from ..result import CHROM_SIZES, JBROWSE_CONFIG, JBROWSE_DIR, ScanResult
from .base import WRITERS
from .folder import ModelTracks, folder_tracks
from .igv import top_locus

#: The plugin's name in a configuration's ``plugins``: JBrowse reads the plugin class from
#: ``window.JBrowsePlugin<NAME>`` once the script has run.
PLUGIN_NAME = "PopgenHub"
PLUGIN_FILE = Path(__file__).resolve().parent.parent / "browsers" / "static" / "jbrowse" / (
    "popgen-hub-plugin.js")
#: Track colours: probabilities from BigWigs (IGV's red), on demand, companion statistics.
PROBABILITY_COLOUR, ON_DEMAND_COLOUR, STATISTIC_COLOUR = "#c82828", "#1e5ac8", "#2e7d32"
#: The assembly of a scan folder's configuration: its contigs, whatever genome they are of.
ASSEMBLY = "scan"


def assembly_config(name: str, chrom_sizes_uri: str) -> dict[str, Any]:
    """An assembly of the contigs of a chrom.sizes file (no sequence: none is needed to
    draw scores)."""
    return {"name": name, "sequence": {
        "type": "ReferenceSequenceTrack", "trackId": f"{name}-contigs",
        "adapter": {"type": "ChromSizesAdapter",
                    "chromSizesLocation": {"uri": chrom_sizes_uri,
                                           "locationType": "UriLocation"}}}}


def _quantitative(track_id: str, name: str, assembly: str, adapter: dict[str, Any],
                  colour: str, probability: bool = True) -> dict[str, Any]:
    """A QuantitativeTrack drawn as an XY plot, of a probability on 0-1, else autoscaled."""
    display = {"type": "LinearWiggleDisplay", "displayId": f"{track_id}-LinearWiggleDisplay",
               **({"minScore": 0, "maxScore": 1} if probability else {}),
               "renderers": {"XYPlotRenderer": {"type": "XYPlotRenderer", "color": colour}}}
    return {"type": "QuantitativeTrack", "trackId": track_id, "name": name,
            "assemblyNames": [assembly], "category": ["popgen-hub"], "adapter": adapter,
            "displays": [display]}


def bigwig_track(track_id: str, name: str, assembly: str, uri: str, *,
                 probability: bool = True) -> dict[str, Any]:
    """A QuantitativeTrack of a BigWig: of probabilities (on 0-1), or of any values
    (autoscaled)."""
    adapter = {"type": "BigWigAdapter",
               "bigWigLocation": {"uri": uri, "locationType": "UriLocation"}}
    return _quantitative(track_id, name, assembly, adapter,
                         PROBABILITY_COLOUR if probability else STATISTIC_COLOUR, probability)


def on_demand_track(track_id: str, name: str, assembly: str, *, base_url: str, model: str,
                    label: str = "", probability: bool = True) -> dict[str, Any]:
    """A QuantitativeTrack of the scores ``popgen-hub serve`` at ``base_url`` computes for the
    region in view (P(``label``), or the model's primary score when empty; a regression's
    value, autoscaled, when not ``probability``); needs :func:`plugin_definition` in the
    configuration's ``plugins``."""
    adapter = {"type": "PopgenHubAdapter", "baseUrl": base_url, "model": model,
               "label": label, "probability": probability}
    return _quantitative(track_id, name, assembly, adapter, ON_DEMAND_COLOUR, probability)


def plugin_definition(url: str) -> dict[str, str]:
    """The ``plugins`` entry that loads the plugin file served at ``url``."""
    return {"name": PLUGIN_NAME, "url": url}


def jbrowse_config(assembly: dict[str, Any], tracks: list[dict[str, Any]], *,
                   location: str | None = None, shown: list[str] | None = None,
                   plugins: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """A JBrowse 2 configuration whose default session is a linear view of ``location``
    (a locus string, 1-based inclusive as JBrowse shows them) with the tracks ``shown``
    (track ids; default all)."""
    view: dict[str, Any] = {"assembly": assembly["name"],
                            "tracks": shown if shown is not None else
                            [track["trackId"] for track in tracks]}
    if location:
        view["loc"] = location
    return {"plugins": plugins or [], "assemblies": [assembly], "tracks": tracks,
            "defaultSession": {"name": "popgen-hub", "views": [
                {"type": "LinearGenomeView", "init": view}]}}


def bed_track(track_id: str, name: str, assembly: str, uri: str) -> dict[str, Any]:
    """A FeatureTrack of a BED file (the flagged windows)."""
    return {"type": "FeatureTrack", "trackId": track_id, "name": name,
            "assemblyNames": [assembly], "category": ["popgen-hub"],
            "adapter": {"type": "BedAdapter",
                        "bedLocation": {"uri": uri, "locationType": "UriLocation"}}}


def track_id(model: str, label: str) -> str:
    return f"{model}.{label}"


def model_tracks(entry: ModelTracks, assembly: str, uri_base: str, *, id_prefix: str = "",
                 name_suffix: str = "") -> list[dict[str, Any]]:
    """The tracks of one model's scan in a folder whose files are at ``uri_base``: its
    probabilities on 0-1 (a regression's values autoscaled), its flagged windows, the classic
    statistics autoscaled."""
    tracks = [bigwig_track(id_prefix + track_id(entry.model, label),
                           f"P({label}) {entry.model}{name_suffix}", assembly, uri_base + file)
              for label, file in entry.scores.items()]
    tracks += [bigwig_track(id_prefix + track_id(entry.model, label),
                            f"{label} {entry.model}{name_suffix}", assembly, uri_base + file,
                            probability=False) for label, file in entry.values.items()]
    if entry.flagged:
        tracks.append(bed_track(id_prefix + track_id(entry.model, "flagged"),
                                f"flagged windows {entry.model}{name_suffix}", assembly,
                                uri_base + entry.flagged))
    tracks += [bigwig_track(id_prefix + column, column + name_suffix, assembly, uri_base + file,
                            probability=False) for column, file in entry.statistics.items()]
    return tracks


@WRITERS.register("jbrowse")
def write_jbrowse(result: ScanResult, staging: Staging) -> None:
    """``jbrowse/config.json`` with every model's tracks in the folder, their URIs relative
    to it: probabilities, flagged windows, classic statistics; it opens at this scan's top
    window with this scan's tracks shown."""
    tracks: list[dict[str, Any]] = []
    shown: list[str] = []
    for entry in folder_tracks(result, staging):
        added = model_tracks(entry, ASSEMBLY, "../")
        tracks += added
        if entry.model == result.contract.name:
            shown = [track["trackId"] for track in added]
    config = jbrowse_config(assembly_config(ASSEMBLY, f"../{CHROM_SIZES}"), tracks,
                            location=top_locus(result), shown=shown)
    folder = staging.path(JBROWSE_DIR)
    folder.mkdir(exist_ok=True)
    (staging.dir / JBROWSE_CONFIG).write_text(json.dumps(config, indent=2) + "\n")
