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
    """Hands out temporary paths; ``final(name)`` is where a file will be after the commit."""

    def __init__(self, out_dir: Path, staging_dir: Path) -> None:
        self.out_dir = out_dir
        self.dir = staging_dir
        self.names: list[str] = []
        self.obsolete: list[str] = []  # files an earlier run left that this one replaces

    def path(self, name: str) -> Path:
        self.names.append(name)
        return self.dir / name

    def final(self, name: str) -> Path:
        return (self.out_dir / name).resolve()


def _first_missing(path: Path) -> Path | None:
    """The outermost folder of ``path`` that does not exist yet (None if it exists)."""
    missing = None
    for candidate in (path, *path.parents):
        if candidate.exists():
            return missing
        missing = candidate
    return missing


def _replace(source: Path, target: Path) -> None:
    """``os.replace`` that also replaces a folder (the old one is moved aside, then removed)."""
    if target.is_dir() and not target.is_symlink():
        aside = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
        os.replace(target, aside / target.name)
        try:
            os.replace(source, target)
        except OSError:
            os.replace(aside / target.name, target)  # put the old one back
            raise
        finally:
            shutil.rmtree(aside, ignore_errors=True)
    else:
        os.replace(source, target)


@contextmanager
def staged_outputs(out_dir: str | os.PathLike) -> Iterator[Staging]:
    """Stage files in a hidden folder and publish them only when the block succeeds.

    A new ``out_dir`` appears whole, by renaming the staging folder into place. Into an
    existing one, the files are moved one by one (one rename each, once all are written) and
    ``Staging.obsolete`` files are removed. A failure removes everything staged and any folder
    this call created.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise PopgenHubError(f"output {out_dir} exists and is not a directory; choose another -o")
    created = _first_missing(out_dir)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        staging_dir = Path(tempfile.mkdtemp(
            dir=out_dir if created is None else out_dir.parent,
            prefix=".popgen-hub-" if created is None else f".{out_dir.name}.popgen-hub-"))
    except OSError as exc:
        if created is not None and created != out_dir:
            shutil.rmtree(created, ignore_errors=True)
        raise PopgenHubError(f"cannot write to output directory {out_dir}: {exc.strerror}; "
                             f"choose a writable -o directory") from None
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging_dir, 0o777 & ~umask)  # mkdtemp makes it private; the result should not be
    staging = Staging(out_dir, staging_dir)
    try:
        yield staging
        if created is not None:
            os.rename(staging_dir, out_dir)
        else:
            for name in staging.names:
                _replace(staging_dir / name, out_dir / name)
            for name in staging.obsolete:
                (out_dir / name).unlink(missing_ok=True)
    except BaseException:
        shutil.rmtree(staging_dir, ignore_errors=True)
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        raise
    shutil.rmtree(staging_dir, ignore_errors=True)
