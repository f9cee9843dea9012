"""The exceptions users see, and the exit codes the command line gives for them."""

#: Exit codes of ``popgen-hub``: bad input (our checks refuse it), usage (argparse refuses the
#: command line), a genuine bug (the traceback goes to a log file), and the shells' and batch
#: schedulers' convention of 128 + the signal number for SIGINT and SIGTERM.
EXIT_BAD_INPUT, EXIT_USAGE, EXIT_BUG, EXIT_SIGINT, EXIT_SIGTERM = 1, 2, 3, 130, 143


class PopgenHubError(Exception):
    """An error in the user's input or environment, reported as one line without a traceback."""


class Terminated(BaseException):
    """SIGTERM (how batch schedulers stop jobs), raised in the main thread so that a run stops
    the way it does on Ctrl-C: outputs staged so far are handled by the same code."""


def few(items: list[str], shown: int = 5) -> str:
    """The first ``shown`` of ``items`` for a one-line message, ``...`` when there are more."""
    return ", ".join(items[:shown]) + (", ..." if len(items) > shown else "")
