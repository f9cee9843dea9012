"""A model's decision threshold (``calibrate --decision-threshold``): stored in both copies of
the contract, checked on load, and used by the scan's summary, report, window table and UCSC
hub; one that smooths (``--smoothing-bp``) calls windows on a smoothed column and track of
their own; what it finds (``--threshold-power``), and ``--model auto`` ranking the models that
match the input by it."""

from __future__ import annotations

import json
import shutil

import numpy as np
import onnxruntime as ort
import pysam
import pytest

import popgen_hub
from conftest import BUNDLED_MODEL, ROOT, run_cli, vcf_copy, window_table
from popgen_hub.auto import MAX_DISTANCE, Candidate, Choice, comparable
from popgen_hub.contract import ONNX_METADATA_KEY, ModelContract
from popgen_hub.contract_update import with_threshold
from popgen_hub.decision import THRESHOLD, DecisionThreshold, Power, smoothed
from popgen_hub.errors import PopgenHubError
from popgen_hub.registry import get_contract

THREE_CLASSES = "imagene_cnn.sweep_hsap_general"  # neutral / sweep / linked
EXAMPLE_VCF = ROOT / "tests" / "data" / "example_sweep.vcf.gz"
GENOTYPE_MODEL = "exchangeable_cnn.sweep_hsap_genotypes"
SOURCE = "chosen by hand for this test"


@pytest.fixture(scope="module")
def thresholded(tmp_path_factory):
    """A copy of the general CNN storing P(sweep) > 0.6 (5 of the example's 193 windows, 9 at
    0.5), and the calibrate run's stdout."""
    pytest.importorskip("onnx")
    model_dir = tmp_path_factory.mktemp("threshold") / "model"
    shutil.copytree(ROOT / "hub" / "pretrained" / THREE_CLASSES, model_dir)
    stdout = run_cli("calibrate", model_dir, "--decision-threshold", "0.6",
                     "--threshold-source", SOURCE).stdout
    return model_dir, stdout


def test_calibrate_stores_the_threshold_in_both_contracts_and_leaves_the_graph(thresholded):
    model_dir, stdout = thresholded
    assert f"decision threshold P(sweep) > 0.6 ({SOURCE})" in stdout
    image = np.random.default_rng(0).integers(0, 2, (4, 1, 128, 128)).astype(np.float32)
    before = popgen_hub.load(THREE_CLASSES, device="cpu")
    after = popgen_hub.load(model_dir, device="cpu")  # sha256 and both contracts checked
    assert np.array_equal(after.predict(image), before.predict(image))
    stored = {"label": "sweep", "value": 0.6, "source": SOURCE}
    assert after.contract.references[THRESHOLD] == stored
    session = ort.InferenceSession(str(model_dir / "model.onnx"),
                                   providers=["CPUExecutionProvider"])
    embedded = json.loads(session.get_modelmeta().custom_metadata_map[ONNX_METADATA_KEY])
    assert embedded["references"][THRESHOLD] == stored
    # the null, training statistics and the rest of the contract stay
    assert ({**after.contract.to_dict(), "references": {}, "weights": {}}
            == {**before.contract.to_dict(), "references": {}, "weights": {}})
    assert ({k: v for k, v in after.contract.references.items() if k != THRESHOLD}
            == {k: v for k, v in before.contract.references.items() if k != THRESHOLD})
    info = run_cli("info", f"local-dir:{model_dir}").stdout
    assert f"decision threshold: P(sweep) > 0.6 ({SOURCE})" in info
    assert "decision threshold: P(sweep) > 0.5 (the default" in run_cli(
        "info", BUNDLED_MODEL).stdout  # the ImaGene reproduction stores none


def test_scans_call_windows_at_the_stored_threshold(thresholded, tmp_path):
    model_dir, _ = thresholded
    out = tmp_path / "scan"
    stdout = run_cli("scan", "--vcf", EXAMPLE_VCF, "--model", f"local-dir:{model_dir}",
                     "-q", "-o", out).stdout
    lines = (out / f"{THREE_CLASSES}.windows.tsv").read_text().splitlines()
    header = dict(line[2:].split(": ", 1) for line in lines if line.startswith("# "))
    columns = next(line.split("\t") for line in lines if not line.startswith("#"))
    p = np.array([float(row.split("\t")[columns.index("p_sweep")]) for row in lines
                  if not row.startswith("#") and row.split("\t")[0] != columns[0]
                  and row.split("\t")[columns.index("p_sweep")] != "NA"])
    called = int((p > 0.6).sum())
    assert 0 < called < int((p > 0.5).sum())  # the example's sweep, narrower than at 0.5
    assert (f"{called} of {len(p)} scored windows have P(sweep) > 0.6, the model's decision "
            f"threshold ({SOURCE})") in stdout
    assert header["decision_threshold"] == f"P(sweep) > 0.6: {SOURCE}"
    hub = (out / "hub.txt").read_text()
    marks = dict(zip(
        (line.split()[1] for line in hub.splitlines() if line.strip().startswith("shortLabel P(")),
        (line.split()[1] for line in hub.splitlines() if line.strip().startswith("yLineMark")),
        strict=True))
    assert marks == {"P(sweep)": "0.6", "P(linked)": "0.5"}
    assert f"P(sweep) &gt; 0.6: {SOURCE}; {called:,} windows above it" in (
        out / "report.html").read_text()
    # another model scanned into the folder: the hub keeps this one's line (the manifest's)
    run_cli("scan", "--vcf", EXAMPLE_VCF, "--model", BUNDLED_MODEL, "-q", "-o", out)
    stanzas = [dict(line.strip().split(" ", 1) for line in block.splitlines())
               for block in (out / "hub.txt").read_text().split("\n\n") if "yLineMark" in block]
    assert {s["bigDataUrl"]: s["yLineMark"] for s in stanzas} == {
        f"{THREE_CLASSES}.sweep.bw": "0.6", f"{THREE_CLASSES}.linked.bw": "0.5",
        f"{BUNDLED_MODEL}.sweep.bw": "0.5"}


def test_smoothing_averages_the_scored_windows_centred_within_the_span():
    centres = np.array([0.0, 10, 20, 30, 100])
    values = np.array([1.0, np.nan, 0.0, 0.5, 0.2])  # the second window unscored
    # 0: itself (10 is unscored); 20: 0 and 0.5; 30: the same; 100: alone
    assert np.allclose(smoothed(centres, values, 10), [1.0, np.nan, 0.25, 0.25, 0.2],
                       equal_nan=True)
    assert np.allclose(smoothed(centres, values, 20), [0.5, np.nan, 0.5, 0.25, 0.2],
                       equal_nan=True)
    assert np.allclose(smoothed(centres, values, 0), values, equal_nan=True)


def test_a_smoothing_threshold_calls_windows_on_the_mean_p_of_their_neighbours(tmp_path):
    """--smoothing-bp: the window table's p_sweep_smoothed is each window's mean P(sweep) over
    the windows centred within 30 kb (recounted here from the table), the summary counts the
    windows above the threshold on it, and its BigWig holds it with the threshold's line."""
    pytest.importorskip("onnx")
    pyBigWig = pytest.importorskip("pyBigWig")
    model_dir = tmp_path / "model"
    shutil.copytree(ROOT / "hub" / "pretrained" / THREE_CLASSES, model_dir)
    run_cli("calibrate", model_dir, "--decision-threshold", "0.4", "--smoothing-bp", "30000",
            "--threshold-source", SOURCE, "--card", ROOT / "cards" / f"{THREE_CLASSES}.yaml")
    contract = popgen_hub.load(model_dir, device="cpu").contract
    assert contract.references[THRESHOLD] == {"label": "sweep", "value": 0.4,
                                              "source": SOURCE, "smoothing_bp": 30000}
    card = " ".join((model_dir / "README.md").read_text().split())
    assert ("where **the mean P(sweep) of the windows centred within 30 kb of its centre is "
            "above 0.4**") in card and f"The threshold is {SOURCE}." in card
    out = tmp_path / "scan"
    stdout = run_cli("scan", "--vcf", EXAMPLE_VCF, "--model", f"local-dir:{model_dir}",
                     "-q", "-o", out).stdout
    lines = (out / f"{THREE_CLASSES}.windows.tsv").read_text().splitlines()
    header = dict(line[2:].split(": ", 1) for line in lines if line.startswith("# "))
    columns, *rows = [line.split("\t") for line in lines if not line.startswith("#")]
    rows = [row for row in rows if row[columns.index("p_sweep")] != "NA"]
    column = {name: np.array([float(row[columns.index(name)]) for row in rows])
              for name in ("start", "end", "p_sweep", "p_sweep_smoothed")}
    centres = (column["start"] + column["end"]) / 2
    expected = [column["p_sweep"][np.abs(centres - centre) <= 30_000].mean() for centre in centres]
    assert np.allclose(column["p_sweep_smoothed"], expected, rtol=1e-5)
    assert not np.allclose(column["p_sweep_smoothed"], column["p_sweep"], atol=0.01)
    called = int((column["p_sweep_smoothed"] > 0.4).sum())
    assert 0 < called < len(rows)
    assert (f"{called} of {len(rows)} scored windows have mean P(sweep) of the windows centred "
            f"within 30 kb > 0.4, the model's decision threshold ({SOURCE})") in stdout
    assert header["decision_threshold"].startswith("mean P(sweep) of the windows centred")
    assert "within 30,000 bp of the window's centre" in header["p_sweep_smoothed"]
    with pyBigWig.open(str(out / f"{THREE_CLASSES}.sweep_smoothed.bw")) as bw:
        top = int(np.argmax(column["p_sweep_smoothed"]))
        bin_start = int(rows[top][columns.index("bin_start")])
        assert bw.values("chr1", bin_start, bin_start + 1)[0] == pytest.approx(
            column["p_sweep_smoothed"][top], rel=1e-5)
    hub = (out / "hub.txt").read_text()
    marks = dict(zip(
        (line.split()[1] for line in hub.splitlines() if line.strip().startswith("shortLabel P(")),
        (line.split()[1] for line in hub.splitlines() if line.strip().startswith("yLineMark")),
        strict=True))
    assert marks == {"P(sweep)": "0.5", "P(linked)": "0.5", "P(sweep_smoothed)": "0.4"}


def test_calibrate_stores_what_the_threshold_finds_and_info_and_the_card_show_it(tmp_path):
    pytest.importorskip("onnx")
    model_dir = tmp_path / "model"
    shutil.copytree(ROOT / "hub" / "pretrained" / THREE_CLASSES, model_dir)
    stdout = run_cli("calibrate", model_dir, "--decision-threshold", "0.6",
                     "--threshold-source", SOURCE, "--threshold-power", "7/10",
                     "--power-source", "ten sweeps planted by hand", "--card",
                     ROOT / "cards" / f"{THREE_CLASSES}.yaml").stdout
    assert "it finds 7 of 10 planted sweeps (0.70): ten sweeps planted by hand" in stdout
    power = {"found": 7, "of": 10, "source": "ten sweeps planted by hand"}
    assert popgen_hub.load(model_dir, device="cpu").contract.references[THRESHOLD] == {
        "label": "sweep", "value": 0.6, "source": SOURCE, "power": power}
    session = ort.InferenceSession(str(model_dir / "model.onnx"),
                                   providers=["CPUExecutionProvider"])
    embedded = json.loads(session.get_modelmeta().custom_metadata_map[ONNX_METADATA_KEY])
    assert embedded["references"][THRESHOLD]["power"] == power
    assert ("at it, the site's window called for 7 of 10 planted sweeps (0.70): ten sweeps "
            "planted by hand") in run_cli("info", f"local-dir:{model_dir}").stdout
    card = " ".join((model_dir / "README.md").read_text().split())
    assert ("At it, the site's window of **7 of 10 planted sweeps** is called: ten sweeps "
            "planted by hand.") in card
    # another threshold: the power, measured at the old one, is dropped, and the run says so
    run = run_cli("calibrate", model_dir, "--decision-threshold", "0.7", "--threshold-source",
                  SOURCE)
    assert ("the power stored with its previous threshold (P(sweep) > 0.6, 7 of 10 planted "
            "sweeps (0.70)) is dropped") in run.stderr
    assert "power" not in popgen_hub.load(model_dir, device="cpu").contract.references[
        THRESHOLD]


@pytest.mark.parametrize("options, message", [
    (["--smoothing-bp", "5000"], "--smoothing-bp 5000: give"),
    (["--threshold-power", "7/10", "--power-source", "why"], "go together, with the"),
    (["--decision-threshold", "0.7", "--threshold-source", "why", "--threshold-power", "7/10"],
     "go together, with the"),
    (["--decision-threshold", "0.7", "--threshold-source", "why", "--threshold-power", "7/10",
      "--power-source", " "], "--power-source: source is empty"),
    (["--decision-threshold", "0.7", "--threshold-source", "why", "--smoothing-bp", "-5"],
     "--smoothing-bp -5: give"),
    (["--decision-threshold", "0.7"], "go together"),
    (["--threshold-source", "why"], "go together"),
    (["--decision-threshold", "1.5", "--threshold-source", "why"], "not a probability in (0, 1)"),
    (["--decision-threshold", "0.7", "--threshold-source", " "], "source is empty"),
    # the window table's header holds the source on one comment line
    (["--decision-threshold", "0.7", "--threshold-source", "one\ntwo"], "several lines"),
    (["--threshold-individuals", "20"], "--threshold-individuals N goes with"),
    (["--decision-threshold", "0.7", "--threshold-source", "why", "--threshold-individuals",
      "0"], "--threshold-individuals 0: give the number"),
])
def test_a_threshold_without_its_source_or_outside_0_1_is_one_line(options, message, tmp_path):
    run = run_cli("calibrate", tmp_path, *options, check=False)
    assert run.returncode != 0 and message in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr


def test_thresholds_by_individuals_are_refused_where_they_cannot_be_told_apart(tmp_path):
    """A model of haplotypes reads a fixed number of them; a model of individuals storing
    thresholds at other numbers needs this one's, and its smoothing (all share one): each
    refused in one line, nothing written."""
    pytest.importorskip("onnx")
    for model, steps, message in (
            (THREE_CLASSES, [["--threshold-individuals", "20"]],
             "imagene_cnn.sweep_hsap_general reads haplotypes (a fixed number of them)"),
            (GENOTYPE_MODEL, [["--threshold-individuals", "64"], ["--threshold-individuals",
                                                                   "20"], []],
             "individuals; give --threshold-individuals N, the individuals this one was"),
            (GENOTYPE_MODEL, [["--threshold-individuals", "64", "--smoothing-bp", "50000"]],
             f"--smoothing-bp 50000: the thresholds {GENOTYPE_MODEL} stores at other numbers "
             f"of individuals smooth over 0 bp")):
        model_dir = tmp_path / model
        shutil.rmtree(model_dir, ignore_errors=True)
        shutil.copytree(ROOT / "hub" / "pretrained" / model, model_dir)
        for step in steps[:-1]:
            run_cli("calibrate", model_dir, "--decision-threshold", "0.8",
                    "--threshold-source", "why", *step)
        before = (model_dir / "config.json").read_text()
        run = run_cli("calibrate", model_dir, "--decision-threshold", "0.9",
                      "--threshold-source", "why", *steps[-1], check=False)
        assert run.returncode != 0 and message in run.stderr, run.stderr
        assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr
        assert (model_dir / "config.json").read_text() == before


def test_a_regression_has_no_decision_threshold(tmp_path):
    pytest.importorskip("onnx")
    model_dir = tmp_path / "model"
    shutil.copytree(ROOT / "hub" / "pretrained" / "relernn_gru.recomb_hsap", model_dir)
    run = run_cli("calibrate", model_dir, "--decision-threshold", "0.7",
                  "--threshold-source", "why", check=False)
    assert run.returncode != 0 and "only a classifier has a decision threshold" in run.stderr
    assert "Traceback" not in run.stderr
    assert THRESHOLD not in popgen_hub.load(model_dir, device="cpu").contract.references


@pytest.mark.parametrize("change, message", [
    ({"value": 1.0}, "not a probability in (0, 1)"),
    ({"label": "linked"}, "not the model's primary class"),
    ({"source": " "}, "source is empty"),
    ({"value": "0.7"}, "value is '0.7'"),
    ({"source": "one\ntwo"}, "several lines"),
    ({"smoothing_bp": -1}, "smoothing_bp is -1, not a whole number"),
    ({"smoothing_bp": 2.5}, "smoothing_bp is 2.5, not a whole number"),
    ({"power": {"found": 11, "of": 10, "source": "why"}}, "power: found 11 of 10"),
    ({"power": {"found": 1, "of": 10}}, "power: no 'source'"),
])
def test_a_malformed_threshold_is_refused_naming_the_model_and_field(change, message,
                                                                     tmp_path):
    assert_refused(THREE_CLASSES, change, message, tmp_path)


@pytest.mark.parametrize("change, message", [
    ({"by_individuals": [{"individuals": 20, "value": 0.6, "source": "s"}]},
     "by_individuals needs individuals"),
    ({"individuals": True}, "individuals is True, not a number"),
    ({"individuals": 64, "by_individuals": []}, "must be a non-empty list"),
    ({"individuals": 64, "by_individuals": [{"individuals": 64, "value": 0.6, "source": "s"}]},
     "individuals 64 is below 1 or has a threshold already"),
    ({"individuals": 64, "by_individuals": [{"individuals": 20, "value": 1.5, "source": "s"}]},
     "by_individuals[0]: value 1.5 is not a probability"),
    ({"individuals": 64, "by_individuals": [{"individuals": 20, "value": 0.6}]},
     "by_individuals[0]: no 'source'"),
])
def test_malformed_thresholds_by_individuals_are_refused(change, message, tmp_path):
    assert_refused(GENOTYPE_MODEL, change, message, tmp_path)


def test_thresholds_by_individuals_are_refused_on_a_model_of_haplotypes(tmp_path):
    assert_refused(THREE_CLASSES, {"individuals": 64}, "are for models of individuals; this "
                   "one reads haplotypes", tmp_path)


def assert_refused(model: str, change: dict, message: str, tmp_path) -> None:
    """``model``'s contract with ``change`` in its threshold is refused on load in one message
    naming the model, the field and how to store it again."""
    data = json.loads((ROOT / "hub" / "pretrained" / model / "config.json").read_text())
    data["references"][THRESHOLD] = {"label": "sweep", "value": 0.7, "source": "why", **change}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    with pytest.raises(PopgenHubError, match=f"references.{THRESHOLD}") as error:
        ModelContract.from_json_file(path)
    assert message in str(error.value) and model in str(error.value)
    assert "--decision-threshold P --threshold-source TEXT" in str(error.value)


# the bundled sweep models trained over the regime that read the benchmark's VCFs (the ImaGene
# reproduction keeps 0.5: its seed-1 threshold would be 1, saturated; the likelihood model
# reads GL/PL at a depth, which the benchmark's called genotypes do not have)
MEASURED = ("ensemble.sweep_hsap_general", "imagene_cnn.sweep_hsap_general",
            "stats_fc.sweep_hsap_general", "stats_fc_genome.sweep_hsap_general",
            "imagene_cnn.sweep_hsap_european", "imagene_cnn.sweep_hsap_east_asian",
            "imagene_cnn.sweep_hsap_african", "exchangeable_cnn.sweep_hsap_genotypes")


#: the models whose threshold is on P(sweep) smoothed over this many bp each side
SMOOTHED = {"stats_fc_genome.sweep_hsap_general": 50_000}
#: the models whose threshold is measured on the chromosomes of these seeds together
MEASURED_ON = {"stats_fc_genome.sweep_hsap_general": "--seed 2, 5 and 6 together (45 per case)"}
#: the models whose threshold is chosen on more chromosomes per case than the default 5
CHROMOSOMES = {"stats_fc_genome.sweep_hsap_general": 15,
               "exchangeable_cnn.sweep_hsap_genotypes": 15}


@pytest.mark.parametrize("name", MEASURED)
def test_bundled_sweep_models_store_a_threshold_chosen_on_seed_1_measured_on_fresh_seeds(name):
    threshold = get_contract(name).decision_threshold()
    assert threshold.stored and threshold.label == "sweep"
    assert threshold.smoothing_bp == SMOOTHED.get(name, 0)
    # P itself needs more than 0.5 somewhere; the smoothed mean, free of lone spikes, may not
    assert (0.4 if threshold.smoothing_bp else 0.5) < threshold.value < 1
    assert "benchmarks/calibration.py --seed 1 " in threshold.source
    # a model of individuals reads the 128 haplotypes as 64 individuals, and says so
    individuals = get_contract(name).input.data_kind != "haplotypes"
    sample = "64 individuals (128 haplotypes)" if individuals else "128 haplotypes"
    assert (f"({CHROMOSOMES.get(name, 5)} chromosomes of 5 Mb x {sample} each)"
            in threshold.source)
    assert threshold.individuals == (64 if individuals else None)
    assert (f"on the chromosomes of {MEASURED_ON.get(name, '--seed 2')} the worst case is"
            in threshold.source)
    for other in threshold.by_individuals:  # chosen the same way at other sizes
        size = other.individuals
        assert (f"benchmarks/calibration.py --seed 1 --haplotypes {2 * size} "
                f"({CHROMOSOMES.get(name, 5)} chromosomes of 5 Mb x {size} individuals "
                f"({2 * size} haplotypes) each)") in other.source
        assert "on the chromosomes of --seed 2 the worst case is" in other.source


@pytest.mark.parametrize("name", MEASURED)
def test_bundled_sweep_models_store_what_their_threshold_finds_on_the_same_sweeps(name):
    threshold = get_contract(name).decision_threshold()
    power = threshold.power
    assert power is not None and 0 < power.found <= power.of
    # the same sweeps for every model of the same kind; a model of individuals reads them so
    kind = get_contract(name).input.data_kind
    others = [get_contract(other).decision_threshold().power for other in MEASURED
              if get_contract(other).input.data_kind == kind]
    assert {(p.of, p.source) for p in others} == {(power.of, power.source)}
    sample = "64 individuals (128 haplotypes)" if kind != "haplotypes" else "128 haplotypes"
    assert ("benchmarks/calibration.py --seed 8 --replicates 5 " in power.source
            and f"5 chromosomes of 5 Mb x {sample} each" in power.source)
    # the same sweeps as the haplotype models', read as individuals
    assert power.source.replace(sample, "128 haplotypes") == get_contract(
        "imagene_cnn.sweep_hsap_general").decision_threshold().power.source
    for other in threshold.by_individuals:  # the same sweeps read as that many individuals
        size = other.individuals
        assert other.power is not None and other.power.of == power.of
        assert other.power.source == power.source.replace(
            "--site-jitter 5000 (", f"--site-jitter 5000 --haplotypes {2 * size} (").replace(
            sample, f"{size} individuals ({2 * size} haplotypes)")


def test_auto_ranks_matching_models_by_what_they_find_then_ensembles_then_distance():
    def power(found):
        return Power(found, 100, "planted")

    ranked = sorted([
        Candidate("far", distance=MAX_DISTANCE + 0.1, power=power(99)),  # matches not
        Candidate("farther", distance=MAX_DISTANCE + 0.2, power=power(100)),
        Candidate("refused", refused="reads genotypes"),
        Candidate("unmeasured", distance=0.01),
        Candidate("member", distance=0.2, power=power(80)),
        Candidate("ensemble", distance=0.2, power=power(80), members=2),
        Candidate("finds_most", distance=0.5, power=power(90)),
        Candidate("nearer_member", distance=0.1, power=power(80))], key=Candidate.rank)
    assert [c.name for c in ranked] == ["finds_most", "ensemble", "nearer_member", "member",
                                        "unmeasured", "far", "farther", "refused"]
    choice = Choice(ranked[0].name, ranked)
    message = choice.message()
    assert message.startswith("--model auto chose finds_most: of the 5 models whose training "
                              "data match the input, it finds the most planted sweeps at its "
                              "decision threshold (`popgen-hub info finds_most` says which "
                              "sweeps): finds 90 of 100 planted sweeps (0.90) at its decision "
                              "threshold, distance 0.50 (the distance:")
    assert ("runner-up ensemble: finds 80 of 100 planted sweeps (0.80) at its decision "
            "threshold, distance 0.20; skipped refused: reads genotypes") in message
    alone = Choice("far", ranked[-3:]).message()
    assert ("chose far: no model's training data match the input; this model's are the "
            "closest") in alone
    assert "runner-up farther: finds 100 of 100 planted sweeps (1.00) at its decision " \
           "threshold, distance 1.20 (does not match)" in alone


def test_auto_compares_only_what_models_found_on_the_same_sweeps():
    """A share measured on other sweeps than most matching models' of its data kind (a
    hand-planted 10 of 10) does not outrank theirs: its model goes with the unmeasured."""
    bundled = Power(90, 150, "the bundled set")
    candidates = [Candidate("a", 0.3, power=bundled), Candidate("b", 0.2, power=Power(
        80, 150, "the bundled set")), Candidate("easy", 0.1, power=Power(10, 10, "by hand")),
        Candidate("far", MAX_DISTANCE + 1, power=Power(10, 10, "by hand"))]
    kept = comparable(candidates)
    assert [c.power for c in kept] == [bundled, candidates[1].power, None, None]
    assert [c.name for c in sorted(kept, key=Candidate.rank)] == ["a", "b", "easy", "far"]
    assert comparable(candidates[2:3]) == candidates[2:3]  # alone, it compares with itself
    # figures compare within a data kind: a genotype model's sweeps read as 20 individuals
    # keep their figure beside the haplotype models' majority (kinds rank first anyway) ...
    as_20 = Candidate("g", 0.2, power=Power(60, 150, "read as 20"), kind="genotypes")
    assert comparable([*candidates, as_20])[-1] == as_20
    # ... and where two sets of sweeps tie for the most within a kind, whichever came first
    # would win, so neither is kept
    as_50 = Candidate("g50", 0.2, power=Power(90, 150, "read as 50"), kind="genotypes")
    for order in ([as_20, as_50], [as_50, as_20]):
        assert [c.power for c in comparable([*candidates, *order])[-2:]] == [None, None]


def test_auto_takes_the_matching_bundled_model_that_finds_the_most_sweeps():
    """Over every bundled model, of the example VCF (2 Mb of 128 phased haplotypes): the
    models that can read it and whose training data match it are ranked by the power their
    contracts store; an unmeasured one goes after."""
    choice = popgen_hub.choose_model(EXAMPLE_VCF, n_windows=10)
    best = choice.candidates[0]
    matching = [c for c in choice.candidates if c.matches]
    assert best.name == choice.name and best.matches and best.power is not None
    assert all(c.power is None or c.power.share <= best.power.share for c in matching)
    assert any(c.power is None for c in matching)  # the ImaGene reproduction keeps 0.5
    assert "it finds the most planted sweeps at its decision threshold" in choice.message()


def test_auto_does_not_judge_an_input_too_short_to_be_typical(caplog, tmp_path):
    """A VCF of the example's first 400 kb (5 windows of 80 kb; the sweep at 1.2 Mb outside
    it), as a candidate region is often given: too few windows to say whether the input is
    like any training data, so every model that can read it counts as matching, the ranking
    is by what they find, and the scan warns. Too short for a genome background, it leaves
    stats_fc_genome out."""
    short = vcf_copy(EXAMPLE_VCF, tmp_path / "short.vcf.gz", region=("chr1", 0, 400_000))
    with caplog.at_level("INFO", logger="popgen_hub"):
        choice = popgen_hub.choose_model(short)
    readable = [c for c in choice.candidates if not c.refused]
    assert all(c.matches and not c.judged and c.windows == 5 for c in readable)
    assert "stats_fc_genome.sweep_hsap_general" not in {c.name for c in readable}
    # phased haplotypes: the models that read them go first, although the unphased genotype
    # model finds more planted sweeps than any of those that can read 400 kb
    haplotype_models = [c for c in readable if c.kind == "haplotypes"]
    genotypes = next(c for c in readable if c.name == GENOTYPE_MODEL)
    assert genotypes.power.share > max(c.power.share for c in haplotype_models if c.power)
    assert choice.candidates[:len(haplotype_models)] == haplotype_models
    assert choice.candidates[0].power.share == max(c.power.share for c in haplotype_models
                                                   if c.power)
    assert "(5 windows: too few to judge its likeness to their training data), of those " \
           "that read haplotypes (the most the input gives; the others go after) it finds " \
           "the most planted sweeps" in choice.message()
    assert any("short.vcf.gz holds 5 windows of the model's length, too few to judge" in r.message
               for r in caplog.records)


def test_auto_takes_the_genotype_model_and_its_threshold_for_unphased_calls(tmp_path):
    """The example with its phase removed (as most callers write GT): every haplotype model
    is skipped, and the unphased genotype model is taken, its stored threshold and what it
    finds there named; the scan calls windows at that threshold."""
    vcf = vcf_copy(EXAMPLE_VCF, tmp_path / "unphased.vcf.gz", unphased=True)
    choice = popgen_hub.choose_model(vcf, n_windows=10)
    assert choice.name == GENOTYPE_MODEL
    threshold = get_contract(GENOTYPE_MODEL).decision_threshold()
    assert f"finds {threshold.power.text()} at its decision threshold" in choice.message()
    haplotype_models = [c for c in choice.candidates
                        if get_contract(c.name).input.data_kind == "haplotypes"]
    assert haplotype_models and all(c.refused for c in haplotype_models)
    run = run_cli("scan", "--vcf", vcf, "--model", "auto", "--region", "chr1:1-1000000",
                  "-o", tmp_path / "out")
    assert f"--model auto chose {GENOTYPE_MODEL}: " in run.stderr
    assert (f"P(sweep) > {threshold.value:g}, the model's decision threshold"
            in run.stdout + run.stderr)


def test_a_model_of_individuals_calls_windows_at_the_threshold_chosen_nearest_those_read(
        tmp_path):
    """calibrate --threshold-individuals: the genotype model's threshold says it was chosen at
    64 individuals (stored again at the same value, it keeps what it finds), a threshold chosen
    at 20 is stored beside it, in both contracts and on the card; a scan of all 64 individuals
    calls windows at the first, one of 24 at the second, and each says which and why."""
    pytest.importorskip("onnx")
    model_dir = tmp_path / "model"
    shutil.copytree(ROOT / "hub" / "pretrained" / GENOTYPE_MODEL, model_dir)
    bundled = get_contract(GENOTYPE_MODEL).decision_threshold()
    run_cli("calibrate", model_dir, "--decision-threshold", str(bundled.value),
            "--threshold-individuals", "64", "--threshold-source", bundled.source)
    run = run_cli("calibrate", model_dir, "--decision-threshold", "0.3",
                  "--threshold-individuals", "20", "--threshold-source", SOURCE,
                  "--threshold-power", "7/10", "--power-source", "sweeps read as 20",
                  "--card", ROOT / "cards" / f"{GENOTYPE_MODEL}.yaml")
    assert (f"  at 20 individuals: P(sweep) > 0.3 ({SOURCE}); it finds 7 of 10 planted sweeps "
            f"(0.70): sweeps read as 20") in run.stdout
    # the bundled thresholds at other numbers of individuals stay, but the one at 20 replaced
    others = [other for other in get_contract(GENOTYPE_MODEL).references[THRESHOLD].get(
        "by_individuals", []) if other["individuals"] != 20]
    stored = {"label": "sweep", "value": bundled.value, "source": bundled.source,
              "power": {"found": bundled.power.found, "of": bundled.power.of,
                        "source": bundled.power.source}, "individuals": 64,
              "by_individuals": sorted([*others, {"individuals": 20, "value": 0.3,
                                                  "source": SOURCE, "power": {
                                                      "found": 7, "of": 10,
                                                      "source": "sweeps read as 20"}}],
                                       key=lambda other: other["individuals"])}
    measured = ", ".join(str(other["individuals"]) for other in sorted(
        [*stored["by_individuals"], stored], key=lambda other: other["individuals"]))
    assert popgen_hub.load(model_dir, device="cpu").contract.references[THRESHOLD] == stored
    session = ort.InferenceSession(str(model_dir / "model.onnx"),
                                   providers=["CPUExecutionProvider"])
    embedded = json.loads(session.get_modelmeta().custom_metadata_map[ONNX_METADATA_KEY])
    assert embedded["references"][THRESHOLD] == stored
    card = " ".join((model_dir / "README.md").read_text().split())
    assert f"| 20 | 0.3 | {SOURCE} | 7 of 10: sweeps read as 20 |" in card
    assert (f"| 64 | {bundled.value} | above | {bundled.power.found} of {bundled.power.of} "
            f"(above) |") in card

    vcf = vcf_copy(EXAMPLE_VCF, tmp_path / "unphased.vcf.gz", unphased=True)
    with pysam.VariantFile(str(vcf)) as source:
        samples = list(source.header.samples)
    table = tmp_path / "samples.tsv"
    table.write_text("sample\n" + "".join(f"{name}\n" for name in samples[:24]))
    for read, options, value, other, why in (
            (64, [], bundled.value, 0.3, bundled.source),
            (24, ["--samples", table], 0.3, bundled.value, SOURCE)):
        out = tmp_path / f"scan{read}"
        stdout = run_cli("scan", "--vcf", vcf, "--model", f"local-dir:{model_dir}", *options,
                         "--region", "chr1:500001-1500000", "-q", "-o", out).stdout
        p = np.array([float(row["p_sweep"]) for row in window_table(
            out / f"{GENOTYPE_MODEL}.windows.tsv")[1] if row["p_sweep"] != "NA"])
        called = int((p > value).sum())
        assert called != int((p > other).sum())  # the other threshold would call others
        assert (f"{called} of {len(p)} scored windows have P(sweep) > {value:g}, the model's "
                f"decision threshold (chosen at {64 if read == 64 else 20} individuals, of "
                f"those measured ({measured}) the nearest to the {read} read: {why})") in stdout
    # --model auto ranks it by what the threshold it would take finds, and says so
    choice = popgen_hub.choose_model(vcf, candidates=[f"local-dir:{model_dir}"], samples=table,
                                     n_windows=10)
    assert choice.candidates[0].power == Power(7, 10, "sweeps read as 20")
    assert "finds 7 of 10 planted sweeps (0.70) at its decision threshold" in choice.message()


def test_a_threshold_by_individuals_keeps_what_it_finds_only_at_the_same_value(caplog):
    """What a threshold chosen at 20 individuals finds is stored with it, a scan of 20 (not
    one of 64) takes it; storing the same value again keeps it, another value drops it with
    a warning naming the individuals."""
    contract = get_contract(GENOTYPE_MODEL)
    found = Power(7, 10, "sweeps read as 20 individuals")

    def at20(value: float, power: Power | None = None) -> DecisionThreshold:
        return DecisionThreshold("sweep", value, SOURCE, power=power, individuals=20)

    again = with_threshold(with_threshold(contract, at20(0.3, found)), at20(0.3))
    assert again.decision_threshold(20).power == found
    assert again.decision_threshold(64).power == contract.decision_threshold().power
    with caplog.at_level("WARNING", logger="popgen_hub"):
        moved = with_threshold(again, at20(0.35))
    assert moved.decision_threshold(20).power is None
    assert moved.decision_threshold(20).value == 0.35
    assert (f"warning: {GENOTYPE_MODEL}: the power stored with its previous threshold at 20 "
            f"individuals (P(sweep) > 0.3, 7 of 10 planted sweeps (0.70)) is dropped") \
        in caplog.text
