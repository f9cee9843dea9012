"""The inference path (import, list, info, scan) works with torch and the simulators absent."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pyBigWig

from conftest import BUNDLED_MODEL, SWEEP_AT

TRAINING_ONLY = ("torch", "onnx", "onnxscript", "msprime", "tskit", "fwdpy11", "stdpopsim",
                 "matplotlib", "demes")


def run_without_training_packages(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter in which importing any training package fails,
    exactly as if it were not installed."""
    blocker = textwrap.dedent(f"""
        import importlib.abc, sys
        BLOCKED = {TRAINING_ONLY!r}
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        sys.meta_path.insert(0, Block())
    """)
    return subprocess.run([sys.executable, "-c", blocker + textwrap.dedent(code)],
                          capture_output=True, text=True)


def test_blocker_really_blocks():
    result = run_without_training_packages("import torch")
    assert result.returncode != 0 and "No module named 'torch'" in result.stderr


def test_import_list_info_and_scan_without_torch(sweep_vcf, tmp_path):
    out = tmp_path / "scan"
    result = run_without_training_packages(f"""
        import sys
        import popgen_hub
        from popgen_hub.cli import main
        assert main(["list"]) == 0
        assert main(["info", "{BUNDLED_MODEL}"]) == 0
        code = main(["scan", "--vcf", "{sweep_vcf}", "--model", "{BUNDLED_MODEL}",
                     "--region", "chr1:1000001-1400000", "-q", "-o", "{out}"])
        assert code == 0, code
        loaded = sorted(m for m in {TRAINING_ONLY!r} if m in sys.modules)
        print("training modules loaded:", loaded)
        assert not loaded
    """)
    assert result.returncode == 0, result.stdout + result.stderr
    with pyBigWig.open(str(out / f"{BUNDLED_MODEL}.sweep.bw")) as bw:
        assert bw.chroms() == {"chr1": 2_000_000}
        starts, ends, values = np.array(bw.intervals("chr1"), dtype=float).T
    assert len(values) > 20 and (ends - starts == 10_000).all()  # 10 kb bins, tiled,
    assert (starts[1:] == ends[:-1]).all() and starts[0] >= 1_000_000 and ends[-1] <= 1_400_000
    assert ((values >= 0) & (values <= 1)).all()  # within the region, probabilities
    at_sweep = values[(starts <= SWEEP_AT) & (SWEEP_AT < ends)]
    assert at_sweep.size == 1 and at_sweep[0] > values.max() - 1e-3  # the top is at the sweep
    assert values[ends <= SWEEP_AT - 100_000].mean() < 0.5


def test_training_commands_explain_the_missing_extra():
    result = run_without_training_packages("""
        from popgen_hub.cli import main
        raise SystemExit(main(["simulate", "--list"]))
    """)
    assert result.returncode == 1
    assert "pip install 'popgen-hub[train]'" in result.stderr
