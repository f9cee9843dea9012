"""Files on disk: the one way to write atomically, and the names of the files in the folders
popgen-hub makes (training runs, exported models, datasets).

Everything is written under a hidden staging folder beside its destination and moved into
place only when complete (``os.replace``: one rename per file), so a failed or interrupted run
never leaves a half-written file where a result is expected:

- :func:`staged_outputs` for an output folder (a scan, an export, an imported dataset);
- :func:`atomic_files` for single files next to others (a dataset shard, a manifest, a VCF and
  its index).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import PopgenHubError

STAGING_PREFIX = ".popgen-hub-"


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


def _staging_dir(parent: Path, prefix: str) -> Path:
    """A hidden folder in ``parent`` with the user's umask (mkdtemp makes it private)."""
    staging = Path(tempfile.mkdtemp(dir=parent, prefix=prefix))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)
    return staging


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
        staging_dir = _staging_dir(out_dir if created is None else out_dir.parent,
                                   STAGING_PREFIX if created is None else
                                   f".{out_dir.name}{STAGING_PREFIX}")
    except OSError as exc:
        if created is not None and created != out_dir:
            shutil.rmtree(created, ignore_errors=True)
        raise PopgenHubError(f"cannot write to output directory {out_dir}: {exc.strerror}; "
                             f"choose a writable -o directory") from None
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


@contextmanager
def atomic_files(*paths: str | os.PathLike) -> Iterator[list[Path]]:
    """Temporary paths to write ``paths`` to; all are moved into place when the block succeeds,
    none when it fails. The paths must share one folder (created if needed)."""
    targets = [Path(p) for p in paths]
    parents = {t.parent for t in targets}
    if len(parents) != 1:
        raise ValueError(f"atomic_files writes into one folder, got {sorted(map(str, parents))}")
    parent = parents.pop()
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = _staging_dir(parent, f".{targets[0].name}{STAGING_PREFIX}")
    except OSError as exc:
        raise PopgenHubError(f"cannot write to {parent}: {exc.strerror}; choose a writable "
                             f"folder") from None
    try:
        yield [staging / t.name for t in targets]
        for target in targets:
            _replace(staging / target.name, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    with atomic_files(path) as (tmp,):
        tmp.write_text(text)


class File:
    """A file of a folder class: its name on the class, its path on an instance."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, folder: Folder | None, owner: type | None = None) -> Any:
        return self.name if folder is None else folder.path / self.name


@dataclass(frozen=True)
class Folder:
    path: Path

    def __truediv__(self, name: str) -> Path:
        return self.path / name


class ModelFolder(Folder):
    """An exported model: ``popgen-hub export`` writes it, ``load`` and ``push`` read it."""

    config = File("config.json")
    weights = File("model.onnx")
    card = File("README.md")
    test_data = File("test_data_set_0")


class RunFolder(Folder):
    """A training run: ``popgen-hub train`` writes it, ``export`` and ``compare`` read it."""

    weights = File("model.pt")
    record = File("run.json")
    parity_inputs = File("parity_inputs.npz")
    repeats = File("repeats.json")
    repeats_figure = File("repeats.png")
    #: figures every run has, and those only some have (`train --repeats` draws the spread
    #: over repeats, `compare -o RUN/comparison.png` architectures side by side); exports and
    #: pushes carry them along
    FIGURES = ("training_curve.png", "confusion_matrix.png")
    OPTIONAL_FIGURES = ("repeats.png", "comparison.png")
    #: what makes a run exportable; ``train --repeats`` copies these of the chosen repeat
    EXPORTED = ("model.pt", "run.json", "parity_inputs.npz", *FIGURES)

    def repeat(self, k: int) -> RunFolder:
        return RunFolder(self.path / f"repeat_{k:02d}")


class DatasetFolder(Folder):
    """A dataset of ``simulate`` / ``import``: a manifest and numbered shards."""

    manifest = File("manifest.json")

    def shard(self, index: int) -> Path:
        return self.path / f"shard-{index:06d}.npz"
