"""Write golden_scans.npz and golden_scans.json, the outputs tests/test_golden.py replays.

Run it only with code whose outputs you trust, never with a tree in the middle of a change:
the files it writes are what every later version is held to. As they were made:

    git worktree add /tmp/head_tree <commit>
    mkdir -p /tmp/head_pkg && ln -s /tmp/head_tree/hub /tmp/head_pkg/popgen_hub
    PYTHONPATH=/tmp/head_pkg .venv/bin/python tests/data/make_golden.py --commit <commit>

The inputs are shipped, not regenerated (a later simulator may draw other genotypes):
example_sweep.vcf.gz(.tbi) is a copy of hub/data/example_sweep.vcf.gz, and temporal_loci.*
was written once, with the same commit, by

    popgen-hub simulate temporal_balancing --vcf tests/data/temporal_loci.vcf.gz \\
        --loci neutral,weak_overdominance,moderate_overdominance --missing 0.05 --seed 8 -q
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from test_golden import GOLDEN, SPEC, run_scan, windows_table  # noqa: E402

TEMPORAL_COMMAND = ("popgen-hub simulate temporal_balancing --vcf tests/data/temporal_loci.vcf.gz"
                    " --loci neutral,weak_overdominance,moderate_overdominance --missing 0.05"
                    " --seed 8 -q")
# Default scan settings throughout (window, step, seed 0, batch 32, one worker); CPU only, so
# the figures do not depend on which onnxruntime build is installed.
SCANS = {
    "sweep_example": {"model": "imagene_cnn.sweep_hsap_eur", "vcf": "example_sweep.vcf.gz"},
    "sweep_general": {"model": "imagene_cnn.sweep_hsap_general", "vcf": "example_sweep.vcf.gz"},
    "temporal_hsap_eur": {"model": "temporal_balsel.hsap_eur", "vcf": "temporal_loci.vcf.gz",
                          "samples": "temporal_loci.samples.tsv"},
    "temporal_review_data": {"model": "temporal_balsel.review_data",
                             "vcf": "temporal_loci.vcf.gz",
                             "samples": "temporal_loci.samples.tsv"},
}
INPUTS = ["example_sweep.vcf.gz", "example_sweep.vcf.gz.tbi", "temporal_loci.vcf.gz",
          "temporal_loci.vcf.gz.tbi", "temporal_loci.samples.tsv"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--commit", required=True, help="the commit whose code is imported")
    args = parser.parse_args()

    import onnxruntime

    import popgen_hub

    arrays: dict[str, np.ndarray] = {}
    scans = {}
    for name, base in SCANS.items():
        model = popgen_hub.load(base["model"], device="cpu")
        spec = {**base, "model_sha256": model.contract.weights["sha256"],
                "load_options": {"device": "cpu"}, "scan_options": {}}
        with tempfile.TemporaryDirectory() as tmp:
            result = run_scan(spec, Path(tmp) / "scan")
        table = windows_table(result)
        assert table["probabilities"].dtype == np.float32
        arrays.update({f"{name}/{column}": values for column, values in table.items()})
        spec.update(n_windows=len(result.windows),
                    n_scored=int(np.isfinite(table["probabilities"]).all(axis=1).sum()),
                    recorded={"window": result.window, "step": result.step, "seed": result.seed,
                              "contigs": result.contigs, "labels": result.contract.labels,
                              "haplotypes": [f"{s}:{h}" for s, h in result.haplotypes],
                              "time_bins": result.time_bins})
        scans[name] = spec
        print(f"{name}: {spec['n_windows']} windows, {spec['n_scored']} scored")
    np.savez_compressed(GOLDEN, **arrays)
    SPEC.write_text(json.dumps({
        "made_with": {"commit": args.commit, "popgen_hub": popgen_hub.__version__,
                      "numpy": np.__version__, "onnxruntime": onnxruntime.__version__,
                      "python": platform.python_version(), "machine": platform.machine()},
        "call": "popgen_hub.load(model, sha256=model_sha256, **load_options).scan(vcf, out_dir, "
                "progress=False, samples=samples if any, **scan_options); paths relative to "
                "tests/data",
        "temporal_input_command": TEMPORAL_COMMAND,
        "inputs_sha256": {name: sha256(HERE / name) for name in INPUTS},
        "scans": scans,
    }, indent=1) + "\n")
    print(f"wrote {GOLDEN} and {SPEC}")


if __name__ == "__main__":
    main()
