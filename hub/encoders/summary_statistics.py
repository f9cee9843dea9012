"""A window as a vector of population-genetic summary statistics, for fully connected networks
(evoNet, ABC_DL; diploS/HIC's feature vector is the model for the sub-windows).

The window is cut into ``n_bins`` equal sub-windows. For each, from :mod:`popgen_hub.stats`:

- π and θW as shares of the window's total (``n_bins`` times the sub-window's part, so 1 is an
  even spread): the shape of a diversity trough, whatever the mutation rate and population size;
- Tajima's D, H1, H12 and H2/H1 (Garud et al. 2015);
- LD: the mean r² of up to ``ld_pairs`` seeded pairs of sites inside the sub-window (Kelly's ZnS
  estimated from a sample of its pairs).

Then the whole window's log10 π and θW per bp (the only absolute levels), Tajima's D, H1, H12
and H2/H1, and its folded site-frequency spectrum as shares of its segregating sites in classes
of minor allele count (``SFS_CLASSES``: singletons, doubletons, 3-4, 5-8 ... 33-64 and more).

Every site that segregates among the called alleles counts (no frequency filter: rare
variants carry the recovery after an old sweep). A statistic that is undefined (a sub-window
without segregating sites, or without a haplotype called at all its sites) is 0, which the
network learns to read; missing calls lower a site's called alleles, and H statistics take only
the haplotypes called at every site of their sub-window.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from ..errors import PopgenHubError
from ..genotypes import GenotypeBlock
from ..stats.diversity import diversity_windows
from ..stats.homozygosity import homozygosity_windows
from ..stats.ld import pair_r2
from ..stats.sites import SiteCounts, site_bounds, site_counts
from .base import ENCODERS, DataclassEncoder, EncodedWindow

TENSOR = "summary_statistics"
#: Upper bounds of the folded SFS classes, in minor allele counts (the last takes any more).
SFS_CLASSES = (1.5, 2.5, 4.5, 8.5, 16.5, 32.5, 64.5)
BIN_FEATURES = ("pi_share", "theta_w_share", "tajimas_d", "h1", "h12", "h2_h1", "r2")
WINDOW_FEATURES = ("log10_pi_per_bp", "log10_theta_w_per_bp", "tajimas_d", "h1", "h12",
                   "h2_h1")
#: Floor of the per-bp diversities before the log (a window without segregating sites).
DIVERSITY_FLOOR = 1e-6
LD_SEED = 20


@ENCODERS.register()
@dataclass(frozen=True)
class SummaryStatisticsEncoder(DataclassEncoder):
    """Summary statistics of one window of phased haplotypes (module doc)."""

    name = "summary_statistics"
    missing_rule = ("a missing call lowers its site's called alleles; haplotype statistics use "
                    "the haplotypes called at every site of their sub-window")

    n_bins: int = 8
    ld_pairs: int = 100

    def __post_init__(self) -> None:
        if self.n_bins < 1 or self.ld_pairs < 1:
            raise PopgenHubError(f"summary_statistics encoder: n_bins={self.n_bins} and "
                                 f"ld_pairs={self.ld_pairs} must be positive")

    @property
    def feature_names(self) -> list[str]:
        """The name of each entry of the tensor, in order."""
        bins = [f"bin{b}_{name}" for b in range(self.n_bins) for name in BIN_FEATURES]
        sfs = [f"sfs_minor_le_{int(top)}" for top in SFS_CLASSES]
        return bins + [f"window_{name}" for name in WINDOW_FEATURES] + sfs

    @property
    def statistic_entries(self) -> dict[str, np.ndarray]:
        """The tensor's entries of each statistic, in ``feature_names`` order: a sub-window
        statistic over all sub-windows, each whole-window one alone, the folded SFS as one."""
        width, n_bin = len(BIN_FEATURES), len(BIN_FEATURES) * self.n_bins
        entries = {f"{name} (sub-windows)": np.arange(k, n_bin, width)
                   for k, name in enumerate(BIN_FEATURES)}
        entries |= {f"window_{name}": np.array([n_bin + j])
                    for j, name in enumerate(WINDOW_FEATURES)}
        entries["folded SFS"] = n_bin + len(WINDOW_FEATURES) + np.arange(len(SFS_CLASSES))
        return entries

    @property
    def sub_window_entries(self) -> list[np.ndarray]:
        """The tensor's entries of each sub-window (all its statistics), in window order."""
        width = len(BIN_FEATURES)
        return [np.arange(b * width, (b + 1) * width) for b in range(self.n_bins)]

    @property
    def shapes(self) -> dict[str, tuple[int]]:
        return {TENSOR: (len(self.feature_names),)}

    def encode(self, block: GenotypeBlock, window: tuple[float, float] | None = None
               ) -> EncodedWindow:
        """The statistics of ``window`` (default: the span of the block's sites)."""
        self.check_kind(block)
        positions = np.asarray(block.positions, dtype=np.int64)
        edges = self.bin_edges(window if window else (
            (positions[0], positions[-1] + 1) if len(positions) else (0, 1)))
        counts = site_counts(block)
        segregating = counts.p_segregating > 0
        sites = block.take_sites(segregating)
        counts = SiteCounts(*(getattr(counts, field.name)[segregating]
                              for field in fields(SiteCounts)))
        starts = np.concatenate([edges[:-1], [edges[0]]])  # the bins, then the whole window
        ends = np.concatenate([edges[1:], [edges[-1]]])
        lo, hi = site_bounds(np.asarray(sites.positions, dtype=np.int64), starts, ends)
        diversity = diversity_windows(counts, lo, hi, ends - starts)
        homozygosity = homozygosity_windows(sites, lo, hi)
        n_bins = self.n_bins
        with np.errstate(divide="ignore", invalid="ignore"):
            shares = [n_bins * diversity[key][:n_bins] / diversity[key][n_bins]
                      for key in ("pi", "theta_w")]
        per_bin = np.stack(shares + [diversity["tajimas_d"][:n_bins]]
                           + [homozygosity[key][:n_bins] for key in ("h1", "h12", "h2_h1")]
                           + [self._mean_r2(sites, lo[:n_bins], hi[:n_bins])], axis=1)
        whole = [np.log10(np.maximum(diversity[key][n_bins], DIVERSITY_FLOOR))
                 for key in ("pi_per_bp", "theta_w_per_bp")]
        whole += [diversity["tajimas_d"][n_bins]] + [homozygosity[key][n_bins]
                                                     for key in ("h1", "h12", "h2_h1")]
        features = np.concatenate([per_bin.ravel(), whole, self._folded_sfs(counts)])
        return EncodedWindow({TENSOR: np.nan_to_num(features).astype(np.float32)},
                             int(segregating.sum()))

    def bin_edges(self, window: tuple[float, float]) -> np.ndarray:
        """The bp edges of the window's ``n_bins`` sub-windows (``n_bins + 1`` of them)."""
        return np.linspace(*window, self.n_bins + 1).round().astype(np.int64)

    def _mean_r2(self, sites: GenotypeBlock, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Mean r² of up to ``ld_pairs`` seeded random pairs of sites within each bin."""
        rng = np.random.default_rng(LD_SEED)
        first, second, owner = [], [], []
        for index, (a, b) in enumerate(zip(lo.tolist(), hi.tolist(), strict=True)):
            if b - a < 2:
                continue
            pair = np.sort(rng.integers(a, b, size=(self.ld_pairs, 2)), axis=1)
            pair = pair[pair[:, 0] < pair[:, 1]]
            first.append(pair[:, 0])
            second.append(pair[:, 1])
            owner.append(np.full(len(pair), index))
        means = np.full(len(lo), np.nan)
        if first:
            r2 = pair_r2(sites, np.concatenate(first), np.concatenate(second))
            owners = np.concatenate(owner)
            defined = ~np.isnan(r2)
            totals = np.bincount(owners[defined], weights=r2[defined], minlength=len(lo))
            n = np.bincount(owners[defined], minlength=len(lo))
            with np.errstate(invalid="ignore"):
                means = np.where(n > 0, totals / np.maximum(n, 1), np.nan)
        return means

    @staticmethod
    def _folded_sfs(counts: SiteCounts) -> np.ndarray:
        """Shares of the segregating sites in each minor allele count class."""
        minor = np.rint(np.minimum(counts.mean, counts.called - counts.mean))
        classes = np.minimum(np.searchsorted(SFS_CLASSES, minor), len(SFS_CLASSES) - 1)
        histogram = np.bincount(classes, minlength=len(SFS_CLASSES)).astype(np.float64)
        return histogram / max(len(minor), 1)
