"""The scenario catalogue: every entry documented and cited; the biology of each is right."""

from __future__ import annotations

import json

import msprime
import numpy as np
import pytest

from conftest import run_cli
from popgen_hub.datasets import load_dataset
from popgen_hub.encoders import HaplotypeImageEncoder
from popgen_hub.errors import PopgenHubError
from popgen_hub.simulate.dataset import simulate_dataset
from popgen_hub.simulate.demography import DEMOGRAPHIES, demography_info
from popgen_hub.simulate.scenarios import SCENARIOS, get_scenario

#: Small versions of each scenario, for speed.
SMALL = {"imagene_sweep": {"n_haplotypes": 16, "length": 20_000},
         "balancing": {"n_haplotypes": 16, "length": 20_000, "ancient_ages_years": [2000, 4000],
                       "ancient_haplotypes": 4},
         "temporal_balancing": {"n_haplotypes": 16, "length": 20_000,
                                "ancient_ages_years": [2000, 4000], "ancient_haplotypes": 4},
         "neutral": {"n_haplotypes": 16, "length": 20_000},
         "sweeps": {"n_haplotypes": 16, "length": 20_000},
         "sweep_regime": {"n_haplotypes": 16, "histories": ["HomSap/Africa_1T12/AFR"]},
         "recombination_regime": {"n_haplotypes": 16, "length": 20_000,
                                  "histories": ["HomSap/Africa_1T12/AFR"]}}


def central_diversity(haplotypes: np.ndarray, positions: np.ndarray, centre: float,
                      half_width: float) -> float:
    """Nucleotide diversity (sum over sites of 2pq n/(n-1)) within ``half_width`` of centre."""
    n = haplotypes.shape[0]
    near = np.abs(positions - centre) < half_width
    derived = haplotypes[:, near].sum(axis=0)
    return float((2 * derived * (n - derived) / (n * (n - 1))).sum())


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.slow) if name in {"balancing", "temporal_balancing"}
    else name for name in sorted(SCENARIOS)])  # the forward-simulated ones take 5-10 s
def test_every_scenario_is_documented_cited_and_labelled(name):
    cls = SCENARIOS[name]
    assert len((cls.__doc__ or "").split()) > 5 and cls.citations and cls.labels
    scenario = get_scenario(name, **SMALL[name])
    replicates = [scenario.simulate(i, seed=1) for i in range(2 * len(cls.labels))]
    assert [r.label for r in replicates] == [i % len(cls.labels) for i in range(len(replicates))]
    for replicate in replicates:
        rows = sum(point.n_haplotypes for point in replicate.time_points)
        assert replicate.haplotypes.shape == (rows, len(replicate.positions))
        assert np.all(np.diff(replicate.positions) >= 0)
    again = scenario.simulate(1, seed=1)
    assert np.array_equal(again.haplotypes, replicates[1].haplotypes)


def test_simulate_list_shows_the_catalogue():
    out = run_cli("simulate", "--list").stdout
    for name, cls in SCENARIOS.items():
        kind = "classes" if cls.target is None else "a regression of"
        assert f"{name}: {kind} {', '.join(cls.labels)}" in out


@pytest.mark.parametrize("name", sorted(DEMOGRAPHIES))
def test_demographies_build_with_populations_and_citations(name):
    info = demography_info(name)
    demography = info.build()
    assert info.citation and info.generation_time > 0
    assert info.populations[0] in [p.name for p in demography.populations]


def test_stdpopsim_models_have_their_populations():
    assert demography_info("HomSap/OutOfAfrica_3G09").populations == ("CEU", "YRI", "CHB")
    assert set(demography_info("HomSap/OutOfAfrica_4J17").populations) == {
        "CEU", "YRI", "CHB", "JPT"}
    yri = get_scenario("neutral", demography="HomSap/OutOfAfrica_3G09", population="YRI",
                       **SMALL["neutral"])
    ceu = get_scenario("neutral", demography="HomSap/OutOfAfrica_3G09", population="CEU",
                       **SMALL["neutral"])

    def mean_diversity(scenario) -> float:
        return np.mean([central_diversity(r.haplotypes, r.positions, 10_000, 10_000) for r in
                        (scenario.simulate(i, seed=2) for i in range(30))])

    assert mean_diversity(yri) > mean_diversity(ceu)  # out of Africa lost diversity


def test_sweeps_lower_diversity_near_the_centre_hard_more_than_soft():
    scenario = get_scenario("sweeps", n_haplotypes=32, length=40_000, sweep_ages=[0],
                            selection_strengths=[300])
    diversity: dict[str, list[float]] = {label: [] for label in scenario.labels}
    for index in range(36):
        replicate = scenario.simulate(index, seed=7)
        diversity[scenario.labels[replicate.label]].append(
            central_diversity(replicate.haplotypes, replicate.positions, 20_000, 4_000))
    neutral, hard, soft = (np.mean(diversity[k]) for k in ("neutral", "hard", "soft"))
    assert hard < 0.25 * neutral
    assert soft > hard  # standing variation leaves several haplotypes: a softer dip


def test_old_sweeps_have_recovered_more_than_fresh_ones():
    def hard_diversity(age: float) -> float:
        scenario = get_scenario("sweeps", n_haplotypes=32, length=40_000, sweep_ages=[age],
                                selection_strengths=[300])
        return np.mean([central_diversity(r.haplotypes, r.positions, 20_000, 4_000)
                        for r in (scenario.simulate(i, seed=3) for i in range(1, 60, 3))])

    assert hard_diversity(4_000) > 2 * hard_diversity(0)


def test_ancient_samples_have_the_requested_ages():
    scenario = get_scenario("neutral", ancient_ages_years=[8000, 1000, 4000, 2000],
                            generation_time=29.0, **SMALL["neutral"])
    assert [(p.age_years, p.n_haplotypes) for p in scenario.time_points] == [
        (0.0, 16), (1000.0, 10), (2000.0, 10), (4000.0, 10), (8000.0, 10)]
    ts = msprime.sim_ancestry(samples=scenario.sample_sets(), ploidy=2,
                              demography=demography_info(scenario.demography).build(),
                              sequence_length=1_000, random_seed=1)
    times = ts.tables.nodes.time[scenario.ordered_samples(ts)]
    expected = np.repeat([0, 1000 / 29, 2000 / 29, 4000 / 29, 8000 / 29], [16, 10, 10, 10, 10])
    assert np.allclose(times, expected)
    replicate = scenario.simulate(0, seed=1)
    assert replicate.haplotypes.shape[0] == 56


def test_priors_are_drawn_per_replicate_inside_their_range():
    scenario = get_scenario("neutral", mutation_rate=1e-8, mutation_rate_max=2e-8,
                            recombination_rate=1e-8, recombination_rate_sd=1e-9,
                            **SMALL["neutral"])
    draws = [scenario.simulate(i, seed=4).params for i in range(60)]
    mu = np.array([d["mutation_rate"] for d in draws])
    r = np.array([d["recombination_rate"] for d in draws])
    assert mu.min() >= 1e-8 and mu.max() <= 2e-8 and len(set(mu)) == 60
    assert abs(r.mean() - 1e-8) < 5e-10 and 5e-10 < r.std() < 1.5e-9


@pytest.mark.parametrize("name, params, message", [
    ("neutral", {"population": "XYZ"}, "population='XYZ' is not in"),
    ("neutral", {"mutation_rate_max": 1e-9}, "prior mutation_rate..mutation_rate_max"),
    ("neutral", {"recombination_rate_sd": 1.0}, "recombination_rate_sd=1.0 exceeds"),
    ("neutral", {"ancient_ages_years": [-5]}, "must be > 0"),
    ("sweeps", {"selection_strengths": [0]}, "selection_strengths=[0] must be positive"),
    ("sweeps", {"demography": "HomSap/OutOfAfrica_4J17"}, "sweeps need one"),
    ("sweeps", {"ancient_ages_years": [1000]}, "cannot sample during a sweep"),
    ("sweeps", {"soft_start_frequency_min": 0.5}, "must be ordered"),
    ("balancing", {"dominance": 0.5}, "dominance=0.5 > 1"),
    ("balancing", {"ancient_ages_years": [12000]}, "must be younger than onset_years"),
    ("balancing", {"frequency_min": 0.7}, "must be ordered inside"),
    ("balancing", {"ancient_ages_years": [1000, 1010]}, "distinct generations"),
    ("sweeps", {"sweep_ages": [], "ancient_ages_years": [10]}, "sweep_ages=[] must be"),
    ("sweep_regime", {"histories": ["HomSap/AncientEurasia_9K19/LBK"]}, "not HomSap present"),
    ("sweep_regime", {"linked_distance_min": 0}, "linked_distance_min..max = 0..2000000.0 must"),
    ("sweep_regime", {"strength_max": 50}, "strength_min..max = 100.0..50"),
])
def test_impossible_parameters_and_priors_are_named(name, params, message):
    with pytest.raises(PopgenHubError, match=message.replace("[", r"\[").replace("(", r"\(")):
        get_scenario(name, **params)


def test_unknown_scenario_lists_the_catalogue():
    result = run_cli("simulate", "nope", "--n", "2", "-o", "x", check=False)
    assert result.returncode == 1
    assert all(name in result.stderr for name in SCENARIOS)


def test_temporal_dataset_is_identical_for_any_worker_count(tmp_path):
    small = dict(scenario_params={**SMALL["neutral"], "ancient_ages_years": [2000, 4000]},
                 encoder=HaplotypeImageEncoder(n_rows=16, n_cols=16), n=6, seed=3,
                 shard_size=2, progress=False)
    one = load_dataset(simulate_dataset("neutral", tmp_path / "one", workers=1, **small))
    two = load_dataset(simulate_dataset("neutral", tmp_path / "two", workers=2, **small))
    assert np.array_equal(one.images, two.images)
    manifest = json.loads((tmp_path / "one" / "manifest.json").read_text())
    assert [p["age_years"] for p in manifest["time_points"]] == [0.0, 2000.0, 4000.0]
    with np.load(tmp_path / "one" / "shard-000000.npz") as shard:
        assert int(shard["n_haplotypes"]) == 16 + 2 * 10
    one_class = run_cli("train", "imagene_cnn", "--data", tmp_path / "one", "-o",
                        tmp_path / "run", check=False)
    assert one_class.returncode == 1 and "needs at least two" in one_class.stderr


def test_datasets_load_as_torch_datasets_shard_by_shard(tmp_path):
    import torch

    from popgen_hub.training.data import ShardDataset

    out = simulate_dataset("sweeps", tmp_path / "data", scenario_params=SMALL["sweeps"],
                           encoder=HaplotypeImageEncoder(n_rows=16, n_cols=16), n=7, seed=1,
                           shard_size=3, progress=False)
    whole = load_dataset(out)
    lazy = ShardDataset(out)
    assert len(lazy) == 7 and lazy.labels == ["neutral", "hard", "soft"]
    loader = torch.utils.data.DataLoader(lazy, batch_size=4, shuffle=False)
    images, labels = map(torch.cat, zip(*loader, strict=True))
    assert torch.equal(images, torch.from_numpy(whole.images))
    assert labels.tolist() == whole.labels.tolist()
    with pytest.raises(IndexError):
        lazy[7]


def selected_column(replicate) -> int:
    """The column of the overdominant allele (added inside [L/2, L/2 + 1) of 50 kb)."""
    [column] = np.flatnonzero(np.abs(replicate.positions - 25_000.5) < 0.5)
    return column


@pytest.mark.slow
def test_young_overdominant_allele_is_in_band_and_rises_through_the_ancient_samples():
    scenario = get_scenario("balancing")  # the review's task: 10,000 years, 40 + 4 x 10
    present, oldest, carriers, others = [], [], [], []
    for index in range(1, 16, 2):  # odd replicates carry the allele
        replicate = scenario.simulate(index, seed=11)
        assert scenario.frequency_min <= replicate.params["present_frequency"] <= (
            scenario.frequency_max)
        column = selected_column(replicate)
        today = replicate.haplotypes[:40]
        present.append(today[:, column].mean())
        oldest.append(replicate.haplotypes[70:80, column].mean())  # 8,000 years ago
        near = np.abs(replicate.positions - 25_000) < 5_000
        has = today[:, column] == 1
        carriers.append(central_diversity(today[has][:, near], replicate.positions[near],
                                          25_000, 5_000))
        others.append(central_diversity(today[~has][:, near], replicate.positions[near],
                                        25_000, 5_000))
    assert all(abs(p - 0.5) < 0.3 for p in present)  # sample of 40 from a 0.4-0.6 population
    assert np.mean(oldest) < 0.5 * np.mean(present)  # 2,000 years after it arose: still rare
    assert np.mean(carriers) < 0.3 * np.mean(others)  # one young haplotype: like a sweep


@pytest.mark.slow
def test_long_standing_balancing_selection_keeps_intermediate_frequency_variation():
    """The classic signature needs time: an allele balanced for ~10 N generations (here
    2.5 million years at N = 10,000, forward at Q = 50) has old, diverged allelic classes."""
    scenario = get_scenario("balancing", demography="marth2004_eur_1epoch", population="pop_0",
                            onset_years=2_500_000, scaling=50, ancient_ages_years=[])
    intermediate: dict[int, list[int]] = {0: [], 1: []}
    for index in range(20):
        replicate = scenario.simulate(index, seed=11)
        frequency = replicate.haplotypes.mean(axis=0)
        minor = np.minimum(frequency, 1 - frequency)
        near = np.abs(replicate.positions - 25_000) < 2_500
        if replicate.label:
            near[selected_column(replicate)] = False
        intermediate[replicate.label].append(int(((minor >= 0.3) & near).sum()))
    assert np.mean(intermediate[1]) > 1.5 * np.mean(intermediate[0])


@pytest.mark.slow
def test_balancing_priors_are_drawn_per_replicate():
    scenario = get_scenario("balancing", dominance=30, dominance_max=50, onset_years=9_000,
                            onset_years_max=11_000, **SMALL["balancing"])
    drawn = [scenario.simulate(index, seed=2).params for index in (1, 3, 5)]
    assert all(30 <= d["dominance"] <= 50 and 9_000 <= d["onset_years"] <= 11_000 for d in drawn)
    assert len({d["dominance"] for d in drawn}) == 3
    with pytest.raises(PopgenHubError, match="prior dominance..dominance_max"):
        get_scenario("balancing", dominance=30, dominance_max=20)
