"""Live servers for end-to-end tests: the portal (or any ASGI app) under uvicorn in a thread.

    stop = serve(app, port := free_port())
    ...
    stop()
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.applications import Starlette


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    app: Starlette


def serve(app: Starlette, port: int) -> Callable[[], None]:
    """Run `app` with uvicorn in a thread on 127.0.0.1:`port`; returns the function that stops it."""
    import uvicorn

    # Requests still running 2 s after the test (a browser's open htmx or keep-alive connection)
    # are cancelled, so a test's teardown never waits on them; the app's shutdown still runs.
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on",
                                           timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the live server on port {port} did not start")
        time.sleep(0.02)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)

    return stop
