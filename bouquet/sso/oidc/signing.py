"""ID token signatures made after the request's write transaction has committed.

The token endpoint runs authlib inside one write transaction (`Provider.transaction`); on SQLite that
transaction holds the database's write lock, on PostgreSQL the locks of the rows it changed. An RS256
signature costs more than the rest of the database work together, so it is not made there: inside the
transaction, `sign_later` returns a placeholder and keeps what to sign; once the transaction has
committed, `complete` signs and puts each signature where its placeholder was in the response. Nothing
stores an ID token, so no placeholder ever reaches the database, and a transaction that fails signs nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from joserfc import jwt

T = TypeVar("T")


@dataclass(frozen=True)
class _Unsigned:
    placeholder: str
    header: dict[str, Any]
    claims: dict[str, Any]
    key: Any

    def sign(self) -> str:
        return jwt.encode(self.header, self.claims, self.key, [self.header["alg"]])


_pending: ContextVar[list[_Unsigned] | None] = ContextVar("bouquet_oidc_unsigned", default=None)


def sign_later(header: dict[str, Any], claims: dict[str, Any], key: Any) -> str:
    """The JWT of `claims` signed with `key`: a placeholder inside `deferred()` (signed by `complete`),
    else signed at once."""
    pending = _pending.get()
    if pending is None:
        return _Unsigned("", header, claims, key).sign()
    unsigned = _Unsigned(f"bouquet-unsigned-{secrets.token_hex(16)}", header, claims, key)
    pending.append(unsigned)
    return unsigned.placeholder


@contextmanager
def deferred() -> Iterator[list[_Unsigned]]:
    """A block whose `sign_later` calls wait for `complete`."""
    pending: list[_Unsigned] = []
    token = _pending.set(pending)
    try:
        yield pending
    finally:
        _pending.reset(token)


def complete(result: T, pending: list[_Unsigned]) -> T:
    """Sign what waited and put each signature in place of its placeholder in `result.body`."""
    if not pending:
        return result
    body = getattr(result, "body", None)
    signed = {unsigned.placeholder: unsigned.sign() for unsigned in pending}
    if isinstance(body, dict):
        for name, value in body.items():
            if isinstance(value, str) and value in signed:
                body[name] = signed.pop(value)
    if signed:
        raise RuntimeError("a deferred signature has no place in the response")
    return result
