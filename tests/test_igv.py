"""IGV desktop really renders the track through the batch script the scan wrote."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import BUNDLED_MODEL, needs, run_cli
from popgen_hub.writers.igv import IGV_JAR

IGV_TRACK_BLUE = (0, 0, 178)  # IGV's default colour for numeric tracks


@pytest.mark.slow
def test_igv_renders_the_scan(sweep_vcf, tmp_path):
    needs("java", "xvfb-run")
    if not IGV_JAR.is_file():
        pytest.skip(f"IGV desktop not installed ({IGV_JAR}); `make test` installs it")
    from PIL import Image

    result = run_cli("scan", "--vcf", sweep_vcf, "--model", BUNDLED_MODEL, "--region",
                     "chr1:600001-1800000", "--snapshot", "-q", "-o", tmp_path)
    png = tmp_path / "igv_snapshot.png"
    assert str(png) in result.stdout
    pixels = np.asarray(Image.open(png).convert("RGB"))
    assert pixels.shape[0] > 200 and pixels.shape[1] > 600
    blue = np.all(pixels == IGV_TRACK_BLUE, axis=-1)
    assert blue.sum() > 500, "no track drawn"
    # the bars are tallest at the sweep: the column with the most track pixels lies in the
    # middle of the view (the batch script centres the top window)
    columns = blue.sum(axis=0)
    peak = int(np.argmax(columns))
    drawn = np.flatnonzero(columns)
    assert drawn.min() < peak < drawn.max()
    # a later scan into the same folder without --snapshot removes the now stale picture
    run_cli("scan", "--vcf", sweep_vcf, "--model", BUNDLED_MODEL, "--region",
            "chr1:600001-1800000", "-q", "-o", tmp_path)
    assert not png.exists()
