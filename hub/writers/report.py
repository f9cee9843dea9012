"""``report.html``: the scan folder in igv.js, with the top windows, the model, thresholds and
flags.

The page (built by :mod:`popgen_hub.browsers.igvjs`, as ``popgen-hub serve``'s own page is)
shows every model's BigWigs in the folder, their flagged windows and the classic statistics of
``scan --stats`` (autoscaled, in green), on the folder's chrom.sizes; the top windows of this
scan are links that move the view. igv.js is copied beside it (``igv.min.js``, 1.5 MB: a
separate file rather than inlined, so that the report stays readable and the script is
cached). Browsers do not let a page opened from ``file://``
read the BigWigs beside it: the tables show anyway, the tracks through ``popgen-hub serve
OUTDIR`` (or any web server with Range support).
"""

from __future__ import annotations

import shutil
from functools import partial

import numpy as np

from ..browsers.igvjs import (
    IGV_SCRIPT,
    Page,
    bed_track,
    bigwig_track,
    igv_script,
    statistic_track,
)
from ..calibration import Q_THRESHOLD
from ..files import Staging
from ..ood import flag_summary, flag_text
from ..result import CHROM_SIZES, REPORT, ScanResult
from .base import WRITERS
from .folder import folder_tracks
from .igv import FLAGGED, SCORE, STATISTIC, VALUE, igv_tracks

TOP_WINDOWS = 20  # rows of the top-windows table
#: the igv.js track of each kind of IGV track (:class:`~popgen_hub.writers.igv.IgvTrack`)
DRAW = {SCORE: bigwig_track, STATISTIC: statistic_track, FLAGGED: bed_track,
        VALUE: partial(statistic_track, color="rgb(200,40,40)")}  # autoscaled, scores' red


@WRITERS.register("report")
def write_report(result: ScanResult, staging: Staging) -> None:
    """The igv.js page of the folder (run after the track writers and chrom.sizes)."""
    name = result.contract.name
    shown = igv_tracks(folder_tracks(result, staging))  # named as in IGV desktop
    tracks = [DRAW[track.kind](track.file, track.name) for track in shown]
    columns, rows = top_rows(result)
    page = Page(title=f"popgen-hub scan: {name}",
                reference={"id": "scan", "name": "scan contigs", "format": "chromsizes",
                           "url": CHROM_SIZES},
                tracks=tracks, locus=rows[0][0] if rows else None,
                facts=facts(result, [t.name for t in shown if t.kind == STATISTIC]),
                columns=columns, rows=rows)
    staging.path(REPORT).write_text(page.html())
    shutil.copyfile(igv_script(), staging.path(IGV_SCRIPT))


def top_rows(result: ScanResult) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """The table of the top windows by the primary log-odds (a regression's highest values):
    columns, and per row the window's igv.js locus (1-based, inclusive) and the cells."""
    contract = result.contract
    primary = contract.track_labels[0]
    probabilities = result.windows["probabilities"]
    scored = np.flatnonzero(~np.isnan(probabilities[:, 0]))
    odds = result.log_odds(result.windows[scored], primary)
    order = np.argsort(-odds, kind="stable")[:TOP_WINDOWS]
    regression = contract.output_kind == "regression"
    columns = [*(label if regression else f"P({label})" for label in contract.track_labels),
               *([] if regression else [f"log-odds {primary}"]),
               "p_value", "q_value", "informative sites", "flag"]
    rows = []
    for rank in order:
        index = scored[rank]
        row = result.windows[index]
        locus = f"{result.contigs[row['contig']]}:{row['start'] + 1}-{row['end']}"
        shown = ".3g" if regression else ".3f"  # values of any size; probabilities
        cells = [f"{probabilities[index, contract.labels.index(label)]:{shown}}"
                 for label in contract.track_labels]
        cells += [] if regression else [f"{odds[rank]:.1f}"]
        for values in (result.p_values, result.q_values):
            cells.append("NA" if values is None or np.isnan(values[index])
                         else f"{values[index]:.3g}")
        cells += [str(row["n_informative"]), flag_text(row["flags"])]
        rows.append((locus, cells))
    return columns, rows


def facts(result: ScanResult, statistics: list[str]) -> dict[str, str]:
    """The model, the input, the thresholds, the flags and the ``statistics`` shown beside
    the scores, in words."""
    header = result.header()
    primary = result.contract.track_labels[0]
    facts = {key: str(header[key]) for key in ("model", "input", "regions", "coordinates")}
    facts["windows"] = (f"{len(result.windows):,} of {result.window:,} bp every "
                        f"{result.step:,} bp ({len(result.scored()):,} scored); "
                        f"{result.samples_read()}")
    if result.contract.output_kind == "regression":
        facts["values"] = (f"{primary}, estimated per window (a regression: autoscaled, no "
                           f"threshold)")
    else:
        facts["decision threshold"] = (f"{header['decision_threshold']}; "
                                       f"{result.n_called():,} windows above it (the tracks "
                                       f"run 0 to 1)")
    if result.q_values is None:
        facts["significance"] = header["p_value"]
    else:
        passing = int((result.q_values < Q_THRESHOLD).sum())
        facts["significance"] = (f"{passing:,} windows pass q < {Q_THRESHOLD}; "
                                 f"{header['p_value']}")
    facts["flags"] = flag_summary(result.contract.name, result.windows["flags"]) or header["flag"]
    if statistics:
        facts["statistics"] = (f"{', '.join(statistics)} (green, each on its own scale: "
                               f"scan --stats)")
    return facts
