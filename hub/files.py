"""Files on disk: the one way to write atomically, and the names of the files in the folders
popgen-hub makes (training runs, exported models, datasets).

Everything is written under a hidden staging folder beside its destination and moved into
place only when complete (``os.replace``: one rename per file), so a failed or interrupted run
never leaves a half-written file where a result is expected:

- :func:`staged_outputs` for an output folder written whole (an export, a push folder);
- :func:`popgen_hub.resume.run_staging` for the output folder of a run that can be resumed
  (scan, simulate, import, train): kept when the run is interrupted, for ``--resume``;
- :func:`atomic_files` for single files next to others (a dataset shard, a manifest, a VCF and
  its index).

Whoever writes into an output folder holds its lock (:func:`popgen_hub.locks.output_lock`);
:func:`staged_outputs` takes it itself.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import PopgenHubError, Terminated
from .locks import hidden_path, output_lock, unwritable

log = logging.getLogger("popgen_hub")

STAGING_PREFIX = ".popgen-hub-"
KEPT_HINT = "run the same command with --resume to continue, or --clean to discard it"
#: Overrides where popgen-hub keeps its cache (crash logs, TensorRT engines).
CACHE_VARIABLE = "POPGEN_HUB_CACHE"


def cache_dir() -> Path:
    """popgen-hub's cache folder: ``$POPGEN_HUB_CACHE``, else ``popgen-hub`` in the user's cache
    directory (``$XDG_CACHE_HOME``, else ``~/.cache``). Not created here."""
    if os.environ.get(CACHE_VARIABLE):
        return Path(os.environ[CACHE_VARIABLE])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "popgen-hub"


class Staging:
    """Hands out temporary paths; ``final(name)`` is where a file will be after the commit.

    ``resumed``: the folder is the partial work of an interrupted run, continued."""

    def __init__(self, out_dir: Path, staging_dir: Path, resumed: bool = False) -> None:
        self.out_dir = out_dir
        self.dir = staging_dir
        self.resumed = resumed
        self.names: list[str] = []
        self.obsolete: list[str] = []  # files an earlier run left that this one replaces

    def path(self, name: str) -> Path:
        self.names.append(name)
        return self.dir / name

    def final(self, name: str) -> Path:
        return (self.out_dir / name).resolve()

    def publish_all(self) -> None:
        """Publish everything in the staging folder but hidden entries (work in progress)."""
        self.names = sorted(p.name for p in self.dir.iterdir() if not p.name.startswith("."))


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


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _staging_dir(parent: Path, prefix: str) -> Path:
    """A hidden folder in ``parent`` with the user's umask (mkdtemp makes it private)."""
    staging = Path(tempfile.mkdtemp(dir=parent, prefix=prefix))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)
    return staging


@contextmanager
def _signals_deferred() -> Iterator[list[int]]:
    """SIGINT and SIGTERM wait until the block is done (a commit is a few renames, and half of
    one would mix two runs' files); the list gives those that came, to be raised after."""
    caught: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield caught
        return
    previous = {s: signal.signal(s, lambda signum, frame: caught.append(signum))
                for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield caught
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _commit(staging: Staging) -> list[int]:
    """Publish the staged files: rename a new folder into place, or move them into an
    existing one one by one (then remove the obsolete files). The signals that came during
    it are returned, to be raised once the staging folder is gone."""
    names = list(dict.fromkeys(staging.names))
    with _signals_deferred() as caught:
        if not staging.out_dir.exists():
            for entry in staging.dir.iterdir():
                if entry.name not in names:  # work in progress, never published
                    _remove(entry)
            os.rename(staging.dir, staging.out_dir)
            return caught
        for name in names:
            _replace(staging.dir / name, staging.out_dir / name)
        for name in staging.obsolete:
            if name not in names:
                _remove(staging.out_dir / name)
    return caught


@contextmanager
def publishing(staging: Staging, *, keep_on_interrupt: bool) -> Iterator[Staging]:
    """Commit when the block succeeds; else remove the staging folder, or keep it (and say
    how to resume) when the run was interrupted."""
    try:
        yield staging
        caught = _commit(staging)
    except (KeyboardInterrupt, Terminated):
        if keep_on_interrupt and staging.dir.exists():
            log.warning("partial work kept in %s; %s", staging.dir, KEPT_HINT)
        else:
            shutil.rmtree(staging.dir, ignore_errors=True)
        raise
    except BaseException:
        shutil.rmtree(staging.dir, ignore_errors=True)
        raise
    shutil.rmtree(staging.dir, ignore_errors=True)
    for signum in caught[:1]:  # published whole; now stop as asked
        signal.raise_signal(signum)


@contextmanager
def staged_outputs(out_dir: str | os.PathLike, command: str = "") -> Iterator[Staging]:
    """Stage files in a hidden folder and publish them only when the block succeeds, holding
    the folder's lock.

    A new ``out_dir`` appears whole, by renaming the staging folder into place. Into an
    existing one, the files are moved one by one (one rename each, once all are written) and
    ``Staging.obsolete`` files are removed. A failure removes everything staged and any folder
    this call created.
    """
    out_dir = Path(out_dir)
    with output_lock(out_dir, command):
        hidden = hidden_path(out_dir, STAGING_PREFIX)
        try:
            staging_dir = _staging_dir(hidden.parent, hidden.name)
        except OSError as exc:
            raise unwritable(out_dir, exc) from None
        with publishing(Staging(out_dir, staging_dir), keep_on_interrupt=False) as staging:
            yield staging


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
    reliability_figure = File("reliability.png")
    predicted_figure = File("predicted_vs_true.png")
    #: the interrupted run's state after its last finished epoch (hidden: staging only, never
    #: published; the options it was started with: :data:`popgen_hub.resume.OPTIONS`)
    checkpoint = File(".checkpoint.pt")
    #: figures every classifier's run has (a regression's has the training curve and
    #: predicted_vs_true.png), and those only some have (`train --repeats` draws the spread
    #: over repeats, `compare -o RUN/comparison.png` architectures side by side, temperature
    #: scaling the reliability diagram, benchmarks/sample_depth.py the held-out figures of a
    #: model of individuals by sample size and depth); exports and pushes carry them along
    FIGURES = ("training_curve.png", "confusion_matrix.png")
    OPTIONAL_FIGURES = (repeats_figure.name, "comparison.png", reliability_figure.name,
                        "sample_depth.png", predicted_figure.name)
    #: what makes a run exportable; ``train --repeats`` copies these of the chosen repeat
    EXPORTED = ("model.pt", "run.json", "parity_inputs.npz", *FIGURES)

    def repeat(self, k: int) -> RunFolder:
        return RunFolder(self.path / f"repeat_{k:02d}")


class DatasetFolder(Folder):
    """A dataset of ``simulate`` / ``import``: a manifest and numbered shards."""

    manifest = File("manifest.json")

    def shard(self, index: int) -> Path:
        return self.path / f"shard-{index:06d}.npz"
