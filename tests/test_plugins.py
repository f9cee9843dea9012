"""Plugins: the example package (examples/plugin) installed for real and used through the CLI,
a deliberately broken plugin, and the switch that turns discovery off."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys

import numpy as np
import pyBigWig
import pytest

from conftest import BUNDLED_MODEL, ROOT, run_cli

EXAMPLE_VCF = ROOT / "hub" / "data" / "example_sweep.vcf.gz"


def plugin_env(*site_dirs, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "POPGEN_HUB_DISABLE_PLUGINS"}
    return {**env, "PYTHONPATH": os.pathsep.join(map(str, site_dirs)), **extra}


@pytest.fixture(scope="module")
def example_site(tmp_path_factory):
    """examples/plugin installed by pip into its own folder (put on PYTHONPATH per command)."""
    tmp = tmp_path_factory.mktemp("plugin")
    source = shutil.copytree(ROOT / "examples" / "plugin", tmp / "source")  # builds leave files
    site = tmp / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--no-build-isolation", "--target", str(site), str(source)], check=True)
    return site


@pytest.fixture(scope="module")
def broken_site(tmp_path_factory):
    """An installed distribution whose entry point names a module that does not exist."""
    site = tmp_path_factory.mktemp("broken")
    info = site / "broken_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[popgen_hub.writers]\nbroken = no_such_module:write\n")
    return site


def test_plugins_lists_the_example_package(example_site):
    out = run_cli("plugins", env=plugin_env(example_site)).stdout
    for group, name in (("models", "tiny_mlp"), ("encoders", "sfs_image"),
                        ("readers", "plain_vcf"), ("writers", "bedgraph")):
        line = next(line for line in out.splitlines() if f" {name} " in line)
        assert line.startswith(group) and "popgen-hub-example" in line and line.endswith("ok")
    assert "no plugins installed" in run_cli("plugins", env=plugin_env()).stdout


def test_plugin_reader_and_writer_in_a_scan(example_site, tmp_path):
    plain = tmp_path / "calls.vcf"  # uncompressed: only the plugin reader takes it
    plain.write_bytes(gzip.decompress(EXAMPLE_VCF.read_bytes()))
    env = plugin_env(example_site)
    run_cli("scan", "--vcf", plain, "--model", BUNDLED_MODEL, "--writer", "bedgraph", "-q",
            "-o", tmp_path / "out", env=env)
    lines = (tmp_path / "out" / f"{BUNDLED_MODEL}.sweep.bedGraph").read_text().splitlines()
    assert lines[0].startswith("track type=bedGraph")
    rows = [line.split("\t") for line in lines[1:]]
    with pyBigWig.open(str(tmp_path / "out" / f"{BUNDLED_MODEL}.sweep.bw")) as bw:
        intervals = bw.intervals("chr1")
    assert [(int(s), int(e)) for _, s, e, _ in rows] == [(s, e) for s, e, _ in intervals]
    assert np.allclose([float(v) for *_, v in rows], [v for *_, v in intervals], atol=1e-5)
    without = run_cli("scan", "--vcf", plain, "--model", BUNDLED_MODEL, "-o", tmp_path / "no",
                      check=False, env=plugin_env())
    assert without.returncode == 1 and "bgzip" in without.stderr
    disabled = run_cli("scan", "--vcf", EXAMPLE_VCF, "--model", BUNDLED_MODEL, "--writer",
                       "bedgraph", "-o", tmp_path / "off", check=False,
                       env=plugin_env(example_site, POPGEN_HUB_DISABLE_PLUGINS="1"))
    assert disabled.returncode == 1 and "unknown writer 'bedgraph'" in disabled.stderr
    assert not (tmp_path / "off").exists()


@pytest.mark.slow
def test_plugin_architecture_and_encoder_train_export_and_scan(example_site, tmp_path):
    env = plugin_env(example_site)
    assert "tiny_mlp" in run_cli("list", "--architectures", env=env).stdout.split()
    run_cli("train", "tiny_mlp", "--simulate", "imagene_sweep", "--encoder", "name=sfs_image",
            "--param", "n_haplotypes=64", "--replicates-per-epoch", "120",
            "--validation-replicates", "40", "--test-replicates", "60", "--epochs", "2", "-q",
            "-o", tmp_path / "run", env=env)
    run_cli("export", tmp_path / "run", "--name", "tiny_mlp.sfs", "-o", tmp_path / "model",
            env=env)
    info = run_cli("info", f"local-dir:{tmp_path / 'model'}", env=env).stdout
    assert "architecture tiny_mlp" in info and "encoder: name=sfs_image" in info
    run_cli("scan", "--vcf", EXAMPLE_VCF, "--model", f"local-dir:{tmp_path / 'model'}", "-q",
            "-o", tmp_path / "scan", env=env)
    with pyBigWig.open(str(tmp_path / "scan" / "tiny_mlp.sfs.sweep.bw")) as bw:
        values = [v for *_, v in bw.intervals("chr1")]
    assert len(values) > 100 and all(0.0 <= v <= 1.0 for v in values)
    missing = run_cli("scan", "--vcf", EXAMPLE_VCF, "--model", f"local-dir:{tmp_path / 'model'}",
                      "-o", tmp_path / "no", check=False, env=plugin_env())
    assert missing.returncode == 1 and "unknown encoder 'sfs_image'" in missing.stderr


def test_a_broken_plugin_is_reported_not_fatal(example_site, broken_site, tmp_path):
    env = plugin_env(example_site, broken_site)
    listing = run_cli("plugins", env=env).stdout
    broken = next(line for line in listing.splitlines() if " broken " in line)
    assert "FAILED" in broken and "no_such_module" in broken and "broken-plugin" in broken
    scan = run_cli("scan", "--vcf", EXAMPLE_VCF, "--model", BUNDLED_MODEL, "--writer",
                   "bedgraph", "-q", "-o", tmp_path / "out", env=env)
    assert "plugin 'broken'" in scan.stderr and "failed to load and is ignored" in scan.stderr
    # the working plugin's writer still wrote its track: the BigWig's bins, as bedGraph
    lines = (tmp_path / "out" / f"{BUNDLED_MODEL}.sweep.bedGraph").read_text().splitlines()
    assert lines[0].startswith("track type=bedGraph")
    rows = [line.split("\t") for line in lines[1:]]
    with pyBigWig.open(str(tmp_path / "out" / f"{BUNDLED_MODEL}.sweep.bw")) as bw:
        intervals = bw.intervals("chr1")
    assert len(rows) == len(intervals) > 100 and all(len(row) == 4 for row in rows)
    assert [(c, int(s), int(e)) for c, s, e, _ in rows] == [("chr1", s, e)
                                                            for s, e, _ in intervals]
    assert all(0 <= float(v) <= 1 for *_, v in rows)
    off = run_cli("plugins", env=plugin_env(example_site, broken_site,
                                            POPGEN_HUB_DISABLE_PLUGINS="1"))
    assert "disabled" in off.stdout and not off.stderr
