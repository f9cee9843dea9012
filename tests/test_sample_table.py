"""Sample tables that pick the individuals of one population from a shared VCF (``--samples``,
``--population``), and the temporal models' age tables, which are the same tables."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pysam
import pytest

from conftest import BUNDLED_MODEL, ROOT, run_cli
from popgen_hub.errors import PopgenHubError
from popgen_hub.readers.samples import read_samples

TABLE = f"{BUNDLED_MODEL}.windows.tsv"
TEMPORAL_VCF = ROOT / "tests" / "data" / "temporal_loci.vcf.gz"
TEMPORAL_SAMPLES = ROOT / "tests" / "data" / "temporal_loci.samples.tsv"
EVEN = [f"sample{i}" for i in range(0, 128, 2)]  # population A: 64 diploids, 128 haplotypes
ODD = [f"sample{i}" for i in range(1, 128, 2)]  # population B


@pytest.fixture(scope="module")
def shared_vcf(simulate_vcf) -> Path:
    """400 kb, 128 diploid samples (sample0 .. sample127), a sweep at 200 kb."""
    return simulate_vcf(length=400_000, sweep_at=200_000, n_haplotypes=256)


def write_table(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


@pytest.fixture
def populations(tmp_path) -> Path:
    """Two populations, A (the even samples) and B (the odd ones)."""
    return write_table(tmp_path / "pops.tsv", "sample\tpopulation",
                       [f"{s}\tA" for s in EVEN] + [f"{s}\tB" for s in ODD])


def subset(vcf: Path, samples: list[str], out: Path) -> Path:
    """The VCF of ``samples`` only, indexed (as `bcftools view -s` writes it)."""
    with pysam.VariantFile(str(vcf)) as source:
        source.subset_samples(samples)
        with pysam.VariantFile(str(out), "wz", header=source.header) as sink:
            for record in source:
                sink.write(record)
    pysam.tabix_index(str(out), preset="vcf", force=True)
    return out


def windows(path: Path) -> tuple[dict[str, str], list[str]]:
    """The window table's header (key -> value) and its rows."""
    header, rows = {}, []
    for line in path.read_text().splitlines():
        if line.startswith("# "):
            key, _, value = line[2:].partition(": ")
            header[key] = value
        else:
            rows.append(line)
    return header, rows


def refused(*args, out: Path) -> str:
    """The one-line error of a command that must refuse, having written nothing."""
    result = run_cli(*args, "-o", out, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()
    return result.stderr


# ------------------------------------------------------------------ present-day models
def test_a_population_is_scanned_exactly_as_a_vcf_of_its_samples(shared_vcf, populations,
                                                                    tmp_path, bundled_model):
    stdout = run_cli("scan", "--vcf", shared_vcf, "--model", BUNDLED_MODEL, "--samples",
                     populations, "--population", "A", "-q", "-o", tmp_path / "a").stdout
    assert "128 of 128 haplotypes of 64 individuals (population A of pops.tsv)" in stdout
    alone = subset(shared_vcf, EVEN, tmp_path / "even.vcf.gz")
    run_cli("scan", "--vcf", alone, "--model", BUNDLED_MODEL, "-q", "-o", tmp_path / "even")
    header, rows = windows(tmp_path / "a" / TABLE)
    assert header["individuals"] == "64, population A of pops.tsv"
    assert windows(tmp_path / "even" / TABLE)[1] == rows  # the same windows, the same scores
    # the other population's individuals are other haplotypes: other scores
    b = bundled_model.score(shared_vcf, samples=populations, population="B", progress=False)
    assert {sample for sample, _ in b.haplotypes} == set(ODD)
    a = bundled_model.score(alone, progress=False)
    assert not np.allclose(a.windows["probabilities"], b.windows["probabilities"])


def test_population_all_pools_the_table_as_the_whole_vcf_would_be(shared_vcf, populations,
                                                                  bundled_model):
    pooled = bundled_model.score(shared_vcf, samples=populations, population="all",
                                 progress=False)
    whole = bundled_model.score(shared_vcf, progress=False)
    assert pooled.n_available == whole.n_available == 256
    assert pooled.haplotypes == whole.haplotypes  # the same seeded 128 of 256
    assert np.array_equal(pooled.windows, whole.windows)
    assert pooled.header()["individuals"] == (f"{pooled.n_individuals}, every population of "
                                              f"pops.tsv pooled: A (64), B (64)")
    assert whole.header()["individuals"] == f"{whole.n_individuals}, from the whole input"


def test_a_table_of_several_populations_needs_population(shared_vcf, populations, tmp_path):
    scan = ("scan", "--vcf", shared_vcf, "--model", BUNDLED_MODEL, "--samples", populations)
    message = refused(*scan, out=tmp_path / "none")
    assert ("pops.tsv holds 2 populations: A (64), B (64); pick one with --population NAME, "
            "or pool them with --population all") in message
    message = refused(*scan, "--population", "C", out=tmp_path / "unknown")
    assert ("--population C: pops.tsv has no such population in its 'population' column; it "
            "has A (64), B (64)") in message
    # explain takes the same options
    message = refused("explain", BUNDLED_MODEL, "--vcf", shared_vcf, "--region",
                      "chr1:1-80000", "--samples", populations, "--population", "C",
                      out=tmp_path / "explain")
    assert "--population C: pops.tsv has no such population" in message


def test_population_needs_a_table_with_a_population_column(shared_vcf, tmp_path,
                                                           bundled_model):
    plain = write_table(tmp_path / "plain.tsv", "sample\tpop", [f"{s}\tA" for s in EVEN])
    scan = ("scan", "--vcf", shared_vcf, "--model", BUNDLED_MODEL)
    message = refused(*scan, "--samples", plain, "--population", "A", out=tmp_path / "x")
    assert ("--population A: plain.tsv has no column 'population'; add one giving each "
            "sample's population, or name it with --population-column") in message
    message = refused(*scan, "--population", "A", out=tmp_path / "y")
    assert "--population A needs --samples TABLE" in message
    # named by --population-column; one population needs no --population
    for population in ("A", None):
        result = bundled_model.score(shared_vcf, samples=plain, population=population,
                                     population_column="pop", progress=False)
        assert {sample for sample, _ in result.haplotypes} == set(EVEN)
        assert result.population == "population A of plain.tsv"


def test_absent_samples_and_small_populations_are_named(shared_vcf, tmp_path):
    scan = ("scan", "--vcf", shared_vcf, "--model", BUNDLED_MODEL, "--samples")
    ghost = write_table(tmp_path / "ghost.tsv", "sample\tpopulation",
                        [f"{s}\tA" for s in EVEN] + ["ghost\tA", "elsewhere\tB"])
    message = refused(*scan, ghost, "--population", "A", out=tmp_path / "a")
    assert "ghost.tsv names 1 sample(s) that sim_" in message and "lacks (ghost)" in message
    small = write_table(tmp_path / "small.tsv", "sample\tpopulation",
                        [f"{s}\tA" for s in EVEN] + [f"{s}\tC" for s in ODD[:10]])
    message = refused(*scan, small, "--population", "C", out=tmp_path / "c")
    assert ("population C of small.tsv has 10 samples (20 haplotypes) in sim_" in message
            and f"{BUNDLED_MODEL} needs at least 128" in message)
    empty = write_table(tmp_path / "empty.tsv", "sample\tpopulation", [])
    assert "empty.tsv lists no samples" in refused(*scan, empty, out=tmp_path / "e")


def test_ancient_samples_are_for_temporal_models_only(shared_vcf, tmp_path, bundled_model):
    ages = [f"{s}\tA\t0" for s in EVEN] + [f"{s}\tB\t{1000 * (i + 1)}"
                                           for i, s in enumerate(ODD)]
    table = write_table(tmp_path / "ages.tsv", "sample\tpopulation\tage_years", ages)
    message = refused("scan", "--vcf", shared_vcf, "--model", BUNDLED_MODEL, "--samples",
                      table, "--population", "all", out=tmp_path / "x")
    assert ("--samples is for temporal models when it lists ancient samples: ages.tsv gives "
            "64 an age above 0 (sample1, sample3") in message
    present = bundled_model.score(shared_vcf, samples=table, population="A", progress=False)
    assert {sample for sample, _ in present.haplotypes} == set(EVEN)


def half_missing(vcf: Path, samples: list[str], out: Path) -> Path:
    """``vcf`` with half the calls of ``samples`` (at random) set to ./., indexed."""
    rng = np.random.default_rng(0)
    with pysam.VariantFile(str(vcf)) as source:
        with pysam.VariantFile(str(out), "wz", header=source.header) as sink:
            for record in source:
                for sample in np.array(samples)[rng.random(len(samples)) < 0.5]:
                    record.samples[sample]["GT"] = (None, None)
                sink.write(record)
    pysam.tabix_index(str(out), preset="vcf", force=True)
    return out


def test_model_auto_compares_the_population_the_scan_reads(shared_vcf, populations, tmp_path,
                                                           monkeypatch, capsys):
    """--model auto's statistics come from the individuals --population picks: half of B's
    calls missing moves B's distances and the whole file's, not A's. The scan reads the table
    once, for auto and the scan."""
    import popgen_hub
    from popgen_hub.cli import main

    damaged = half_missing(shared_vcf, ODD, tmp_path / "b_missing.vcf.gz")

    def distances(vcf: Path, **table) -> dict[str, float]:
        choice = popgen_hub.choose_model(vcf, **table)
        return {c.name: c.distance for c in choice.candidates if not c.refused}

    a = {"samples": populations, "population": "A"}
    b = {"samples": populations, "population": "B"}
    assert distances(damaged, **a) == distances(shared_vcf, **a)
    assert distances(damaged, **b) != distances(shared_vcf, **b)
    assert distances(damaged) != distances(shared_vcf)
    # what the scan prints is A's choice, from the damaged file as from the intact one (the
    # reasons models are skipped for name the file)
    message = popgen_hub.choose_model(shared_vcf, **a).message().replace(shared_vcf.name,
                                                                         damaged.name)
    reads = []

    def counted(*args, **kwargs):
        reads.append(args[0])
        return read_samples(*args, **kwargs)

    monkeypatch.setattr(importlib.import_module("popgen_hub.scoring.prepare"), "read_samples",
                        counted)
    assert main(["scan", "--vcf", str(damaged), "--model", "auto", "--samples",
                 str(populations), "--population", "A", "-o", str(tmp_path / "auto")]) == 0
    run = capsys.readouterr()
    assert message in run.err and "population A of pops.tsv" in run.out
    assert len(reads) == 1, reads
    # a table of several populations needs --population before auto reads anything
    assert "pick one with --population NAME" in refused(
        "scan", "--vcf", damaged, "--model", "auto", "--samples", populations,
        out=tmp_path / "none")


# ------------------------------------------------------------------ temporal models
@pytest.fixture(scope="module")
def temporal_model():
    import popgen_hub

    return popgen_hub.load("temporal_balsel.hsap_eur", device="cpu")


def test_the_temporal_age_table_is_the_same_table(temporal_model, tmp_path):
    before = temporal_model.score(TEMPORAL_VCF, samples=TEMPORAL_SAMPLES, progress=False)
    assert before.population == f"the samples of {TEMPORAL_SAMPLES.name}"
    assert before.header()["individuals"].startswith("60, the samples of")
    rows = [line.split("\t") for line in TEMPORAL_SAMPLES.read_text().splitlines()[1:]]
    table = write_table(tmp_path / "info.tsv", "GenID\tgroup\tMeanYBP",
                        [f"{name}\tuk\t{age}" for name, age in rows] + ["nobody\tother\t0"])
    options = {"sample_column": "GenID", "age_column": "MeanYBP", "population_column": "group"}
    with pytest.raises(PopgenHubError, match=r"info\.tsv holds 2 populations: uk \(60\), "
                                             r"other \(1\)"):
        temporal_model.score(TEMPORAL_VCF, samples=table, progress=False, **options)
    uk = temporal_model.score(TEMPORAL_VCF, samples=table, population="uk", progress=False,
                              **options)
    assert uk.time_bins == before.time_bins and uk.haplotypes == before.haplotypes
    assert uk.windows.tobytes() == before.windows.tobytes()  # NaN statistics: no stored ones
    assert uk.population == "population uk of info.tsv"
    # the flags of before, on the command line
    out = tmp_path / "scan"
    run_cli("scan", "--vcf", TEMPORAL_VCF, "--model", "temporal_balsel.hsap_eur", "--samples",
            table, "--sample-column", "GenID", "--age-column", "MeanYBP", "--population-column",
            "group", "--population", "uk", "--step", "50000", "-q", "-o", out)
    header, _ = windows(out / "temporal_balsel.hsap_eur.windows.tsv")
    assert header["time_bins"] == before.time_bins
    assert header["individuals"] == "60, population uk of info.tsv"
