"""A real ``popgen-hub serve`` server (Starlette under uvicorn) on a free loopback port, in a
thread of the test process, for the browser and server tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from hub_servers import free_port


@contextmanager
def serving(hub) -> Iterator[str]:
    """Serve ``hub`` (a :class:`popgen_hub.browsers.server.Hub`); yields its base URL."""
    import uvicorn

    from popgen_hub.browsers.server import create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(hub), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
