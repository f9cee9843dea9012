"""Headless Chromium for the browser tests (Debian's ``chromium``; the flags of
``../shared/docs/conventions.md``): :func:`screenshot` renders a URL to a PNG, :func:`dom`
gives the page's DOM once its scripts have run, and :func:`colour_columns` counts the pixels
of one colour per column of a screenshot, to check that a track drew where its values are.
Reusable by every browser test (igv.js, JBrowse 2): each call is one short Chromium run with a
virtual-time budget, in a fresh profile.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from conftest import needs

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-dev-shm-usage",
         "--force-device-scale-factor=1"]  # pixels counted in screenshots are CSS pixels


def _run(url: str, *args: str, budget_ms: int, timeout: float) -> str:
    needs("chromium")
    with tempfile.TemporaryDirectory(prefix="popgen-hub-chromium-") as profile:
        run = subprocess.run([shutil.which("chromium"), *FLAGS, f"--user-data-dir={profile}",
                              f"--virtual-time-budget={budget_ms}", *args, url],
                             capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, f"chromium failed ({run.returncode}): {run.stderr[-2000:]}"
    return run.stdout


def screenshot(url: str, png: Path, size: tuple[int, int] = (1200, 900), *,
               budget_ms: int = 10_000, timeout: float = 90) -> Path:
    """``url`` rendered by headless Chromium at ``size`` (width, height) into ``png``."""
    _run(url, f"--screenshot={png}", f"--window-size={size[0]},{size[1]}",
         budget_ms=budget_ms, timeout=timeout)
    assert Path(png).is_file(), f"chromium wrote no screenshot of {url}"
    return Path(png)


def dom(url: str, *, budget_ms: int = 10_000, timeout: float = 90) -> str:
    """The DOM of ``url`` after its scripts ran for ``budget_ms`` of virtual time."""
    return _run(url, "--dump-dom", budget_ms=budget_ms, timeout=timeout)


def colour_columns(png: Path, rgb: tuple[int, int, int], tolerance: int = 12) -> np.ndarray:
    """Per column of ``png``, how many pixels have the colour ``rgb`` (within ``tolerance``
    per channel; antialiased edges are left out)."""
    from PIL import Image

    with Image.open(png) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=np.int16)
    close = (np.abs(pixels - np.array(rgb, dtype=np.int16)) <= tolerance).all(axis=2)
    return close.sum(axis=0)
