"""Simulation: reproducible replicates, the biology of a sweep, datasets that resume."""

from __future__ import annotations

import json

import numpy as np
import pytest

from popgen_hub import cli
from popgen_hub.datasets import load_dataset
from popgen_hub.encoders import HaplotypeImageEncoder
from popgen_hub.errors import PopgenHubError
from popgen_hub.simulate.dataset import simulate_dataset
from popgen_hub.simulate.demography import get_demography
from popgen_hub.simulate.scenarios import get_scenario


def nucleotide_diversity(haplotypes: np.ndarray) -> float:
    n = haplotypes.shape[0]
    derived = haplotypes.sum(axis=0)
    return float((2 * derived * (n - derived) / (n * (n - 1))).sum())


def test_replicates_are_reproducible_and_labels_alternate():
    scenario = get_scenario("imagene_sweep", n_haplotypes=32)
    a, b = scenario.simulate(5, seed=7), scenario.simulate(5, seed=7)
    assert np.array_equal(a.haplotypes, b.haplotypes) and np.array_equal(a.positions, b.positions)
    assert not np.array_equal(a.haplotypes, scenario.simulate(5, seed=8).haplotypes)
    assert [scenario.simulate(i, seed=7).label for i in range(4)] == [0, 1, 0, 1]
    assert a.haplotypes.shape[0] == 32 and set(np.unique(a.haplotypes)) <= {0, 1}
    assert (np.diff(a.positions) > 0).all() and a.positions.max() < scenario.length


def test_other_parameters_never_share_replicates_even_with_the_same_seed():
    """Neutral replicates ignore the selection parameters; without the scenario's stream in the
    seeds, a dataset of 2Ns = 200 would repeat the neutral half of one of 2Ns = 300."""
    strong = get_scenario("imagene_sweep", n_haplotypes=16, selection_strength=300)
    weaker = get_scenario("imagene_sweep", n_haplotypes=16, selection_strength=200)
    assert strong.simulate(0, seed=1).label == weaker.simulate(0, seed=1).label == 0
    assert not np.array_equal(strong.simulate(0, seed=1).haplotypes,
                              weaker.simulate(0, seed=1).haplotypes)


def test_sweeps_have_less_diversity_than_neutral_loci():
    scenario = get_scenario("imagene_sweep", n_haplotypes=64)
    replicates = [scenario.simulate(i, seed=11) for i in range(40)]
    neutral = [nucleotide_diversity(r.haplotypes) for r in replicates if r.label == 0]
    sweep = [nucleotide_diversity(r.haplotypes) for r in replicates if r.label == 1]
    # theta = 4 N_ref mu L = 48; a strong sweep removes most diversity around its site
    assert 25 < np.mean(neutral) < 80
    assert np.mean(sweep) < 0.6 * np.mean(neutral)
    assert all(r.params["selection_strength"] == 300 for r in replicates if r.label == 1)
    assert all(0.6 <= r.params["end_frequency"] <= 1 for r in replicates if r.label == 1)


def test_marth_three_epoch_demography_sizes():
    debug = get_demography("marth2004_eur_3epoch").debug()
    sizes = [debug.population_size_trajectory(np.array([t]))[0, 0] for t in (0, 3_200, 5_000)]
    assert np.allclose(sizes, [20_000, 2_000, 10_000])


def test_impossible_parameters_are_named():
    with pytest.raises(PopgenHubError, match="n_haplotypes"):
        get_scenario("imagene_sweep", n_haplotypes=3)
    with pytest.raises(PopgenHubError, match="end_frequency"):
        get_scenario("imagene_sweep", end_frequency_min=0.9, end_frequency_max=0.5)
    with pytest.raises(PopgenHubError, match="known scenarios: imagene_sweep"):
        get_scenario("no_such_scenario")
    with pytest.raises(PopgenHubError, match="demograph"):
        get_scenario("imagene_sweep", demography="nowhere")


def test_dataset_identical_for_any_worker_count_and_resumable(tmp_path):
    small = dict(scenario_params={"n_haplotypes": 16, "length": 20_000},
                 encoder=HaplotypeImageEncoder(n_rows=16, n_cols=16), n=8, seed=2, shard_size=3,
                 progress=False)
    one = simulate_dataset("imagene_sweep", tmp_path / "one", workers=1, **small)
    two = simulate_dataset("imagene_sweep", tmp_path / "two", workers=2, **small)
    a, b = load_dataset(one), load_dataset(two)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.labels, b.labels)
    assert list(a.index) == list(range(8)) and a.images.shape == (8, 1, 16, 16)
    with np.load(one / "shard-000000.npz") as shard:
        offsets, packed = shard["site_offsets"], shard["haplotypes_packed"]
        assert packed.shape[0] == offsets[-1] and len(offsets) == 4

    # resume: remove a shard, rerun, get the same bytes back; nothing left half-written
    (one / "shard-000001.npz").unlink()
    with pytest.raises(PopgenHubError, match="incomplete"):
        load_dataset(one)
    with pytest.raises(PopgenHubError, match="--resume"):  # never into a dataset in place
        simulate_dataset("imagene_sweep", one, workers=1, **small)
    simulate_dataset("imagene_sweep", one, workers=1, resume=True, **small)
    assert np.array_equal(load_dataset(one).images, a.images)
    assert not list(one.glob(".*tmp"))
    manifest = json.loads((one / "manifest.json").read_text())
    assert manifest["provenance"]["msprime"] and manifest["parameters"]["n_haplotypes"] == 16


def test_resuming_a_simulation_with_another_seed_says_so(tmp_path, monkeypatch, capsys):
    """Resumed with another --seed, the interrupted simulation used to be left aside and a new
    one started; now the one line says what changed."""
    from popgen_hub.simulate import dataset

    real = dataset.write_shard

    def write_then_stop(*args):
        real(*args)
        raise KeyboardInterrupt  # Ctrl-C after the first shard

    argv = ["simulate", "imagene_sweep", "--param", "n_haplotypes=16", "--param",
            "length=10000", "--encoder", "n_rows=16", "--encoder", "n_cols=16", "--n", "4",
            "--shard-size", "2", "-q", "-o", str(tmp_path / "data")]
    monkeypatch.setattr(dataset, "write_shard", write_then_stop)
    assert cli.main([*argv, "--seed", "2"]) == 130
    monkeypatch.undo()
    (partial,) = tmp_path.glob(".data.popgen-hub-partial-*")
    capsys.readouterr()
    assert cli.main([*argv, "--seed", "3", "--resume"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"popgen-hub simulate: error: cannot resume the interrupted run kept in {partial}: "
        f"--seed was 2, now 3; run the same command as before with --resume, or delete "
        f"{partial} to start afresh"]
    assert cli.main([*argv, "--seed", "2", "--resume"]) == 0
    assert load_dataset(tmp_path / "data").images.shape == (4, 1, 16, 16)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_dataset_directory_of_another_scenario_is_refused(tmp_path):
    kwargs = dict(encoder=HaplotypeImageEncoder(n_rows=16, n_cols=16), n=2, seed=2,
                  progress=False)
    simulate_dataset("imagene_sweep", tmp_path, scenario_params={"n_haplotypes": 16,
                                                                  "length": 10_000}, **kwargs)
    with pytest.raises(PopgenHubError, match="different dataset"):
        simulate_dataset("imagene_sweep", tmp_path, scenario_params={
            "n_haplotypes": 16, "length": 10_000, "selection_strength": 100}, **kwargs)


def test_simulated_vcf_has_contig_length_and_phased_samples(simulate_vcf):
    import cyvcf2

    path = simulate_vcf(length=200_000, sweep_at=None, seed=5, contig="2")
    vcf = cyvcf2.VCF(str(path))
    assert "##contig=<ID=2,length=200000>" in vcf.raw_header
    assert len(vcf.samples) == 64
    record = next(iter(vcf))
    assert record.genotype.array()[:, 2].all()  # phased
    import pysam

    # the .tbi beside it indexes every record: a region query through it finds them all
    with pysam.TabixFile(str(path), index=str(path.with_name(path.name + ".tbi"))) as tabix:
        assert tabix.contigs == ["2"]
        indexed = sum(1 for _ in tabix.fetch("2", 0, 200_000))
    assert indexed == sum(1 for _ in cyvcf2.VCF(str(path))) > 100
