"""``popgen-hub fit-demography`` (issue 16, item 4): a pg-gan-style fit of the two-epoch model to
a VCF simulated under it, tiny (a few iterations): its record, its trajectory plot, the
discriminator exported through onnxruntime as torch computes it and scanning the VCF, the
interrupted fit (in its loop or while writing) resumed to the same result, simulated windows
filtered as the VCF's, and one-line errors for bad input. Real simulations (msprime), htslib
reads, onnxruntime sessions; nothing mocked."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("msprime")

from popgen_hub.cli import main  # noqa: E402
from popgen_hub.gan import (  # noqa: E402
    LABELS,
    MODELS,
    FitSettings,
    propose,
    read_fit,
)
from popgen_hub.gan.windows import (  # noqa: E402
    MIN_SITES,
    discriminator_encoder,
    read_real_windows,
    simulate_vcf,
    simulate_windows,
)

TRUTH = {"N_ancestral": 10_000, "N_present": 2_000, "T_change": 1_000}
#: the tiny budget of every fit here, as options and as settings
TINY = FitSettings(iterations=3, proposals=1, batch_size=8, disc_steps=2, pretrain_trials=2,
                   pretrain_steps=2, seed=5)
TINY_OPTIONS = ["--iterations", "3", "--proposals", "1", "--batch-size", "8", "--disc-steps",
                "2", "--pretrain-trials", "2", "--pretrain-steps", "2", "--seed", "5"]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("gan")
    return simulate_vcf(folder / "two_epoch.vcf.gz", MODELS["two_epoch"], TRUTH,
                        n_individuals=16, length=1_500_000, seed=11)


@pytest.fixture(scope="module")
def fitted(data: Path) -> Path:
    out = data.parent / "fit"
    assert main(["fit-demography", "-q", "--vcf", str(data), *TINY_OPTIONS,
                 "-o", str(out)]) == 0
    return out


def test_proposals_stay_inside_the_bounds_and_narrow_as_the_temperature_falls():
    model, rng = MODELS["two_epoch"], np.random.default_rng(0)
    start = {p.name: np.sqrt(p.low * p.high) for p in model.parameters}
    for parameter in model.parameters:
        hot = [propose(parameter, start[parameter.name], 1.0, rng) for _ in range(300)]
        cold = [propose(parameter, start[parameter.name], 0.05, rng) for _ in range(300)]
        assert all(parameter.low <= v <= parameter.high for v in hot + cold)
        assert np.std(np.log(cold)) < np.std(np.log(hot)) / 5


def test_fit_writes_its_record_plot_and_a_discriminator_that_scans(fitted, data, tmp_path):
    record = read_fit(fitted / "fit.json")
    model = MODELS["two_epoch"]
    assert record["demography"] == "two_epoch" and set(record["parameters"]) == set(model.names)
    for name, (low, high) in record["bounds"].items():
        assert low <= record["parameters"][name] <= high
    assert [row["iteration"] for row in record["trajectory"]] == [0, 1, 2, 3]
    accepted = [row["accepted"] for row in record["trajectory"][1:]]
    assert record["acceptance_rate"] == sum(accepted) / 3
    # and the writing of the outputs (an ONNX export, plots, held-out simulations)
    assert record["seconds"] > sum(row["seconds"] for row in record["trajectory"]) + 0.1
    last = record["trajectory"][-1]
    assert {k: last[k] for k in model.names} == record["parameters"]
    assert record["data"]["n_individuals"] == 16 and record["data"]["n_windows"] >= 20
    test = record["discriminator"]["test"]
    assert test["labels"] == list(LABELS) and test["n"] == 2 * record["data"][
        "n_held_out_windows"] == 2 * len(record["data"]["held_out_windows"])
    assert record["data"]["missing_call_share"] == 0
    assert (fitted / "trajectory.png").stat().st_size > 10_000

    # the exported discriminator: onnxruntime gives what torch gives on the run's windows
    import torch

    import popgen_hub
    from popgen_hub.models import build_model

    folder = fitted / "discriminator"
    loaded = popgen_hub.load(f"local-dir:{folder}", device="cpu")
    assert loaded.contract.labels == list(LABELS)
    assert loaded.contract.input.data_kind == "genotypes"
    # it saw windows of the fitted 16 individuals only, so it reads no fewer
    assert loaded.contract.input.sample_size == [16, 16]
    run = json.loads((fitted / "discriminator_run" / "run.json").read_text())
    network = build_model("exchangeable_cnn", **run["model_config"])
    network.load_state_dict(torch.load(fitted / "discriminator_run" / "model.pt"))
    windows = np.load(fitted / "discriminator_run" / "parity_inputs.npz")["genotype_matrix"]
    with torch.no_grad():
        expected = torch.softmax(network.eval()(torch.from_numpy(windows)), dim=1).numpy()
    assert np.abs(loaded.predict(windows) - expected).max() < 1e-5
    assert "unlike_fitted" in (folder / "README.md").read_text()

    scan = tmp_path / "scan"
    assert main(["scan", "-q", "--vcf", str(data), "--model", f"local-dir:{folder}",
                 "-o", str(scan)]) == 0
    table = scan / f"{loaded.contract.name}.windows.tsv"
    rows = [line.split("\t") for line in table.read_text().splitlines()
            if not line.startswith("#")]
    column = rows[0].index("p_unlike_fitted")
    scores = np.array([float(row[column]) for row in rows[1:] if row[column] != "NA"])
    assert len(scores) >= 20 and ((scores >= 0) & (scores <= 1)).all()
    assert (scan / f"{loaded.contract.name}.unlike_fitted.bw").is_file()


def test_an_interrupted_fit_resumes_to_the_same_result(fitted, data, tmp_path):
    from popgen_hub.gan.run import fit_demography

    out = tmp_path / "fit"

    def stop_after_first(record: dict) -> None:
        if record["iteration"] == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit_demography(data, out, TINY, on_iteration=stop_after_first)
    staging = list(tmp_path.glob(".fit.popgen-hub-partial-*"))
    assert not (out / "fit.json").exists() and len(staging) == 1
    # what an interruption while writing the outputs leaves: half-written model folders
    for name in ("discriminator_run", "discriminator"):
        (staging[0] / name).mkdir()
        (staging[0] / name / "model.pt").write_bytes(b"half")
    resumed = fit_demography(data, out, TINY, resume=True)
    uninterrupted = read_fit(fitted / "fit.json")
    assert resumed["parameters"] == uninterrupted["parameters"]
    strip = [{k: v for k, v in row.items() if k != "seconds"} for row in resumed["trajectory"]]
    assert strip == [{k: v for k, v in row.items() if k != "seconds"}
                     for row in uninterrupted["trajectory"]]
    assert not list(tmp_path.glob(".fit.popgen-hub-partial-*"))
    # another budget is not this run: refused with what changed
    with pytest.raises(Exception, match="already holds"):
        fit_demography(data, out, replace(TINY, iterations=4))


def test_simulated_windows_hold_as_many_sites_as_the_vcfs():
    """At a small population size about 90 % of 50 kb windows of 16 individuals have fewer
    than MIN_SITES informative sites: the generator keeps, as the VCF reader does, only
    windows with at least that many."""
    windows = simulate_windows(MODELS["two_epoch"], {"N_ancestral": 1_000, "N_present": 500,
                                                     "T_change": 2_000},
                               n_individuals=16, count=12, encoder=discriminator_encoder(16),
                               window_bp=50_000, rng=np.random.default_rng(3))
    sites = (windows[:, :, 1, :].max(axis=1) > 0).sum(axis=1)  # columns with a call
    assert windows.shape == (12, 16, 3, 36) and (sites >= MIN_SITES).all(), sites


def test_missing_calls_are_measured_and_warned_about(data, tmp_path, caplog):
    """Simulated windows have no missing calls, so the VCF's would tell the sides apart: two
    individuals of 16 with no calls give a share of 2/16 and a warning saying why."""
    import gzip

    import pysam

    lines = gzip.open(data, "rt").read().splitlines()
    plain = tmp_path / "missing.vcf"
    plain.write_text("".join(
        (line if line.startswith("#") else "\t".join(
            [*line.split("\t")[:9], "./.", "./.", *line.split("\t")[11:]])) + "\n"
        for line in lines))
    vcf = pysam.tabix_index(str(plain), preset="vcf", force=True)
    with caplog.at_level("WARNING", logger="popgen_hub"):
        real = read_real_windows(vcf, discriminator_encoder(), window_bp=50_000)
    assert real.missing_share == pytest.approx(2 / 16)
    assert "12.5% of the genotype calls" in caplog.text and "tell them apart" in caplog.text


@pytest.mark.parametrize("options, message", [
    (["--iterations", "0"], "--iterations 0: must be a whole number of at least 1"),
    (["--held-out", "1.5"], "--held-out 1.5"),
    (["--region", "chr1:1-200000"], "fit-demography needs at least 20"),
    (["--population", "X"], "--population X needs --samples"),
    (["--samples", "{table}", "--population", "nowhere"], "nowhere"),
    (["--samples", "{few}"], "needs at least 5"),
])
def test_bad_input_gets_one_line(data, tmp_path, capsys, options, message):
    table, few = tmp_path / "samples.tsv", tmp_path / "few.tsv"
    table.write_text("sample\tpopulation\n" + "".join(f"sample{i}\tA\n" for i in range(16)))
    few.write_text("sample\n" + "".join(f"sample{i}\n" for i in range(3)))
    options = [o.format(table=table, few=few) for o in options]
    assert main(["fit-demography", "--vcf", str(data), *options, "-o",
                 str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err, err
    assert not (tmp_path / "out").exists()
