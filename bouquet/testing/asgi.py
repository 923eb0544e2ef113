"""Driving the application with a body that streams in, to see how much of it the application read.

    sent = stream_request(app, "POST", "/token", chunks(64 * 1024, 150 * 1024 * 1024),
                          headers={"content-type": "application/x-www-form-urlencoded"})
    assert sent.status == 413 and sent.received < 2 * 1024 * 1024

The test client reads a request's whole body before calling the application; this calls it the
way a server does, one chunk at a time, and counts the bytes the application asked for.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message


@dataclass
class Streamed:
    """What came back, and how many body bytes the application pulled (`received`)."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    received: int = 0
    exhausted: bool = False

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def chunks(size: int, total: int) -> Iterator[bytes]:
    """`total` bytes of `a`, in chunks of `size`: generated as they are asked for, never held whole."""
    sent = 0
    while sent < total:
        part = min(size, total - sent)
        sent += part
        yield b"a" * part


def stream_request(app: ASGIApp, method: str, path: str, body: Iterator[bytes], *,
                   headers: dict[str, str] | None = None, query: str = "") -> Streamed:
    """Send `body` chunk by chunk (no `Content-Length` unless `headers` has one) and collect the answer."""
    result = Streamed()
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
        + [(b"host", b"testserver.local")],
        "client": ("127.0.0.1", 50000), "server": ("testserver.local", 80), "state": {},
    }
    body = iter(body)
    pending = next(body, None)
    answered = asyncio.Event()

    async def receive() -> Message:
        nonlocal pending
        if pending is None:
            result.exhausted = True
            await answered.wait()  # the client has nothing more to say: it waits for the answer, then leaves
            return {"type": "http.disconnect"}
        chunk, pending = pending, next(body, None)
        result.received += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": pending is not None}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            result.status = message["status"]
            result.headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            result.body += message.get("body", b"")
            if not message.get("more_body"):
                answered.set()

    async def run() -> None:
        await app(scope, receive, send)

    asyncio.run(run())
    return result
