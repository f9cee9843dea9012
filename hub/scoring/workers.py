"""Worker processes: how many are worth starting, whether they can start from the caller's
script, and what to say when they die.

The pool starts workers with the forkserver method; each worker imports the caller's main
script again (as ``__mp_main__``), as multiprocessing's spawn and forkserver do. A script that
calls ``scan`` or ``score`` at its top level, not under ``if __name__ == "__main__":``, would
scan again inside every worker, which multiprocessing refuses: the pool breaks. That is found
before the pool starts.
"""

from __future__ import annotations

import ast
import logging
import os
import sys
from pathlib import Path
from types import FrameType

from ..errors import PopgenHubError

log = logging.getLogger("popgen_hub")


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, e.g. a batch job's share)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def cap_workers(workers: int, n_windows: int) -> int:
    """At most one worker per core and per window: more would only wait (logged)."""
    cores = usable_cores()
    capped = max(1, min(workers, cores, n_windows))
    if capped < workers:
        why = (f"this machine lets the scan use {cores} cores" if capped == cores else
               f"the scan has {n_windows} window{'s' if n_windows != 1 else ''}")
        log.info("--workers %d capped at %d: %s", workers, capped, why)
    return capped


def check_main_guard() -> None:
    """Refuse to start worker processes from a call at the top level of the main script (see
    the module's docstring); calls under the guard, from the command line, an interactive
    session or a notebook pass."""
    site = _unguarded_call_site()
    if site is not None:
        script, line = site
        raise PopgenHubError(
            f"{script}, line {line}: worker processes (workers > 1) import this script again, "
            f"and it scans again at its top level; put the call under "
            f"`if __name__ == \"__main__\":` (or use workers=1)")


def broken_pool_error() -> PopgenHubError:
    """What a :class:`~concurrent.futures.process.BrokenProcessPool` means to a user."""
    return PopgenHubError(
        "a worker process died (killed, e.g. by the system when memory ran out, or it could "
        "not start); rerun with fewer --workers, and when scanning from a Python script, call "
        "it under `if __name__ == \"__main__\":`")


def _unguarded_call_site() -> tuple[str, int] | None:
    """(script, line) of the top-level statement of the main script that is running now, when
    workers would run that script again and the statement is not under the guard."""
    main = sys.modules.get("__main__")
    spec_name = getattr(getattr(main, "__spec__", None), "name", None)
    if spec_name is not None and (spec_name == "__main__" or spec_name.endswith(".__main__")):
        return None  # `python -m package`: multiprocessing does not import it again
    path = getattr(main, "__file__", None)
    frame = _module_frame(main.__dict__) if main is not None and path else None
    if frame is None or not path or \
            os.path.realpath(frame.f_code.co_filename) != os.path.realpath(path):
        return None  # no script (interactive, -c, a notebook) or not called from it
    try:
        tree = ast.parse(Path(path).read_text())
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    line = frame.f_lineno
    guarded = any(node.lineno <= line <= (node.end_lineno or node.lineno)
                  for node in tree.body if isinstance(node, ast.If) and _is_main_test(node.test))
    return None if guarded else (Path(path).name, line)


def _module_frame(namespace: dict) -> FrameType | None:
    """The frame running the top level of the module whose globals are ``namespace``."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if frame.f_globals is namespace and frame.f_code.co_name == "<module>":
            return frame
        frame = frame.f_back
    return None


def _is_main_test(test: ast.expr) -> bool:
    """Whether ``test`` compares ``__name__`` with ``"__main__"``."""
    for node in ast.walk(test):
        if isinstance(node, ast.Compare) and len(node.ops) == 1 \
                and isinstance(node.ops[0], ast.Eq):
            sides = [node.left, node.comparators[0]]
            if any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides) and \
                    any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides):
                return True
    return False
