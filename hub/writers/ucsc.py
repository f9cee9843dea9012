"""The UCSC Genome Browser track hub of a scan folder: ``hub.txt``, one file
(``useOneFile on``) with the hub, genome and track stanzas.

Put the folder on a web server that answers byte-range requests (``popgen-hub serve`` does)
and paste the URL of ``hub.txt`` into UCSC's Track Data Hubs page. Every model's tracks in the
folder are in it, each ``bigDataUrl`` relative to ``hub.txt``: a model with one track class
gets a bigWig track, a model with several a composite track (``compositeTrack on``) with one
subtrack per class. Every track is drawn on 0-1 (``viewLimits 0:1``, ``autoScale off``) with a
line at P = 0.5 (the class outweighs the others together), the primary class's at the decision
threshold the model's contract stores, if any (``popgen-hub calibrate --decision-threshold``).
The classic statistics of ``scan --stats`` follow, autoscaled, in one composite track
``statistics`` when there are several.

UCSC shows hubs only on assemblies it has. The ``genome`` line names the assembly the writer
is given (a scan's ``--genome`` that is no file: :func:`ucsc_assembly`), else the UCSC
assembly that the contig lengths in the inputs' headers match (:data:`ASSEMBLIES`: hg38,
hg19, with UCSC or Ensembl contig names; UCSC aliases the latter).
Headers are not always right: the 1000 Genomes LCT VCF of GRCh38 positions in the shared data
keeps its GRCh37 header, and is taken for hg19. Check the line; for any other assembly, replace
the placeholder :data:`UNKNOWN_ASSEMBLY` with its UCSC name, or its GenArk accession
(``GCF_...``), which UCSC also accepts. A hub on contigs UCSC has no sequence for (a
simulation's) cannot be shown there.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from ..decision import DEFAULT_THRESHOLD
from ..files import Staging
from ..result import UCSC_HUB, ScanResult
from ..version import __version__
from .base import WRITERS
from .folder import folder_tracks, other_scans
from .igv import STATISTIC_COLOUR

#: The ``genome`` of a hub whose contigs match no assembly in :data:`ASSEMBLIES`.
UNKNOWN_ASSEMBLY = "unknownAssembly"
#: A hub must name a contact; ``$EMAIL`` when set, else this placeholder.
PLACEHOLDER_EMAIL = "maintainer@example.org"
#: UCSC shows this many characters of a shortLabel and a longLabel
SHORT_LABEL, LONG_LABEL = 17, 76
#: Track colours (R,G,B) by class, in the order of the model's track labels: IGV's blue first.
COLOURS = ("0,0,178", "178,34,34", "0,128,0", "255,140,0", "128,0,128", "0,139,139")
#: endings of the genome files a scan's --genome may name for IGV (UCSC wants a name)
GENOME_FILES = (".fa", ".fasta", ".fna", ".gz", ".sizes", ".json", ".genome", ".2bit")

#: Lengths of the primary chromosomes by UCSC assembly, named without the "chr" prefix:
#: GRCh38 from stdpopsim's HomSap catalogue, GRCh37 from the 1000 Genomes b37 header.
ASSEMBLIES = {
    "hg38": {"1": 248956422, "2": 242193529, "3": 198295559, "4": 190214555,
             "5": 181538259, "6": 170805979, "7": 159345973, "8": 145138636,
             "9": 138394717, "10": 133797422, "11": 135086622, "12": 133275309,
             "13": 114364328, "14": 107043718, "15": 101991189, "16": 90338345,
             "17": 83257441, "18": 80373285, "19": 58617616, "20": 64444167,
             "21": 46709983, "22": 50818468, "X": 156040895, "Y": 57227415},
    "hg19": {"1": 249250621, "2": 243199373, "3": 198022430, "4": 191154276,
             "5": 180915260, "6": 171115067, "7": 159138663, "8": 146364022,
             "9": 141213431, "10": 135534747, "11": 135006516, "12": 133851895,
             "13": 115169878, "14": 107349540, "15": 102531392, "16": 90354753,
             "17": 81195210, "18": 78077248, "19": 59128983, "20": 63025520,
             "21": 48129895, "22": 51304566, "X": 155270560, "Y": 59373566},
}


def recognised_assembly(lengths: dict[str, int]) -> str | None:
    """The assembly of :data:`ASSEMBLIES` whose primary chromosomes have the lengths that
    ``lengths`` (contig -> length from an input's header) gives them, at least one of them
    (other contigs, e.g. chrM or decoys, are not compared); None otherwise."""
    named = {contig.removeprefix("chr"): length for contig, length in lengths.items()}
    for assembly, sizes in ASSEMBLIES.items():
        primary = {contig: length for contig, length in named.items() if contig in sizes}
        if primary and all(sizes[contig] == length for contig, length in primary.items()):
            return assembly
    return None


def ucsc_assembly(genome: str | None) -> str | None:
    """The UCSC assembly named by a scan's ``--genome`` (an IGV genome id such as ``hg38``);
    None when it names a file (a FASTA, a chrom.sizes), which UCSC cannot take."""
    if not genome or "/" in genome or os.sep in genome or Path(genome).exists() or \
            genome.lower().endswith(GENOME_FILES):
        return None
    return genome


def track_id(*parts: str) -> str:
    """A UCSC track name: letters, digits and underscores, starting with a letter."""
    name = re.sub(r"[^A-Za-z0-9]+", "_", "_".join(parts)).strip("_")
    return name if name[:1].isalpha() else f"track_{name}"


def _stanza(settings: dict[str, Any], indent: str = "") -> str:
    return "".join(f"{indent}{key} {value}\n" for key, value in settings.items())


def _display(label: str, colour: str, threshold: float) -> dict[str, Any]:
    """Settings of one bigWig track of P(label), a line at ``threshold``."""
    return {"type": "bigWig 0 1", "shortLabel": f"P({label})"[:SHORT_LABEL], "visibility": "full",
            "viewLimits": "0:1", "autoScale": "off", "maxHeightPixels": "128:64:16",
            "yLineMark": f"{threshold:g}", "yLineOnOff": "on", "color": colour}


def _grouped(composite: dict[str, Any], children: list[dict[str, Any]]) -> str:
    """One track's stanza alone, or several as the subtracks of ``composite``."""
    if len(children) == 1:
        return _stanza(children[0])
    return "\n".join([_stanza({**composite, "compositeTrack": "on", "visibility": "full"}),
                      *(_stanza({**child, "parent": f"{composite['track']} on"}, indent="    ")
                        for child in children)])


def model_stanzas(model: str, tracks: dict[str, str], revision: str,
                  thresholds: dict[str, float]) -> str:
    """The stanzas of one model's tracks (class label -> BigWig file in the folder), each with
    a line at its threshold (0.5 where ``thresholds`` has none)."""
    about = f"{model} (revision {revision})"
    return _grouped(
        {"track": track_id(model),
         "shortLabel": model.partition(".")[2][:SHORT_LABEL] or model[:SHORT_LABEL],
         "longLabel": f"P(class) of {about}"[:LONG_LABEL], "type": "bigWig 0 1"},
        [{"track": track_id(model, label), "bigDataUrl": file,
          **_display(label, COLOURS[index % len(COLOURS)],
                     thresholds.get(label, DEFAULT_THRESHOLD)),
          "longLabel": f"P({label}) of {about}"[:LONG_LABEL]}
         for index, (label, file) in enumerate(tracks.items())])


def value_stanzas(model: str, values: dict[str, str], revision: str) -> str:
    """The stanzas of a regression's values (label -> BigWig file), autoscaled."""
    return "\n".join(_stanza({
        "track": track_id(model, label), "bigDataUrl": file, "type": "bigWig",
        "shortLabel": label[:SHORT_LABEL], "visibility": "full", "autoScale": "on",
        "maxHeightPixels": "128:64:16", "color": COLOURS[0],
        "longLabel": f"{label} of {model} (revision {revision})"[:LONG_LABEL]})
        for label, file in values.items())


def statistics_stanzas(statistics: dict[str, tuple[str, str]]) -> str:
    """The stanzas of the classic statistics (value column -> (BigWig file, the model whose
    scan wrote it)), autoscaled, grouped in a composite track when there are several."""
    return _grouped(
        {"track": "statistics", "shortLabel": "statistics",
         "longLabel": "Classic statistics (scan --stats), autoscaled", "type": "bigWig"},
        [{"track": track_id("statistics", column), "bigDataUrl": file, "type": "bigWig",
          "shortLabel": column[:SHORT_LABEL], "visibility": "full", "autoScale": "on",
          "maxHeightPixels": "128:64:16", "color": STATISTIC_COLOUR,
          "longLabel": f"{column} of the samples {model} scanned"[:LONG_LABEL]}
         for column, (file, model) in statistics.items()])


@WRITERS.register("ucsc_hub")
def write_ucsc_hub(result: ScanResult, staging: Staging, *, assembly: str | None = None) -> None:
    """``hub.txt`` with every model's tracks in the folder, this scan's last, then the
    statistics; ``assembly``: the UCSC name of the contigs' assembly (default: recognised
    from their lengths)."""
    models = folder_tracks(result, staging)
    lengths = dict(result.declared_lengths())
    for entry in other_scans(result, staging).values():
        lengths.update(entry.get("declared_lengths", {}))
    assembly = assembly or recognised_assembly(lengths) or UNKNOWN_ASSEMBLY
    text = _stanza({"hub": "popgen_hub", "shortLabel": "popgen-hub scans",
                    "longLabel": f"popgen-hub {__version__}: "
                                 f"{', '.join(entry.model for entry in models)}"[:LONG_LABEL],
                    "useOneFile": "on",
                    "email": os.environ.get("EMAIL") or PLACEHOLDER_EMAIL})
    if assembly == UNKNOWN_ASSEMBLY:
        text += (f"\n# {UNKNOWN_ASSEMBLY}: the contigs' lengths match no assembly popgen-hub "
                 f"knows (hg38, hg19); write the UCSC name of theirs here\n")
    text += "\n" + _stanza({"genome": assembly})
    for entry in models:
        if entry.scores:  # none when another model's files are gone from the folder
            text += "\n" + model_stanzas(entry.model, entry.scores, entry.revision,
                                           entry.thresholds)
        if entry.values:
            text += "\n" + value_stanzas(entry.model, entry.values, entry.revision)
    statistics = {column: (file, entry.model) for entry in models
                  for column, file in entry.statistics.items()}
    if statistics:
        text += "\n" + statistics_stanzas(statistics)
    staging.path(UCSC_HUB).write_text(text)
