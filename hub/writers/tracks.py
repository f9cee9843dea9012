"""BigWig, TSV and chrom.sizes writers for a :class:`~popgen_hub.result.ScanResult`.

Coordinates are 0-based half-open everywhere. Overlapping windows become non-overlapping
BigWig bins: each window's score covers its central ``step`` base pairs, so consecutive
windows tile the scanned region.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..errors import PopgenHubError
from ..files import Staging
from ..ood import flag_text
from ..result import CHROM_SIZES, ScanResult, track_file, window_table_file
from .base import WRITERS
from .folder import folder_chrom_sizes


@WRITERS.register("bigwig")
def write_bigwigs(result: ScanResult, staging: Staging) -> None:
    """One BigWig of P(label) per track label."""
    import pyBigWig

    scored = result.scored()
    lengths = result.chrom_sizes()
    for label in result.contract.track_labels:
        column = result.contract.labels.index(label)
        path = staging.path(track_file(result.contract.name, label))
        with _library_stderr_held() as held:
            try:
                _write_track(pyBigWig.open(str(path), "w"), result, scored, lengths, column)
            except RuntimeError as exc:  # pyBigWig says only that writing failed
                raise _bigwig_error(path, exc, held) from None


def _write_track(bw: Any, result: ScanResult, scored: np.ndarray, lengths: dict[str, int],
                 column: int) -> None:
    try:
        bw.addHeader([(c, lengths[c]) for c in result.contigs], maxZooms=10)
        for index, contig in enumerate(result.contigs):
            rows = scored[scored["contig"] == index]
            starts = np.minimum(rows["bin_start"], lengths[contig] - 1)
            ends = np.minimum(rows["bin_end"], lengths[contig])
            keep = ends > starts
            if keep.any():
                bw.addEntries([contig] * int(keep.sum()), starts[keep].tolist(),
                              ends=ends[keep].tolist(),
                              values=rows["probabilities"][keep, column].astype(float).tolist())
    finally:
        bw.close()


#: Free space under which a failed BigWig write is taken for a full disk.
FULL_DISK_BYTES = 1 << 20


def _bigwig_error(path: Path, exc: RuntimeError, held: IO[bytes]) -> Exception:
    """pyBigWig's error as what it almost always is, a full disk (ENOSPC, which the command
    line reports in one line, naming the output folder), else the file named with what the
    library said."""
    if shutil.disk_usage(path.parent).free < FULL_DISK_BYTES:
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    held.seek(0)
    said = " ".join(held.read().decode(errors="replace").split())
    return PopgenHubError(f"cannot write {path.name}: {exc}{'; ' + said if said else ''}")


@contextmanager
def _library_stderr_held() -> Iterator[IO[bytes]]:
    """libBigWig writes its complaints to the process's stderr (file descriptor 2): hold them
    in a temporary file instead, so that a failure is one line."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield held
        finally:
            os.dup2(saved, 2)
            os.close(saved)


@WRITERS.register("window_table")
def write_window_table(result: ScanResult, staging: Staging) -> None:
    """Every window with data: coordinates, site counts, class probabilities, the p- and
    q-value of its score ("NA" where the window is unscored or the model stores no null), and
    why its input is unlike the training data (``flag``: reasons joined by ',', or empty)."""
    labels = result.contract.labels
    missing = np.full(len(result.windows), np.nan)
    p_values, q_values = (missing, missing) if result.p_values is None else (
        result.p_values, result.q_values)
    with open(staging.path(window_table_file(result.contract.name)), "w") as out:
        for key, value in result.header().items():
            text = value if isinstance(value, str) else json.dumps(value)
            out.write(f"# {key}: {text}\n")
        out.write("\t".join(["contig", "start", "end", "bin_start", "bin_end", "n_sites",
                             "n_informative_sites", *(f"p_{label}" for label in labels),
                             "p_value", "q_value", "flag"]) + "\n")
        for row, p_value, q_value in zip(result.windows, p_values, q_values, strict=True):
            probs = "\t".join(_number(p) for p in row["probabilities"])
            out.write(f"{result.contigs[row['contig']]}\t{row['start']}\t{row['end']}\t"
                      f"{row['bin_start']}\t{row['bin_end']}\t{row['n_sites']}\t"
                      f"{row['n_informative']}\t{probs}\t{_number(p_value)}\t{_number(q_value)}"
                      f"\t{flag_text(row['flags'])}\n")


def _number(value: float) -> str:
    return "NA" if np.isnan(value) else f"{value:.6g}"


@WRITERS.register("chrom_sizes")
def write_chrom_sizes(result: ScanResult, staging: Staging) -> None:
    """The contigs of every scan in the output folder (see :mod:`popgen_hub.writers.folder`)."""
    with open(staging.path(CHROM_SIZES), "w") as out:
        for contig, length in folder_chrom_sizes(result, staging).items():
            out.write(f"{contig}\t{length}\n")
