"""The bundled models give the same outputs: golden scans, recorded once, replayed every run.

``tests/data/golden_scans.npz`` holds every window of four scans made with a trusted commit
(recorded in ``golden_scans.json`` with the exact arguments): the bundled example VCF with
``imagene_cnn.sweep_hsap_eur`` and with ``imagene_cnn.sweep_hsap_general``, and a small
simulated temporal VCF (shipped, with its sample ages, in ``tests/data``) with each
``temporal_balsel`` model. Each test reruns one scan with the installed package through the
public API and demands the same windows: the integer columns exactly, the probabilities (and
the p- and q-values against the model's stored null) within 1e-6.

This is the invariant of any refactor of the readers, encoders or scan: do not loosen the
tolerance, drop columns or regenerate the files to make a failure go away. Regenerate them
(``tests/data/make_golden.py``) only when a model's outputs are *meant* to change, and say so.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parent / "data"
GOLDEN = DATA / "golden_scans.npz"
SPEC = DATA / "golden_scans.json"
#: flags: the out-of-distribution reasons' bitmask (popgen_hub.ood; 0 without training stats)
INTEGER_COLUMNS = ("start", "end", "bin_start", "bin_end", "n_sites", "n_informative", "flags")
PROBABILITY_ATOL = 1e-6
#: per window, against the model's stored null (NaN: unscored, or no null)
SIGNIFICANCE_COLUMNS = ("p_value", "q_value")
# Named here, not read from the JSON, so that no scan can drop out of the suite unnoticed.
SCANS = ("sweep_example", "sweep_general", "temporal_hsap_eur", "temporal_review_data")


def golden_spec() -> dict:
    return json.loads(SPEC.read_text())


def run_scan(spec: dict, out_dir: Path):
    """Scan as ``spec`` (one entry of golden_scans.json's ``scans``) says; the ScanResult."""
    import popgen_hub

    model = popgen_hub.load(spec["model"], sha256=spec["model_sha256"], **spec["load_options"])
    options = dict(spec["scan_options"])
    if spec.get("samples"):
        options["samples"] = DATA / spec["samples"]
    return model.scan(DATA / spec["vcf"], out_dir, progress=False, **options)


def windows_table(result) -> dict[str, np.ndarray]:
    """The columns golden_scans.npz stores for one scan (contigs by name)."""
    windows = result.windows
    contigs = windows["contig"]  # an index into result.contigs (names, should that change)
    table = {"contig": contigs.astype(str) if contigs.dtype.kind in "US" else
             np.array([result.contigs[i] for i in contigs], dtype=str)}
    table.update({name: np.asarray(windows[name]) for name in INTEGER_COLUMNS})
    table["probabilities"] = np.asarray(windows["probabilities"])
    missing = np.full(len(windows), np.nan)
    table["p_value"] = missing if result.p_values is None else result.p_values
    table["q_value"] = missing if result.q_values is None else result.q_values
    return table


@pytest.mark.parametrize("name", SCANS)
def test_bundled_model_reproduces_its_golden_scan(name, tmp_path):
    spec = golden_spec()["scans"][name]
    result = run_scan(spec, tmp_path / "scan")
    actual = windows_table(result)
    with np.load(GOLDEN) as golden:
        expected = {key.split("/", 1)[1]: golden[key] for key in golden.files
                    if key.startswith(name + "/")}
    assert set(expected) == {"contig", *INTEGER_COLUMNS, "probabilities",
                             *SIGNIFICANCE_COLUMNS}, sorted(expected)
    assert len(actual["start"]) == len(expected["start"]) == spec["n_windows"], (
        f"{name}: {len(actual['start'])} windows, golden {len(expected['start'])}")
    np.testing.assert_array_equal(actual["contig"], expected["contig"], err_msg=name)
    for column in INTEGER_COLUMNS:
        np.testing.assert_array_equal(actual[column], expected[column],
                                      err_msg=f"{name}: column {column}")
    assert actual["probabilities"].shape == expected["probabilities"].shape
    assert expected["probabilities"].dtype == np.float32
    # NaN (windows with too few informative sites) must stay NaN, in the same windows
    np.testing.assert_allclose(actual["probabilities"].astype(np.float64),
                               expected["probabilities"].astype(np.float64),
                               rtol=0, atol=PROBABILITY_ATOL, equal_nan=True,
                               err_msg=f"{name}: probabilities")
    for column in SIGNIFICANCE_COLUMNS:
        np.testing.assert_allclose(actual[column], expected[column], rtol=0,
                                   atol=PROBABILITY_ATOL, equal_nan=True,
                                   err_msg=f"{name}: {column}")
    # the scan really scored something: the comparison above is not one of NaNs
    scored = np.isfinite(expected["probabilities"]).all(axis=1).sum()
    assert scored == spec["n_scored"] > 0


def test_every_golden_scan_is_replayed():
    assert sorted(golden_spec()["scans"]) == sorted(SCANS)


def test_golden_inputs_are_the_recorded_files():
    """The shipped inputs are the ones the golden scans were made from (no silent swap)."""
    import hashlib

    spec = golden_spec()
    for name, digest in spec["inputs_sha256"].items():
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == digest, name
