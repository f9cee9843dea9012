"""Temporal haplotype stack: present-day and ancient haplotypes of one window, sites aligned.

The review's branched network (Korfmann, Gaggiotti & Fumagalli 2023) reads 40 present-day
haplotypes in one branch and 10 haplotypes from each of four ancient time points in the other.
This encoder prepares both inputs from one window, fixing the flaws the review lists in the
original code:

- the same ``n_sites`` SNP columns in every time point: a run of ``n_sites`` consecutive sites
  segregating in the pooled sample (all time points together) around the window's middle, not
  the first SNPs of the locus. Column ``n_sites // 2`` holds the first site at or after the
  middle whenever at least ``n_sites // 2`` sites lie on each side; otherwise the run keeps
  ``n_sites`` real sites and shifts towards the side that has them, and with fewer sites in
  all, empty columns pad the left edge when the left side runs short;
- every site polarised once, to the pooled minor allele (1), so a column means the same allele
  in every time point;
- within each time point, haplotypes sorted as in ImaGene (identical ones together, most
  frequent first); the networks pool over haplotypes, so this order only helps convolutions.

Input rows are grouped present-day first, then each ancient time bin youngest first, with
exactly ``present_haplotypes`` and ``ancient_haplotypes`` rows per group (``sample_groups``).

Missing calls (``-1``, common in ancient DNA) follow one rule (:data:`MISSING_RULE`): a
missing call is drawn at random with the allele frequency among the called haplotypes of its
own time point at that site (of all time points when none is called there), from a generator
seeded by the position of the window's first site, so a window always encodes the same. This
keeps each time point's allele frequencies in expectation but not linkage across missing calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import PopgenHubError
from ..genotypes import GenotypeBlock
from .base import ENCODERS, DataclassEncoder, EncodedWindow, SampleGroup
from .haplotype_image import ROW_SORTS, sorted_by_group_frequency

#: Graph inputs: the present-day image and the ancient stack.
PRESENT, ANCIENT = "present", "ancient"
MISSING_RULE = ("a missing call is drawn at random with the called allele frequency of its "
                "time point at that site (of all time points when none is called there), "
                "seeded by the position of the window's first site")


def central_run(positions: np.ndarray, window: tuple[float, float] | None, n_sites: int
                ) -> tuple[int, int]:
    """The run of ``n_sites`` consecutive sites (of sorted ``positions``) around the window's
    middle (default: the middle of the sites' span), as (its first site, empty columns left
    of it): column ``n_sites // 2`` holds the first site at or after the middle when enough
    sites lie on each side, else the run shifts to stay inside the sites; with fewer sites
    in all, empty columns pad the left edge when the left side runs short (the bundled
    temporal models were trained on exactly this)."""
    n_found = len(positions)
    middle = (window[0] + window[1]) / 2 if window else (
        (positions[0] + positions[-1]) / 2 if n_found else 0.0)
    before = int(np.searchsorted(positions, middle))
    first = min(max(before - n_sites // 2, 0), max(n_found - n_sites, 0))
    width = min(n_sites, n_found - first)
    return first, min(max(n_sites // 2 - before, 0), n_sites - width)


@ENCODERS.register()
@dataclass(frozen=True)
class TemporalStackEncoder(DataclassEncoder):
    """Present-day image plus a stack of ancient images over the same central sites."""

    name = "temporal_stack"
    missing_rule = MISSING_RULE

    present_haplotypes: int = 40  # the review
    ancient_haplotypes: int = 10  # per ancient time bin; the review
    #: Ancient time bins, (youngest, oldest) age in years before present, youngest first; the
    #: review samples at about 1, 2, 4 and 8 thousand years ago.
    ancient_bins: tuple[tuple[float, float], ...] = (
        (500.0, 1500.0), (1500.0, 3000.0), (3000.0, 6000.0), (6000.0, 12000.0))
    n_sites: int = 64  # SNP columns around the middle (the review kept 40, from the start)
    row_sort: str = "freq"

    def __post_init__(self) -> None:
        # JSON stores tuples as lists; a frozen dataclass must hold hashable tuples
        object.__setattr__(self, "ancient_bins",
                           tuple((float(a), float(b)) for a, b in self.ancient_bins))
        problems = []
        if self.present_haplotypes < 1 or self.ancient_haplotypes < 1 or self.n_sites < 1:
            problems.append("present_haplotypes, ancient_haplotypes and n_sites must be positive")
        edges = [age for bin_ in self.ancient_bins for age in bin_]
        if not self.ancient_bins or any(b <= a for a, b in self.ancient_bins) or \
                edges != sorted(edges) or edges[0] <= 0:
            problems.append(f"ancient_bins={list(self.ancient_bins)} must be non-empty, "
                            f"positive, (youngest, oldest) each, youngest bin first, no overlap")
        if self.row_sort not in ROW_SORTS:
            problems.append(f"row_sort={self.row_sort!r} is not one of freq, dist, none")
        if problems:
            raise PopgenHubError(f"{self.name} encoder: {'; '.join(problems)}")

    @property
    def shapes(self) -> dict[str, tuple[int, int, int]]:
        """Shape of each input tensor, without the batch axis."""
        return {PRESENT: (1, self.present_haplotypes, self.n_sites),
                ANCIENT: (len(self.ancient_bins), self.ancient_haplotypes, self.n_sites)}

    @property
    def sample_groups(self) -> tuple[SampleGroup, ...]:
        """Present-day, then each ancient bin youngest first (a sample on a boundary goes to
        the younger bin)."""
        return (SampleGroup("present-day", self.present_haplotypes),
                *(SampleGroup(f"{a:g}-{b:g}", self.ancient_haplotypes, (a, b))
                  for a, b in self.ancient_bins))

    def to_config(self) -> dict[str, Any]:
        config = super().to_config()
        config["ancient_bins"] = [list(b) for b in self.ancient_bins]
        return config

    def encode(self, block: GenotypeBlock, window: tuple[float, float] | None = None
               ) -> EncodedWindow:
        """Encode one window: the block's haplotype columns are grouped as
        :attr:`sample_groups` says, 0/1/-1 (missing)."""
        self.check_kind(block)
        haplotypes = block.values.T
        sizes = [group.size for group in self.sample_groups]
        if haplotypes.shape[0] != sum(sizes):
            raise ValueError(f"{self.name} needs ({sum(sizes)}, sites) haplotypes, grouped "
                             f"{sizes}; got {haplotypes.shape}")
        positions = np.asarray(block.positions, dtype=np.float64)
        bounds = np.cumsum([0, *sizes])
        if (haplotypes < 0).any():
            haplotypes = self._impute(haplotypes, bounds, positions)
        alt = haplotypes.sum(axis=0, dtype=np.int64)
        segregating = (alt > 0) & (alt < haplotypes.shape[0])
        minor = haplotypes[:, segregating].astype(np.uint8)
        minor ^= (2 * alt[segregating] > haplotypes.shape[0]).astype(np.uint8)  # pooled minor = 1
        n_found = minor.shape[1]
        first, left_pad = central_run(positions[segregating], window, self.n_sites)
        minor = minor[:, first:first + self.n_sites]
        groups = []
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            group = np.zeros((b - a, self.n_sites), dtype=np.float32)
            block = minor[a:b]
            if self.row_sort != "none" and block.shape[1]:
                block = sorted_by_group_frequency(block, axis=0, by=self.row_sort)
            group[:, left_pad:left_pad + block.shape[1]] = block
            groups.append(group)
        return EncodedWindow({PRESENT: groups[0][None], ANCIENT: np.stack(groups[1:])}, n_found)

    def _impute(self, haplotypes: np.ndarray, bounds: np.ndarray, positions: np.ndarray
                ) -> np.ndarray:
        """Apply :data:`MISSING_RULE`."""
        rng = np.random.default_rng([20231, int(positions[0]) if len(positions) else 0])
        out = haplotypes.astype(np.int8, copy=True)
        called = out >= 0
        pooled = (out == 1).sum(0) / np.maximum(called.sum(0), 1)
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            block, ok = out[a:b], called[a:b]
            n_called = ok.sum(0)
            frequency = np.where(n_called > 0, (block == 1).sum(0) / np.maximum(n_called, 1),
                                 pooled)
            draws = (rng.random(block.shape) < frequency).astype(np.int8)
            block[~ok] = draws[~ok]
        return out.astype(np.uint8)

