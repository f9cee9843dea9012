"""The CLI as a new user meets it: help with examples, list, info."""

from __future__ import annotations

import json

import pytest

from conftest import BUNDLED_MODEL, run_cli

COMMANDS = ["list", "info", "scan", "simulate", "import", "train", "export", "push", "plugins"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_examples(command):
    result = run_cli(command, "--help")
    assert "usage: popgen-hub " + command in result.stdout
    assert "examples:" in result.stdout


def test_top_level_help_lists_all_commands():
    out = run_cli("--help").stdout
    assert all(command in out for command in COMMANDS)


def test_list_shows_the_bundled_model_with_its_measured_accuracy():
    out = run_cli("list").stdout
    assert BUNDLED_MODEL in out
    contract = json.loads(run_cli("info", BUNDLED_MODEL, "--json").stdout)
    assert f"{contract['metrics']['test']['accuracy']:.3f}" in out
    assert run_cli("list", "nothing*").stdout.startswith("no bundled models match")


def test_info_prints_contract_and_card():
    out = run_cli("info", BUNDLED_MODEL).stdout
    assert "held-out test accuracy" in out
    assert "encoder: name=haplotype_image" in out
    assert "## Limitations" in out


def test_simulate_list_names_scenarios_and_parameters():
    out = run_cli("simulate", "--list").stdout
    assert "imagene_sweep" in out and "selection_strength=300" in out


def test_bad_key_value_is_a_clear_error():
    result = run_cli("simulate", "imagene_sweep", "--param", "oops", "-o", "x", check=False)
    assert result.returncode == 1
    assert "must look like name=value" in result.stderr
