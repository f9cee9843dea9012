"""Nucleotide diversity, Watterson's theta, segregating sites and Tajima's D.

For a site with ``k`` ALT alleles among ``n`` called alleles (:mod:`popgen_hub.stats.sites`):

* π, the mean number of pairwise differences (Tajima 1983; Nei & Li 1979), sums per site
  ``2 k (n - k) / (n (n - 1))``, the probability that two distinct called alleles differ. With
  likelihoods, its expectation ``2 (n E[k] - E[k]^2 - Var[k]) / (n (n - 1))``.
* θW (Watterson 1975) sums per segregating site ``1 / a_n`` with ``a_n = sum_{i<n} 1/i``. Each
  site uses its own ``n``, so missing calls neither bias π nor θW (Ferretti, Raineri &
  Ramos-Onsins 2012, Genetics 191:1397); with likelihoods, a site counts with the probability
  that it segregates.
* Tajima's D (Tajima 1989, Genetics 123:585) is ``(π - θW) / sqrt(e1 S + e2 S (S - 1))`` with
  ``S`` the segregating sites and ``e1, e2`` Tajima's constants for ``n`` alleles. With missing
  calls, ``n`` is the mean, rounded, of the called alleles of the window's sites (those with at
  least two): an approximation, exact when every site is fully called (as tskit's
  ``Tajimas_D``).

π and θW are totals over the window's sites, as tskit's site-mode statistics with
``span_normalise=False``; the ``_per_bp`` values divide by the window's length in bp.
Sites with fewer than two called alleles add nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..genotypes import GenotypeBlock
from .sites import SiteCounts, site_counts, window_block, window_sums

#: The statistics of :class:`Diversity` computed per window.
DIVERSITY_FIELDS = ("pi", "pi_per_bp", "theta_w", "theta_w_per_bp", "segregating_sites",
                    "tajimas_d")


@dataclass(frozen=True)
class Diversity:
    """Diversity statistics of one window of ``span`` bp holding ``n_sites`` sites."""

    pi: float
    pi_per_bp: float
    theta_w: float
    theta_w_per_bp: float
    segregating_sites: float
    tajimas_d: float
    n_sites: int
    span: int


def diversity(block: GenotypeBlock, start: int | None = None,
              end: int | None = None) -> Diversity:
    """π, θW, segregating sites and Tajima's D of the sites in ``[start, end)`` (module doc);
    ``start`` and ``end`` default to the block's first site and one past its last."""
    window, span = window_block(block, start, end)
    values = diversity_windows(site_counts(window), np.array([0]), np.array([window.n_sites]),
                               np.array([span]))
    return Diversity(**{field: values[field][0].item() for field in DIVERSITY_FIELDS},
                     n_sites=window.n_sites, span=span)


#: Harmonic tables kept per power, up to this many terms (longer ones are made per call).
HARMONIC_CACHED = 1 << 20
_HARMONIC: dict[int, np.ndarray] = {}


def _harmonic_table(top: int, power: int) -> np.ndarray:
    """``[0, 1, 1 + 1/2**power, ...]``, at least ``top + 1`` long. A running sum, so a longer
    table starts with the same values bit for bit: one is kept per power and grown."""
    table = _HARMONIC.get(power)
    if table is None or len(table) <= top:
        size = max(top, min(2 * len(table) if table is not None else 1024, HARMONIC_CACHED))
        table = np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, size + 1) ** power)])
        table.flags.writeable = False
        if size <= HARMONIC_CACHED:
            _HARMONIC[power] = table
    return table


def harmonic(n: np.ndarray, power: int = 1) -> np.ndarray:
    """``a_n = sum_{i=1}^{n-1} 1 / i**power`` for each ``n`` (0 where ``n < 2``)."""
    n = np.asarray(n, dtype=np.int64)
    table = _harmonic_table(int(n.max(initial=1)), power)
    return np.where(n >= 2, table[np.maximum(n - 1, 0)], 0.0)


def diversity_windows(counts: SiteCounts, lo: np.ndarray, hi: np.ndarray,
                      span: np.ndarray) -> dict[str, np.ndarray]:
    """Per window of sites ``[lo, hi)`` and ``span`` bp: the :data:`DIVERSITY_FIELDS` and
    ``called_alleles`` (mean called alleles per site)."""
    n = counts.called.astype(np.float64)
    usable = counts.called >= 2
    pairs = np.where(usable, n * (n - 1), 1.0)
    pi = np.where(usable, 2 * (n * counts.mean - counts.mean**2 - counts.variance) / pairs, 0.0)
    a1 = np.where(usable, harmonic(counts.called), 1.0)
    segregating = np.where(usable, counts.p_segregating, 0.0)
    # (sites, 5) with each column contiguous, for the running sums of window_sums
    per_site = np.array([pi, segregating / a1, segregating, n, usable], dtype=np.float64).T
    sums = window_sums(per_site, lo, hi)
    sites = np.maximum(hi - lo, 1)
    mean_called = np.rint(sums[:, 3] / np.maximum(sums[:, 4], 1)).astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_bp = np.where(span > 0, 1 / span, np.nan)
    return {"pi": sums[:, 0], "pi_per_bp": sums[:, 0] * per_bp, "theta_w": sums[:, 1],
            "theta_w_per_bp": sums[:, 1] * per_bp, "segregating_sites": sums[:, 2],
            "tajimas_d": tajimas_d_from(sums[:, 0], sums[:, 1], sums[:, 2], mean_called),
            "called_alleles": np.where(hi > lo, sums[:, 3] / sites, np.nan)}


def tajimas_d_from(pi: np.ndarray, theta_w: np.ndarray, segregating: np.ndarray,
                   n: np.ndarray) -> np.ndarray:
    """Tajima's (1989) D from π, θW and ``S`` segregating sites among ``n`` alleles; NaN where
    undefined (no segregating site, ``n < 3``)."""
    a1, a2 = harmonic(n), harmonic(n, power=2)
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        b1 = (n + 1) / (3 * (n - 1))
        b2 = 2 * (n**2 + n + 3) / (9 * n * (n - 1))
        c1 = b1 - 1 / a1
        c2 = b2 - (n + 2) / (a1 * n) + a2 / a1**2
        variance = c1 / a1 * segregating + c2 / (a1**2 + a2) * segregating * (segregating - 1)
        d = (pi - theta_w) / np.sqrt(variance)
    return np.where((segregating > 0) & (n >= 3) & (variance > 0), d, np.nan)
