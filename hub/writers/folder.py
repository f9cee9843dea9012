"""The scan folder: what scans it holds, in its manifest ``popgen-hub.scans.json``.

A folder holds the latest scan of each model. A new scan of a model replaces, as a set, the
files the previous scan of that model wrote (those it does not write again are removed),
keeps the other models' files, and rewrites the files they share for all of them:
``scan.chrom.sizes`` (the union of their contigs; where two inputs give a contig's length,
the lengths must agree) and the genome-browser files (:data:`SHARED`: every model's tracks,
as :func:`folder_tracks` lists them). The manifest names, per model, oldest scan first, the
files its scan wrote, the tracks and statistics among them, the input, regions, parameters,
time and command.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import PopgenHubError
from ..files import Staging
from ..result import (
    CHROM_SIZES,
    IGV_BATCH,
    IGV_SCRIPT,
    IGV_SESSION,
    JBROWSE_DIR,
    REPORT,
    SNAPSHOT,
    UCSC_HUB,
    ScanResult,
    flagged_file,
    track_file,
)

SCANS = "popgen-hub.scans.json"
#: the files of a scan folder that are no one model's (JBrowse's configuration is staged and
#: published as its folder)
SHARED = (CHROM_SIZES, IGV_BATCH, SNAPSHOT, IGV_SESSION, UCSC_HUB, REPORT, IGV_SCRIPT,
          JBROWSE_DIR, SCANS)
FORMAT = 1


def read_scans(folder: Path) -> dict[str, dict[str, Any]]:
    """Model name -> what its scan in ``folder`` wrote (empty without a manifest)."""
    path = folder / SCANS
    if not path.is_file():
        return {}
    try:
        scans = json.loads(path.read_text())["scans"]
        if not all(isinstance(entry, dict) for entry in scans.values()):
            raise TypeError
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise PopgenHubError(f"{path} is not a popgen-hub scan manifest; delete it (the scans "
                             f"in {folder} are then forgotten) or choose another -o "
                             f"directory") from None
    return scans


def other_scans(result: ScanResult, staging: Staging) -> dict[str, dict[str, Any]]:
    """The scans of the other models in the output folder."""
    return {model: entry for model, entry in read_scans(staging.out_dir).items()
            if model != result.contract.name}


@dataclass(frozen=True)
class ModelTracks:
    """What a genome browser shows of one model's scan in a folder; files by name, in it."""

    model: str
    revision: str
    scores: dict[str, str]  # class label -> BigWig of P(label), drawn on 0-1
    flagged: str | None  # the BED of the windows outside the training data
    statistics: dict[str, str]  # value column -> BigWig of a classic statistic, autoscaled
    #: a regression's output label -> BigWig of its values, autoscaled
    values: dict[str, str] = field(default_factory=dict)
    #: class label -> the P above which the model calls a window, where its contract stores
    #: a decision threshold (0.5 elsewhere)
    thresholds: dict[str, float] = field(default_factory=dict)


def folder_tracks(result: ScanResult, staging: Staging) -> list[ModelTracks]:
    """Every model's tracks in the output folder: the other models' (those of their files
    still there), oldest scan first, then this scan's. A statistics file this scan writes is
    this scan's, whichever scan wrote it before (:func:`record_scan` records it so)."""
    taken = set(result.statistics.values())
    models = [_recorded_tracks(model, entry, staging.out_dir, taken)
              for model, entry in other_scans(result, staging).items()]
    name = result.contract.name
    scores, values = score_tracks(result)
    models.append(ModelTracks(
        name, str(result.contract.revision), scores,
        flagged_file(name) if flagged_file(name) in staging.names else None,
        dict(result.statistics), values, model_thresholds(result)))
    return models


def model_thresholds(result: ScanResult) -> dict[str, float]:
    """Class label -> the scan's model's decision threshold, where it stores one."""
    threshold = result.threshold
    return ({} if threshold is None or not threshold.stored
            else {threshold.called_label: threshold.value})


def score_tracks(result: ScanResult) -> tuple[dict[str, str], dict[str, str]]:
    """A scan's own tracks, label -> BigWig: a classifier's probabilities (drawn on 0-1), or
    a regression's values (drawn autoscaled)."""
    labels = list(result.contract.track_labels)
    if smoothed := result.smoothed_track():  # the smoothed P the model calls windows on
        labels.append(smoothed[0])
    tracks = {label: track_file(result.contract.name, label) for label in labels}
    return ({}, tracks) if result.contract.output_kind == "regression" else (tracks, {})


def scanned_tracks(folder: Path) -> list[ModelTracks]:
    """Every model's tracks in a published scan folder, as :func:`folder_tracks` lists them."""
    return [_recorded_tracks(model, entry, folder) for model, entry in read_scans(folder).items()]


def _recorded_tracks(model: str, entry: dict[str, Any], folder: Path,
                     taken: Collection[str] = ()) -> ModelTracks:
    """The tracks of ``model`` that its manifest ``entry`` names, those still in ``folder``
    and not ``taken`` by a newer scan."""
    def there(file: str) -> bool:
        return (folder / file).is_file()

    flagged = flagged_file(model)
    return ModelTracks(
        model, str(entry.get("model", {}).get("revision")),
        {label: file for label, file in entry.get("tracks", {}).items() if there(file)},
        flagged if flagged in entry.get("files", []) and there(flagged) else None,
        {column: file for column, file in entry.get("statistics", {}).items()
         if file not in taken and there(file)},
        {label: file for label, file in entry.get("values", {}).items() if there(file)},
        dict(entry.get("model", {}).get("thresholds", {})))


def folder_chrom_sizes(result: ScanResult, staging: Staging) -> dict[str, int]:
    """Contig lengths of this scan and the others in the folder. A length from an input's
    header must agree with the others'; lengths taken from the windows (no header length)
    give way to it, or to the longest."""
    sizes = result.chrom_sizes()
    declared = result.declared_lengths()
    for model, entry in other_scans(result, staging).items():
        theirs = entry.get("declared_lengths", {})
        for contig, length in entry.get("chrom_sizes", {}).items():
            if contig in declared and contig in theirs and declared[contig] != theirs[contig]:
                raise PopgenHubError(
                    f"{staging.final(CHROM_SIZES)}: contig {contig} is {declared[contig]:,} bp "
                    f"in {result.input_name()} but {theirs[contig]:,} bp in "
                    f"{entry.get('input')}, which {model} scanned into this folder; scan inputs "
                    f"of one assembly into one folder, or choose another -o directory")
            if contig in theirs:
                declared.setdefault(contig, theirs[contig])
            sizes[contig] = declared.get(contig) or max(sizes.get(contig, 0), int(length))
    return sizes


def _own_files(names: list[str]) -> list[str]:
    return [name for name in dict.fromkeys(names) if name not in SHARED]


def record_scan(result: ScanResult, staging: Staging, parameters: dict[str, Any],
                command: str = "") -> None:
    """Write the folder's manifest with this scan in it (after every writer: it lists their
    files), and mark the files the previous scan of this model wrote, and this one does not,
    obsolete (removed when the scan is published)."""
    scans = read_scans(staging.out_dir)
    name = result.contract.name
    files = _own_files(staging.names)
    others = {file for model, entry in scans.items() if model != name
              for file in entry.get("files", [])}
    staging.obsolete += [file for file in scans.get(name, {}).get("files", [])
                         if file not in files and file not in others and file not in SHARED
                         and Path(file).name == file and not file.startswith(".")]
    scans.pop(name, None)  # the manifest lists the scans oldest first
    for entry in scans.values():  # statistics files this scan wrote again are now its own
        entry["statistics"] = {column: file for column, file in
                               entry.get("statistics", {}).items() if file not in files}
        entry["files"] = [file for file in entry.get("files", []) if file not in files]
    scores, values = score_tracks(result)
    scans[name] = {
        "files": files,
        "tracks": scores,
        **({"values": values} if values else {}),
        "statistics": result.statistics,
        "input": result.input_name(),
        "regions": [str(region) for region in result.regions],
        "chrom_sizes": result.chrom_sizes(),
        "declared_lengths": result.declared_lengths(),
        "model": {"revision": result.contract.revision, "thresholds": model_thresholds(result),
                  "sha256": result.contract.weights.get("sha256")},
        "parameters": parameters,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": command,
    }
    manifest = {"format": FORMAT, "shared": [file for file in SHARED if file != SCANS],
                "scans": scans}
    staging.path(SCANS).write_text(json.dumps(manifest, indent=2) + "\n")
