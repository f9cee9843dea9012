"""Out-of-distribution flags (popgen_hub.ood) and `scan --model auto` (popgen_hub.auto)."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pysam
import pytest

import popgen_hub
from conftest import BUNDLED_MODEL, ROOT, run_cli
from popgen_hub.contract import ModelContract
from popgen_hub.errors import PopgenHubError
from popgen_hub.ood import BY_HISTORY, REASONS, REFERENCE, flag_text, training_statistics
from popgen_hub.registry import get_contract

EXAMPLE_VCF = ROOT / "hub" / "data" / "example_sweep.vcf.gz"


@pytest.fixture(scope="module")
def bundled():
    model = popgen_hub.load(BUNDLED_MODEL, device="cpu")
    if REFERENCE not in model.contract.references:
        pytest.fail(f"{BUNDLED_MODEL} stores no {REFERENCE}: run `popgen-hub calibrate` on it")
    return model


def test_bundled_reference_round_trips_through_config_and_onnx(bundled):
    """config.json and the ONNX metadata hold the same reference (load checks they agree),
    and it survives JSON both ways."""
    contract = bundled.contract
    stored = bundled.session.get_modelmeta().custom_metadata_map["popgen_hub.contract"]
    assert json.loads(stored)["references"][REFERENCE] == contract.references[REFERENCE]
    again = ModelContract.from_json(contract.to_json())
    assert again.references[REFERENCE] == contract.references[REFERENCE]
    reference = contract.references[REFERENCE]
    assert reference["window_bp"] == contract.input.window_bp and reference["n_windows"] >= 1000


@pytest.mark.parametrize(("edit", "field"), [
    (lambda r: r.update(window_bp=0), "window_bp"),
    (lambda r: r["statistics"].update(nonsense={}), "statistics.nonsense"),
    (lambda r: r["statistics"]["h12"]["quantiles"].pop("0.999"), "statistics.h12"),
    (lambda r: r["statistics"]["tajimas_d"]["quantiles"].update({"0.5": 1e9}),
     "statistics.tajimas_d.quantiles"),
])
def test_a_damaged_reference_is_refused_in_one_line(bundled, edit, field):
    data = bundled.contract.to_dict()
    edit(data["references"][REFERENCE])
    with pytest.raises(PopgenHubError) as error:
        ModelContract.from_dict(data, source="config.json")
    message = str(error.value)
    assert "\n" not in message and BUNDLED_MODEL in message and field in message
    assert "popgen-hub calibrate" in message


def half_missing(dest, seed: int = 0):
    """The example VCF with half of its GT entries (at random) set to ./."""
    rng = np.random.default_rng(seed)
    lines = []
    with gzip.open(EXAMPLE_VCF, "rt") as handle:
        for line in handle:
            if not line.startswith("#"):
                fields = line.rstrip("\n").split("\t")
                for i in np.flatnonzero(rng.random(len(fields) - 9) < 0.5):
                    fields[9 + i] = "./."
                line = "\t".join(fields) + "\n"
            lines.append(line)
    plain = dest / "half_missing.vcf"
    plain.write_text("".join(lines))
    pysam.tabix_index(str(plain), preset="vcf", force=True)
    return dest / "half_missing.vcf.gz"


def test_half_the_calls_missing_flags_most_windows_and_the_intact_file_few(bundled, tmp_path):
    intact = bundled.score(EXAMPLE_VCF, progress=False).windows["flags"]
    missing = bundled.score(half_missing(tmp_path), progress=False).windows["flags"]
    missing_calls = 1 << REASONS.index("missing_calls")
    assert (missing & missing_calls != 0).mean() > 0.9
    assert (intact & missing_calls == 0).all()
    # measured: 9 of 193 windows (4.7 %, one stretch of high Tajima's D) with the seed-11
    # statistics; overlapping windows flag together, so allow some
    assert (intact != 0).mean() < 0.1
    assert flag_text(missing_calls | 1 << REASONS.index("h12_high")) == "missing_calls,h12_high"


def test_scan_writes_the_flag_column_the_mask_and_warns(tmp_path):
    vcf = half_missing(tmp_path)
    run = run_cli("scan", "--vcf", vcf, "--model", "auto", "-o", tmp_path / "out",
                  "--device", "cpu", "--region", "chr1:1-600000")
    # every model that can read it matches (distances 0.10-0.30; the ImaGene reproduction
    # 0.56): the missing calls are flagged, not matched. The model reading the genome's
    # background finds the most planted sweeps at its threshold (140 of 150; the ensemble 109)
    chosen = "stats_fc_genome.sweep_hsap_general"
    assert f"--model auto chose {chosen}: " in run.stderr
    assert "windows outside" in run.stderr and "missing_calls" in run.stderr
    table = (tmp_path / "out" / f"{chosen}.windows.tsv").read_text().splitlines()
    rows = [line.split("\t") for line in table if not line.startswith("#")]
    assert rows[0][-1] == "flag"
    assert sum("missing_calls" in row[-1] for row in rows[1:]) > 0.9 * (len(rows) - 1)
    bed = (tmp_path / "out" / f"{chosen}.flagged.bed").read_text().splitlines()
    assert len(bed) - 1 == len(rows) - 1 and bed[1].split("\t")[3].startswith("missing_calls")
    assert f"{chosen}.flagged.bed" in (tmp_path / "out" / "igv_batch.txt").read_text()


# ------------------------------------------------------------------------ --model auto
HISTORIES = ("marth2004_eur_3epoch", "marth2004_eur_1epoch")


@pytest.fixture(scope="module")
def history_models(tmp_path_factory):
    """Two model folders (only config.json: what auto reads) whose training statistics come
    from neutral loci of two histories; their names say nothing of which is which."""
    from popgen_hub.genotypes import GenotypeBlock
    from popgen_hub.simulate.scenarios import get_scenario

    base = tmp_path_factory.mktemp("auto")
    contract = json.loads((ROOT / "hub" / "pretrained" / BUNDLED_MODEL / "config.json")
                          .read_text())
    encoder = popgen_hub.load(BUNDLED_MODEL, device="cpu").encoder
    folders = {}
    for name, history in zip(("model_b", "model_a"), HISTORIES, strict=True):
        scenario = get_scenario("imagene_sweep", demography=history)
        blocks = [GenotypeBlock.from_haplotypes(r.haplotypes, r.positions.astype(np.int64))
                  for r in (scenario.simulate(2 * i, 5) for i in range(60))]
        folder = base / name
        folder.mkdir()
        references = {**contract.get("references", {}),
                      REFERENCE: training_statistics(blocks, encoder=encoder, window_bp=80_000)}
        (folder / "config.json").write_text(json.dumps({**contract, "references": references}))
        folders[history] = f"local-dir:{folder}"
    return folders


@pytest.mark.parametrize("history", HISTORIES)
def test_auto_picks_the_model_of_the_input_history(history, history_models, tmp_path):
    from popgen_hub.simulate.genome import simulate_vcf
    from popgen_hub.simulate.scenarios import get_scenario

    vcf = simulate_vcf(tmp_path / "input.vcf.gz",
                       get_scenario("imagene_sweep", demography=history), length=1_200_000,
                       seed=21)
    candidates = [*history_models.values(), "temporal_balsel.hsap_eur"]
    choice = popgen_hub.choose_model(vcf, candidates=candidates)
    assert choice.name == history_models[history], choice.candidates
    best, second, out = choice.candidates
    assert best.distance < second.distance and out.refused  # the temporal model: no stats
    assert choice.name in choice.message() and second.name in choice.message()


def test_auto_without_a_model_that_takes_the_input_is_one_line(tmp_path):
    with pytest.raises(PopgenHubError, match="no model can take") as error:
        popgen_hub.choose_model(EXAMPLE_VCF, candidates=["temporal_balsel.hsap_eur"])
    assert "\n" not in str(error.value)


def individual_model(base, name: str, kind: str, sample_size: list[int | None]) -> str:
    """A model folder (config.json only) of ``kind`` (genotypes or likelihoods) read by the
    matrix encoders, with the bundled model's training statistics and window."""
    contract = json.loads((ROOT / "hub" / "pretrained" / BUNDLED_MODEL / "config.json")
                          .read_text())
    encoder = "genotype_matrix" if kind == "genotypes" else "likelihood_matrix"
    contract.update(name=f"exchangeable_cnn.{name}", architecture="exchangeable_cnn",
                    input={**contract["input"], "data_kind": kind, "phased": False,
                           "sample_size": sample_size, "ploidy": [2, 2]},
                    encoder={"name": encoder, "n_sites": 64, "min_individuals": 5})
    folder = base / name
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(contract))
    return f"local-dir:{folder}"


def test_auto_skips_models_that_cannot_read_the_input_and_subsamples_large_inputs(tmp_path):
    """Of the example VCF's 64 diploids (GT only): a genotype model of at most 20 is a
    candidate (the scan subsamples), one of at least 100 and a likelihood model are skipped
    with the reason the scan would give, listed with the choice."""
    at_most_20 = individual_model(tmp_path, "at_most_20", "genotypes", [5, 20])
    at_least_100 = individual_model(tmp_path, "at_least_100", "genotypes", [100, None])
    likelihoods = individual_model(tmp_path, "likelihoods", "likelihoods", [5, None])
    choice = popgen_hub.choose_model(EXAMPLE_VCF, candidates=[likelihoods, at_least_100,
                                                              at_most_20], n_windows=5)
    assert choice.name == at_most_20, choice.candidates
    best, *skipped = choice.candidates
    assert np.isfinite(best.distance) and not best.refused
    reasons = {c.name: c.refused for c in skipped}
    assert "has neither a GL nor a PL FORMAT field" in reasons[likelihoods]
    assert "has 64 samples but" in reasons[at_least_100]
    assert "at least 100 individuals" in reasons[at_least_100]
    message = choice.message()
    assert "\n" not in message and f"; skipped {likelihoods}: example_sweep" in message
    assert f"; skipped {at_least_100}: " in message


# ------------------------------------------- training statistics by history (--model auto)
TEN_J19_YRI = "HomSap/PapuansOutOfAfrica_10J19/YRI"


def without_history_statistics(base, model: str) -> str:
    """A folder (config.json only: what auto reads) of ``model`` with its pooled training
    statistics alone, as the bundled models were before they stored them by history."""
    contract = json.loads((ROOT / "hub" / "pretrained" / model / "config.json").read_text())
    assert BY_HISTORY in contract["references"], f"{model}: run calibrate --history-statistics"
    del contract["references"][BY_HISTORY]
    folder = base / "pooled_only"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(contract))
    return f"local-dir:{folder}"


def test_auto_matches_an_input_like_one_training_history_unlike_most(tmp_path):
    """A neutral chromosome of 10J19's YRI, as the regime simulates that history (its
    pairwise-coalescence size history; the middle of the mutation-rate prior), has about 15
    SNPs per kb, beyond the quartiles of the general CNN's training windows pooled: without
    statistics by history no model matched it. With them, the model matches through a training
    history of African ancestry, named in the message."""
    from popgen_hub.simulate.genome import simulate_to_vcf
    from popgen_hub.simulate.histories import ANCESTRY_GROUPS, published

    vcf = simulate_to_vcf(tmp_path / "yri.vcf.gz", published(TEN_J19_YRI).demography(), 64,
                          length=1_200_000, recombination_rate=1e-8, mutation_rate=1.75e-8,
                          seeds=(31, 32))
    general = "imagene_cnn.sweep_hsap_general"
    pooled = without_history_statistics(tmp_path, general)
    choice = popgen_hub.choose_model(vcf, candidates=[general, pooled])
    by_name = {c.name: c for c in choice.candidates}
    assert not by_name[pooled].matches and by_name[pooled].history == ""
    assert by_name[general].matches and choice.name == general, choice.candidates
    assert by_name[general].history.split("/")[2] in ANCESTRY_GROUPS["african"]
    assert f"to its training history {by_name[general].history}" in choice.message()


def test_calibrate_stores_statistics_by_history_and_refuses_a_model_of_one_history(tmp_path):
    """The CLI, as a user runs it, on a copy of the African CNN: one reference per training
    history, of the windows asked for, written into config.json and the ONNX file alike (the
    load checks they agree) and shown by `info`; a model of one history is refused in one line
    before any work."""
    import shutil

    from popgen_hub.simulate.histories import training_histories

    folder = tmp_path / "african"
    shutil.copytree(ROOT / "hub" / "pretrained" / "imagene_cnn.sweep_hsap_african", folder)
    result = run_cli("calibrate", folder, "--history-statistics", "50", "--workers", "2", "-q")
    assert "training statistics by history, 8 histories" in result.stdout
    model = popgen_hub.load(f"local-dir:{folder}", device="cpu")
    record = model.contract.references[BY_HISTORY]
    assert list(record["histories"]) == list(training_histories("african"))
    assert {r["n_windows"] for r in record["histories"].values()} == {50}
    stored = model.session.get_modelmeta().custom_metadata_map["popgen_hub.contract"]
    assert json.loads(stored)["references"][BY_HISTORY] == record
    assert "training statistics by history" in run_cli("info", f"local-dir:{folder}").stdout

    one_history = tmp_path / "eur"
    shutil.copytree(ROOT / "hub" / "pretrained" / BUNDLED_MODEL, one_history)
    refused = run_cli("calibrate", one_history, "--history-statistics", "50", check=False)
    assert refused.returncode != 0 and len(refused.stderr.strip().splitlines()) == 1
    assert "not on a family of histories" in refused.stderr


@pytest.mark.parametrize(("options", "message"), [
    (["--history-statistics", "10"], "--history-statistics 10: give at least 50 windows"),
    (["--history-statistics", "50", "--workers", "0"], "--workers 0: give 1 or more"),
])
def test_history_statistics_options_are_checked_before_the_null_is_scored(tmp_path, options,
                                                                           message):
    """With --data, a wrong --history-statistics option stops calibrate before the null is
    scored: nothing is written (the dataset does not even exist)."""
    import shutil

    folder = tmp_path / "general"
    shutil.copytree(ROOT / "hub" / "pretrained" / "imagene_cnn.sweep_hsap_general", folder)
    before = (folder / "config.json").read_bytes()
    result = run_cli("calibrate", folder, "--data", tmp_path / "no_such_dataset", *options,
                     check=False)
    assert result.returncode != 0 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert (folder / "config.json").read_bytes() == before


def test_history_scenario_keeps_the_published_histories_in_training_proportion():
    """Random histories are left out and jittered ones keep their share of the rest; models
    of individuals are refused (their references follow the individuals read)."""
    from popgen_hub.history_statistics import history_scenario

    general = get_contract("imagene_cnn.sweep_hsap_general")
    scenario, params = history_scenario(general)
    trained = general.training["parameters"]
    assert scenario == "sweep_regime" and params["random_share"] == 0
    assert params["jitter_share"] == pytest.approx(
        trained["jitter_share"] / (1 - trained["random_share"]))
    assert params["histories"] == trained["histories"]
    with pytest.raises(PopgenHubError, match="reads genotypes, whose statistics move"):
        history_scenario(get_contract("exchangeable_cnn.sweep_hsap_genotypes"))


@pytest.mark.parametrize("genome_windows", [0, 6])
def test_statistics_by_history_take_independent_neutral_windows(genome_windows):
    """The windows a history's statistics are computed on are neutral and, where training had
    windows in genomes (stats_fc_genome), one per genome: windows of one genome share its
    history, mutation rate and recombination scale, so they are not independent draws."""
    from popgen_hub.history_statistics import HISTORY_SEED, neutral_replicates
    from popgen_hub.simulate.scenarios import get_scenario

    scenario = get_scenario("sweep_regime", histories=["HomSap/OutOfAfrica_2T12/AFR"],
                            random_share=0.0, length=5_000, n_haplotypes=8,
                            genome_windows=genome_windows)
    replicates = [scenario.simulate(index, HISTORY_SEED)
                  for index in neutral_replicates(scenario, 4)]
    assert [replicate.label for replicate in replicates] == [0] * 4
    if genome_windows:
        assert len({replicate.params["genome"] for replicate in replicates}) == 4


AFRICAN = "HomSap/OutOfAfrica_2T12/AFR"  # a training history of the African CNN
EUROPEAN = "HomSap/OutOfAfrica_2T12/EUR"  # not one of them


def _rename(histories: dict, old: str, new: str) -> None:
    histories[new] = histories.pop(old)


@pytest.mark.parametrize(("edit", "said"), [
    (lambda h: h[AFRICAN]["statistics"]["h12"]["quantiles"].pop("0.5"),
     f"histories['{AFRICAN}'].statistics.h12"),
    (lambda h: h[AFRICAN].update(window_bp=100_000),
     f"histories['{AFRICAN}'].window_bp is 100000, not the model's window (80000 bp)"),
    (lambda h: _rename(h, AFRICAN, EUROPEAN),
     f"describes '{EUROPEAN}', a history the model was not trained on"),
])
def test_damaged_statistics_by_history_are_refused_in_one_line(edit, said):
    """Statistics by history that are malformed, of windows of another width or of a history
    the model was not trained on would mislead --model auto: the contract is refused."""
    data = get_contract("imagene_cnn.sweep_hsap_african").to_dict()
    edit(data["references"][BY_HISTORY]["histories"])
    with pytest.raises(PopgenHubError) as error:
        ModelContract.from_dict(data, source="config.json")
    message = str(error.value)
    assert "\n" not in message and BY_HISTORY in message and said in message
    assert "--history-statistics N" in message


def test_training_statistics_of_another_window_are_refused(bundled):
    data = bundled.contract.to_dict()
    data["references"][REFERENCE]["window_bp"] = 2 * data["input"]["window_bp"]
    with pytest.raises(PopgenHubError, match=r"training_stats\.window_bp is 160000, not the "
                                             r"model's window \(80000 bp\)"):
        ModelContract.from_dict(data, source="config.json")
