"""The scan folder: what scans it holds, in its manifest ``popgen-hub.scans.json``.

A folder holds the latest scan of each model. A new scan of a model replaces, as a set, the
files the previous scan of that model wrote (those it does not write again are removed),
keeps the other models' files, and rewrites the files they share for all of them:
``scan.chrom.sizes`` (the union of their contigs; where two inputs give a contig's length,
the lengths must agree) and ``igv_batch.txt`` (every model's tracks). The manifest names, per
model, the files its scan wrote, the tracks among them, the input, regions, parameters, time
and command.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from ..errors import PopgenHubError
from ..files import Staging
from ..result import CHROM_SIZES, IGV_BATCH, SNAPSHOT, ScanResult, track_file

SCANS = "popgen-hub.scans.json"
#: the files of a scan folder that are no one model's
SHARED = (CHROM_SIZES, IGV_BATCH, SNAPSHOT, SCANS)
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
    scans[name] = {
        "files": files,
        "tracks": {label: track_file(name, label) for label in result.contract.track_labels},
        "input": result.input_name(),
        "regions": [str(region) for region in result.regions],
        "chrom_sizes": result.chrom_sizes(),
        "declared_lengths": result.declared_lengths(),
        "model": {"revision": result.contract.revision,
                  "sha256": result.contract.weights.get("sha256")},
        "parameters": parameters,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": command,
    }
    manifest = {"format": FORMAT, "shared": [file for file in SHARED if file != SCANS],
                "scans": scans}
    staging.path(SCANS).write_text(json.dumps(manifest, indent=2) + "\n")
