"""Checking access tokens on Bouquet's own APIs (RFC 6750): the helper plugins use.

    from bouquet.sso.oidc import authenticate_bearer

    @public                      # the token, not a browser session, authenticates the caller
    async def launch(request):
        grant = await authenticate_bearer(request, scope="launch")
        ...  # grant.client_id, grant.account_id (None for client credentials), grant.scopes

    grant = await authenticate_bearer(request, scope="prevention.read", audience="bouquet:plugin:prevention")
    grant.patient_context_id   # the patient the token is bound to (SMART launch, token exchange), or None

A token issued for an audience (RFC 8693 token exchange) is accepted only by an API that names that
audience; an ordinary Bouquet access token (no audience) is accepted by every API.

A missing, unknown, expired or revoked token raises `BearerTokenError` (401, `invalid_token`);
a token without the scope raises it with 403 `insufficient_scope`. Both carry the
`WWW-Authenticate` header; `error.response()` is the JSON response to return when catching it.
Endpoints that accept form bodies must also be listed in `app.state.csrf_exempt`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from bouquet.foundation.db import Database, utcnow
from bouquet.sso.accounts import Account
from bouquet.sso.oidc import tokens
from bouquet.sso.oidc.scopes import scope_list

MESSAGES = {
    "invalid_request": "Jeton d'accès manquant : envoyez l'en-tête « Authorization: Bearer <jeton> ».",
    "invalid_token": "Jeton d'accès inconnu, expiré ou révoqué.",
    "insufficient_scope": "Ce jeton d'accès ne permet pas cette opération.",
}


@dataclass(frozen=True)
class AccessGrant:
    """What a valid access token lets its bearer do, and on whose behalf."""

    token_id: int
    client_id: str
    scopes: frozenset[str]
    account_id: int | None
    acting_for_id: int | None
    sid: str | None
    acr: str | None
    amr: tuple[str, ...]
    auth_time: datetime | None
    expires_at: datetime
    patient_context_id: str | None = None
    audience: str | None = None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class BearerTokenError(HTTPException):
    """The request's bearer token is missing, invalid, or lacks a scope."""

    def __init__(self, status_code: int, error: str | None, scope: str | None = None) -> None:
        challenge = 'Bearer realm="bouquet"'
        if error:
            challenge += f', error="{error}"'
        if scope:
            challenge += f', scope="{scope}"'
        super().__init__(status_code, MESSAGES.get(error or "invalid_request"), headers={"WWW-Authenticate": challenge})
        self.error = error or "invalid_request"

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.error, "error_description": self.detail}, status_code=self.status_code,
                            headers=dict(self.headers or {}))


def validate_access_token(session: Session, access_token: str, now: datetime | None = None) -> AccessGrant | None:
    """The grant of a live access token whose account (if any) is still active; None otherwise."""
    row = tokens.find_by_access(session, access_token)
    if row is None or not tokens.access_usable(row, now or utcnow()) or row.id is None:
        return None
    if row.account_id is not None:
        account = session.get(Account, row.account_id)
        if account is None or not account.active:
            return None
    return AccessGrant(token_id=row.id, client_id=row.client_id, scopes=frozenset(scope_list(row.scope)),
                       account_id=row.account_id, acting_for_id=row.acting_for_id, sid=row.sid, acr=row.acr,
                       amr=tuple(row.amr), auth_time=row.auth_time, expires_at=row.access_expires_at,
                       patient_context_id=row.patient_context_id, audience=row.audience)


def audience_accepts(grant: AccessGrant, audience: str | None) -> bool:
    """Whether an API serving `audience` (None: any Bouquet API) accepts this token."""
    return grant.audience is None or grant.audience == audience


def _lookup(db: Database, access_token: str) -> AccessGrant | None:
    with db.session() as session:
        return validate_access_token(session, access_token)


def bearer_token_of(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and value and len(value) < 200 else None


async def authenticate_bearer(request: Request, scope: str | None = None, audience: str | None = None) -> AccessGrant:
    """The grant of the request's `Authorization: Bearer` token, which must carry `scope` if given.

    A token issued for an audience is accepted only when `audience` names it (else 401
    `invalid_token`, RFC 6750 §3.1). Raises `BearerTokenError` (401 or 403) otherwise. The lookup
    runs off the event loop.
    """
    value = bearer_token_of(request)
    if value is None:
        raise BearerTokenError(401, None)
    db: Database = request.app.state.db
    grant = await db.run(_lookup, db, value)
    if grant is None or not audience_accepts(grant, audience):
        raise BearerTokenError(401, "invalid_token")
    if scope is not None and not grant.has_scope(scope):
        raise BearerTokenError(403, "insufficient_scope", scope)
    return grant
