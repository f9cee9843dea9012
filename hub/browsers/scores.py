"""The features ``/api/scores`` answers with (see :mod:`popgen_hub.browsers.server`): scored on
demand by the scan's own code (:class:`Scorer`), or read from a finished scan's window table
(:class:`ScanTable`)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

from ..errors import PopgenHubError
from ..genotypes import Region
from ..ood import flag_text
from ..readers import Reader
from ..readers.base import input_identity
from ..readers.samples import SampleTable
from ..runtime import OnnxModel, model_sha256
from ..scoring import prepare, scan_options, score, window_starts

#: the most features a window table answers one request with
MAX_TABLE_FEATURES = 100_000


def bin_region(whole: Region, start: int, end: int, window: int, step: int) -> Region | None:
    """The windows a scan of the contig region ``whole`` has (every ``step`` bp from its
    start, a multiple of ``step``; see :func:`~popgen_hub.scoring.window_starts`) whose bins,
    their central ``step`` bp, overlap ``[start, end)``: as a region whose windows are exactly
    those (None: none does)."""
    starts = window_starts(whole, window, step)
    offset = (window - step) // 2
    first = max(starts[0], ((start - offset - step) // step + 1) * step)
    last = min(starts[-1], (end - offset - 1) // step * step)
    return None if last < first else Region(whole.contig, first, last + window)


class Scorer:
    """One model scoring the served input on demand, as ``scan`` would the same region."""

    def __init__(self, model: OnnxModel, reader: Reader | None,
                 table: SampleTable | None) -> None:
        self.model, self.reader, self.table = model, reader, table
        contract = model.contract
        self.window, self.step = scan_options(contract, None, None, 32, 1, 0)  # scan's defaults
        self.contigs: set[str] = set()
        self.with_records: set[str] = set()
        identity: Any = None
        if reader is not None:
            with_records = reader.contigs_with_records()
            self.with_records = set(with_records)
            self.contigs = {*reader.contig_lengths, *self.with_records}
            # what a scan checks before it reads (data kind, samples), the samples it reads
            # and the genome's background of a model that reads one, once: they do not
            # depend on the region
            job = prepare(model, reader, region=with_records[0] if with_records else None,
                          samples=table, progress=False)
            self.selection, self.background = job.selection, job.background
            files, settings = input_identity(reader)
            identity = [[str(f), *((st := f.stat()).st_size, st.st_mtime_ns)] for f in files]
            identity += [settings, table.path and str(table.path), table.population] if table \
                else [settings]
        self.key = json.dumps([model_sha256(model.path, contract), identity], default=str)

    def features(self, contig: str, start: int, end: int) -> list[dict[str, Any]]:
        """The scored windows whose bins overlap ``[start, end)``."""
        if contig not in self.contigs:
            raise LookupError(f"contig {contig!r} is not in the served input (its contigs: "
                              f"{', '.join(sorted(self.contigs)[:10])})")
        length = self.reader.contig_lengths.get(contig)
        if length is not None and start >= length:
            raise PopgenHubError(f"region {contig}:{start}-{end} starts after the end of "
                                 f"{contig} ({length:,} bp)")
        if contig not in self.with_records:
            return []
        # the windows a scan of the whole contig scores (from its first record, rounded down
        # to the step, to the first window that reaches past its last)
        whole = self.reader.contig_region(contig, grid=self.step)
        region = bin_region(whole, start, end, self.window, self.step)
        if region is None:
            return []
        result = score(self.model, self.reader, [region], self.selection, window=self.window,
                       step=self.step, workers=1, progress=False, background=self.background)
        labels = self.model.contract.labels
        primary = labels.index(self.model.contract.track_labels[0])
        features = []
        for index, row in enumerate(result.windows):
            p = row["probabilities"]
            if math.isnan(p[0]) or row["bin_start"] >= end or row["bin_end"] <= start:
                continue
            p_value = None if result.p_values is None else float(result.p_values[index])
            features.append({
                "chr": contig, "start": int(row["bin_start"]), "end": int(row["bin_end"]),
                "window_start": int(row["start"]), "window_end": int(row["end"]),
                "value": float(p[primary]),
                "values": {label: float(p[i]) for i, label in enumerate(labels)},
                "p_value": p_value, "flag": flag_text(row["flags"]),
                "n_informative": int(row["n_informative"])})
        return features


class ScanTable:
    """A finished scan's window table (``MODEL.windows.tsv``), read when first asked and again
    when it changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows: list[dict[str, str]] = []
        self.labels: list[str] = []
        self.classes = True  # p_CLASS columns (a classifier), else a regression's values
        self.read_at: int | None = None

    def _load(self) -> None:
        try:
            mtime = self.path.stat().st_mtime_ns
            if mtime == self.read_at:
                return
            with open(self.path, newline="") as handle:
                lines = (line for line in handle if not line.startswith("#"))
                reader = csv.DictReader(lines, delimiter="\t")
                self.rows = list(reader)
                # the outputs' columns: p_CLASS of a classifier, a regression's values
                columns = list(reader.fieldnames or ())
                outputs = columns[columns.index("n_informative_sites") + 1:
                                  columns.index("p_value")]
                self.classes = all(c.startswith("p_") for c in outputs)
                self.labels = [c[2:] if self.classes else c for c in outputs]
        except OSError as exc:
            raise PopgenHubError(f"{self.path} cannot be read ({exc.strerror or exc}): scan "
                                 f"into {self.path.parent} again") from None
        except ValueError:  # no n_informative_sites or p_value column
            raise PopgenHubError(f"{self.path} is not a window table popgen-hub wrote: scan "
                                 f"into {self.path.parent} again") from None
        self.read_at = mtime

    def features(self, contig: str, start: int, end: int) -> dict[str, Any]:
        """The scored windows whose bins overlap ``[start, end)``, with their q-values."""
        self._load()
        if not any(row["contig"] == contig for row in self.rows):
            raise LookupError(f"contig {contig!r} is not in {self.path.name}")
        try:
            return {"source": f"scan {self.path}",
                    "features": self._features(contig, start, end)}
        except (KeyError, ValueError, TypeError):
            raise PopgenHubError(f"{self.path} is not a window table popgen-hub wrote: scan "
                                 f"into {self.path.parent} again") from None

    def _features(self, contig: str, start: int, end: int) -> list[dict[str, Any]]:
        features = []
        for row in self.rows:
            prefix = "p_" if self.classes else ""
            if (row["contig"] != contig or int(row["bin_start"]) >= end
                    or int(row["bin_end"]) <= start or row[prefix + self.labels[0]] == "NA"):
                continue
            values = {label: float(row[prefix + label]) for label in self.labels}
            features.append({
                "chr": contig, "start": int(row["bin_start"]), "end": int(row["bin_end"]),
                "window_start": int(row["start"]), "window_end": int(row["end"]),
                "value": values[self.labels[1 if self.classes else 0]], "values": values,
                "p_value": _number(row["p_value"]), "q_value": _number(row["q_value"]),
                "flag": row["flag"], "n_informative": int(row["n_informative_sites"])})
            if len(features) > MAX_TABLE_FEATURES:
                raise PopgenHubError(f"more than {MAX_TABLE_FEATURES:,} windows of "
                                     f"{self.path.name} in {contig}:{start}-{end}; ask for a "
                                     f"smaller region")
        return features


def _number(text: str) -> float | None:
    return None if text == "NA" else float(text)
