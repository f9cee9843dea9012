"""Issue 13's check on reads: simulated BAMs of a planted sweep, scanned with the bundled
likelihood model from the reads and the reference, find the sweep."""

from __future__ import annotations

import msprime
import numpy as np
import pytest

from conftest import run_cli
from popgen_hub.simulate.genome import planted_sweep
from popgen_hub.simulate.reads import write_bams
from test_scan import read_table

MODEL = "exchangeable_cnn_gl.sweep_hsap_likelihoods"
LENGTH, SITE = 1_000_000, 500_000
N_REF = 10_000


@pytest.fixture(scope="module")
def swept_bams(tmp_path_factory):
    """20 diploids at 4x over 1 Mb, a hard sweep (2Ns = 1000, now at 99 %) at 500 kb:
    msprime haplotypes placed as reads on a random reference, with sequencing errors."""
    ts = msprime.sim_ancestry(samples=20, population_size=N_REF, sequence_length=LENGTH,
                              recombination_rate=1e-8, random_seed=1,
                              model=planted_sweep(SITE, N_REF, 1000, N_REF, 0.99))
    ts = msprime.sim_mutations(ts, rate=1.5e-8, random_seed=1)
    haplotypes = ts.genotype_matrix()
    positions = ts.tables.sites.position.astype(np.int64)
    biallelic = (haplotypes.max(axis=1) == 1) & (np.diff(positions, prepend=-1) > 0)
    genotypes = haplotypes[biallelic, 0::2] + haplotypes[biallelic, 1::2]
    return write_bams(tmp_path_factory.mktemp("swept"), genotypes, positions[biallelic],
                      length=LENGTH, depth=4, seed=1)


def test_a_sweep_planted_in_simulated_reads_is_found(swept_bams, tmp_path):
    """Measured: the top window by P(sweep) (0.94, p 0.0007 against the null of 20
    individuals at 4x) holds the site; 3.6x mean depth read back from the 4x drawn
    (duplicate and low-MAPQ reads are dropped)."""
    out = tmp_path / "scan"
    run_cli("scan", "--bam", *swept_bams.bams, "--reference", swept_bams.reference,
            "--model", MODEL, "-q", "-o", out)
    header, rows = read_table(out / f"{MODEL}.windows.tsv")
    assert "within the 0.5-20x" in header["read_depth"]
    scored = [row for row in rows if row["p_sweep"] != "NA"]
    top = max(scored, key=lambda row: float(row["p_sweep"]))
    print(f"top window {top['start']}-{top['end']}: P(sweep) {top['p_sweep']}, "
          f"p {top['p_value']}")
    assert int(top["start"]) <= SITE < int(top["end"]), top
    assert float(top["p_sweep"]) > 0.5
    assert (out / f"{MODEL}.sweep.bw").is_file()
