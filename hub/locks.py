"""The lock of an output folder: one popgen-hub run writes into a folder at a time.

The lock is a file inside the folder (``.popgen-hub.lock``), or beside it while the folder does
not exist yet (``.NAME.popgen-hub.lock``), holding the pid, host and command of its holder and
locked with ``flock`` for as long as the run writes. A second writer refuses with one line
that names the holder. ``flock`` ends with its process, however it ends (SIGKILL included),
so the lock of a run that is gone is taken over (said at INFO); where the file system has no
``flock``, a lock whose process is gone (same host, pid not alive) is taken over.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shlex
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import PopgenHubError

log = logging.getLogger("popgen_hub")

LOCK = ".popgen-hub.lock"


def hidden_path(out_dir: Path, name: str) -> Path:
    """Where a run keeps a hidden file or folder ``name`` (starting with "."): inside an
    existing output folder, or beside one that does not exist yet as ``.FOLDER`` + ``name``
    (the folder is then created whole when the run publishes)."""
    return out_dir / name if out_dir.is_dir() else out_dir.parent / f".{out_dir.name}{name}"


def unwritable(out_dir: Path, exc: OSError) -> PopgenHubError:
    return PopgenHubError(f"cannot write to output directory {out_dir}: {exc.strerror}; "
                          f"choose a writable -o directory")


def lock_path(out_dir: Path) -> Path:
    return hidden_path(out_dir, LOCK)


def _holder(fd: int) -> dict[str, Any] | None:
    try:
        holder = json.loads(os.pread(fd, 65536, 0) or b"null")
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) else None


def _written_holder(fd: int) -> dict[str, Any]:
    """The holder a busy lock names. It writes itself in just after taking the lock, so a
    lock still empty is read again for up to a second before the holder is called unknown."""
    for _ in range(100):
        holder = _holder(fd)
        if holder:
            return holder
        time.sleep(0.01)
    return {}


def _alive(holder: dict[str, Any]) -> bool:
    """Whether the process a lock names may still run (elsewhere: cannot tell, so yes)."""
    if holder.get("host") != socket.gethostname():
        return True
    try:
        os.kill(int(holder["pid"]), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, KeyError, TypeError, ValueError):
        return True
    return True


def _lock(fd: int) -> dict[str, Any] | None:
    """Lock ``fd``; None when this process holds it now, else the holder it names."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return _written_holder(fd)
    except OSError:  # no flock here: believe the pid
        holder = _holder(fd)
        return holder if holder and _alive(holder) else None
    return None


def _busy(out_dir: Path, path: Path, holder: dict[str, Any]) -> PopgenHubError:
    who = (f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}, since "
           f"{holder.get('since', '?')}: {holder.get('command') or 'popgen-hub'}")
    gone = ("" if holder.get("host") == socket.gethostname() else
            f" (if that run is gone, delete {path})")
    return PopgenHubError(f"{out_dir} is being written by another popgen-hub run ({who}); "
                          f"wait for it to finish or choose another -o directory{gone}")


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), path.stat())
    except OSError:
        return False


def _acquire(out_dir: Path, command: str) -> tuple[int, Path]:
    while True:
        path = lock_path(out_dir)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise unwritable(out_dir, exc) from None
        holder = _lock(fd)
        if holder is not None:
            os.close(fd)
            raise _busy(out_dir, path, holder)
        if _same_file(fd, path):  # not removed by the holder it waited for
            if lock_path(out_dir) == path:  # nor has the folder appeared meanwhile
                break
            path.unlink(missing_ok=True)
        os.close(fd)
    previous = _holder(fd)
    if previous:
        log.info("taking over the lock of %s from pid %s (%s), which is gone", out_dir,
                 previous.get("pid"), previous.get("command") or "popgen-hub")
    me = {"pid": os.getpid(), "host": socket.gethostname(), "command": command,
          "since": time.strftime("%Y-%m-%d %H:%M:%S")}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(me).encode(), 0)
    return fd, path


def _remove_empty(folder: Path, top: Path | None) -> None:
    """Remove ``folder`` and its parents up to ``top`` while they are empty."""
    if top is None:
        return
    for candidate in (folder, *folder.parents):
        try:
            candidate.rmdir()
        except OSError:
            return
        if candidate == top:
            return


@contextmanager
def output_lock(out_dir: str | os.PathLike, command: str = "") -> Iterator[None]:
    """Hold the lock of ``out_dir`` (see the module's description) while the block writes.

    ``command`` is what a refused run is told the holder is (default: this process's command
    line). Parent folders this call creates are removed again if the block fails and leaves
    them empty.
    """
    out_dir = Path(out_dir).absolute()
    if out_dir.exists() and not out_dir.is_dir():
        raise PopgenHubError(f"output {out_dir} exists and is not a directory; choose another -o")
    created = next((p for p in reversed(out_dir.parents) if not p.exists()), None)
    fd, path = _acquire(out_dir, command or shlex.join(sys.argv))
    failed = True
    try:
        yield
        failed = False
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)
        if failed:
            _remove_empty(out_dir.parent, created)
