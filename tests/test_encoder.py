"""Properties of the ImaGene haplotype-image encoder (the one used by training and inference)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from conftest import encode
from popgen_hub.encoders import HaplotypeImageEncoder, build_encoder
from popgen_hub.encoders.haplotype_image import TENSOR, area_overlaps, area_sums, packed_rows
from popgen_hub.errors import PopgenHubError


def random_haplotypes(seed: int, n_haplotypes: int = 64, n_sites: int = 200) -> np.ndarray:
    rng = np.random.default_rng(seed)
    freqs = rng.uniform(0.02, 0.98, n_sites)
    return (rng.random((n_haplotypes, n_sites)) < freqs).astype(np.int8)


def test_image_has_contract_shape_dtype_and_binary_values():
    encoder = HaplotypeImageEncoder(n_rows=32, n_cols=48)
    encoded = encode(encoder, random_haplotypes(0))
    assert encoded.inputs[TENSOR].shape == (1, 32, 48) == encoder.shapes[TENSOR]
    assert encoded.inputs[TENSOR].dtype == np.float32
    assert set(np.unique(encoded.inputs[TENSOR])) <= {0.0, 1.0}


@pytest.mark.parametrize("fit", ["resize", "crop_pad"])
def test_same_shape_for_few_and_many_sites(fit):
    encoder = HaplotypeImageEncoder(n_rows=64, n_cols=64, fit=fit)
    for n_sites in (5, 64, 500):
        haplotypes = random_haplotypes(n_sites, n_sites=n_sites)
        positions = np.arange(n_sites) * 100.0
        image = encode(encoder, haplotypes, positions, (0, n_sites * 100)).inputs[TENSOR]
        assert image.shape == (1, 64, 64)


def test_polarisation_makes_ref_alt_coding_irrelevant():
    encoder = HaplotypeImageEncoder(n_rows=64, n_cols=64)
    haplotypes = random_haplotypes(1, n_haplotypes=63)  # odd: no 50/50 sites, whose minor
    # allele is undefined (the encoder then keeps ALT as minor)
    flipped = 1 - haplotypes
    some = 1 - haplotypes.copy()
    some[:, ::2] = haplotypes[:, ::2]  # flip only odd columns
    reference = encode(encoder, haplotypes).inputs[TENSOR]
    assert np.array_equal(reference, encode(encoder, flipped).inputs[TENSOR])
    assert np.array_equal(reference, encode(encoder, some).inputs[TENSOR])


def test_ones_are_minor_alleles():
    encoder = HaplotypeImageEncoder(min_maf=0.0)
    haplotypes = random_haplotypes(2)
    minor, _ = encoder.minor_allele_matrix(haplotypes)
    assert (minor.mean(axis=0) <= 0.5).all()


def test_maf_filter_drops_rare_and_monomorphic_sites():
    haplotypes = np.zeros((100, 4), dtype=np.int8)
    haplotypes[:1, 0] = 1  # MAF 0.01: kept at min_maf 0.01
    haplotypes[:50, 1] = 1  # MAF 0.5
    haplotypes[:, 2] = 1  # monomorphic ALT
    # column 3 monomorphic REF
    assert encode(HaplotypeImageEncoder(min_maf=0.01), haplotypes).n_sites == 2
    assert encode(HaplotypeImageEncoder(min_maf=0.02), haplotypes).n_sites == 1
    assert encode(HaplotypeImageEncoder(min_maf=0.0), haplotypes).n_sites == 2


def test_rows_sorted_most_frequent_haplotype_first_and_row_order_irrelevant():
    rng = np.random.default_rng(3)
    founders = rng.integers(0, 2, (4, 30)).astype(np.int8)
    haplotypes = np.repeat(founders, [20, 7, 3, 2], axis=0)
    encoder = HaplotypeImageEncoder(n_rows=32, n_cols=30, binarise=False)
    image = encode(encoder, haplotypes).inputs[TENSOR][0]
    # the rows of one haplotype are contiguous, groups in decreasing size
    runs = [len(list(group)) for _, group in itertools.groupby(map(tuple, image))]
    assert runs == [20, 7, 3, 2]
    shuffled = haplotypes[rng.permutation(len(haplotypes))]
    assert np.array_equal(image, encode(encoder, shuffled).inputs[TENSOR][0])


def test_dist_sort_orders_groups_by_distance_to_the_most_frequent():
    top = np.zeros(10, dtype=np.int8)
    near = top.copy()
    near[0] = 1
    far = np.ones(10, dtype=np.int8)
    far[:3] = 0
    haplotypes = np.vstack([far] * 3 + [near] * 2 + [top] * 6)
    encoder = HaplotypeImageEncoder(n_rows=11, n_cols=10, row_sort="dist", min_maf=0.0,
                                    binarise=False)
    image = encode(encoder, haplotypes).inputs[TENSOR][0]
    distances = [int(np.count_nonzero(row != image[0])) for row in image]
    assert distances == sorted(distances)
    assert distances[-1] > distances[6] > 0  # far after near, though far is more frequent


def test_area_overlaps_are_integer_areas_that_average_blocks():
    assert np.array_equal(area_overlaps(6, 3) @ np.arange(6.0) / 6, [0.5, 2.5, 4.5])
    assert np.array_equal(area_overlaps(2, 4) @ np.array([0.0, 1.0]) / 2, [0, 0, 1, 1])
    odd = area_overlaps(5, 3)
    assert (odd == np.round(odd)).all()
    assert (odd.sum(axis=1) == 5).all() and (odd.sum(axis=0) == 3).all()


def test_area_sums_and_packed_rows_are_the_product_and_packbits_they_replace():
    rng = np.random.default_rng(5)
    for rows, n_in, n_out in [(3, 1, 4), (5, 7, 7), (4, 9, 4), (128, 626, 128), (2, 1000, 3)]:
        for top in (1, 40):
            x = rng.integers(0, top + 1, (rows, n_in)).astype(np.uint8 if top == 1 else np.int64)
            sums = area_sums(x, n_out)
            assert sums.dtype == np.int64
            assert np.array_equal(sums, x.astype(np.float64) @ area_overlaps(n_in, n_out).T)
    for rows, width in [(0, 5), (3, 0), (1, 1), (7, 8), (128, 83), (5, 3000)]:
        lines = rng.integers(0, 3, (rows, width)).astype(np.uint8)
        assert np.array_equal(packed_rows(lines), np.packbits(lines, axis=1))


def test_exact_half_is_one_whatever_the_arithmetic():
    """768 sites become 128 columns, 6 per pixel: 3 minor alleles of 6 is exactly 0.5."""
    haplotypes = np.zeros((128, 768), dtype=np.int8)
    haplotypes[:60, 0::2] = 1  # even sites minor in haplotypes 0-59, odd sites in 60-119:
    haplotypes[60:120, 1::2] = 1  # every pixel of those rows holds 3 minor alleles of 6
    encoder = HaplotypeImageEncoder(row_sort="none")
    assert encode(encoder, haplotypes).n_sites == 768
    image = encode(encoder, haplotypes).inputs[TENSOR][0]
    assert (image[:120] == 1).all() and (image[120:] == 0).all()
    fractions = encode(HaplotypeImageEncoder(row_sort="none", binarise=False),
                       haplotypes).inputs[TENSOR]
    assert (fractions[0, :120] == 0.5).all()


def test_missing_calls_read_as_major_allele_and_frequencies_use_called_haplotypes():
    # 10 haplotypes: 4 ALT, 3 REF, 3 missing. Among called, ALT is the major allele (4/7);
    # counting missing as REF would make it the minor one (4/10).
    site = np.array([1, 1, 1, 1, 0, 0, 0, -1, -1, -1], dtype=np.int8)[:, None]
    minor, keep = HaplotypeImageEncoder(min_maf=0.0).minor_allele_matrix(site)
    assert keep.tolist() == [True]
    assert minor[:, 0].tolist() == [0, 0, 0, 0, 1, 1, 1, 0, 0, 0]


def test_crop_pad_keeps_central_sites_and_pads_symmetrically():
    encoder = HaplotypeImageEncoder(n_rows=8, n_cols=4, fit="crop_pad", min_maf=0.0,
                                    row_sort="none")
    haplotypes = np.eye(8, 10, dtype=np.int8)  # site j polymorphic in haplotype j (j < 8)
    positions = np.arange(10) * 10.0
    image = encode(encoder, haplotypes, positions, (0, 100)).inputs[TENSOR][0]
    # window middle 50 -> sites 3..6 of the 8 informative ones
    assert [int(np.argmax(image[:, c])) for c in range(4)] == [3, 4, 5, 6]
    narrow = encode(HaplotypeImageEncoder(n_rows=8, n_cols=12, fit="crop_pad", min_maf=0.0,
                                   row_sort="none"), haplotypes, positions, (0, 100))
    narrow_image = narrow.inputs[TENSOR][0]
    assert (narrow_image[:, :2] == 0).all() and (narrow_image[:, -2:] == 0).all()
    # without positions, the middle of the informative sites by index
    centred = encode(encoder, haplotypes).inputs[TENSOR][0]
    assert [int(np.argmax(centred[:, c])) for c in range(4)] == [2, 3, 4, 5]


def test_config_round_trip_and_clear_errors():
    encoder = HaplotypeImageEncoder(n_rows=32, n_cols=16, row_sort="dist", col_sort="freq")
    assert build_encoder(encoder.to_config()) == encoder
    with pytest.raises(PopgenHubError, match="row_sort"):
        HaplotypeImageEncoder(row_sort="random")
    with pytest.raises(PopgenHubError, match="unknown encoder"):
        build_encoder({"name": "nope"})
    with pytest.raises(PopgenHubError, match="unknown field 'size'"):
        build_encoder({"name": "haplotype_image", "size": 3})
    with pytest.raises(PopgenHubError, match="n_rows is 'abc', not a whole number"):
        build_encoder({"name": "haplotype_image", "n_rows": "abc"})
