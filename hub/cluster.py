"""The one way to reach a Dask distributed cluster (the ``cluster`` extra): ``simulate
--scheduler`` and ``scan --scheduler`` both connect through :func:`dask_client`. Torch-free;
``distributed`` is imported only when a scheduler is asked for."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .errors import PopgenHubError
from .schema import first_line

#: seconds to keep trying to reach the scheduler before giving up
CONNECT_TIMEOUT = 30.0


@contextmanager
def dask_client(scheduler: str) -> Iterator[Any]:
    """A ``distributed.Client`` of the scheduler at ``scheduler`` (``tcp://HOST:PORT``), closed
    on leaving; one-line errors when Dask is not installed or the scheduler cannot be
    reached."""
    try:
        from distributed import Client
    except ImportError:
        raise PopgenHubError("--scheduler needs Dask: pip install 'popgen-hub[cluster]'"
                             ) from None
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, ValueError, TypeError) as exc:  # refused, timed out, not an address
        raise PopgenHubError(f"cannot connect to the Dask scheduler at {scheduler}: "
                             f"{first_line(exc)}; start one (`dask scheduler`) or check the "
                             f"address (tcp://HOST:PORT)") from None
    with client:
        yield client
