"""The sweep models' training regime: histories reduced from stdpopsim, and the three classes."""

from __future__ import annotations

import numpy as np
import pytest
from test_catalogue import central_diversity

from popgen_hub.errors import PopgenHubError
from popgen_hub.simulate.histories import (
    EPOCH_STARTS,
    HELD_OUT_MODELS,
    TRAINING_HOMSAP,
    SizeHistory,
    published,
    random_history,
    training_histories,
)
from popgen_hub.simulate.scenarios import get_scenario

AFRICAN = "HomSap/Africa_1T12/AFR"
EUROPEAN = "HomSap/OutOfAfrica_2T12/EUR"


def test_held_out_models_are_not_trained_on():
    groups = [set(training_histories(g)) for g in ("european", "east_asian", "african")]
    assert all(groups) and set.union(*groups) <= set(TRAINING_HOMSAP)
    assert sum(map(len, groups)) == len(set.union(*groups))  # no history in two groups
    assert not any(h.split("/")[1] in HELD_OUT_MODELS for h in TRAINING_HOMSAP)


def test_published_histories_show_the_out_of_africa_bottleneck():
    african, european = published(AFRICAN), published(EUROPEAN)
    bottleneck = (EPOCH_STARTS > 1_000) & (EPOCH_STARTS < 3_000)
    assert european.sizes[bottleneck].min() < 0.2 * african.sizes[bottleneck].min()
    # both share the ancestral African size, and both grew recently
    assert european.size_at(100_000) == pytest.approx(african.size_at(100_000), rel=0.05)
    assert european.size_at(0) > 10 * european.sizes[bottleneck].min()


def test_a_flattened_era_keeps_the_pairwise_coalescence_over_it():
    history = random_history(np.random.default_rng(3))
    flat = history.flattened(200, 900)
    assert flat.size_at(500) == pytest.approx(history.harmonic_mean(200, 900))
    assert flat.harmonic_mean(200, 900) == pytest.approx(history.harmonic_mean(200, 900))
    assert flat.size_at(100) == history.size_at(100)
    assert flat.size_at(5_000) == history.size_at(5_000)
    assert len(flat.demography().events) == len(flat.starts) - 1
    assert isinstance(flat, SizeHistory)


def test_a_second_bottleneck_is_older_than_the_first_and_leaves_one_bottleneck_draws_alone():
    one = [random_history(np.random.default_rng(seed)) for seed in range(40)]
    two = [random_history(np.random.default_rng(seed), 2) for seed in range(40)]
    second = [not np.array_equal(a.sizes, b.sizes) for a, b in zip(one, two, strict=True)]
    assert 10 <= sum(second) <= 30  # half draw one
    for a, b in zip(one, two, strict=True):
        ancestral = a.sizes[-1]
        changed = a.sizes != b.sizes
        # only epochs still at the ancestral size, older than the first bottleneck, dip
        assert np.all(a.sizes[changed] == ancestral) and np.all(b.sizes[changed] < ancestral)
        assert not changed.any() or EPOCH_STARTS[changed].min() > EPOCH_STARTS[
            a.sizes != ancestral].max()


def test_two_bottlenecks_are_an_option_that_keeps_the_default_regimes_seeds():
    default = get_scenario("sweep_regime", genome_windows=30)
    assert "random_bottlenecks" not in default.parameters
    assert default.stream == 1511747839122456874  # the bundled stats_fc_genome's genomes' stream
    wider = get_scenario("sweep_regime", genome_windows=30, random_bottlenecks=2)
    assert wider.parameters["random_bottlenecks"] == 2 and wider.stream != default.stream
    with pytest.raises(PopgenHubError, match="random_bottlenecks=3 must be 1 or 2"):
        get_scenario("recombination_regime", random_bottlenecks=3)


def test_sweeps_empty_the_centre_and_linked_sweeps_the_edge_nearest_the_site():
    scenario = get_scenario("sweep_regime", histories=[AFRICAN], n_haplotypes=32,
                            strength_min=500, age_max=100, ongoing_share=0, soft_share=0,
                            linked_distance_min=60_000, linked_distance_max=80_000,
                            recombination_rate_max=1e-8)
    centre: dict[str, list[float]] = {label: [] for label in scenario.labels}
    for index in range(45):
        replicate = scenario.simulate(index, seed=2)
        assert np.all((replicate.positions >= 0) & (replicate.positions <= 80_000))
        centre[scenario.labels[replicate.label]].append(
            central_diversity(replicate.haplotypes, replicate.positions, 40_000, 5_000))
    neutral, sweep, linked = (np.mean(centre[k]) for k in scenario.labels)
    assert sweep < 0.25 * neutral
    assert sweep < linked  # the linked site is 60-80 kb away: the centre has recovered more


def test_every_class_draws_the_same_parameters():
    scenario = get_scenario("sweep_regime", histories=[AFRICAN], n_haplotypes=16)
    draws = [scenario.simulate(i, seed=4).params for i in range(3)]
    assert len({frozenset(d) for d in draws}) == 1  # same keys, whatever the class
    strengths = [scenario.simulate(i, seed=5).params["selection_strength"] for i in range(30)]
    assert 100 <= min(strengths) and max(strengths) <= 2_000 and len(set(strengths)) == 30


def test_a_sweep_runs_at_the_site_it_is_given():
    # no lineage escapes a sweep at its site, so all coalesce within it, while 60 kb away
    # (escape ~0.3 per lineage at r = 3e-8, 2Ns = 2,000) some do not
    scenario = get_scenario("sweep_regime", histories=[AFRICAN], n_haplotypes=16)
    params = {"recombination_rate": 3e-8, "sweep_age": 0.0, "selection_strength": 2_000.0,
              "start_frequency": 0.0, "end_frequency": 1.0, "distance": 30_000.0}
    for offset in (30_000, -30_000):
        ts, _ = scenario.ancestry(published(AFRICAN), "sweep", {**params, "site_offset": offset},
                                  1)
        site, mirror = ts.at(40_000 + offset), ts.at(40_000 - offset)
        assert site.time(site.root) < 0.2 * mirror.time(mirror.root)
    # a window wider than twice the least linked distance holds some linked sites: on the left
    # of the centre (a replicate's mirror may then flip it), with no gap before the window
    wide = get_scenario("sweep_regime", histories=[AFRICAN], n_haplotypes=16, length=240_000)
    ts, _ = wide.ancestry(published(AFRICAN), "linked", params, 1)
    site, mirror = ts.at(120_000 - 30_000), ts.at(120_000 + 30_000)
    assert ts.sequence_length == 240_000 and site.time(site.root) < 0.2 * mirror.time(mirror.root)


def test_a_child_that_aborts_is_survived_and_an_error_in_it_is_raised_here():
    import faulthandler
    import os
    import signal
    import threading

    from popgen_hub.simulate.base import survives_abort

    def abort() -> None:
        faulthandler.disable()  # pytest's would print the child's stack
        os.abort()

    assert survives_abort(lambda: {"value": 3}) == (True, {"value": 3})
    assert survives_abort(abort) == (False, None)
    with pytest.raises(ZeroDivisionError):
        survives_abort(lambda: 1 / 0)
    with pytest.raises(RuntimeError, match="cannot pickle"):  # the child still leaves
        survives_abort(threading.Lock)
    with pytest.raises(RuntimeError, match="child process died .SIGKILL"):
        survives_abort(lambda: os.kill(os.getpid(), signal.SIGKILL))


def test_a_sweep_on_which_msprime_aborts_is_simulated_with_the_next_seed(caplog):
    # msprime 1.4.4 fails an assertion (lib/msprime.c line 1258) in this linked sweep's
    # ancestry on its own seed, which killed `simulate`'s worker before the retry (a newer
    # msprime that no longer aborts here fails the warning's assertion: then choose another)
    scenario = get_scenario("sweep_regime", genome_windows=30)
    with caplog.at_level("WARNING", logger="popgen_hub"):
        replicate = scenario.simulate(13631, seed=7)
    assert scenario.labels[replicate.label] == "linked" and replicate.haplotypes.shape[0] == 128
    assert "msprime aborted on a linked sweep with seed" in caplog.text
    assert "trying seed" in caplog.text
