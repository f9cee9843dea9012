"""Summary statistics against tskit and scikit-allel on msprime simulations, for every data
kind, with and without missing data."""

from __future__ import annotations

import itertools
import time
from collections import Counter

import numpy as np
import pytest

from popgen_hub.errors import PopgenHubError
from popgen_hub.genotypes import GenotypeBlock, Samples
from popgen_hub.stats import (
    FIELDS,
    diversity,
    fold_spectrum,
    garud_h,
    ld_decay,
    site_frequency_spectrum,
    site_pairs,
    window_statistics,
    windowed,
)

msprime = pytest.importorskip("msprime")
allel = pytest.importorskip("allel")

LENGTH = 100_000
WINDOW = 10_000
STARTS = np.arange(0, LENGTH, WINDOW)
SEEDS = (1, 2, 3)


def simulate(seed: int, individuals: int = 15):
    """A 100 kb tree sequence of diploids (haplotypes 2i and 2i+1 are individual i) with
    biallelic sites at integer positions, its haplotypes (haplotypes x sites) and positions."""
    ts = msprime.sim_ancestry(individuals, ploidy=2, sequence_length=LENGTH,
                              recombination_rate=1e-8, population_size=10_000, random_seed=seed)
    ts = msprime.sim_mutations(ts, rate=2e-8, random_seed=seed,
                               model=msprime.BinaryMutationModel())
    return ts, ts.genotype_matrix().T.astype(np.int8), ts.tables.sites.position.astype(np.int64)


def haplotype_block(haplotypes: np.ndarray, positions: np.ndarray) -> GenotypeBlock:
    return GenotypeBlock.from_haplotypes(haplotypes, positions,
                                         Samples.anonymous(len(haplotypes) // 2, ploidy=2))


def genotype_block(haplotypes: np.ndarray, positions: np.ndarray) -> GenotypeBlock:
    """Diploid ALT counts of consecutive haplotype pairs; a missing haplotype makes the
    genotype missing."""
    pairs = haplotypes.T.reshape(len(positions), -1, 2)
    values = np.where((pairs < 0).any(axis=2), -1, pairs.sum(axis=2)).astype(np.int8)
    return GenotypeBlock(positions, values, "genotypes", Samples.anonymous(values.shape[1], 2))


def likelihood_block(genotypes: GenotypeBlock) -> GenotypeBlock:
    """Sharp phred likelihoods: 0 for the true genotype, 60 for the others; missing: NaN."""
    values = np.where(genotypes.values[:, :, None] == np.arange(3), 0.0, 60.0)
    values[genotypes.values < 0] = np.nan
    return GenotypeBlock(genotypes.positions, values.astype(np.float32), "likelihoods",
                         genotypes.samples, likelihood_scale="phred")


def with_missing(haplotypes: np.ndarray, fraction: float, seed: int = 0) -> np.ndarray:
    """Both haplotypes of random (individual, site) calls set missing."""
    drop = np.random.default_rng(seed).random((len(haplotypes) // 2, haplotypes.shape[1]))
    return np.where(np.repeat(drop < fraction, 2, axis=0), -1, haplotypes).astype(np.int8)


def reference_pi(haplotypes: np.ndarray) -> float:
    """Mean pairwise differences, looping over sites and pairs of called haplotypes."""
    total = 0.0
    for site in haplotypes.T:
        called = [allele for allele in site.tolist() if allele >= 0]
        pairs = list(itertools.combinations(called, 2))
        total += sum(a != b for a, b in pairs) / len(pairs) if pairs else 0.0
    return total


@pytest.mark.parametrize("seed", SEEDS)
def test_diversity_matches_tskit(seed):
    ts, haplotypes, positions = simulate(seed)
    result = diversity(haplotype_block(haplotypes, positions), 0, LENGTH)
    n = ts.num_samples
    assert result.pi == pytest.approx(ts.diversity(mode="site", span_normalise=False), rel=1e-12)
    assert result.pi_per_bp == pytest.approx(ts.diversity(mode="site"), rel=1e-12)
    segregating = ts.segregating_sites(mode="site", span_normalise=False)
    assert result.segregating_sites == segregating
    assert result.theta_w == pytest.approx(segregating / sum(1 / i for i in range(1, n)))
    assert result.tajimas_d == pytest.approx(ts.Tajimas_D(mode="site"), rel=1e-9)
    assert result.n_sites == ts.num_sites and result.span == LENGTH


@pytest.mark.parametrize("seed", SEEDS)
def test_windowed_matches_tskit_windows(seed):
    ts, haplotypes, positions = simulate(seed)
    table = windowed(haplotype_block(haplotypes, positions), STARTS, WINDOW)
    edges = np.append(STARTS, LENGTH)
    np.testing.assert_allclose(table["pi"], ts.diversity(mode="site", windows=edges,
                                                         span_normalise=False), rtol=1e-12)
    np.testing.assert_allclose(table["pi_per_bp"], ts.diversity(mode="site", windows=edges))
    np.testing.assert_array_equal(table["segregating_sites"], ts.segregating_sites(
        mode="site", windows=edges, span_normalise=False))
    np.testing.assert_allclose(table["tajimas_d"], ts.Tajimas_D(mode="site", windows=edges),
                               rtol=1e-9)
    np.testing.assert_array_equal(table["n_sites"], np.histogram(positions, edges)[0])
    assert list(table.dtype.names) == list(FIELDS)


@pytest.mark.parametrize("seed", SEEDS)
def test_spectrum_matches_tskit(seed):
    ts, haplotypes, positions = simulate(seed)
    block = haplotype_block(haplotypes, positions)
    expected = ts.allele_frequency_spectrum(mode="site", polarised=True, span_normalise=False)
    np.testing.assert_array_equal(site_frequency_spectrum(block), expected)
    folded = site_frequency_spectrum(block, folded=True)
    n = ts.num_samples
    assert len(folded) == n // 2 + 1 and folded.sum() == ts.num_sites
    assert folded[3] == expected[3] + expected[n - 3]
    np.testing.assert_array_equal(folded, fold_spectrum(expected))
    window = (positions >= 20_000) & (positions < 50_000)
    np.testing.assert_array_equal(site_frequency_spectrum(block, 20_000, 50_000),
                                  np.bincount(haplotypes[:, window].sum(axis=0), minlength=n + 1))


def test_fold_spectrum_of_odd_and_even_sample_sizes():
    np.testing.assert_array_equal(fold_spectrum([1, 2, 3, 4, 5]), [6, 6, 3])
    np.testing.assert_array_equal(fold_spectrum([1, 2, 3, 4]), [5, 5])


def test_projection_is_the_mean_spectrum_of_subsamples():
    _, haplotypes, positions = simulate(4, individuals=3)
    block = GenotypeBlock.from_haplotypes(haplotypes, positions)
    subsets = list(itertools.combinations(range(len(haplotypes)), 4))
    expected = sum(np.bincount(haplotypes[list(s)].sum(axis=0), minlength=5) for s in subsets)
    np.testing.assert_allclose(site_frequency_spectrum(block, project_to=4),
                               expected / len(subsets), rtol=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_genotypes_and_sharp_likelihoods_give_the_haplotype_values(seed):
    _, haplotypes, positions = simulate(seed)
    blocks = [haplotype_block(haplotypes, positions), genotype_block(haplotypes, positions)]
    blocks.append(likelihood_block(blocks[1]))
    results = [diversity(block, 0, LENGTH) for block in blocks]
    # likelihoods: wrong genotypes keep a posterior of 1e-6 each
    for result, tolerance in zip(results[1:], (1e-12, 1e-4), strict=True):
        for name in ("pi", "theta_w", "segregating_sites", "tajimas_d"):
            assert getattr(result, name) == pytest.approx(getattr(results[0], name),
                                                          rel=tolerance, abs=tolerance), name
    tables = [windowed(block, STARTS, WINDOW) for block in blocks]
    for table in tables[1:]:
        for name in ("pi", "theta_w", "tajimas_d"):
            np.testing.assert_allclose(table[name], tables[0][name], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(site_frequency_spectrum(blocks[2]),
                               site_frequency_spectrum(blocks[0]), atol=0.003, rtol=0)


@pytest.mark.parametrize("seed", SEEDS)
def test_missing_calls_lower_the_called_alleles_of_their_sites_only(seed):
    _, haplotypes, positions = simulate(seed)
    holey = with_missing(haplotypes, 0.1, seed)
    blocks = [haplotype_block(holey, positions), genotype_block(holey, positions)]
    blocks.append(likelihood_block(blocks[1]))
    expected = reference_pi(holey)
    for block in blocks:
        assert diversity(block).pi == pytest.approx(expected, rel=1e-5)
    called = (holey >= 0).sum(axis=0)
    assert window_statistics(blocks[0], 0, LENGTH)["called_alleles"] == pytest.approx(
        called.mean())
    # projection to the fewest called alleles keeps every site and keeps pi
    spectrum = site_frequency_spectrum(blocks[0])
    m = len(spectrum) - 1
    assert m == called.min() and spectrum.sum() == pytest.approx(len(positions))
    i = np.arange(m + 1)
    assert (spectrum * 2 * i * (m - i) / (m * (m - 1))).sum() == pytest.approx(expected)
    np.testing.assert_allclose(site_frequency_spectrum(blocks[2]), spectrum, atol=0.003, rtol=0)
    kept = site_frequency_spectrum(blocks[0], project_to=m + 2)
    assert kept.sum() == pytest.approx((called >= m + 2).sum())


def reference_h(columns: list[tuple]) -> tuple[float, ...]:
    """Garud's H1, H12, H123 and H2/H1 from a list of haplotypes (or genotypes)."""
    p = sorted((c / len(columns) for c in Counter(columns).values()), reverse=True) + [0, 0]
    h1 = sum(f * f for f in p)
    return (h1, h1 - p[0]**2 - p[1]**2 + (p[0] + p[1])**2,
            h1 - p[0]**2 - p[1]**2 - p[2]**2 + (p[0] + p[1] + p[2])**2, (h1 - p[0]**2) / h1)


@pytest.mark.parametrize("seed", SEEDS)
def test_garud_h_matches_allel_and_multilocus_genotypes(seed):
    _, haplotypes, positions = simulate(seed)
    names = ("h1", "h12", "h123", "h2_h1")
    table = windowed(haplotype_block(haplotypes, positions), STARTS, WINDOW)
    genotypes = genotype_block(haplotypes, positions)
    g_table = windowed(genotypes, STARTS, WINDOW)
    for row, g_row in zip(table, g_table, strict=True):
        sites = (positions >= row["start"]) & (positions < row["end"])
        expected = allel.garud_h(haplotypes[:, sites].T)
        np.testing.assert_allclose([row[name] for name in names], expected, rtol=1e-12)
        mlgs = [tuple(column) for column in genotypes.values[sites].T.tolist()]
        np.testing.assert_allclose([g_row[name] for name in names], reference_h(mlgs))
        assert row["h_n"] == len(haplotypes) and g_row["h_n"] == len(mlgs)
    one = garud_h(genotypes, 30_000, 60_000)
    sites = (positions >= 30_000) & (positions < 60_000)
    mlgs = [tuple(column) for column in genotypes.values[sites].T.tolist()]
    np.testing.assert_allclose((one.h1, one.h12, one.h123, one.h2_h1), reference_h(mlgs))


def test_garud_h_counts_complete_haplotypes_only():
    _, haplotypes, positions = simulate(5)
    holey = with_missing(haplotypes, 0.01, seed=5)
    result = garud_h(haplotype_block(holey, positions), 0, 40_000)
    window = holey[:, positions < 40_000]
    complete = [tuple(h) for h in window.tolist() if min(h) >= 0]
    assert result.n == len(complete) and 0 < len(complete) < len(holey)
    np.testing.assert_allclose((result.h1, result.h12, result.h123, result.h2_h1),
                               reference_h(complete))


def test_likelihoods_have_no_haplotype_homozygosity():
    _, haplotypes, positions = simulate(1)
    block = likelihood_block(genotype_block(haplotypes, positions))
    with pytest.raises(PopgenHubError, match="hard calls"):
        garud_h(block)
    table = windowed(block, STARTS, WINDOW)
    assert np.isnan(table["h12"]).all() and (table["h_n"] == 0).all()
    assert np.isfinite(table["pi"]).all()


def binned_mean_r2(r: np.ndarray, positions: np.ndarray, edges: tuple[int, ...]) -> np.ndarray:
    """Mean of r² per distance bin over all pairs, from a condensed matrix of r."""
    first, second = np.triu_indices(len(positions), k=1)  # the condensed order
    bins = np.searchsorted(edges, positions[second] - positions[first], side="right") - 1
    keep = (bins >= 0) & (bins < len(edges) - 1) & np.isfinite(r)
    counts = np.bincount(bins[keep], minlength=len(edges) - 1)
    return np.bincount(bins[keep], weights=r[keep] ** 2, minlength=len(edges) - 1) / counts


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_ld_decay_matches_allel_rogers_huff(seed):
    _, haplotypes, positions = simulate(seed)
    edges = (1, 1_000, 5_000, 20_000, 50_000)
    genotypes = genotype_block(with_missing(haplotypes, 0.05, seed), positions)
    for block, matrix in ((haplotype_block(haplotypes, positions), haplotypes.T),
                          (genotypes, genotypes.values)):
        with np.errstate(invalid="ignore", divide="ignore"):
            expected = binned_mean_r2(allel.rogers_huff_r(matrix), positions, edges)
        result = ld_decay(block, bin_edges=edges, max_pairs=10**9)
        np.testing.assert_allclose(result.mean_r2, expected, rtol=1e-5)
        assert result.n_pairs.sum() <= result.candidate_pairs
    likelihoods = ld_decay(likelihood_block(genotypes), bin_edges=edges, max_pairs=10**9)
    np.testing.assert_allclose(likelihoods.mean_r2, ld_decay(genotypes, bin_edges=edges,
                                                             max_pairs=10**9).mean_r2, rtol=1e-5)


def test_ld_pairs_are_capped_reproducibly():
    positions = np.array([0, 5, 5, 20, 40, 41, 100, 250])
    first, second, total = site_pairs(positions, 1, 50, max_pairs=100)
    expected = [(i, j) for i, j in itertools.combinations(range(len(positions)), 2)
                if 1 <= positions[j] - positions[i] < 50]
    assert list(zip(first.tolist(), second.tolist(), strict=True)) == expected
    assert total == len(expected)
    a = site_pairs(positions, 1, 50, max_pairs=4, seed=3)
    b = site_pairs(positions, 1, 50, max_pairs=4, seed=3)
    assert len(a[0]) == 4 and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert set(zip(a[0].tolist(), a[1].tolist(), strict=True)) <= set(expected)
    _, haplotypes, sites = simulate(1)
    capped = ld_decay(haplotype_block(haplotypes, sites), max_pairs=500)
    assert capped.n_pairs.sum() <= 500 < capped.candidate_pairs


def test_window_statistics_are_a_row_of_windowed_and_empty_windows_are_nan():
    _, haplotypes, positions = simulate(2)
    block = haplotype_block(haplotypes, positions)
    row = window_statistics(block, 20_000, 35_000)
    assert row == pytest.approx(dict(zip(FIELDS, windowed(block, [20_000], 15_000)[0].tolist(),
                                         strict=True)), nan_ok=True)
    assert row["pi"] == pytest.approx(diversity(block, 20_000, 35_000).pi)
    assert row["h12"] == pytest.approx(garud_h(block, 20_000, 35_000).h12)
    empty = window_statistics(block, LENGTH + 10, LENGTH + 20)
    assert empty["n_sites"] == 0 and empty["pi"] == 0 and empty["h_n"] == 0
    assert np.isnan([empty["tajimas_d"], empty["called_alleles"], empty["h12"]]).all()
    overlapping = windowed(block, np.arange(0, LENGTH - WINDOW + 1, 2_500), WINDOW)
    for window in overlapping:
        assert window["h1"] == pytest.approx(garud_h(block, window["start"], window["end"]).h1)
    with pytest.raises(ValueError, match="sorted"):
        windowed(block.take_sites(np.arange(block.n_sites)[::-1]), STARTS, WINDOW)


def test_kept_tables_are_the_values_drawn_or_summed_afresh():
    """Hash weights and harmonic numbers come from tables kept and grown between calls: the
    first n of a longer table are the n made afresh, bit for bit."""
    from popgen_hub.stats import homozygosity
    from popgen_hub.stats.diversity import harmonic

    for n_sites in (0, 1, 9, 5000, 9000, 20_000):
        fresh = np.random.default_rng(homozygosity.HASH_SEED).integers(
            0, np.iinfo(np.uint64).max, size=n_sites, dtype=np.uint64, endpoint=True)
        assert np.array_equal(homozygosity.hash_weights(n_sites), fresh | np.uint64(1))
    for top in (1, 2, 50, 3000, 100_000):
        n = np.arange(-1, top + 1)
        for power in (1, 2):
            table = np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, top + 1) ** power)])
            fresh = np.where(n >= 2, table[np.clip(n - 1, 0, None)], 0.0)
            assert harmonic(n, power).tobytes() == fresh.tobytes()


@pytest.mark.slow
def test_a_chromosome_of_a_thousand_haplotypes_takes_seconds():
    rng = np.random.default_rng(0)
    positions = np.sort(rng.choice(20_000_000, 200_000, replace=False))
    threshold = (256 * rng.beta(0.2, 1.0, len(positions)))[:, None]
    values = (rng.integers(0, 256, (len(positions), 1_000), dtype=np.uint8) < threshold)
    values = values.astype(np.int8)
    block = GenotypeBlock(positions, values, "haplotypes", Samples.anonymous(1_000),
                          haplotype_sample=np.arange(1_000))
    began = time.perf_counter()
    table = windowed(block, np.arange(0, 20_000_000, 10_000), 10_000)
    seconds = time.perf_counter() - began
    print(f"windowed: 2,000 windows of 200,000 sites x 1,000 haplotypes in {seconds:.2f} s")
    assert seconds < 30  # a guard against a pathological slowdown, not a benchmark
    assert table["n_sites"].sum() == len(positions) and np.isfinite(table["h12"]).all()
