"""Runs that can be interrupted and resumed: one rule for every command that writes a folder
of results (scan, simulate, import, train).

A run stages its outputs in a folder named by a :func:`fingerprint` of its inputs (paths,
sizes, modification times), model and parameters: ``.popgen-hub-partial-KEY`` inside its
output folder, or ``.NAME.popgen-hub-partial-KEY`` beside one that does not exist yet.
Interrupted (SIGINT, SIGTERM), it keeps that folder and says how to go on; killed outright
(SIGKILL), it leaves it behind. The next run of the same command finds it by the same
fingerprint and refuses to start until told: ``resume`` continues in it (what is finished is
not done again), ``clean`` discards it. Finished, it is published and removed.

The staging folder also keeps the options the run was started with (:func:`run_options`), so
that ``resume`` after an interrupted run with other options or inputs says what changed
instead of starting afresh.

Datasets and training runs are never overwritten in place (:func:`existing_output`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import PopgenHubError
from .files import KEPT_HINT, Staging, publishing, write_text_atomic
from .locks import hidden_path, output_lock, unwritable
from .version import __version__

log = logging.getLogger("popgen_hub")

PARTIAL_PREFIX = ".popgen-hub-partial-"
#: the options a run was started with, in its staging folder (hidden: never published)
OPTIONS = ".options.json"
#: names in words of recorded options every command has
_OPTION_NAMES = {"popgen_hub": "popgen-hub's version"}


def fingerprint(inputs: Iterable[str | os.PathLike] = (), **parameters: Any) -> str:
    """A short sha256 of a run: its input files (path, size and modification time; the
    visible files under a folder), its parameters (as JSON) and the popgen-hub version."""
    digest = hashlib.sha256(__version__.encode())
    for given in inputs:
        path = Path(given).resolve()
        files = (sorted(p for p in path.rglob("*") if p.is_file() and not any(
            part.startswith(".") for part in p.relative_to(path).parts))
                 if path.is_dir() else [path])
        for file in files:
            try:
                stat = file.stat()
                digest.update(json.dumps([str(file), stat.st_size, stat.st_mtime_ns]).encode())
            except OSError:  # missing: whoever reads it says so
                digest.update(str(file).encode())
    digest.update(json.dumps(parameters, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


def run_options(inputs: Iterable[str | os.PathLike], **parameters: Any
                ) -> tuple[str, dict[str, Any]]:
    """The fingerprint of a run (:func:`fingerprint` of its ``inputs`` and ``parameters``) and
    the options to record with its partial work: popgen-hub's version, the parameters and
    each input (``data``, ``data1``, ...) with a fingerprint of its files."""
    inputs = list(inputs)
    options = {"popgen_hub": __version__, **parameters}
    for k, given in enumerate(inputs):
        options[f"data{k or ''}"] = str(Path(given).resolve())
        options[f"data{k or ''}_files"] = fingerprint([given])
    return fingerprint(inputs, **parameters), options


def record_options(staging_dir: Path, options: dict[str, Any]) -> None:
    """Keep ``options`` (of :func:`run_options`) with the partial work in ``staging_dir``."""
    write_text_atomic(staging_dir / OPTIONS, json.dumps(options, default=str))


def refuse_changed(out_dir: Path, key: str, options: dict[str, Any],
                   names: Mapping[str, str] | None = None) -> None:
    """``resume`` into ``out_dir`` where an interrupted run of the same command with other
    options or inputs kept its work (and none with these): refused in one line saying what
    changed. ``names``: the command's option names of recorded options that are not ``--``
    + the name with dashes (a dict not named there holds options: ``--`` + its keys)."""
    if partial_dirs(out_dir, key):
        return
    now = json.loads(json.dumps(options, default=str))
    for partial in sorted(partial_dirs(out_dir)):
        try:
            kept = json.loads((partial / OPTIONS).read_text())
        except (OSError, ValueError):
            continue  # an older version's: _kept warns about it
        if kept.get("command") != now.get("command"):
            continue  # another command's
        change = _change(kept, now, {**_OPTION_NAMES, **(names or {})})
        if change:
            raise PopgenHubError(
                f"cannot resume the interrupted run kept in {partial}: {change}; run the same "
                f"command as before with --resume, or delete {partial} to start afresh")


def _change(kept: dict[str, Any], now: dict[str, Any], names: Mapping[str, str]) -> str:
    """The first difference between two runs' options, in words ("" when none)."""
    for name in dict.fromkeys([*kept, *now]):
        before, after = kept.get(name), now.get(name)
        if before == after:
            continue
        if name.endswith("_files"):
            path = now.get(name[:-6])
            kind = "dataset" if path and Path(path).is_dir() else "file"
            return f"the {kind} {path} changed since (files added, removed or modified)"
        option = names.get(name, name if name.startswith("-") else
                           "--" + name.replace("_", "-"))
        if isinstance(before, dict) and isinstance(after, dict):
            prefix = option if name in names else ""
            return _change(_inner(before, prefix), _inner(after, prefix), names)
        if None in (before, after) and isinstance(after if before is None else before, bool):
            return (f"{option} was {'not given' if before is None else 'given'}, now "
                    f"{'not given' if after is None else 'given'}")  # a flag: kept when given
        return f"{option} was {_shown(before)}, now {_shown(after)}"
    return ""


def _inner(values: dict[str, Any], option: str) -> dict[str, Any]:
    """The options in a dict option: ``OPTION KEY`` (``--param length``), or without an
    ``option`` ``--KEY`` (train's settings: ``--epochs``)."""
    return {f"{option} {k}" if option else "--" + k.replace("_", "-"): v
            for k, v in values.items()}


def _shown(value: Any) -> str:
    return "not given" if value is None else json.dumps(value)


def partial_dirs(out_dir: Path, key: str = "*") -> list[Path]:
    """The staging folders runs into ``out_dir`` kept (of run ``key``, or of any)."""
    found = list(out_dir.parent.glob(f".{out_dir.name}{PARTIAL_PREFIX}{key}"))
    if out_dir.is_dir():
        found += out_dir.glob(f"{PARTIAL_PREFIX}{key}")
    return [path for path in found if path.is_dir()]


def _kept(out_dir: Path, key: str, resume: bool, clean: bool) -> Path | None:
    """The kept staging folder of run ``key`` to continue in; what ``clean`` and a run
    without ``resume`` make of one."""
    kept = partial_dirs(out_dir, key)
    for other in sorted(set(partial_dirs(out_dir)) - set(kept)):
        log.warning("%s holds the partial work of an interrupted run into %s with other inputs "
                    "or parameters; delete it unless you mean to resume that run", other, out_dir)
    if not kept:
        if resume:
            log.info("no partial work of an interrupted run of this command in %s", out_dir)
        return None
    if clean:
        for path in kept:
            shutil.rmtree(path)
        log.info("discarded the partial work in %s", kept[0])
        return None
    if not resume:
        raise PopgenHubError(f"{kept[0]} holds the partial work of an interrupted run of this "
                             f"command; {KEPT_HINT}")
    log.info("resuming the interrupted run from %s", kept[0])
    return kept[0]


@contextmanager
def run_staging(out_dir: str | os.PathLike, key: str, *, resume: bool = False,
                clean: bool = False) -> Iterator[Staging]:
    """The staging folder of run ``key`` into ``out_dir``, published as
    :func:`popgen_hub.files.staged_outputs` does; the caller holds the folder's lock
    (:func:`popgen_hub.locks.output_lock`).

    ``Staging.resumed`` says it is the kept folder of an interrupted run, to continue in.
    Interrupted, the folder is kept (a warning says how to go on); any other failure
    removes it.
    """
    out_dir = Path(out_dir)
    kept = _kept(out_dir, key, resume, clean)
    staging = Staging(out_dir, kept or _fresh(out_dir, key), resumed=kept is not None)
    with publishing(staging, keep_on_interrupt=True):
        yield staging


def _fresh(out_dir: Path, key: str) -> Path:
    path = hidden_path(out_dir, f"{PARTIAL_PREFIX}{key}")
    try:
        path.mkdir(parents=True)
    except OSError as exc:
        raise unwritable(out_dir, exc) from None
    return path


def existing_output(out_dir: str | os.PathLike, record: str, *, what: str, resume: bool,
                    differs: Callable[[dict[str, Any]], str | None]) -> dict[str, Any] | None:
    """What the finished ``what`` (a dataset, a training run) in ``out_dir`` recorded in its
    ``record`` file, when this run may go on into it; None for a missing or empty folder.

    Such folders are never overwritten in place: a folder of something else, another
    ``what`` (``differs(recorded)`` names the difference; None: the same) or the same one
    without ``resume`` is refused.
    """
    out_dir = Path(out_dir)
    if not out_dir.is_dir() or not [p for p in out_dir.iterdir() if not p.name.startswith(".")]:
        return None
    try:
        recorded = json.loads((out_dir / record).read_text())
    except (OSError, ValueError):
        raise PopgenHubError(f"{out_dir} is not empty and holds no {what} ({record}); choose "
                             f"a new or empty -o directory") from None
    difference = differs(recorded)
    if difference:
        raise PopgenHubError(f"{out_dir} already holds a different {what} ({difference}); "
                             f"choose another -o directory or delete it")
    if not resume:
        raise PopgenHubError(f"{out_dir} already holds this {what}, which is never overwritten; "
                             f"add --resume to complete it, or choose another -o directory")
    return recorded


def fingerprint_differs(key: str) -> Callable[[dict[str, Any]], str | None]:
    """``existing_output``'s ``differs`` for records that carry the fingerprint of their run."""
    return lambda recorded: (None if recorded.get("fingerprint") == key else
                             "made from other inputs or with other parameters")


@contextmanager
def resumable_output(out_dir: str | os.PathLike, key: str, *, record: str, what: str,
                     resume: bool = False, clean: bool = False, command: str = "",
                     differs: Callable[[dict[str, Any]], str | None] | None = None,
                     options: dict[str, Any] | None = None,
                     option_names: Mapping[str, str] | None = None
                     ) -> Iterator[tuple[Staging, dict[str, Any] | None]]:
    """The whole rule for a dataset or a training run: the folder's lock, the finished output
    already there (:func:`existing_output`, by default compared by fingerprint) and the staging
    folder of run ``key`` (:func:`run_staging`). ``options`` (of :func:`run_options`) are kept
    with the partial work, so that resuming with others says what changed
    (:func:`refuse_changed`, with ``option_names``)."""
    with output_lock(out_dir, command):
        existing = existing_output(out_dir, record, what=what, resume=resume,
                                   differs=differs or fingerprint_differs(key))
        if resume and options is not None:
            refuse_changed(Path(out_dir), key, options, option_names)
        with run_staging(out_dir, key, resume=resume, clean=clean) as staging:
            if options is not None and existing is None:
                record_options(staging.dir, options)
            yield staging, existing
