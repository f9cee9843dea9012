"""Occlusion attributions: which part of a window a model's score rests on, on the ONNX model.

Each window is read and encoded as a scan does (:func:`popgen_hub.scoring.prepare`, the
reader's blocks, the contract's encoder), then scored again with parts of its input masked,
all in a few onnxruntime batches. The score is the log-odds of P(label) against the other
classes together, in float64; a part's attribution is the drop in that score when it is
masked (positive: the part supported the label).

- One-image models (the ImaGene haplotype image): blocks of columns (sites, mapped back to the
  bp span of the sites each column was made from) and blocks of rows (haplotypes, sorted most
  frequent first) are masked in turn.
- Models that read the image beside the window's summary statistics (``image_statistics``):
  the image's blocks as above, the statistics left as they are.
- Temporal models (several input tensors): each time point's haplotypes (one channel of its
  tensor, in the encoder's ``sample_groups`` order) are masked in turn.
- Models that read the window's summary statistics beside its genome's background
  (``genome_statistics``): each statistic (over all sub-windows, the folded SFS as one) and
  each sub-window (all its statistics, mapped to its bp) is replaced in turn by the genome's
  background: the question is what about this window, against the rest of its genome, the
  score rests on. (The statistics alone, ``summary_statistics``, have no such baseline and
  are refused.)

Masked values are the image's mean by default: a masked block keeps the image's density of
minor alleles and loses only its pattern. Masking with 0 (``fill="zero"``, the major allele)
also removes variation, which itself reads as a sweep, and leaves the most frequent haplotype
(mostly 0 already) unmasked; measured on simulated sweeps, the mean singles out the sites
near the selected one more often (see the test of this module).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .calibration import log_odds
from .encoders.genome_statistics import BACKGROUND, background_tensor, with_background
from .encoders.haplotype_image import TENSOR as IMAGE
from .errors import PopgenHubError
from .genotypes import GenotypeBlock, Region
from .readers import input_name
from .runtime import OnnxModel
from .scoring import ScanJob, iter_windows, prepare, window_starts

log = logging.getLogger("popgen_hub")

#: The most windows one explain call draws.
MAX_WINDOWS = 20
FILLS = ("mean", "zero")
#: Occluded inputs per onnxruntime run.
BATCH = 128


@dataclass
class Explanation:
    """The attributions of one window. Image models fill the ``col_*`` and ``row_*``
    fields, temporal models ``time_points`` and ``time_attribution``, statistics models
    ``col_spans`` and ``col_attribution`` (one per sub-window) and ``statistics`` and
    ``statistic_attribution``."""

    contig: str
    start: int
    end: int
    label: str
    #: log-odds of P(label) against the other classes, unmasked
    score: float
    n_sites: int
    inputs: dict[str, np.ndarray]
    #: (blocks, 2) image columns [first, stop) and their bp spans [start, end) (-1: no site)
    col_blocks: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))
    col_spans: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))
    col_attribution: np.ndarray = field(default_factory=lambda: np.zeros(0))
    row_blocks: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))
    row_attribution: np.ndarray = field(default_factory=lambda: np.zeros(0))
    time_points: list[str] = field(default_factory=list)
    time_attribution: np.ndarray = field(default_factory=lambda: np.zeros(0))
    statistics: list[str] = field(default_factory=list)
    statistic_attribution: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def kind(self) -> str:
        """What was masked: ``image``, ``time_points`` or ``statistics``."""
        return "time_points" if self.time_points else "statistics" if self.statistics else "image"

    @property
    def image(self) -> np.ndarray:
        """The haplotype image: the image tensor's one channel (a one-input model's input,
        whatever its name)."""
        return self.inputs[image_name(self.inputs)][0]

    @property
    def name(self) -> str:
        """The window in file names: contig (unsafe characters as _), 1-based start, end."""
        contig = "".join(c if c.isalnum() or c in "._-" else "_" for c in self.contig)
        return f"{contig}_{self.start + 1}-{self.end}"


def blocks(size: int, width: int) -> np.ndarray:
    """[first, stop) of consecutive blocks of ``width`` covering ``size`` (the last may be
    shorter)."""
    firsts = np.arange(0, size, width)
    return np.stack([firsts, np.minimum(firsts + width, size)], axis=1)


def explain(model: OnnxModel, path: str | os.PathLike, region: str, *,
            label: str | None = None, block_cols: int = 4, block_rows: int = 8,
            fill: str = "mean", window: int | None = None, step: int | None = None,
            seed: int = 0, samples: str | os.PathLike | None = None,
            sample_column: str = "sample", age_column: str = "age_years",
            population: str | None = None, population_column: str = "population"
            ) -> list[Explanation]:
    """The attributions of each window of ``region`` (1-based inclusive text): one window
    when the region is at most a window long (centred on it), else the scan's windows,
    ``step`` apart, at most :data:`MAX_WINDOWS`. Options as for a scan (see
    :func:`popgen_hub.scoring.prepare`)."""
    column = _label_column(model, label)
    _check_options(block_cols, block_rows, fill)
    if (getattr(model.encoder, "column_spans", None) is None and len(model.contract.input.names)
            == 1 and background_tensor(model.encoder) is None):  # before reading the input
        raise PopgenHubError(
            f"{model.contract.name}: explain masks a haplotype image, time points or statistics "
            f"beside their genome's background (the baseline they are replaced by); the "
            f"{model.encoder.name} encoder gives none")
    if background_tensor(model.encoder) is not None and fill != "mean":
        raise PopgenHubError(f"--fill {fill}: {model.contract.name}'s statistics are replaced "
                             f"by its genome's background, not filled; leave --fill out")
    job = prepare(model, path, region=region, window=window, step=step, seed=seed,
                  samples=samples, sample_column=sample_column, age_column=age_column,
                  population=population, population_column=population_column,
                  progress=False)
    starts = explain_starts(job.regions[0], job.window, job.step)
    contract = model.contract
    found = []
    for start, sites, inputs, n_sites in encoded_windows(job, starts):
        where = str(Region(job.regions[0].contig, start, start + job.window))
        if n_sites < contract.input.min_sites:
            log.info("%s: %d informative sites, fewer than the %d %s needs; not explained",
                     where, n_sites, contract.input.min_sites, contract.name)
            continue
        log.info("explaining %s", where)
        found.append(_explain_window(model, column, inputs, sites, (start, start + job.window),
                                     job.regions[0].contig, n_sites, block_cols, block_rows,
                                     fill))
    if not found:
        raise PopgenHubError(f"--region {region}: no window of {input_name(job.reader)} there has "
                             f"the {contract.input.min_sites} informative sites "
                             f"{contract.name} needs; choose a region with variants")
    return found


def _label_column(model: OnnxModel, label: str | None) -> int:
    labels = model.contract.labels
    if len(labels) < 2:
        raise PopgenHubError(f"{model.contract.name} is not a classifier (labels {labels}); "
                             f"explain needs class probabilities")
    label = labels[1] if label is None else label
    if label not in labels:
        raise PopgenHubError(f"--label {label!r}: {model.contract.name} has the labels "
                             f"{', '.join(labels)}; choose one of them")
    return labels.index(label)


def _check_options(block_cols: int, block_rows: int, fill: str) -> None:
    for option, value in (("--block-cols", block_cols), ("--block-rows", block_rows)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise PopgenHubError(f"{option} {value!r}: must be a whole number of at least 1")
    if fill not in FILLS:
        raise PopgenHubError(f"--fill {fill!r} is not one of {', '.join(FILLS)}")


def explain_starts(region: Region, window: int, step: int) -> range:
    """The window centred on a region at most a window long, else the scan's windows;
    more than :data:`MAX_WINDOWS` is refused."""
    if region.end - region.start <= window:
        start = max(0, (region.start + region.end) // 2 - window // 2)
        return range(start, start + 1)
    starts = window_starts(region, window, step)
    if len(starts) > MAX_WINDOWS:
        longest = window + (MAX_WINDOWS - 1) * step
        raise PopgenHubError(
            f"--region {region} holds {len(starts)} windows of {window:,} bp every {step:,} bp; "
            f"explain draws at most {MAX_WINDOWS}: give a region of at most {longest:,} bp or "
            f"a larger --step")
    return starts


def encoded_windows(job: ScanJob, starts: range
                    ) -> Iterator[tuple[int, GenotypeBlock, dict[str, np.ndarray], int]]:
    """(start, sites, encoded inputs, informative sites) of each window with sites, read and
    encoded as :func:`popgen_hub.scoring.score_piece` does (beside the genome's background,
    for a model that reads one)."""
    contig = job.regions[0].contig
    length = job.reader.contig_lengths.get(contig)
    end = starts[-1] + job.window if length is None else min(starts[-1] + job.window, length)
    reading = job.reader.blocks(Region(contig, starts[0], end), job.selection,
                                stats=job.reader.new_stats())
    for start, sites in iter_windows(reading, starts, job.window):
        if sites is not None and sites.n_sites:
            encoded = job.model.encoder.encode(sites, (start, start + job.window))
            yield start, sites, with_background(encoded.inputs, job.background), encoded.n_sites


def _explain_window(model: OnnxModel, column: int, inputs: dict[str, np.ndarray],
                    sites: GenotypeBlock, window: tuple[int, int], contig: str, n_sites: int,
                    block_cols: int, block_rows: int, fill: str) -> Explanation:
    names = model.contract.input.names
    if len(names) == 1:
        inputs = {names[0]: next(iter(inputs.values()))}
    else:
        inputs = {name: inputs[name] for name in names}
    base = float(log_odds(model.predict({k: v[None] for k, v in inputs.items()}), column)[0])
    made = Explanation(contig, window[0], window[1], model.contract.labels[column], base,
                       n_sites, inputs)
    if background_tensor(model.encoder) is not None:
        return _explain_statistics(model, column, made, window)
    # image encoders, alone or beside the statistics, map image columns to the genome
    column_spans = getattr(model.encoder, "column_spans", None)
    if column_spans is None and len(names) > 1:
        made.time_points = time_point_names(model)
        masked = [_mask(inputs, name, (channel,), fill)
                  for name in names for channel in range(inputs[name].shape[0])]
        made.time_attribution = base - _scores(model, column, masked)
        return made
    name = image_name(inputs)
    image = inputs[name]
    made.col_blocks = blocks(image.shape[-1], block_cols)
    made.row_blocks = blocks(image.shape[-2], block_rows)
    spans = column_spans(sites, window)
    made.col_spans = np.array([_span(spans[a:b]) for a, b in made.col_blocks], dtype=np.int64)
    masked = ([_mask(inputs, name, (..., slice(a, b)), fill) for a, b in made.col_blocks] +
              [_mask(inputs, name, (..., slice(a, b), slice(None)), fill)
               for a, b in made.row_blocks])
    drops = base - _scores(model, column, masked)
    made.col_attribution = drops[:len(made.col_blocks)]
    made.row_attribution = drops[len(made.col_blocks):]
    return made


def _explain_statistics(model: OnnxModel, column: int, made: Explanation,
                        window: tuple[int, int]) -> Explanation:
    """Each statistic, then each sub-window, replaced by the genome's background (module
    doc)."""
    encoder, inputs = model.encoder, made.inputs
    families = encoder.statistic_entries
    of = background_tensor(encoder)  # the window's statistics, beside the genome's
    masked = []
    for entries in [*families.values(), *encoder.sub_window_entries]:
        replaced = dict(inputs)
        replaced[of] = inputs[of].copy()
        replaced[of][entries] = inputs[BACKGROUND][entries]
        masked.append(replaced)
    drops = made.score - _scores(model, column, masked)
    made.statistics = list(families)
    made.statistic_attribution = drops[:len(families)]
    edges = encoder.bin_edges(window)
    made.col_spans = np.stack([edges[:-1], edges[1:]], axis=1)
    made.col_attribution = drops[len(families):]
    return made


def image_name(inputs: dict[str, np.ndarray]) -> str:
    """The image tensor among a window's inputs: the image encoder's, or a one-input model's
    input whatever its name."""
    return IMAGE if IMAGE in inputs else next(iter(inputs))


def time_point_names(model: OnnxModel) -> list[str]:
    """The encoder's sample groups, one per channel of the graph's inputs in order."""
    groups = model.encoder.sample_groups
    shapes = model.encoder.shapes
    channels = sum(shapes[name][0] for name in model.contract.input.names)
    if channels != len(groups):
        raise PopgenHubError(
            f"{model.contract.name}: its inputs have {channels} channels but its encoder "
            f"{len(groups)} sample groups; explain masks one time point per channel")
    return [group.name if group.present_day else f"{group.name} y" for group in groups]


def _span(spans: np.ndarray) -> tuple[int, int]:
    real = spans[spans[:, 0] >= 0]
    return (int(real[:, 0].min()), int(real[:, 1].max())) if len(real) else (-1, -1)


def _fill_value(array: np.ndarray, fill: str) -> float:
    return float(array.mean()) if fill == "mean" else 0.0


def _mask(inputs: dict[str, np.ndarray], name: str, where: Any, fill: str
          ) -> dict[str, np.ndarray]:
    masked = dict(inputs)
    masked[name] = inputs[name].copy()
    masked[name][where] = _fill_value(inputs[name], fill)
    return masked


def _scores(model: OnnxModel, column: int, masked: list[dict[str, np.ndarray]]) -> np.ndarray:
    """The score of each masked input, :data:`BATCH` per onnxruntime run."""
    out = []
    for first in range(0, len(masked), BATCH):
        part = masked[first:first + BATCH]
        batch = {name: np.stack([m[name] for m in part]) for name in part[0]}
        out.append(log_odds(model.predict(batch), column))
    return np.concatenate(out) if out else np.zeros(0)


def per_bp(explanation: Explanation) -> tuple[np.ndarray, np.ndarray]:
    """Attribution per bp along the window: each column block's attribution spread evenly
    over its bp span (0 where no block's sites lie). Returns (bp edges: the window's and the
    blocks' ends, density), ``len(edges) == len(density) + 1``."""
    spans = explanation.col_spans
    valid = spans[:, 0] >= 0
    edges = np.unique(np.r_[explanation.start, spans[valid].ravel(), explanation.end])
    density = np.zeros(len(edges) - 1)
    for (lo, hi), value in zip(spans[valid], explanation.col_attribution[valid], strict=True):
        inside = (edges[:-1] >= lo) & (edges[1:] <= hi)
        density[inside] += value / max(hi - lo, 1)
    return edges, density
