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
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import numpy as np

from ..errors import PopgenHubError
from ..files import Staging
from ..ood import flag_text
from ..result import CHROM_SIZES, ScanResult, track_file, window_table_file
from .base import WRITERS
from .folder import folder_chrom_sizes


@WRITERS.register("bigwig")
def write_bigwigs(result: ScanResult, staging: Staging) -> None:
    """One BigWig of P(label) per track label (of the value, for a regression), and one of
    the smoothed P the model calls windows on, where its decision threshold smooths."""
    is_scored = ~np.isnan(result.windows["probabilities"][:, 0])
    lengths = result.chrom_sizes()
    tracks = {label: result.windows["probabilities"][:, result.contract.labels.index(label)]
              for label in result.contract.track_labels}
    if smoothed := result.smoothed_track():
        tracks[smoothed[0]] = smoothed[1]
    rows = [np.flatnonzero(is_scored & (result.windows["contig"] == index))
            for index in range(len(result.contigs))]
    for label, values in tracks.items():
        write_bigwig(staging.path(track_file(result.contract.name, label)),
                     {contig: lengths[contig] for contig in result.contigs},
                     ((contig, result.windows["bin_start"][at], result.windows["bin_end"][at],
                       values[at]) for contig, at in zip(result.contigs, rows, strict=True)))


def write_bigwig(path: Path, lengths: dict[str, int],
                 intervals: Iterable[tuple[str, np.ndarray, np.ndarray, np.ndarray]]) -> None:
    """A BigWig of the contigs of ``lengths`` (in its order) holding ``intervals``: per contig,
    in that order, sorted non-overlapping starts, ends and values, cut to the contig's length;
    pyBigWig's failure as one line."""
    import pyBigWig

    with _library_stderr_held() as held:
        bw = pyBigWig.open(str(path), "w")
        try:
            bw.addHeader(list(lengths.items()), maxZooms=10)
            for contig, starts, ends, values in intervals:
                starts = np.minimum(starts, lengths[contig] - 1)
                ends = np.minimum(ends, lengths[contig])
                keep = ends > starts
                if keep.any():
                    bw.addEntries([contig] * int(keep.sum()), starts[keep].tolist(),
                                  ends=ends[keep].tolist(),
                                  values=values[keep].astype(float).tolist())
        except RuntimeError as exc:  # pyBigWig says only that writing failed
            raise _bigwig_error(path, exc, held) from None
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
    """Every window with data: coordinates, site counts, class probabilities (a regression's
    values), the smoothed P the model calls windows on (where its decision threshold smooths),
    the p- and q-value of its score ("NA" where the window is unscored or the model stores no
    null), and why its input is unlike the training data (``flag``: reasons joined by ',', or
    empty)."""
    missing = np.full(len(result.windows), np.nan)
    p_values, q_values = (missing, missing) if result.p_values is None else (
        result.p_values, result.q_values)
    track = result.smoothed_track()
    smoothed = [] if track is None else [f"p_{track[0]}"]
    called = missing if track is None else track[1]
    with open(staging.path(window_table_file(result.contract.name)), "w") as out:
        for key, value in result.header().items():
            text = value if isinstance(value, str) else json.dumps(value)
            out.write(f"# {key}: {text}\n")
        out.write("\t".join(["contig", "start", "end", "bin_start", "bin_end", "n_sites",
                             "n_informative_sites", *result.contract.output_columns,
                             *smoothed, "p_value", "q_value", "flag"]) + "\n")
        for row, score, p_value, q_value in zip(result.windows, called, p_values, q_values,
                                                strict=True):
            scores = [*row["probabilities"], *([score] if smoothed else [])]
            probs = "\t".join(number_text(value) for value in scores)
            out.write(f"{result.contigs[row['contig']]}\t{row['start']}\t{row['end']}\t"
                      f"{row['bin_start']}\t{row['bin_end']}\t{row['n_sites']}\t"
                      f"{row['n_informative']}\t{probs}\t{number_text(p_value)}\t{number_text(q_value)}"
                      f"\t{flag_text(row['flags'])}\n")


def number_text(value: float) -> str:
    """A table cell: 6 significant digits, NA for NaN."""
    return "NA" if np.isnan(value) else f"{value:.6g}"


@WRITERS.register("chrom_sizes")
def write_chrom_sizes(result: ScanResult, staging: Staging) -> None:
    """The contigs of every scan in the output folder (see :mod:`popgen_hub.writers.folder`)."""
    with open(staging.path(CHROM_SIZES), "w") as out:
        for contig, length in folder_chrom_sizes(result, staging).items():
            out.write(f"{contig}\t{length}\n")
