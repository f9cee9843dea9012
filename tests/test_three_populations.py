"""``--population`` on one VCF of three simulated human populations (stdpopsim's HomSap
OutOfAfrica_3G09: YRI, CEU, CHB), where each population's individuals carry its own history,
unlike test_sample_table.py's one population split in two at random."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli
from popgen_hub.auto import Choice, choose_model
from test_sample_table import refused, subset, windows

MODEL = "imagene_cnn.sweep_hsap_general"  # 128 haplotypes: 64 diploids of one population
TABLE = f"{MODEL}.windows.tsv"
POPULATIONS = ("YRI", "CEU", "CHB")
PER_POPULATION = 64
LISTED = "YRI (64), CEU (64), CHB (64)"


@pytest.fixture(scope="module")
def three_populations(tmp_path_factory) -> tuple[Path, Path]:
    """One indexed VCF of 400 kb, 64 diploids each of YRI, CEU and CHB (YRI_0 .. CHB_63), and
    its sample table; the VCF is written by the package's own writer, then renamed."""
    import msprime
    import pysam
    import stdpopsim

    from popgen_hub.simulate.genome import write_indexed_vcf

    history = stdpopsim.get_species("HomSap").get_demographic_model("OutOfAfrica_3G09")
    ts = msprime.sim_ancestry(samples={p: PER_POPULATION for p in POPULATIONS},
                              demography=history.model, sequence_length=400_000,
                              recombination_rate=1e-8, random_seed=11)
    ts = msprime.sim_mutations(ts, rate=1.5e-8, random_seed=12)
    base = tmp_path_factory.mktemp("three_populations")
    written = write_indexed_vcf(ts, base / "numbered.vcf.gz", contig="chr1")
    # each individual's population from the tree sequence, not from the order msprime uses
    origin = [ts.population(individual.population).metadata["name"]
              for individual in ts.individuals()]
    names = [f"{p}_{origin[:i].count(p)}" for i, p in enumerate(origin)]
    fixed = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t"
    numbered = fixed + "\t".join(f"sample{i}" for i in range(ts.num_individuals)) + "\n"
    with gzip.open(written, "rt") as handle:
        text = handle.read()
    assert numbered in text  # the writer's names, which this fixture replaces
    plain = base / "three.vcf"
    plain.write_text(text.replace(numbered, fixed + "\t".join(names) + "\n", 1))
    vcf = Path(pysam.tabix_index(str(plain), preset="vcf", force=True))
    table = base / "pops.tsv"
    table.write_text("sample\tpopulation\n"
                     + "".join(f"{n}\t{p}\n" for n, p in zip(names, origin, strict=True)))
    return vcf, table


def members(population: str) -> list[str]:
    """The fixture's names of ``population``'s individuals, as `bcftools view -s` takes them."""
    return [f"{population}_{i}" for i in range(PER_POPULATION)]


@pytest.fixture(scope="module")
def scan(three_populations, tmp_path_factory) -> Callable[..., Path]:
    """Factory: the window table of a CLI scan (cached, as scans repeat across tests)."""
    vcf, table = three_populations
    base = tmp_path_factory.mktemp("three_population_scans")
    cache: dict[tuple[str, ...], Path] = {}

    def make(population: str | None = None, *, vcf: Path = vcf) -> Path:
        """``population`` of the table, or the whole of ``vcf`` when None."""
        options = ("--samples", table, "--population", population) if population else ()
        key = (str(vcf), *map(str, options))
        if key not in cache:
            out = base / f"scan{len(cache)}"
            run_cli("scan", "--vcf", vcf, "--model", MODEL, *options, "-q", "-o", out)
            cache[key] = out / TABLE
        return cache[key]

    return make


def column(rows: list[str], name: str) -> np.ndarray:
    """One numeric column of a window table's rows (the first row names the columns)."""
    index = rows[0].split("\t").index(name)
    return np.array([float(row.split("\t")[index]) for row in rows[1:]])


def test_three_populations_need_population_and_all_pools_them(three_populations, scan,
                                                               tmp_path):
    vcf, table = three_populations
    message = refused("scan", "--vcf", vcf, "--model", MODEL, "--samples", table,
                      out=tmp_path / "none")
    assert (f"pops.tsv holds 3 populations: {LISTED}; pick one with --population NAME, or "
            f"pool them with --population all") in message
    pooled, pooled_rows = windows(scan("all"))
    assert pooled["haplotypes"].startswith("128 of 384 ")
    assert pooled["individuals"].endswith(f", every population of pops.tsv pooled: {LISTED}")
    # the pool is the whole file: the same seeded 128 haplotypes of 384, the same scores
    whole, whole_rows = windows(scan())
    assert whole["haplotypes"] == pooled["haplotypes"] and whole_rows == pooled_rows


def test_ceu_is_scanned_exactly_as_a_vcf_of_ceu_alone(three_populations, scan, tmp_path):
    vcf, table = three_populations
    header, rows = windows(scan("CEU"))
    assert header["individuals"] == "64, population CEU of pops.tsv"
    assert header["haplotypes"].startswith("128 of 128 ")
    alone = subset(vcf, members("CEU"), tmp_path / "ceu.vcf.gz")
    assert windows(scan(vcf=alone))[1] == rows  # the same windows, the same probabilities
    # and not those of the African population beside it in the file
    assert windows(scan("YRI"))[1] != rows


def test_yri_carries_more_variation_than_the_bottlenecked_populations(scan):
    """Out of Africa's bottleneck left CEU and CHB fewer segregating sites than YRI: a window
    of YRI's individuals has more sites informative to the model (minor allele frequency
    >= 1 %) on average; a scan reading the wrong individuals would lose that order."""
    informative, sweep = {}, {}
    for population in POPULATIONS:
        header, rows = windows(scan(population))
        assert header["individuals"] == f"64, population {population} of pops.tsv"
        informative[population] = column(rows, "n_informative_sites").mean()
        sweep[population] = column(rows, "p_sweep")
    assert informative["YRI"] > 1.2 * informative["CEU"], informative
    assert informative["YRI"] > 1.2 * informative["CHB"], informative
    for a, b in (("YRI", "CEU"), ("YRI", "CHB"), ("CEU", "CHB")):
        assert not np.allclose(sweep[a], sweep[b]), (a, b)


def test_model_auto_reads_the_population_it_is_given(three_populations, tmp_path):
    vcf, table = three_populations

    def choice(population: str) -> Choice:
        return choose_model(vcf, samples=table, population=population)

    chb, yri = choice("CHB"), choice("YRI")
    assert ({c.name: c.distance for c in chb.candidates if not c.refused}
            != {c.name: c.distance for c in yri.candidates if not c.refused})
    out = tmp_path / "auto"
    run = run_cli("scan", "--vcf", vcf, "--model", "auto", "--samples", table,
                  "--population", "CHB", "-o", out)
    assert chb.message() in run.stderr  # CHB's choice, from CHB's individuals
    assert "of 64 individuals (population CHB of pops.tsv)" in run.stdout
    (chosen,) = out.glob("*.windows.tsv")
    assert windows(chosen)[0]["individuals"] == "64, population CHB of pops.tsv"
