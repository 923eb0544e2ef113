"""CSRF protection: every state-changing browser request carries a token bound to its session
(or, for a visitor with no session, to their signed anonymous cookie: `bouquet.web.anonymous`).

Form posts send it in the `csrf_token` field, htmx and fetch in the `X-CSRF-Token` header. A
request whose `Origin` is another site is refused outright. Endpoints authenticated by their
caller's own credentials rather than by the browser's cookie (OAuth token endpoint, bearer-token
APIs) are listed in `exempt`, as path prefixes. The exact paths in `cross_site` are exempt from the
token AND from the same-origin check: endpoints other sites legitimately POST to in the browser and
that change nothing before the person acts (OpenID Connect's `/authorize`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import parse_qs

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bouquet.web import anonymous, refusals

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
FIELD = "csrf_token"
HEADER = "x-csrf-token"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")
MAX_BODY = 25 * 1024 * 1024


#: The refusal of a form whose page is older than the session (a tab left open): the error page offers
#: to go back to the form, where `static/bouquet.js` puts back what was typed.
STALE_FORM = "Votre session a expiré ou le formulaire n'est plus valide. Rechargez la page et recommencez."
#: `refuse(request, status, message)` → the response of a refused request.
Refuse = Callable[[Request, int, str], Awaitable[Response]]


def token_for(secret: bytes, session_token_hash: str) -> str:
    """The CSRF token of a session; derived, so nothing more is stored."""
    return hmac.new(secret, b"csrf:" + session_token_hash.encode(), hashlib.sha256).hexdigest()


class CSRFMiddleware:
    """Refuses unsafe requests without the session's token (403, nothing changed)."""

    def __init__(self, app: ASGIApp, *, secret: bytes, origin: str, cookie: str, exempt: list[str],
                 cross_site: Sequence[str] = (), refuse: Refuse | None = None) -> None:
        self.app, self.secret, self.origin, self.cookie, self.exempt = app, secret, origin, cookie, exempt
        self.cross_site = frozenset(cross_site)
        # How a refusal is answered: the app gives its error pages (`bouquet.web.errors.error_response`).
        self.refuse = refuse or _plain_refusal

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, message: str, status: int = 403) -> None:
        if status == 403:
            refusals.mark(scope, "csrf")  # the reason of its `access.refused` audit event
        response = await self.refuse(Request(scope, receive), status, message)
        await response(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if scope["path"] in self.cross_site:
            await self.app(scope, receive, send)
            return
        origin = request.headers.get("origin")
        if origin and origin != "null" and origin != self.origin:
            await self._refuse(scope, receive, send, "Requête refusée : elle ne provient pas de ce site.")
            return
        if any(scope["path"] == path or scope["path"].startswith(path.rstrip("/") + "/") for path in self.exempt):
            await self.app(scope, receive, send)
            return
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        has_cookie = self.cookie in request.cookies
        if not has_cookie and content_type not in FORM_TYPES:
            # No ambient credential rides on this request (an API call with its own token).
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            await self._refuse(scope, receive, send, "Requête trop volumineuse.", status=413)
            return
        sent = request.headers.get(HEADER) or await _form_token(scope, body, content_type)
        browser = scope.get("state", {}).get("browser_session")
        # A visitor with no session: the signed double-submit token of their anonymous cookie.
        visitor = scope.get("state", {}).get("anonymous")
        bound_to = browser.row.token_hash if browser else visitor.token_hash if visitor else None
        expected = token_for(self.secret, bound_to) if bound_to else None
        # A sign-in begun on a page shown to the anonymous visitor: that page's token, until signed in.
        before = browser.get(anonymous.CSRF_KEY) if browser is not None and browser.account_id is None else None
        earlier = token_for(self.secret, before) if isinstance(before, str) else None
        if not sent or not (expected and hmac.compare_digest(sent, expected)
                            or earlier and hmac.compare_digest(sent, earlier)):
            await self._refuse(scope, _replay(b""), send, STALE_FORM)
            return
        await self.app(scope, _replay(body), send)


async def _read_body(receive: Receive) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


async def _form_token(scope: Scope, body: bytes, content_type: str) -> str | None:
    if content_type == "application/x-www-form-urlencoded":
        values = parse_qs(body.decode("latin-1"), keep_blank_values=True).get(FIELD)
        return values[0] if values else None
    if content_type == "multipart/form-data":
        form: FormData = await Request(scope, _replay(body)).form()
        try:
            value = form.get(FIELD)
            return value if isinstance(value, str) else None
        finally:
            await form.close()
    return None


async def _plain_refusal(request: Request, status: int, message: str) -> Response:
    return PlainTextResponse(message, status_code=status)
