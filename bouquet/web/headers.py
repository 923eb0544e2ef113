"""Security headers on every response."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
])


STATIC_PREFIX = "/static/"  # the shell's and the plugins' assets: the only responses a cache may keep by default


class SecurityHeadersMiddleware:
    """Sets CSP (no inline script), frame-ancestors, referrer policy, nosniff and, on https, HSTS.

    A response may set its own Content-Security-Policy (e.g. an OIDC page that must post to a
    client's origin); it is then left as it is.

    Every response but the static files gets `Cache-Control: no-store` unless it says otherwise
    (public documents such as the OIDC discovery or the open data do): pages, exports and APIs that
    carry patient data must never stay in a browser's or a proxy's cache, and no route has to remember it.
    """

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app, self.https = app, https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CSP)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
                if self.https:
                    headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
                if not scope["path"].startswith(STATIC_PREFIX):
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)
