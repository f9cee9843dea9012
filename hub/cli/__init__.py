"""The ``popgen-hub`` command line. Inference commands never import torch or the simulators.

One module per command, each with ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args)``
(its docstring is its --help description and examples);
the argument groups they share, and the extras checks, are in :mod:`.common`. Results go to
stdout; progress and information messages to stderr through the ``popgen_hub`` logger.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import shlex
import signal
import sys
import time
import traceback
from pathlib import Path

from ..errors import (
    EXIT_BAD_INPUT,
    EXIT_BUG,
    EXIT_SIGINT,
    EXIT_SIGTERM,
    PopgenHubError,
    Terminated,
)
from ..version import __version__
from . import (
    cmd_calibrate,
    cmd_compare,
    cmd_embed,
    cmd_ensemble,
    cmd_evaluate,
    cmd_explain,
    cmd_export,
    cmd_fit_demography,
    cmd_igv,
    cmd_import,
    cmd_info,
    cmd_list,
    cmd_plugins,
    cmd_push,
    cmd_scan,
    cmd_serve,
    cmd_simulate,
    cmd_stats,
    cmd_train,
)
from .common import add_command, add_verbosity, formatter

__all__ = ["COMMANDS", "build_parser", "main"]

COMMANDS = (cmd_list, cmd_info, cmd_scan, cmd_serve, cmd_igv, cmd_explain, cmd_embed,
            cmd_simulate, cmd_import,
            cmd_stats, cmd_train, cmd_fit_demography, cmd_compare, cmd_evaluate, cmd_calibrate,
            cmd_export, cmd_ensemble, cmd_push, cmd_plugins)
LOG_FORMAT = "popgen-hub: %(message)s"
log = logging.getLogger("popgen_hub")
_handler: logging.Handler | None = None
_before = (logging.NOTSET, True)  # the logger's level and propagation before main set them


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="popgen-hub", formatter_class=formatter,
        description="Pretrained deep-learning models for population genetics.",
        epilog="examples:\n  popgen-hub list\n  popgen-hub scan --vcf chr2.vcf.gz "
               "--model imagene_cnn.sweep_hsap_eur -o scan_out")
    parser.add_argument("--version", action="version", version=f"popgen-hub {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        sub = add_command(subparsers, command)
        add_verbosity(sub)
        sub.set_defaults(func=command.run)
    return parser


def configure_logging(quiet: bool = False, verbose: bool = False) -> None:
    """Messages of the ``popgen_hub`` loggers to stderr: warnings only with -q, INFO by
    default, DEBUG with -v. Called once per :func:`main`, which undoes it when it returns
    (:func:`release_logging`): a program that runs commands and then calls the API itself
    keeps its own logging."""
    global _handler, _before
    if _handler is None:
        _before = (log.level, log.propagate)
    else:
        log.removeHandler(_handler)
    _handler = logging.StreamHandler(sys.stderr)
    _handler.setFormatter(logging.Formatter(LOG_FORMAT))
    log.addHandler(_handler)
    log.setLevel(logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO)
    log.propagate = False


#: Failures of the machine rather than of popgen-hub (nothing was published: outputs are
#: staged), and what to do about each.
ENVIRONMENT_ERRORS = {
    errno.ENOSPC: "free some disk space or write to another folder (-o), then run again",
    errno.EDQUOT: "your disk quota is full: free some space or write elsewhere (-o)",
    errno.EROFS: "that file system is read-only: write to another folder (-o)",
    errno.EACCES: "you may not write there: choose a folder of yours (-o)",
    errno.EMFILE: "too many open files: raise the limit (`ulimit -n`) or use fewer --workers",
}


def crash_log_dir() -> Path:
    """Where the tracebacks of genuine bugs go: popgen-hub's cache folder."""
    from ..files import cache_dir

    return cache_dir() / "crashes"


def _report_bug(command: str, invocation: str) -> int:
    """Write the traceback of the exception being handled to a log file; say where, in one
    line, with what to do."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    try:
        folder = crash_log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{stamp}-{os.getpid()}.log"
        path.write_text(f"popgen-hub {__version__}\n{invocation}\n\n{traceback.format_exc()}")
        where = f"the traceback is in {path}"
    except OSError as exc:
        where = f"the traceback could not be saved ({exc.strerror})"
    kind = sys.exc_info()[0].__name__
    print(f"popgen-hub {command}: internal error ({kind}), a bug in popgen-hub: {where}; "
          f"please report it with that file", file=sys.stderr)
    return EXIT_BUG


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


def release_logging() -> None:
    """The ``popgen_hub`` logger as it was before :func:`configure_logging`."""
    global _handler
    if _handler is not None:
        log.removeHandler(_handler)
        _handler = None
        log.setLevel(_before[0])
        log.propagate = _before[1]


def main(argv: list[str] | None = None) -> int:
    """Run the command line; the exit code is one of :mod:`popgen_hub.errors`' ``EXIT_*``
    (argparse exits with 2 itself)."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    args.invocation = shlex.join(["popgen-hub", *argv])  # provenance of what it writes
    configure_logging(args.quiet, args.verbose)
    log.debug("running %s", args.invocation)
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        args.func(args)
    except PopgenHubError as exc:
        print(f"popgen-hub {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"popgen-hub {args.command}: interrupted", file=sys.stderr)
        return EXIT_SIGINT
    except Terminated:
        print(f"popgen-hub {args.command}: terminated (SIGTERM)", file=sys.stderr)
        return EXIT_SIGTERM
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        if exc.errno not in ENVIRONMENT_ERRORS:
            return _report_bug(args.command, args.invocation)
        path = exc.filename or getattr(args, "output", None)
        where = f"{path}: " if path else ""
        print(f"popgen-hub {args.command}: error: {where}{exc.strerror}; "
              f"{ENVIRONMENT_ERRORS[exc.errno]}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception:
        return _report_bug(args.command, args.invocation)
    finally:
        signal.signal(signal.SIGTERM, previous)
        release_logging()
    return 0


if __name__ == "__main__":
    sys.exit(main())
