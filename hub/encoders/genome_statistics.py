"""A window's summary statistics beside its genome's: the background a sweep stands out from.

One 80 kb window does not hold what tells a sweep from a bottleneck: both leave long shared
haplotypes, few rare variants and a trough of diversity, and a network given the window alone
calls the neutral windows of a bottlenecked history sweeps. The genome tells them apart: a
bottleneck moves every window, a sweep a few. So this encoder gives, beside the window's
:mod:`summary statistics <popgen_hub.encoders.summary_statistics>`, a second tensor of the same
length, ``genome_background``: the median of those statistics over the genome's windows.

Its ``encode`` makes the window's tensor only; the background is the median of many windows,
made where the windows are known (:func:`background`):

- a scan: of windows sampled evenly over every contig of the input, whatever region it
  scores (``scoring.genome_background``), each read and encoded as the scan reads it;
- a dataset simulated in genomes (``sweep_regime --param genome_windows=G``): of the other
  neutral windows of the replicate's genome (:func:`dataset_backgrounds`), so that no window
  is part of its own background.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import PopgenHubError
from .base import ENCODERS, Encoder
from .inputs import Inputs
from .summary_statistics import TENSOR, SummaryStatisticsEncoder

BACKGROUND = "genome_background"


@ENCODERS.register()
@dataclass(frozen=True)
class GenomeStatisticsEncoder(SummaryStatisticsEncoder):
    """The window's summary statistics and the median of its genome's (module doc)."""

    name = "genome_statistics"
    #: the tensor whose median over the genome's windows is the background
    background_of: ClassVar[str] = TENSOR

    @property
    def shapes(self) -> dict[str, tuple[int]]:
        (size,) = super().shapes[TENSOR]
        return {TENSOR: (size,), BACKGROUND: (size,)}


def background_tensor(encoder: Encoder) -> str | None:
    """The tensor ``encoder``'s windows need a genome background of (None: none)."""
    return getattr(encoder, "background_of", None)


def background(windows: np.ndarray) -> np.ndarray:
    """The background of a genome's encoded windows (rows): each entry's median."""
    return np.median(windows, axis=0).astype(np.float32)


def with_background(inputs: Inputs, genome: np.ndarray | None) -> Inputs:
    """A window's encoded inputs with its genome's background beside them, as a scan gives
    them to the model (as they are when ``genome`` is None: a model that reads none)."""
    return inputs if genome is None else {**inputs, BACKGROUND: genome}


def dataset_backgrounds(features: np.ndarray, labels: np.ndarray, genomes: np.ndarray,
                        source: str) -> np.ndarray:
    """Each replicate's background: the median of the other neutral (class 0) replicates of
    its genome (``genomes``: each replicate's genome number)."""
    backgrounds = np.empty_like(features)
    for genome in np.unique(genomes):
        members = np.flatnonzero(genomes == genome)
        neutral = members[labels[members] == 0]
        if len(neutral) < 3:
            raise PopgenHubError(
                f"{source}: genome {int(genome)} has {len(neutral)} neutral windows; the "
                f"background needs at least 3 (simulate with a larger genome_windows, and an "
                f"--n that is a multiple of it: the last genome is cut short otherwise)")
        for member in members:
            backgrounds[member] = background(features[neutral[neutral != member]])
    return backgrounds
