"""benchmarks/zoo.py, the table of every bundled model: run with --smoke in a fresh interpreter,
it gives each model `popgen-hub list` shows a row with measured speeds, and the figures it reads
are the contracts' and the cards'. Speeds are measured, never checked against a time."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from conftest import ROOT
from popgen_hub import list_models
from popgen_hub.registry import get_contract

ZOO = ROOT / "benchmarks" / "zoo.py"


def run_zoo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ZOO), *args], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    out = tmp_path_factory.mktemp("zoo")
    result = run_zoo("--smoke", "--out", str(out))
    assert result.returncode == 0, f"zoo.py --smoke failed:\n{result.stdout}\n{result.stderr}"
    return {"stdout": result.stdout, "table": (out / "zoo.md").read_text(),
            "report": json.loads((out / "zoo.json").read_text())}


def test_every_bundled_model_has_a_row_with_measured_speeds(zoo):
    rows = {row["model"]: row for row in zoo["report"]["models"]}
    assert sorted(rows) == list_models()
    main_table = zoo["table"].split("\n\n")[0].splitlines()
    assert [line.split(" | ")[0].split("`")[1] for line in main_table[2:]] == list(rows)
    assert zoo["stdout"].startswith(zoo["table"].rstrip("\n"))
    for name, row in rows.items():
        assert "not_measured" not in row, (name, row.get("not_measured"))
        assert sorted(row["speed"]) == ["1", "2"], name
        for speed in row["speed"].values():
            scan = speed["scan"]
            for rate in (speed["inference_windows_per_s"], scan["windows_per_s"]):
                assert math.isfinite(rate) and rate > 0, (name, speed)
            if row["output"] == "embedding":  # its rows are samples: no windows, no stages
                continue
            assert 0 < scan["scored"] <= scan["windows"], (name, scan)
            assert sum(scan["stage_s"].values()) > 0, (name, scan)


def test_held_out_figures_are_the_contracts(zoo):
    for row in zoo["report"]["models"]:
        test = get_contract(row["model"]).metrics.get("test")
        if not test:
            assert row["held_out"] is None
            continue
        held = row["held_out"]
        line = next(line for line in zoo["table"].splitlines()
                    if line.startswith(f"| `{row['model']}`"))
        if row["output"] == "regression":
            assert (held["pearson"], held["rmse"], held["n"]) == (
                test["pearson"], test["rmse"], test["n"]) and held["recall"] == {}
            assert f"| Pearson r {test['pearson']:.3f}, RMSE {test['rmse']:.3f}" in line
            continue
        assert (held["accuracy"], held["n"]) == (test["accuracy"], test["n"]), row["model"]
        assert held["recall"] == {label: counts[i] / sum(counts) for i, (label, counts) in
                                  enumerate(zip(test["labels"], test["confusion_matrix"],
                                                strict=True))}
        # the contract's own row-normalised matrix (rounded to 4 digits) agrees
        diagonal = [shares[i] for i, shares in enumerate(test["confusion_matrix_normalised"])]
        assert list(held["recall"].values()) == pytest.approx(diagonal, abs=1e-4)
        assert f"| {test['accuracy']:.3f} (n = {test['n']:,}) |" in line


def test_the_threshold_column_is_the_contracts_with_each_number_of_individuals(zoo):
    """Each classifier's stored threshold, and for the genotype model (which stores some) each
    threshold chosen at another number of individuals and what it finds, in its row."""
    for row in zoo["report"]["models"]:
        stored = get_contract(row["model"]).references.get("decision_threshold")
        if stored is None:
            continue
        assert f"> {stored['value']:g}" in row["decision_threshold"], row
        for other in stored.get("by_individuals", []):
            assert (f"; {other['value']:g} at {other['individuals']}, finds "
                    f"{other['power']['found']} of {other['power']['of']}"
                    in row["decision_threshold"]), row
    assert get_contract("exchangeable_cnn.sweep_hsap_genotypes").references[
        "decision_threshold"]["by_individuals"]


def test_misspecification_figures_are_rows_of_the_cards(zoo):
    read = 0
    for row in zoo["report"]["models"]:
        card = ROOT / "cards" / f"{row['model']}.matrix.md"
        figures = row["misspecification"]
        if not card.is_file():
            assert figures == {}
            continue
        neutral = figures.get("neutral_p05_max")
        if neutral is None:
            assert "share P>0.5" not in card.read_text()  # no neutral-windows table
            continue
        rows = [line for line in card.read_text().splitlines()
                if line.startswith(f"| {neutral['case']} | held-out |")]
        assert any(f"| {100 * neutral['share']:.1f} % |" in line for line in rows), neutral
        assert 0 <= figures["power_p05"]["share"] <= 1 and figures["power_p05"]["replicates"]
        read += 1
    assert read > 0


def test_a_card_of_several_matrices_gives_the_worst_case_of_all_and_pools_their_sweeps():
    """The likelihood model's card holds a matrix per read depth (4x, then 1x): the cell is
    the worst held-out case of both (4x's), and the strong recent sweeps of both pooled."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from zoo import misspecification
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    name = "exchangeable_cnn_gl.sweep_hsap_likelihoods"
    parts = (ROOT / "cards" / f"{name}.matrix.md").read_text().split(
        "## Misspecification matrix, sequenced at ")[1:]
    assert [part.split("\n", 1)[0] for part in parts] == ["4x", "1x"]
    worst = []
    for part in parts:  # each matrix's worst held-out share of neutral windows above 0.5
        shares = [float(line.split("|")[4].strip().rstrip(" %")) for line in part.splitlines()
                  if line.startswith("| ") and "| held-out |" in line]
        worst.append(max(shares))
    figures = misspecification(name)
    assert figures["neutral_p05_max"]["matrices"] == 2
    assert 100 * figures["neutral_p05_max"]["share"] == pytest.approx(max(worst))
    assert max(worst) > min(worst)  # the 1x matrix alone would give another figure
    assert figures["power_p05"]["replicates"] == 16  # 2Ns 300 and 1,000, ended 0 and 500,
    # 2 chromosomes each, at each depth


def test_unknown_models_are_refused_before_any_work():
    result = run_zoo("--models", "no_such.model")
    assert result.returncode == 2
    assert "--models no_such.model: not bundled" in result.stderr
