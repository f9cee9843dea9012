"""All-or-nothing output: files are written to a staging folder and moved into place at the end.

A failed or interrupted run leaves the output directory as it was (removed if it did not
exist before), so no half-written track ever looks like a result.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import PopgenHubError


class Staging:
    """Hands out temporary paths; ``final(name)`` is where a file will be after commit."""

    def __init__(self, out_dir: Path, staging_dir: Path) -> None:
        self.out_dir = out_dir
        self.dir = staging_dir
        self.names: list[str] = []

    def path(self, name: str) -> Path:
        self.names.append(name)
        return self.dir / name

    def final(self, name: str) -> Path:
        return (self.out_dir / name).resolve()


def check_writable(out_dir: Path) -> bool:
    """Create ``out_dir`` if needed and check we can write there; returns whether it was new."""
    existed = out_dir.exists()
    if existed and not out_dir.is_dir():
        raise PopgenHubError(f"output {out_dir} exists and is not a directory; choose another -o")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=out_dir, prefix=".popgen-hub-probe-")
        probe.close()
    except OSError as exc:
        if not existed:
            shutil.rmtree(out_dir, ignore_errors=True)
        raise PopgenHubError(
            f"cannot write to output directory {out_dir}: {exc.strerror}; choose a writable "
            f"-o directory") from None
    return not existed


@contextmanager
def staged_outputs(out_dir: str | os.PathLike) -> Iterator[Staging]:
    """Stage files under ``out_dir/.popgen-hub-XXXX/``; move them into ``out_dir`` on success."""
    out_dir = Path(out_dir)
    created = check_writable(out_dir)
    staging_dir = Path(tempfile.mkdtemp(dir=out_dir, prefix=".popgen-hub-"))
    staging = Staging(out_dir, staging_dir)
    try:
        yield staging
        for name in staging.names:
            os.replace(staging_dir / name, out_dir / name)
    except BaseException:
        shutil.rmtree(staging_dir, ignore_errors=True)
        if created:
            shutil.rmtree(out_dir, ignore_errors=True)
        raise
    shutil.rmtree(staging_dir, ignore_errors=True)
