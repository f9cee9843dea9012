"""The site-frequency spectrum: how many sites carry each ALT-allele count.

Entry ``i`` of the unfolded spectrum of ``m`` alleles counts the sites with ``i`` ALT alleles,
``i = 0..m`` (monomorphic sites in entries 0 and ``m``). It is the derived-allele spectrum when
ALT is the derived allele (as in simulations); otherwise fold it: entry ``i`` of the folded
(minor-allele) spectrum counts sites whose rarer allele has count ``i``, ``i = 0..m // 2``.

Missing data: sites called in different numbers of alleles are projected down to a common
sample size ``m`` by hypergeometric sampling (Marth et al. 2004, Genetics 166:351; Gutenkunst
et al. 2009, PLoS Genet 5:e1000695): a site with ``k`` ALT of ``n`` called alleles adds
``C(k, i) C(n - k, m - i) / C(n, m)`` to entry ``i``, the chance that ``m`` of its alleles drawn
at random carry ``i`` ALT. ``m`` defaults to the fewest alleles called at any site, so no site
is lost; sites called in fewer than ``m`` alleles are left out. Projection keeps π unchanged.

Likelihoods give the expected spectrum: each site adds its posterior distribution of ``k``
(per-sample posteriors under a flat prior, convolved over the called samples), projected as
above. Entries are floats for that reason.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..genotypes import GenotypeBlock
from .sites import site_chunks, total_alleles, window_block


def site_frequency_spectrum(block: GenotypeBlock, start: int | None = None,
                            end: int | None = None, *, folded: bool = False,
                            project_to: int | None = None) -> np.ndarray:
    """The (unfolded, or ``folded``) spectrum of the sites in ``[start, end)``, projected to
    ``project_to`` alleles (default: the fewest called at a site; module doc for the rules)."""
    window, _ = window_block(block, start, end)
    by_called = _count_histograms(window)
    if project_to is None:
        project_to = min(by_called, default=total_alleles(window))
    if project_to < 1:
        raise ValueError(f"cannot project a spectrum to {project_to} alleles")
    spectrum = np.zeros(project_to + 1)
    for n, histogram in by_called.items():
        if n >= project_to:
            spectrum += histogram @ projection_matrix(n, project_to)
    return fold_spectrum(spectrum) if folded else spectrum


def fold_spectrum(spectrum: np.ndarray) -> np.ndarray:
    """The minor-allele spectrum (length ``m // 2 + 1``) of an unfolded one (length ``m + 1``):
    entry ``i`` adds entries ``i`` and ``m - i``, once when they coincide."""
    spectrum = np.asarray(spectrum, dtype=np.float64)
    half = (len(spectrum) - 1) // 2
    folded = spectrum[:half + 1] + spectrum[::-1][:half + 1]
    if len(spectrum) % 2:  # m even: the middle entry is its own mirror
        folded[half] = spectrum[half]
    return folded


def projection_matrix(n: int, m: int) -> np.ndarray:
    """(n + 1, m + 1) hypergeometric probabilities of ``i`` ALT among ``m`` alleles drawn from
    ``n`` alleles of which ``k`` are ALT (row ``k``, column ``i``)."""
    if n == m:
        return np.eye(n + 1)
    log_factorial = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, n + 1)))])
    k, i = np.arange(n + 1)[:, None], np.arange(m + 1)[None, :]
    possible = (i <= k) & (m - i <= n - k)

    def lf(x: np.ndarray) -> np.ndarray:
        return log_factorial[np.where(possible, x, 0)]

    log_p = (lf(k) - lf(i) - lf(k - i) + lf(n - k) - lf(m - i) - lf(n - k - m + i)
             - log_factorial[n] + log_factorial[m] + log_factorial[n - m])
    return np.where(possible, np.exp(log_p), 0.0)


def _count_histograms(block: GenotypeBlock) -> dict[int, np.ndarray]:
    """For each number ``n`` of called alleles (n >= 1), the summed distribution (length
    ``n + 1``) of the ALT count over the sites called in ``n`` alleles."""
    histograms: dict[int, np.ndarray] = {}
    for chunk in site_chunks(block):
        for n, histogram in _chunk_histograms(block.take_sites(chunk)):
            histograms[n] = histograms.get(n, 0.0) + histogram
    return histograms


def _chunk_histograms(block: GenotypeBlock) -> Iterator[tuple[int, np.ndarray]]:
    if block.kind == "likelihoods":
        distributions, called = _likelihood_count_distributions(block)

        def histogram(at: np.ndarray, n: int) -> np.ndarray:
            return distributions[at, :n + 1].sum(axis=0)
    else:
        alt, called = block.alt_counts()

        def histogram(at: np.ndarray, n: int) -> np.ndarray:
            return np.bincount(alt[at], minlength=n + 1).astype(np.float64)
    for n in np.unique(called[called > 0]).tolist():
        yield n, histogram(called == n, n)


def _likelihood_count_distributions(block: GenotypeBlock) -> tuple[np.ndarray, np.ndarray]:
    """Per site, the posterior distribution of the ALT count among the called samples
    (sites, total alleles + 1) and the called alleles: per-sample posteriors convolved."""
    probs, called = block.called_posteriors()
    ploidy = block.samples.ploidy
    distributions = np.zeros((block.n_sites, sum(ploidy) + 1))
    distributions[:, 0] = 1.0
    top = 0  # highest ALT count reachable so far
    for sample, sample_ploidy in enumerate(ploidy):
        genotype = np.where(called[:, sample, None], probs[:, sample, :sample_ploidy + 1],
                            np.eye(1, sample_ploidy + 1))
        convolved = np.zeros_like(distributions[:, :top + sample_ploidy + 1])
        for count in range(sample_ploidy + 1):
            convolved[:, count:count + top + 1] += (distributions[:, :top + 1]
                                                    * genotype[:, count, None])
        top += sample_ploidy
        distributions[:, :top + 1] = convolved
    return distributions, (called * np.asarray(ploidy)).sum(axis=1)
