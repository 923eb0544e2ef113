"""How large a request body may be: one limit for every request, enforced while the body streams in.

A body larger than its limit is refused with 413 before it is read whole: at once when its
`Content-Length` says so (the application never sees the request), otherwise as soon as the bytes
received pass the limit. The limits (settings, `docs/operations.md`):

- `max_body_bytes` (1 MiB) for every body that is not a file upload: JSON, forms, anything else;
- `max_upload_bytes` (25 MiB) for `multipart/form-data` uploads, which also check their own cap;
- a route may declare its own limit with `@body_limit(n)` (e.g. an API that takes images in base64),
  never more than `max_upload_bytes`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bouquet.web.routing import resolve

ENDPOINT_LIMIT = "_bouquet_body_limit"
MESSAGE = "La demande envoyée dépasse la taille autorisée ({size})."

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
#: `refuse(request, status, message)` → the page of a refused request (`bouquet.web.errors.error_response`).
Refuse = Callable[[Request, int, str], Awaitable[Response]]


class BodyTooLarge(Exception):
    """The body passed its limit while it was being received."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body over {limit} bytes")
        self.limit = limit


def body_limit(max_bytes: int) -> Callable[[Endpoint], Endpoint]:
    """Declare that this endpoint accepts bodies up to `max_bytes` (more, or less, than `max_body_bytes`)."""

    def mark(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, ENDPOINT_LIMIT, max_bytes)
        return endpoint

    return mark


def human_size(size: int) -> str:
    """`1 Mio`, `64 Kio`, `900 octets`: a size as a person reads it."""
    for unit, name in ((1024 * 1024, "Mio"), (1024, "Kio")):
        if size >= unit:
            return f"{size / unit:.3g} {name}".replace(".", ",")
    return f"{size} octets"


class BodyLimitMiddleware:
    """Refuses (413) a request whose body passes its limit, before the body is read whole."""

    def __init__(self, app: ASGIApp, *, max_body: int, max_upload: int, refuse: Refuse,
                 routes: Sequence[BaseRoute] = ()) -> None:
        self.app, self.max_body, self.max_upload, self.refuse, self.routes = app, max_body, max_upload, refuse, routes

    def limit_for(self, scope: Scope) -> int:
        """The largest body this request may carry: its route's, else by kind (upload or not)."""
        found = resolve(self.routes, scope) if scope["method"] not in {"GET", "HEAD", "OPTIONS"} else None
        declared = getattr(found[1], ENDPOINT_LIMIT, None) if found else None
        if declared is not None:
            return min(int(declared), self.max_upload)
        content_type = _header(scope, b"content-type").split(";")[0].strip().lower()
        return self.max_upload if content_type == "multipart/form-data" else self.max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = _header(scope, b"content-length")
        if declared and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(scope, send, limit)
            return
        received = 0
        started = False

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, bounded_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(scope, send, limit)

    async def _refuse(self, scope: Scope, send: Send, limit: int) -> None:
        message = MESSAGE.format(size=human_size(limit))
        request = Request(scope)
        if "text/html" in request.headers.get("accept", ""):
            response = await self.refuse(request, 413, message)  # a browser: the French error page
        else:
            response = JSONResponse({"error": "request_too_large", "message": message}, status_code=413)
        response.headers["Connection"] = "close"  # what the client still sends is not read
        await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1").strip())
    return ""
