"""EHH statistics against rehh's published values (cattle BTA12, the rehh 3.2.2 vignette and
its genome-wide scans) and against scikit-allel's nSL."""

from __future__ import annotations

import gzip
import subprocess

import numpy as np
import pytest

from conftest import shared
from popgen_hub.genotypes import concatenate
from popgen_hub.readers import SampleSelection, haplotype_columns, open_reader
from popgen_hub.stats import ehh

REHH = "real/cattle_bta12_rehh"


def published(name: str) -> dict[str, np.ndarray]:
    """A table of the folder (rehh's wgscan.cgu / wgscan.eut) as columns."""
    with gzip.open(shared(f"{REHH}/{name}"), "rt") as handle:
        head, *rows = [line.rstrip("\n").split("\t") for line in handle if line.strip()]
    columns = list(zip(*rows, strict=True))
    return {key: np.array(values, dtype=object if key == "MARKER" else float)
            for key, values in zip(head, columns, strict=True)}


def vignette(block: int) -> list[list[str]]:
    """The rows of the vignette's ``block``-th printed table (blocks separated by '-----')."""
    text = shared(f"{REHH}/rehh_3.2.2_vignette_reference_outputs.txt").read_text()
    part = text.split("-----")[block]
    return [line[1:].split() for line in part.splitlines() if line.startswith(">")]


@pytest.fixture(scope="module")
def cattle(tmp_path_factory):
    """BTA12 of the CGU cattle (280 haplotypes), bgzipped and indexed as the readers need,
    and its EHH scan with the seconds it took."""
    source = shared(f"{REHH}/bta12_cgu.vcf.gz")
    path = tmp_path_factory.mktemp("cattle") / "bta12_cgu.vcf.gz"
    with open(path, "wb") as out:
        subprocess.run(["bgzip", "-c"], input=gzip.decompress(source.read_bytes()), stdout=out,
                       check=True)
    subprocess.run(["tabix", "-p", "vcf", str(path)], check=True)
    reader = open_reader(path)
    selection = SampleSelection(tuple(haplotype_columns(reader)))
    block = concatenate(list(reader.blocks(reader.contig_region("12"), selection,
                                           stats=reader.new_stats())))
    return block, ehh.ehh_scan(block.values, block.positions)


def test_ihh_ies_ines_equal_rehh_3_2_2_scan_hh(cattle):
    """The vignette's scan_hh rows 453:459 (rehh 3.2.2 on this very file), to 7 digits."""
    block, scan = cattle
    rows = [row for row in vignette(3) if row[0].startswith("F")]
    assert len(rows) == 14  # the table printed in two halves of 7 rows
    left, right = rows[:7], rows[7:]
    for (marker, _, position, *_, ihh_a), (_, ihh_d, ies, ines) in zip(left, right, strict=True):
        site = int(np.searchsorted(block.positions, int(position) - 1))
        assert block.positions[site] == int(position) - 1, marker
        for mine, theirs in ((scan.ihh_ancestral, ihh_a), (scan.ihh_derived, ihh_d),
                             (scan.ies, ies), (scan.ines, ines)):
            assert mine[site] == pytest.approx(float(theirs), rel=1e-6), marker


def test_ihh_within_one_percent_of_the_published_genome_wide_scan(cattle):
    """wgscan.cgu, site by site on BTA12. It was made by an earlier rehh: alleles carried by
    two chromosomes and curves that reach the chromosome's ends are integrated otherwise
    there (rehh 3 gives NaN at the ends), so those are left out, and said how many."""
    block, scan = cattle
    table = published("wgscan.cgu.tsv.gz")
    on12 = table["CHR"] == 12
    assert np.array_equal(table["POSITION"][on12].astype(np.int64), block.positions + 1)
    n = block.values.shape[1]
    for mine, column, carriers in (
            (scan.ihh_ancestral, "iHH_A", (1 - scan.derived_frequency) * n),
            (scan.ihh_derived, "iHH_D", scan.derived_frequency * n)):
        theirs = table[column][on12]
        compared = np.isfinite(mine) & (np.rint(carriers) > 2)
        assert compared.sum() > 0.9 * len(mine)  # 1,424 sites, ~50 at the ends, ~7 doubletons
        relative = np.abs(mine[compared] - theirs[compared]) / theirs[compared]
        assert relative.max() < 0.01, column
    # iNES (Tang et al. 2007) did not change between the versions: equal everywhere
    ines = np.isfinite(scan.ines)
    assert scan.ines[ines] == pytest.approx(table["iES_Tang_et_al_2007"][on12][ines], rel=1e-9)


def test_ihs_standardisation_equals_ihh2ihs_on_the_published_scan():
    """ihh2ihs(wgscan.cgu, freqbin = 0.025): the first iHS values and frequency classes."""
    table = published("wgscan.cgu.tsv.gz")
    with np.errstate(divide="ignore"):
        unstandardised = np.log(table["iHH_A"] / table["iHH_D"])
    derived = 1 - table["freq_A"]
    ihs = ehh.by_frequency(np.where(np.isfinite(unstandardised), unstandardised, np.nan),
                           derived)
    expected = [float(row[3]) for row in vignette(4)[1:]]
    assert ihs[:len(expected)] == pytest.approx(expected, abs=1e-6)
    for k, row in enumerate(vignette(5)[1:]):  # [0.05,0.075) 1090 -0.7117920 0.6106032 ...
        low, high = (0.05 + i * 0.025 for i in (k, k + 1))  # the edges as R's seq makes them
        assert row[0] == f"[{low:g},{high:g})"
        members = np.isfinite(ihs) & (derived >= low) & (derived < high)
        assert members.sum() == int(row[1])
        assert unstandardised[members].mean() == pytest.approx(float(row[2]), abs=1e-6)
        assert unstandardised[members].std(ddof=1) == pytest.approx(float(row[3]), abs=1e-6)


@pytest.mark.parametrize("statistic, column, block", [
    (ehh.rsb, "iES_Tang_et_al_2007", 6), (ehh.xpehh, "iES_Sabeti_et_al_2007", 7)])
def test_rsb_and_xpehh_equal_the_published_cgu_against_eut(statistic, column, block):
    """ines2rsb / ies2xpehh of the published CGU and EUT scans, their first rows."""
    cgu, eut = published("wgscan.cgu.tsv.gz"), published("wgscan.eut.tsv.gz")
    assert np.array_equal(cgu["MARKER"], eut["MARKER"])

    def scan(table: dict[str, np.ndarray]) -> ehh.EhhScan:
        values = table[column]
        return ehh.EhhScan(*(values,) * 4, values, values, 1 - table["freq_A"])

    values = statistic(scan(cgu), scan(eut))
    expected = [float(row[3]) for row in vignette(block)[1:]]
    assert values[:len(expected)] == pytest.approx(expected, abs=1e-6)


def test_nsl_is_scikit_allels_with_the_ihs_sign():
    allel = pytest.importorskip("allel")
    rng = np.random.default_rng(1)
    haplotypes = (rng.random((300, 60)) < 0.3).astype(np.int8)
    haplotypes[:, :10] = haplotypes[:, :1]  # a block of identical haplotypes
    positions = np.sort(rng.choice(1_000_000, 300, replace=False))
    mine = ehh.unstandardised_nsl(ehh.ehh_scan(haplotypes, positions))
    theirs = allel.nsl(haplotypes, use_threads=False)
    assert np.isfinite(mine).sum() > 250
    assert np.allclose(mine, -theirs, equal_nan=True)


def test_integration_follows_rehh():
    distance = np.array([0.0, 10, 30, 60])
    # above the bound: trapezoids less the bound, then the line down to 0 at the next marker
    curve = np.array([1.0, 0.5, 0.0, 0.0])
    expected = 10 * (0.75 - 0.05) + 20 * (0.5 - 0.05) ** 2 / (2 * 0.5)
    assert ehh.integrate(curve, distance) == pytest.approx(expected)
    assert np.isnan(ehh.integrate(np.array([1.0, 0.9, 0.8, 0.7]), distance))  # at the end
    assert ehh.integrate(np.zeros(4), distance) == 0  # an allele no chromosome carries
    # --to-ends: the area up to the last marker instead
    assert ehh.integrate(np.array([1.0, 0.9, 0.8, 0.7]), distance, to_end=True) == \
        pytest.approx(10 * (0.95 - 0.05) + 20 * (0.85 - 0.05) + 30 * (0.75 - 0.05))
    # a missing call takes its chromosome out, as rehh does: at site 1, chromosome 1 leaves
    # the derived allele's three and the two left are identical (EHH 1, not 1/3)
    haplotypes = np.array([[1, 1, 1, 0], [1, -1, 1, 0], [1, 1, 1, 0]], dtype=np.int8)
    scan = ehh.ehh_scan(haplotypes, np.array([0, 100, 200]), to_ends=True)
    assert scan.ihh_derived[0] == pytest.approx(2 * 100 * (1 - 0.05))
    assert np.isnan(ehh.ehh_scan(haplotypes, np.array([0, 100, 200])).ihh_derived[0])
