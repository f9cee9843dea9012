"""The options of a scan that decide its windows and workers, checked before any work: each
refusal names the option (``--window-size``, ``--step``, ``--batch-size``, ``--workers``,
``--seed``, ``--scheduler``: the command line's names; the Python API's arguments are window,
step, batch_size, workers, seed and scheduler)."""

from __future__ import annotations

import numpy as np

from ..contract import ModelContract
from ..errors import PopgenHubError
from .workers import check_main_guard

#: option -> (least value, unit)
_LEAST = {"--window-size": (1, " bp"), "--step": (1, " bp"), "--batch-size": (1, " window"),
          "--workers": (1, " process"), "--seed": (0, ""), "--threads": (0, " (0: one per core)")}


def check_values(window: int | None = None, step: int | None = None,
                 batch_size: int | None = None, workers: int | None = None,
                 seed: int | None = None, threads: int | None = None,
                 scheduler: str | None = None) -> None:
    """Refuse option values that cannot work, naming the option (None: not given, the
    default); workers > 1 also need a caller that worker processes can start from, and no
    scheduler (a Dask cluster's workers score the pieces)."""
    for (option, (least, unit)), value in zip(_LEAST.items(),
                                              (window, step, batch_size, workers, seed,
                                               threads),
                                              strict=True):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise PopgenHubError(f"{option} {value!r}: must be a whole number")
        if value < least:
            raise PopgenHubError(f"{option} {value}: must be at least {least}{unit}")
    if scheduler is not None and not isinstance(scheduler, str):
        raise PopgenHubError(f"--scheduler {scheduler!r}: must be an address, tcp://HOST:PORT")
    if workers is not None and workers > 1:
        if scheduler:
            raise PopgenHubError(f"--workers {workers} with --scheduler: the Dask cluster's "
                                 f"workers score the pieces; leave out --workers")
        check_main_guard()


def check_options(window: int, step: int, batch_size: int, workers: int, seed: int = 0) -> None:
    """The checks of :func:`check_values`, and that windows ``step`` apart leave no gaps."""
    check_values(window, step, batch_size, workers, seed)
    if step > window:
        raise PopgenHubError(f"--step {step} is larger than --window-size {window}: windows "
                             f"would leave gaps; use a step of at most the window size")


def scan_options(contract: ModelContract, window: int | None, step: int | None,
                 batch_size: int, workers: int, seed: int) -> tuple[int, int]:
    """The window and step of a scan (defaults: the model's window, a step of window / 8),
    after :func:`check_options`' checks. 0 is refused, not taken for the default."""
    check_values(window, step)
    window = contract.input.window_bp if window is None else window
    step = max(window // 8, 1) if step is None else step
    check_options(window, step, batch_size, workers, seed)
    return window, step

