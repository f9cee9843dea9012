"""The CLI as a new user meets it: help with examples, list, info; its shared options, its
messages on stderr and its one error path."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys

import pytest

from conftest import BUNDLED_MODEL, ROOT, run_cli
from popgen_hub import cli
from popgen_hub.cli import cmd_list, common

COMMANDS = ["list", "info", "scan", "serve", "igv", "explain", "embed", "simulate", "import",
            "stats", "train", "fit-demography", "compare", "evaluate", "calibrate", "export",
            "ensemble", "push", "plugins"]
EXAMPLE_VCF = ROOT / "hub" / "data" / "example_sweep.vcf.gz"


def subparser(name: str) -> argparse.ArgumentParser:
    parser = cli.build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return commands.choices[name]


def option(name: str, flag: str) -> argparse.Action:
    return next(a for a in subparser(name)._actions if flag in a.option_strings + [a.dest])


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_examples(command):
    result = run_cli(command, "--help")
    assert "usage: popgen-hub " + command in result.stdout
    assert "examples:" in result.stdout
    # an example's `\` line continuations are kept (a raw docstring): a plain one joins the
    # lines, leaving the " " before `\` and the next line's 4-space indent inside one line
    examples = result.stdout.partition("examples:")[2]
    assert not re.search(r"\S {5,}\S", examples), examples


def test_top_level_help_lists_all_commands():
    out = run_cli("--help").stdout
    assert all(command in out for command in COMMANDS)
    assert [command.NAME for command in cli.COMMANDS] == COMMANDS


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


# ---------------------------------------------------------------- shared argument groups
def test_shared_groups_give_the_same_options():
    for flag in ("--device", "-q", "-v"):
        scan, evaluate = option("scan", flag), option("evaluate", flag)
        assert (scan.option_strings, scan.choices, scan.default, scan.help) == (
            evaluate.option_strings, evaluate.choices, evaluate.default, evaluate.help), flag
    device = option("scan", "--device")
    assert device.choices is None and device.type("cuda:1") == "cuda:1"
    assert all(value in device.help for value in ("auto", "cpu", "gpu", "cuda:N"))
    model_help = option("scan", "--model").help
    assert option("info", "model").help == option("evaluate", "model").help
    assert model_help == option("info", "model").help + ("; auto: the bundled model whose "
                                                         "training data the input resembles most")
    assert "a .onnx file" not in option("push", "model").help  # push needs a model directory
    encoders = {option(name, "--encoder").metavar for name in ("simulate", "import", "train")}
    assert encoders == {"NAME=VALUE"}


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_takes_quiet_and_verbose(command):
    flags = {flag for action in subparser(command)._actions for flag in action.option_strings}
    assert {"-q", "--quiet", "-v", "--verbose"} <= flags


def test_quiet_and_verbose_exclude_each_other(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["list", "-q", "-v"])
    assert exit_.value.code == 2 and "not allowed with" in capsys.readouterr().err


def test_scan_options_keep_their_names_and_defaults():
    args = subparser("scan").parse_args(["--vcf", "x.vcf.gz", "--model", "m", "-o", "out"])
    assert (args.seed, args.batch_size, args.workers, args.threads, args.device) == (
        0, 32, 1, 0, "auto")
    assert (args.sample_column, args.age_column, args.samples, args.quiet) == (
        "sample", "age_years", None, False)


# ---------------------------------------------------------------- messages on stderr
def _noisy(args: argparse.Namespace) -> None:
    import logging

    print("the result")
    logging.getLogger("popgen_hub.some_module").info("an information message")
    logging.getLogger("popgen_hub").debug("a debugging message")


@pytest.mark.parametrize(("flags", "info", "debug"), [([], True, False), (["-q"], False, False),
                                                       (["-v"], True, True)])
def test_quiet_and_verbose_set_the_log_level(monkeypatch, capsys, flags, info, debug):
    monkeypatch.setattr(cmd_list, "run", _noisy)
    assert cli.main(["list", *flags]) == 0
    out, err = capsys.readouterr()
    assert out == "the result\n"
    assert ("popgen-hub: an information message" in err) is info
    assert ("popgen-hub: a debugging message" in err) is debug
    assert ("popgen-hub: running popgen-hub list" in err) is debug


def test_scan_results_on_stdout_hints_on_stderr(tmp_path):
    region = ("--region", "chr1:1000001-1400000")
    loud = run_cli("scan", "--vcf", EXAMPLE_VCF, "--model", BUNDLED_MODEL, *region,
                   "-o", tmp_path / "loud")
    assert "top windows by the log-odds" in loud.stdout and "igv_batch" in loud.stdout
    assert f"popgen-hub: to look at it: popgen-hub serve {tmp_path / 'loud'}" in loud.stderr
    quiet = run_cli("scan", "--vcf", EXAMPLE_VCF, "--model", BUNDLED_MODEL, *region, "-q",
                    "-o", tmp_path / "quiet")
    assert "top windows by the log-odds" in quiet.stdout
    assert "popgen-hub:" not in quiet.stderr and "%|" not in quiet.stderr  # no bars either


def test_invocation_is_recorded(monkeypatch):
    seen = {}
    monkeypatch.setattr(cmd_list, "run", lambda args: seen.setdefault("args", args))
    assert cli.main(["list", "a b*", "-q"]) == 0
    assert seen["args"].invocation == "popgen-hub list 'a b*' -q"


# ---------------------------------------------------------------- extras and errors
TRAIN_COMMANDS = [["simulate", "--list"], ["list", "--architectures"],
                  ["import", "ms", "--class", "a=x", "--length", "1", "-o", "out"],
                  ["train", "imagene_cnn", "--data", "d", "-o", "out"],
                  ["compare", "run", "-o", "out.png"],
                  ["export", "run", "--name", "a.b", "-o", "out"]]


@pytest.mark.parametrize("argv", TRAIN_COMMANDS, ids=lambda argv: argv[0])
def test_missing_train_extra_is_one_line(monkeypatch, capsys, argv):
    monkeypatch.setitem(sys.modules, "torch", None)
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [f"popgen-hub {argv[0]}: error: {common.TRAIN_EXTRA_HINT}"]


def test_missing_publish_extra_is_one_line(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "jinja2", None)
    assert cli.main(["push", BUNDLED_MODEL, "--repo", "lab/x", "--dry-run", "-o", "out"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [f"popgen-hub push: error: {common.PUBLISH_EXTRA_HINT}"]


@pytest.mark.parametrize("argv", [["info", "imagene_cnn.nope"],
                                  ["scan", "--vcf", "x.vcf.gz", "--model", "imagene_cnn.nope",
                                   "-o", "out"]], ids=lambda argv: argv[0])
def test_unknown_model_is_exit_1_and_one_line(argv):
    result = run_cli(*argv, check=False)
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"popgen-hub {argv[0]}: error: unknown model")


def test_interrupt_is_130(monkeypatch, capsys):
    def interrupted(args: argparse.Namespace) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cmd_list, "run", interrupted)
    assert cli.main(["list"]) == 130
    assert capsys.readouterr().err == "popgen-hub list: interrupted\n"


def test_a_bug_exits_3_with_one_line_naming_the_crash_log(tmp_path):
    """A genuine bug: no traceback on screen, one line with the path of the full one."""
    script = ("import sys\n"
              "import popgen_hub.cli.cmd_list as command\n"
              "def broken(args):\n"
              "    return {}['no such key']\n"
              "command.run = broken\n"
              "from popgen_hub.cli import main\n"
              "sys.exit(main(['list']))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env={**os.environ, "XDG_CACHE_HOME": str(tmp_path)})
    assert result.returncode == 3 and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("popgen-hub list: internal error (KeyError), a bug in popgen-hub")
    (log,) = (tmp_path / "popgen-hub" / "crashes").glob("*.log")
    assert str(log) in line
    assert "Traceback" in log.read_text() and "no such key" in log.read_text()
