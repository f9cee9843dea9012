"""What a scan produces: :class:`ScanResult` (windows, probabilities, provenance) and the names
of the files written for it. Scoring fills a result; writers read it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .calibration import condition_text, log_odds, scan_null, scan_significance
from .contract import ModelContract
from .decision import DecisionThreshold, smoothed
from .genotypes import ReadStats, Region
from .ood import STATISTICS, flag_bits, flag_note, scan_reference
from .version import __version__

#: Shared files of a scan folder; IGV recognises a chrom.sizes genome by the ending.
CHROM_SIZES = "scan.chrom.sizes"
IGV_BATCH = "igv_batch.txt"
SNAPSHOT = "igv_snapshot.png"
IGV_SESSION = "igv_session.xml"
UCSC_HUB = "hub.txt"
REPORT = "report.html"
IGV_SCRIPT = "igv.min.js"  # igv.js, copied beside the report
#: JBrowse 2's configuration, in a folder of its own (staged and published as the folder)
JBROWSE_DIR = "jbrowse"
JBROWSE_CONFIG = f"{JBROWSE_DIR}/config.json"


def track_file(model: str, label: str) -> str:
    """The BigWig of P(label) of ``model``."""
    return f"{model}.{label}.bw"


def window_table_file(model: str) -> str:
    return f"{model}.windows.tsv"


def flagged_file(model: str) -> str:
    """The BED of the windows of ``model`` outside its training data (see :mod:`.ood`)."""
    return f"{model}.flagged.bed"


def depth_outside(contract: ModelContract, depth: float | None) -> str:
    """Why a mean read depth per individual (:meth:`ReadStats.mean_depth`) is outside the
    depths ``contract``'s model was trained on (its ``input.depth``): a model of likelihoods
    learns how far to trust each read from them. Empty when inside, when the model states no
    range, or when the input has no reads to measure (a VCF)."""
    low, high = contract.input.depth
    if depth is None or ((low is None or depth >= low) and (high is None or depth <= high)):
        return ""
    return f"mean read depth {depth:.1f}x per individual, outside {_depths(contract)}"


def _depths(contract: ModelContract) -> str:
    """The depths the model was trained on, in words."""
    low, high = contract.input.depth
    span = (f"the {low:g}-{high:g}x" if low is not None and high is not None else
            f"the {low:g}x or more" if low is not None else f"the {high:g}x or less")
    return f"{span} {contract.name} was trained on"


def window_dtype(n_classes: int) -> np.dtype:
    """One row per window with data; ``contig`` indexes :attr:`ScanResult.contigs`;
    ``statistics``: the window's :data:`~popgen_hub.ood.STATISTICS` (NaN when the model stores
    no training statistics), from which ``flags`` are set once the scan is merged."""
    return np.dtype([("contig", np.int32), ("start", np.int64), ("end", np.int64),
                     ("bin_start", np.int64), ("bin_end", np.int64), ("n_sites", np.int32),
                     # the model's outputs: class probabilities, or a regression's values
                     ("n_informative", np.int32), ("probabilities", np.float32, (n_classes,)),
                     ("statistics", np.float64, (len(STATISTICS),)),
                     ("flags", np.uint16)])  # out-of-distribution reasons, see ..ood


@dataclass
class ScanResult:
    """Everything a scan produced, with the provenance every output carries."""

    contract: ModelContract
    vcf: Path  # the input file (the first, of several)
    regions: list[Region]
    window: int
    step: int
    seed: int
    #: the input's haplotypes, or its individuals for models of genotypes or likelihoods (the
    #: unit of the contract's sample_size: see :meth:`samples_read`)
    n_available: int
    haplotypes: list[tuple[str, int]]
    provider: str
    contig_lengths: dict[str, int | None]
    windows: np.ndarray
    stats: ReadStats
    #: file name -> final path of every file written; writers find the others' files here
    outputs: dict[str, Path] = field(default_factory=dict)
    #: temporal models: the haplotypes used per time bin, and the rules applied
    time_bins: str = ""
    #: where the individuals come from when a sample table chose them (its population)
    population: str = ""
    #: the input in words where ``vcf`` does not name it (several BAM/CRAM files: how many,
    #: and which; see :func:`~popgen_hub.readers.input_name`)
    input_files: str = ""
    #: seconds spent per stage (read, encode, statistics, infer; summed over the pieces this
    #: run scored, in whichever process scored them; the writers add ``write``)
    times: dict[str, float] = field(default_factory=dict)
    #: the classic statistics written beside the tracks (``scan --stats``): value column ->
    #: its BigWig (see :func:`popgen_hub.stats_tracks.write_scan_statistics`)
    statistics: dict[str, str] = field(default_factory=dict)
    #: per window (NaN: unscored), the empirical p-value of its score against the model's
    #: stored null and its Benjamini-Hochberg q-value across the whole scan; None when the
    #: model stores no null (see :mod:`popgen_hub.calibration`)
    p_values: np.ndarray | None = field(init=False, default=None)
    q_values: np.ndarray | None = field(init=False, default=None)
    #: per window (NaN: unscored), the smoothed P the model's decision threshold calls
    #: windows on, where its threshold smooths (``DecisionThreshold.smoothing_bp``); else None
    called_scores: np.ndarray | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        # once, on the merged windows: q-values are across every window of the scan; models
        # of individuals: against the null of the nearest individuals and mean depth
        significance = scan_significance(self.contract.references,
                                         self.windows["probabilities"], self.seed,
                                         self.n_individuals, self.stats.mean_depth())
        self.p_values, self.q_values = significance or (None, None)
        # flags too, against the same condition: never per piece, so the same for any split
        reference = scan_reference(self.contract.references, self.n_individuals,
                                   self.stats.mean_depth())
        if reference is not None and len(self.windows):
            self.windows["flags"] = flag_bits(self.windows["statistics"], reference)
        threshold = self.threshold
        if threshold is not None and threshold.smoothing_bp:
            self.called_scores = self._smoothed(self.contract.labels.index(threshold.label),
                                                threshold.smoothing_bp)

    def smoothed_track(self) -> tuple[str, np.ndarray] | None:
        """The label and per-window values of the smoothed P the model calls windows on (the
        window table's column and the BigWig of that label); None where its threshold does
        not smooth."""
        if self.called_scores is None:
            return None
        return self.threshold.called_label, self.called_scores

    def _smoothed(self, column: int, span: int) -> np.ndarray:
        """P(labels[column]) of every window smoothed over ``span`` bp, contig by contig."""
        scores = np.full(len(self.windows), np.nan)
        centres = (self.windows["start"] + self.windows["end"]) / 2
        for contig in np.unique(self.windows["contig"]):
            rows = np.flatnonzero(self.windows["contig"] == contig)
            rows = rows[np.argsort(centres[rows], kind="stable")]
            scores[rows] = smoothed(centres[rows], self.windows["probabilities"][rows, column]
                                    .astype(np.float64), span)
        return scores

    def input_name(self) -> str:
        """The input for headers and manifests: every file, with resolved paths."""
        return self.input_files or str(self.vcf.resolve())

    def depth_note(self) -> str:
        """The input's mean read depth against the depths the model was trained on (empty
        for inputs without reads)."""
        depth = self.stats.mean_depth()
        if depth is None:
            return ""
        outside = depth_outside(self.contract, depth)
        if outside:
            return f"{outside}: its scores describe reads unlike its training data"
        if self.contract.input.depth == [None, None]:
            return (f"mean read depth {depth:.1f}x per individual; {self.contract.name} "
                    f"states no depths it was trained on")
        return f"mean read depth {depth:.1f}x per individual, within {_depths(self.contract)}"

    @property
    def threshold(self) -> DecisionThreshold | None:
        """The model's decision threshold for the individuals read (None: not a classifier)."""
        return self.contract.decision_threshold(self.n_individuals)

    @property
    def n_individuals(self) -> int:
        """How many samples the haplotypes scored came from."""
        return len({sample for sample, _ in self.haplotypes})

    def samples_read(self) -> str:
        """How many of the input's samples were read, in the unit the model reads: haplotypes
        (of how many individuals), or the whole individuals of genotype and likelihood
        models."""
        if self.contract.input.data_kind != "haplotypes":
            return f"{self.n_individuals} of {self.n_available} individuals"
        return (f"{len(self.haplotypes)} of {self.n_available} haplotypes of "
                f"{self.n_individuals} individuals")

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
        """log P(label) against all other classes of scored windows (probabilities near 1
        saturate in float32 while the others stay resolvable, so windows are ranked by
        log-odds, not by probability); a regression's value itself."""
        column = self.contract.labels.index(label)
        if self.contract.output_kind == "regression":
            return windows["probabilities"][:, column].astype(np.float64)
        return log_odds(windows["probabilities"], column)

    def ranked(self, label: str | None = None) -> np.ndarray:
        """Scored windows, most likely ``label`` (default: the first track label) first; a
        regression's highest values first."""
        scored = self.scored()
        odds = self.log_odds(scored, label or self.contract.track_labels[0])
        return scored[np.argsort(-odds, kind="stable")]

    def n_called(self) -> int | None:
        """The scored windows above a classifier's decision threshold (None: a regression or
        an embedding, which has none)."""
        threshold = self.threshold
        if threshold is None:
            return None
        scores = (self.windows["probabilities"][:, self.contract.labels.index(threshold.label)]
                  if self.called_scores is None else self.called_scores)
        return int((scores > threshold.value).sum())  # NaN (unscored) is above nothing

    def top_window(self) -> np.void:
        return self.ranked()[0]

    def header(self) -> dict[str, Any]:
        c = self.contract
        return {
            "popgen-hub": __version__,
            "model": f"{c.name} (revision {c.revision}, sha256 {c.weights.get('sha256', 'n/a')})",
            "labels": ", ".join(c.labels),
            "input": self.input_name(),
            "regions": ", ".join(map(str, self.regions)),
            "coordinates": "0-based half-open; the BigWig holds each window's score on "
                           "[bin_start, bin_end)",
            "window_bp": self.window,
            "step_bp": self.step,
            **self._sample_lines(),
            "encoder": c.encoder,
            "min_informative_sites": c.input.min_sites,
            "sites": self.stats.to_dict(),
            **({"read_depth": note} if (note := self.depth_note()) else {}),
            "execution_provider": self.provider,
            **({"decision_threshold": f"{threshold.text()}: {threshold.source}"}
               if (threshold := self.threshold) else {}),
            **({f"p_{threshold.called_label}": threshold.smoothing_text()}
               if threshold is not None and threshold.smoothing_bp else {}),
            "p_value": self.significance_note(),
            "flag": flag_note(self.contract.name, self.contract.references),
        }

    def _sample_lines(self) -> dict[str, str]:
        """The header's lines on the samples read, in the unit the model reads (as
        :meth:`samples_read`)."""
        source = self.population or "from the whole input"
        if self.contract.input.data_kind != "haplotypes":  # whole individuals, seeded subset
            return {"individuals": f"{self.n_individuals} of {self.n_available} "
                                   f"(seed {self.seed}), {source}"}
        haplotypes = (f"{len(self.haplotypes)}, by time bin (see time_bins)" if self.time_bins
                      else f"{len(self.haplotypes)} of {self.n_available} (rule "
                           f"{self.contract.input.haplotype_rule}, seed {self.seed})")
        return {"haplotypes": haplotypes,
                **({"time_bins": self.time_bins} if self.time_bins else {}),
                "individuals": f"{self.n_individuals}, {source}"}

    def significance_note(self) -> str:
        """What the p_value and q_value columns are, or why they are NA."""
        depth = self.stats.mean_depth()
        null = scan_null(self.contract.references, self.n_individuals, depth)
        if null is None:
            return (f"NA: {self.contract.name} stores no null distribution, so no p- or "
                    f"q-values")
        return (f"empirical, of the {null['score']} against {null['n']} null loci"
                f"{condition_text(null, self.n_individuals, depth)} ({null['source']}), ties "
                f"broken at random (seed {self.seed}); q_value: "
                f"Benjamini-Hochberg across the scan's scored windows")
