"""IGV desktop's session file of a scan folder: ``igv_session.xml``.

File > Open Session (or ``igv igv_session.xml``) shows the folder's chrom.sizes as the genome,
every model's BigWig on a fixed 0-1 scale, the flagged-window BEDs, the classic statistics of
``scan --stats`` autoscaled, at the top window of the latest scan: the view of
``igv_batch.txt``, as a file that travels with the folder, since every path in it is relative
to the session file (IGV resolves them so). ``popgen-hub igv`` reads it
back (:func:`read_session`) to send the same tracks to a running IGV.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from ..errors import PopgenHubError
from ..files import Staging
from ..result import CHROM_SIZES, IGV_SESSION, ScanResult
from .base import WRITERS
from .folder import folder_tracks
from .igv import (
    FLAGGED,
    SCORE,
    STATISTIC,
    STATISTIC_COLOUR,
    TRACK_COLOUR,
    TRACK_HEIGHT,
    VALUE,
    IgvTrack,
    igv_tracks,
    top_locus,
)


def session_xml(tracks: list[IgvTrack], *, genome: str, locus: str) -> str:
    """IGV session (format version 8, as IGV 2.16 saves it) of ``tracks`` on ``genome``."""
    session = ET.Element("Session", genome=genome, locus=locus, version="8")
    resources = ET.SubElement(session, "Resources")
    panel = ET.SubElement(session, "Panel", name="DataPanel")
    for track in tracks:
        ET.SubElement(resources, "Resource", name=track.name, path=track.file,
                      type="bed" if track.kind == FLAGGED else "bigwig")
        if track.kind == FLAGGED:
            ET.SubElement(panel, "Track", attributeKey=track.file,
                          clazz="org.broad.igv.track.FeatureTrack", id=track.file,
                          name=track.name, visible="true")
            continue
        element = ET.SubElement(
            panel, "Track", attributeKey=track.file,
            autoScale="true" if track.kind in (STATISTIC, VALUE) else "false",
            clazz="org.broad.igv.track.DataSourceTrack",
            color=STATISTIC_COLOUR if track.kind == STATISTIC else TRACK_COLOUR,
            height=str(TRACK_HEIGHT), id=track.file, name=track.name, renderer="BAR_CHART",
            visible="true", windowFunction="mean")
        if track.kind == SCORE:
            ET.SubElement(element, "DataRange", baseline="0.0", drawBaseline="true",
                          flipAxis="false", maximum="1.0", minimum="0.0", type="LINEAR")
    ET.indent(session)
    return ET.tostring(session, encoding="unicode", xml_declaration=True) + "\n"


@WRITERS.register("igv_session")
def write_igv_session(result: ScanResult, staging: Staging) -> None:
    """The folder's IGV session on its chrom.sizes, at the top window of this scan."""
    staging.path(IGV_SESSION).write_text(session_xml(
        igv_tracks(folder_tracks(result, staging)), genome=CHROM_SIZES,
        locus=top_locus(result)))


@dataclass(frozen=True)
class Session:
    """What :func:`read_session` finds in a folder's session: paths made absolute."""

    genome: Path
    locus: str
    tracks: list[IgvTrack]


def read_session(folder: Path) -> Session:
    """The session a scan wrote into ``folder``, or an error saying how to get one."""
    path = Path(folder) / IGV_SESSION
    if not path.is_file():
        raise PopgenHubError(f"{path} not found: scan into {folder} first (`popgen-hub scan "
                             f"... -o {folder}` writes it)")
    try:
        root = ET.parse(path).getroot()
        # autoscaled: a statistic (green) or a regression's value (the scores' colour)
        autoscaled = {t.attrib["id"]: STATISTIC if t.attrib.get("color") == STATISTIC_COLOUR
                      else VALUE for t in root.iter("Track")
                      if t.attrib.get("autoScale") == "true"}
        tracks = [IgvTrack(r.attrib["name"], str((path.parent / r.attrib["path"]).resolve()),
                           FLAGGED if r.attrib.get("type") == "bed" else
                           autoscaled.get(r.attrib["path"], SCORE))
                  for r in root.iter("Resource")]
        genome, locus = root.attrib["genome"], root.attrib["locus"]
    except (ET.ParseError, KeyError) as exc:
        raise PopgenHubError(f"{path} is not a session popgen-hub wrote ({exc}); scan into "
                             f"{folder} again to rewrite it") from None
    return Session((path.parent / genome).resolve(), locus, tracks)
