"""Between Starlette and authlib's synchronous server classes.

authlib reads requests and writes responses synchronously and queries the database as it goes,
so the endpoint first reads the whole request on the event loop (`read_request`), then runs
authlib in the thread pool inside one database transaction (`Provider.run`), and turns what
authlib returned into a Starlette response (`to_response`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import urlencode

from authlib.oauth2.rfc6749 import OAuth2Payload, OAuth2Request
from sqlmodel import Session
from starlette.datastructures import Headers, MultiDict
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

# The longest authorization or token request we accept (a request object or a long state included).
MAX_BODY = 64 * 1024

_session: ContextVar[Session | None] = ContextVar("bouquet_oidc_session", default=None)


def current_session() -> Session:
    """The transaction of the OAuth request being served (authlib's callbacks have no other handle on it)."""
    session = _session.get()
    if session is None:
        raise RuntimeError("no OIDC request transaction: run authlib code through Provider.run")
    return session


def bound() -> Session | None:
    """The transaction of the OAuth request being served on this thread, if any."""
    return _session.get()


@contextmanager
def bound_session(session: Session) -> Iterator[Session]:
    token = _session.set(session)
    try:
        yield session
    finally:
        _session.reset(token)


@dataclass
class RequestData:
    """An HTTP request read in full, safe to hand to another thread."""

    method: str
    url: str
    headers: Headers
    query: MultiDict
    form: MultiDict = field(default_factory=MultiDict)

    @property
    def values(self) -> MultiDict:
        """Query and form parameters together (form last), like Flask's `request.values`."""
        return MultiDict([*self.query.multi_items(), *self.form.multi_items()])


async def read_request(request: Request, public_url: str) -> RequestData:
    """Read the request; `public_url` is its URL as clients see it (the issuer's origin + path + query).

    Raises ValueError for a body over `MAX_BODY` or a form that is not url-encoded.
    """
    form: MultiDict = MultiDict()
    if request.method == "POST":
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        body = await request.body()
        if len(body) > MAX_BODY:
            raise ValueError("request too large")
        if content_type == "application/x-www-form-urlencoded":
            from urllib.parse import parse_qsl

            form = MultiDict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        elif body:
            raise ValueError("the body must be application/x-www-form-urlencoded")
    return RequestData(request.method, public_url, request.headers, MultiDict(request.query_params.multi_items()), form)


class _Payload(OAuth2Payload):
    def __init__(self, values: MultiDict) -> None:
        self._values = values

    # Built once: authlib reads them some twenty times per request, and the request never changes.
    @cached_property
    def data(self) -> dict[str, str]:
        # The first value of each parameter; repeated ones are refused where it matters (datalist).
        return {key: self._values.getlist(key)[0] for key in self._values.keys()}

    @cached_property
    def datalist(self) -> defaultdict[str, list[str]]:
        values: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in self._values.multi_items():
            values[key].append(value)
        return values


class StarletteOAuth2Request(OAuth2Request):
    """authlib's view of a `RequestData`."""

    def __init__(self, data: RequestData) -> None:
        super().__init__(data.method, data.url, headers=data.headers)
        self._data = data
        self.payload = _Payload(data.values)

    @property
    def args(self) -> dict[str, str]:
        return {key: self._data.query.getlist(key)[0] for key in self._data.query.keys()}

    @property
    def form(self) -> dict[str, str]:
        return {key: self._data.form.getlist(key)[0] for key in self._data.form.keys()}


@dataclass
class AuthlibResponse:
    """What authlib's `handle_response` builds; `location` is what authlib's RFC 9207 hook rewrites."""

    status: int
    body: Any
    headers: list[tuple[str, str]]

    @property
    def location(self) -> str | None:
        return next((value for key, value in self.headers if key.lower() == "location"), None)

    @location.setter
    def location(self, value: str) -> None:
        self.headers = [(key, val) for key, val in self.headers if key.lower() != "location"] + [("Location", value)]


def to_response(result: AuthlibResponse) -> Response:
    """The Starlette response for what authlib answered (JSON bodies, redirects, empty bodies)."""
    headers = {key: value for key, value in result.headers if key.lower() != "content-type"}
    if isinstance(result.body, dict | list):
        return JSONResponse(result.body, status_code=result.status, headers=headers)
    content_type = next((value for key, value in result.headers if key.lower() == "content-type"), None)
    return Response(result.body or b"", status_code=result.status, headers=headers, media_type=content_type)


def with_params(url: str, params: dict[str, str]) -> str:
    """`url` with these query parameters appended (for redirects back to a client)."""
    return url + ("&" if "?" in url else "?") + urlencode(params)
