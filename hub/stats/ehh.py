"""Extended haplotype homozygosity (EHH) and the statistics built on it: iHH, iHS, nSL, XP-EHH
and Rsb, computed as rehh 3 (Gautier, Klassmann & Vitalis 2017, Mol Ecol Resour 17:78) computes
them, so that its published values can be checked (``tests/test_ehh.py``, cattle BTA12).

Conventions (rehh's ``scan_hh`` defaults, ``polarized=TRUE``, ``polarize_vcf=FALSE``):

* alleles: 0 (REF) is taken as ancestral and 1 (ALT) as derived; no ancestral allele is read.
* EHH of an allele at a marker ``k`` sites from the focal one: among the chromosomes carrying
  the allele and called at every marker from the focal one to ``k``, the fraction of pairs
  identical over that stretch, ``sum n_h (n_h - 1) / (n (n - 1))`` (Sabeti et al. 2002). A
  chromosome with a missing call leaves the computation there. EHHS (site-specific, Sabeti et
  al. 2007) pools both alleles' pairs over all chromosomes; its normalised form (Tang, Thornton
  & Stoneking 2007) divides by the homozygosity at the focal marker.
* Each curve is followed away from the focal marker until it falls to ``min_ehh`` (0.05) or
  fewer than two chromosomes are left, and set to 0 there. Its integral (iHH, iES, iNES) is
  the area above ``min_ehh``, trapezoids between markers, the last one linear down to 0; a
  curve still above ``min_ehh`` at the end of the region gives NaN
  (``discard_integration_at_border``). No gap scaling (rehh's ``scalegap``, ``maxgap``: NA).
* iHS = ln(iHH_ancestral / iHH_derived) standardised in bins of the derived allele's frequency
  (``freqbin`` 0.025 from ``min_maf`` 0.05 up to 0.95; sites outside left out), as rehh's
  ``ihh2ihs``. Standardising over the sites of one run (a region, a VCF) makes the values
  genome-wide only when the run is the genome. nSL (Ferrer-Admetlla et al. 2014, MBE
  31:1275) is ln(SL_ancestral / SL_derived), SL being the mean number of consecutive
  identical sites of a pair around the focal one (both sides, the focal site counted on each,
  as scikit-allel's ``nsl``, whose sign is the other way round), standardised the same way.
* XP-EHH = ln(iES_1 / iES_2) standardised by its mean and standard deviation over the sites
  (rehh's ``ies2xpehh``); Rsb = ln(iNES_1 / iNES_2) by its median and standard deviation
  (``ines2rsb``).

The scan keeps, for every pair of chromosomes, the number of consecutive identical, called
sites ending at the current one (scikit-allel's shared suffix length): one pass forwards and
one backwards, ``O(pairs)`` memory and work per site.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: EHH and EHHS are followed down to this value (rehh's ``limehh``, ``limehhs``).
MIN_EHH = 0.05
#: Width of the derived-allele-frequency bins of iHS and nSL (rehh's ``freqbin``).
FREQ_BIN = 0.025
#: Sites whose minor allele is rarer than this get no iHS or nSL (rehh's ``min_maf``).
MIN_MAF = 0.05


@dataclass(frozen=True)
class EhhScan:
    """Per site of a run of haplotypes: the iHH of each allele (ancestral 0, derived 1), the
    integrals of EHHS (``ies``) and of normalised EHHS (``ines``), the mean pairwise run of
    identical sites of each allele (``sl``, for nSL) and the derived allele's frequency."""

    ihh_ancestral: np.ndarray
    ihh_derived: np.ndarray
    ies: np.ndarray
    ines: np.ndarray
    sl_ancestral: np.ndarray
    sl_derived: np.ndarray
    derived_frequency: np.ndarray


def ehh_scan(haplotypes: np.ndarray, positions: np.ndarray,
             tick: Callable[[int], object] | None = None, *, to_ends: bool = False) -> EhhScan:
    """The :class:`EhhScan` of ``haplotypes`` (sites, chromosomes; 0/1, -1 missing) at sorted
    ``positions`` (bp). ``tick(n)`` is called as sites are done (two passes: ``2 * sites``).
    ``to_ends``: a curve still above ``MIN_EHH`` at the run's first or last site is integrated
    up to it instead of giving NaN (rehh's ``discard_integration_at_border = FALSE``), for
    runs shorter than the haplotypes, such as one gene's region."""
    values = np.asarray(haplotypes, dtype=np.int8)
    positions = np.asarray(positions, dtype=np.float64)
    forward = _one_way(values, positions, tick, to_ends)
    backward = _one_way(values[::-1], positions[::-1], tick, to_ends)
    both = {name: forward[name] + backward[name][:, ::-1] for name in forward}
    ihh, integrals, sl = both["ihh"], both["integrals"], both["sl"]
    called = (values >= 0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        frequency = (values == 1).sum(axis=1) / called
    return EhhScan(ihh[0], ihh[1], integrals[0], integrals[1], sl[0], sl[1],
                   np.where(called > 0, frequency, np.nan))


def _one_way(values: np.ndarray, positions: np.ndarray,
             tick: Callable[[int], object] | None, to_ends: bool) -> dict[str, np.ndarray]:
    """Each site's halves of the integrals on the side towards the start of ``values``, and
    its half of SL."""
    n_sites, n = values.shape
    first, second = (index.astype(np.int32) for index in np.triu_indices(n, 1))
    shared = np.zeros(len(first), dtype=np.int32)  # identical called sites ending here
    called_run = np.zeros(n, dtype=np.int32)  # called sites ending here, per chromosome
    out = {name: np.full((2, n_sites), np.nan) for name in ("ihh", "integrals", "sl")}
    for site in range(n_sites):
        row = values[site]
        called = row >= 0
        called_run = (called_run + 1) * called
        left = row[first]
        same = (left == row[second]) & (left >= 0)
        shared = (shared + 1) * same
        # per allele, the pairs still identical k = 0, 1, ... sites from this one
        identical = [_beyond(np.bincount(shared[same & (left == allele)])) for allele in (0, 1)]
        carriers = [called_run[row == allele] for allele in (0, 1)]
        # SL: the mean run, sum_k P(run > k)
        out["sl"][:, site] = [pairs.sum() / pairs[0] if pairs[0] else np.nan
                              for pairs in identical]
        # markers site, site - 1, ... while a pair may still be identical
        full = min(max(map(len, identical)), site + 1)
        length = min(full, _decay_length(identical, carriers))
        while True:
            distance = np.abs(positions[site] - positions[site + 1 - length:site + 1][::-1])
            ihh, integrals = _integrals(identical, carriers, distance,
                                        to_ends and length == site + 1)
            if length == full or not (np.isnan(ihh).any() or np.isnan(integrals).any()):
                break
            length = full  # missing calls kept a curve up longer than its pairs alone say
        out["ihh"][:, site], out["integrals"][:, site] = ihh, integrals
        if tick is not None and site % 256 == 255:
            tick(256)
    if tick is not None:
        tick(n_sites % 256)
    return out


def _decay_length(identical: list[np.ndarray], carriers: list[np.ndarray]) -> int:
    """Markers from the focal one (itself included) beyond which every curve is at or below
    ``MIN_EHH`` when no chromosome has left (missing calls): where no more than ``MIN_EHH``
    of the pairs of the curve's denominator are still identical."""
    pairs = [len(c) * (len(c) - 1) // 2 for c in carriers]
    longest = max(map(len, identical))
    curves = [(identical[0], pairs[0]), (identical[1], pairs[1]),
              (_fit(identical[0], longest) + _fit(identical[1], longest), sum(pairs))]
    # the curves end with 0, so each has a first k where it is low enough
    return max(int(np.argmax(count <= int(MIN_EHH * total))) for count, total in curves) + 2


def _fit(curve: np.ndarray, length: int) -> np.ndarray:
    """``curve`` cut, or followed by zeros, to ``length``."""
    if len(curve) >= length:
        return curve[:length]
    fitted = np.zeros(length, dtype=curve.dtype)
    fitted[:len(curve)] = curve
    return fitted


def _integrals(identical: list[np.ndarray], carriers: list[np.ndarray], distance: np.ndarray,
               to_end: bool) -> tuple[list[float], list[float]]:
    """iHH of each allele, and the integrals of EHHS and normalised EHHS, from the pairs of
    each allele identical k sites away and the runs of called sites of its chromosomes, over
    the markers at ``distance`` (``to_end``: :func:`integrate`'s)."""
    length = len(distance)
    pairs, within, chromosomes = np.zeros(length), np.zeros(length), np.zeros(length)
    ihh = []
    for allele_pairs, called_runs in zip(identical, carriers, strict=True):
        same = _fit(allele_pairs, length)
        # runs longer than the curve count alike within it
        carrying = _beyond(np.bincount(np.minimum(called_runs, length),
                                       minlength=length + 1))[:length]
        ihh.append(integrate(_ratio(same, _pairs_of(carrying)), distance, to_end=to_end))
        pairs += same
        within += _pairs_of(carrying)  # the focal marker's homozygosity, in pairs
        chromosomes += carrying
    return ihh, [integrate(_ratio(pairs, _pairs_of(chromosomes)), distance, to_end=to_end),
                 integrate(_ratio(pairs, within), distance, to_end=to_end)]


def _beyond(histogram: np.ndarray) -> np.ndarray:
    """From counts of each run length, the count of runs longer than ``k`` for each ``k``:
    the pairs (or chromosomes) still identical (called) ``k`` sites from the focal one."""
    return np.append(np.cumsum(histogram[:0:-1])[::-1], 0)


def _pairs_of(chromosomes: np.ndarray) -> np.ndarray:
    return chromosomes * (chromosomes - 1) / 2


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """The curve ``numerator / denominator``, 0 where fewer than two chromosomes are left."""
    return np.divide(numerator, denominator, out=np.zeros(len(numerator)),
                     where=denominator > 0)


def integrate(curve: np.ndarray, distance: np.ndarray, threshold: float = MIN_EHH, *,
              to_end: bool = False) -> float:
    """The area above ``threshold`` under ``curve`` (the focal marker first) against
    ``distance`` from the focal marker, as rehh's ``integrate`` (module doc): 0 when the curve
    starts at or below ``threshold``; when it is still above it at the last marker, NaN, or
    with ``to_end`` the area up to that marker."""
    curve = curve[:len(distance)]
    if not len(curve) or curve[0] <= threshold:
        return 0.0
    below = np.flatnonzero(curve[1:] <= threshold)
    if not len(below):
        if not to_end:
            return np.nan
        dx = distance[1:] - distance[:-1]
        return float(dx @ ((curve[:-1] + curve[1:]) / 2 - threshold))
    stop = int(below[0]) + 1  # the first marker at or below threshold: the curve is 0 there
    dx = distance[1:stop + 1] - distance[:stop]
    y = curve[:stop]
    inner = dx[:stop - 1] @ ((y[:-1] + y[1:]) / 2 - threshold)
    return float(inner + dx[stop - 1] * (y[-1] - threshold) ** 2 / (2 * y[-1]))


def by_frequency(values: np.ndarray, derived_frequency: np.ndarray, *, freq_bin: float = FREQ_BIN,
                 min_maf: float = MIN_MAF) -> np.ndarray:
    """``values`` standardised to mean 0 and standard deviation 1 within bins
    ``[min_maf + i * freq_bin, min_maf + (i + 1) * freq_bin)`` of the derived allele's
    frequency, up to ``1 - min_maf``; NaN outside them or where the value is not finite. The
    bin edges are computed as R's ``seq`` computes them, so that sites on an edge fall where
    rehh's ``ihh2ihs`` puts them."""
    values = np.asarray(values, dtype=np.float64)
    frequency = np.asarray(derived_frequency, dtype=np.float64)
    edges = min_maf + np.arange(int(round((1 - 2 * min_maf) / freq_bin)) + 1) * freq_bin
    bins = np.searchsorted(edges, frequency, side="right") - 1
    kept = np.isfinite(values) & (frequency >= edges[0]) & (frequency < edges[-1])
    return _standardised(values, kept, bins)


def _standardised(values: np.ndarray, kept: np.ndarray, bins: np.ndarray) -> np.ndarray:
    out = np.full(len(values), np.nan)
    for index in np.unique(bins[kept]):
        members = kept & (bins == index)
        spread = values[members].std(ddof=1) if members.sum() > 1 else np.nan
        out[members] = (values[members] - values[members].mean()) / spread
    return out


def by_median(values: np.ndarray) -> np.ndarray:
    """``(values - median) / standard deviation`` over the finite values (rehh's
    ``ines2rsb``)."""
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if len(finite) < 2:
        return np.full(len(values), np.nan)
    return (values - np.median(finite)) / finite.std(ddof=1)


def _log_ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log(a / b)
    return np.where(np.isfinite(ratio), ratio, np.nan)


def unstandardised_ihs(scan: EhhScan) -> np.ndarray:
    """ln(iHH_ancestral / iHH_derived) per site."""
    return _log_ratio(scan.ihh_ancestral, scan.ihh_derived)


def ihs(scan: EhhScan) -> np.ndarray:
    """Standardised iHS per site (module doc)."""
    return by_frequency(unstandardised_ihs(scan), scan.derived_frequency)


def unstandardised_nsl(scan: EhhScan) -> np.ndarray:
    """ln(SL_ancestral / SL_derived) per site."""
    return _log_ratio(scan.sl_ancestral, scan.sl_derived)


def nsl(scan: EhhScan) -> np.ndarray:
    """Standardised nSL per site (module doc)."""
    return by_frequency(unstandardised_nsl(scan), scan.derived_frequency)


def xpehh(first: EhhScan, second: EhhScan) -> np.ndarray:
    """Standardised XP-EHH of population ``first`` against ``second`` at the same sites: by
    the mean, not the median, as rehh's ``ies2xpehh`` (its published values say so)."""
    values = _log_ratio(first.ies, second.ies)
    return _standardised(values, np.isfinite(values), np.zeros(len(values), dtype=np.int64))


def rsb(first: EhhScan, second: EhhScan) -> np.ndarray:
    """Standardised Rsb of population ``first`` against ``second`` at the same sites."""
    return by_median(_log_ratio(first.ines, second.ines))
