"""What a scan produces: :class:`ScanResult` (windows, probabilities, provenance) and the names
of the files written for it. Scoring fills a result; writers read it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .contract import ModelContract
from .genotypes import ReadStats, Region
from .version import __version__

#: Shared files of a scan folder; IGV recognises a chrom.sizes genome by the ending.
CHROM_SIZES = "scan.chrom.sizes"
IGV_BATCH = "igv_batch.txt"
SNAPSHOT = "igv_snapshot.png"


def track_file(model: str, label: str) -> str:
    """The BigWig of P(label) of ``model``."""
    return f"{model}.{label}.bw"


def window_table_file(model: str) -> str:
    return f"{model}.windows.tsv"


def window_dtype(n_classes: int) -> np.dtype:
    """One row per window with data; ``contig`` indexes :attr:`ScanResult.contigs`."""
    return np.dtype([("contig", np.int32), ("start", np.int64), ("end", np.int64),
                     ("bin_start", np.int64), ("bin_end", np.int64), ("n_sites", np.int32),
                     ("n_informative", np.int32), ("probabilities", np.float32, (n_classes,))])


@dataclass
class ScanResult:
    """Everything a scan produced, with the provenance every output carries."""

    contract: ModelContract
    vcf: Path  # the input file
    regions: list[Region]
    window: int
    step: int
    seed: int
    n_available_haplotypes: int
    haplotypes: list[tuple[str, int]]
    provider: str
    contig_lengths: dict[str, int | None]
    windows: np.ndarray
    stats: ReadStats
    #: file name -> final path of every file written; writers find the others' files here
    outputs: dict[str, Path] = field(default_factory=dict)
    #: temporal models: the haplotypes used per time bin, and the rules applied
    time_bins: str = ""

    @property
    def contigs(self) -> list[str]:
        """Contig names; ``windows["contig"]`` indexes this list."""
        return [region.contig for region in self.regions]

    def chrom_sizes(self) -> dict[str, int]:
        """Lengths for the track headers: from the VCF header, else the last bin's end."""
        sizes = {}
        for index, contig in enumerate(self.contigs):
            rows = self.windows[self.windows["contig"] == index]
            furthest = int(max(rows["bin_end"].max(), rows["end"].max())) if len(rows) else 1
            sizes[contig] = self.contig_lengths.get(contig) or furthest
        return sizes

    def declared_lengths(self) -> dict[str, int]:
        """The contig lengths the input's header gives (contigs without one left out)."""
        return {c: n for c in self.contigs if (n := self.contig_lengths.get(c))}

    def scored(self) -> np.ndarray:
        return self.windows[~np.isnan(self.windows["probabilities"][:, 0])]

    def log_odds(self, windows: np.ndarray, label: str) -> np.ndarray:
        """log P(label) / P(null class) of scored windows.

        Probabilities near 1 saturate in float32 while the null class's stays resolvable
        (e.g. 1e-9), so windows are ranked by log-odds, not by probability.
        """
        probabilities = np.maximum(windows["probabilities"].astype(np.float64), 1e-300)
        column = self.contract.labels.index(label)
        return np.log(probabilities[:, column]) - np.log(probabilities[:, 0])

    def ranked(self, label: str | None = None) -> np.ndarray:
        """Scored windows, most likely ``label`` (default: the first track label) first."""
        scored = self.scored()
        odds = self.log_odds(scored, label or self.contract.track_labels[0])
        return scored[np.argsort(-odds, kind="stable")]

    def top_window(self) -> np.void:
        return self.ranked()[0]

    def header(self) -> dict[str, Any]:
        c = self.contract
        return {
            "popgen-hub": __version__,
            "model": f"{c.name} (revision {c.revision}, sha256 {c.weights.get('sha256', 'n/a')})",
            "labels": ", ".join(c.labels),
            "input": str(self.vcf.resolve()),
            "regions": ", ".join(map(str, self.regions)),
            "coordinates": "0-based half-open; the BigWig holds each window's score on "
                           "[bin_start, bin_end)",
            "window_bp": self.window,
            "step_bp": self.step,
            "haplotypes": (f"{len(self.haplotypes)}, by time bin (see time_bins)"
                           if self.time_bins else
                           f"{len(self.haplotypes)} of {self.n_available_haplotypes} "
                           f"(rule {c.input.haplotype_rule}, seed {self.seed})"),
            **({"time_bins": self.time_bins} if self.time_bins else {}),
            "encoder": c.encoder,
            "min_informative_sites": c.input.min_sites,
            "sites": self.stats.to_dict(),
            "execution_provider": self.provider,
        }
