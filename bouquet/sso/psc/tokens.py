"""The PSC tokens of a signed-in session: kept with the session (by `sid`), sealed at rest with
AES-GCM under `derive_key(secret_key, "psc-tokens")` (the sid as associated data, so a row copied
to another session does not open), refreshed when needed, forgotten at sign-out.

`psc_access_token(ctx)` is the one function a plugin calls (through `bouquet.api.psc`) to reach an
API « Pro Santé Connectée » as the professional.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import timedelta
from typing import Any

import httpx
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlmodel import Session, col, delete, select

from bouquet.foundation.db import utcnow
from bouquet.foundation.keys import derive_key
from bouquet.foundation.settings import Settings
from bouquet.sso.psc import client
from bouquet.sso.psc.models import PscSession
from bouquet.web.context import RequestContext
from bouquet.web.sessions import WebSession

PURPOSE = "psc-tokens"
NONCE_BYTES = 12
REFRESH_MARGIN = timedelta(seconds=20)  # refresh a little before PSC's 2-minute tokens run out


def _aead(settings: Settings) -> AESGCM:
    return AESGCM(derive_key(settings.secret_key, PURPOSE))


def seal(settings: Settings, sid: str, values: dict[str, Any]) -> str:
    nonce = os.urandom(NONCE_BYTES)
    sealed = _aead(settings).encrypt(nonce, json.dumps(values).encode(), sid.encode())
    return base64.b64encode(nonce + sealed).decode("ascii")


def unseal(settings: Settings, sid: str, value: str) -> dict[str, Any] | None:
    """The sealed values, or None when they cannot be opened (another session's row, a new secret key)."""
    raw = base64.b64decode(value)
    try:
        return dict(json.loads(_aead(settings).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], sid.encode())))
    except (InvalidTag, ValueError):
        return None


def store(session: Session, settings: Settings, *, sid: str, account_id: int, tokens: client.PscTokens) -> None:
    """Keep a sign-in's PSC tokens with its session (replacing what it had)."""
    now = utcnow()
    session.exec(delete(PscSession).where(col(PscSession.sid) == sid))  # type: ignore[call-overload]
    session.add(PscSession(
        sid=sid, account_id=account_id, psc_sid=tokens.claims.get("sid") or tokens.claims.get("session_state"),
        psc_sub=str(tokens.claims["sub"]), sealed=seal(settings, sid, _values(tokens)),
        access_expires_at=now + timedelta(seconds=tokens.expires_in),
        refresh_expires_at=now + timedelta(seconds=tokens.refresh_expires_in) if tokens.refresh_expires_in else None,
        created_at=now, updated_at=now))


def _values(tokens: client.PscTokens) -> dict[str, Any]:
    return {"access_token": tokens.access_token, "refresh_token": tokens.refresh_token, "id_token": tokens.id_token}


def find(session: Session, sid: str) -> PscSession | None:
    return session.exec(select(PscSession).where(PscSession.sid == sid)).first()


def forget(session: Session, sid: str) -> PscSession | None:
    """Delete a session's PSC tokens; returns the row as it was (for the logout at PSC)."""
    row = find(session, sid)
    if row is not None:
        session.delete(row)
    return row


def _live(session: Session, sid: str) -> bool:
    return session.exec(select(WebSession.id).where(WebSession.sid == sid,
                                                    col(WebSession.ended_at).is_(None))).first() is not None


async def psc_access_token(ctx: RequestContext) -> str | None:
    """The signed-in professional's PSC access token, refreshed when it is about to expire; None when
    this session did not sign in through PSC, has ended, or PSC no longer renews it (the person then
    signs in through PSC again). Raises `client.PscUnavailable` when PSC cannot be reached to renew it.
    """
    if ctx.session is None or ctx.account is None or not ctx.session.row.sid:
        return None
    sid, settings, db = ctx.session.row.sid, ctx.settings, ctx.db

    def load() -> tuple[PscSession, dict[str, Any]] | None:
        with db.session() as session:
            row = find(session, sid)
            if row is None or row.account_id != ctx.account.id or not _live(session, sid):  # type: ignore[union-attr]
                return None
            values = unseal(settings, sid, row.sealed)
            return (row, values) if values is not None else None

    found = await db.run(load)
    if found is None:
        return None
    row, values = found
    if row.access_expires_at - REFRESH_MARGIN > utcnow():
        return str(values["access_token"])
    if not values.get("refresh_token") or (row.refresh_expires_at is not None and row.refresh_expires_at <= utcnow()):
        return None
    async with httpx.AsyncClient(timeout=client.TIMEOUT) as http:
        try:
            renewed = await client.refresh(settings, http, values["refresh_token"], values["id_token"])
        except client.PscRefused:
            return None
    renewed = client.PscTokens(renewed.access_token, renewed.refresh_token or values["refresh_token"],
                               renewed.id_token, renewed.expires_in, renewed.refresh_expires_in,
                               {"sid": row.psc_sid, "sub": row.psc_sub})

    def save() -> None:
        with db.write() as session:
            current = find(session, sid)
            if current is None:
                return  # signed out meanwhile: nothing to keep
            now = utcnow()
            current.sealed = seal(settings, sid, _values(renewed))
            current.access_expires_at = now + timedelta(seconds=renewed.expires_in)
            if renewed.refresh_expires_in:
                current.refresh_expires_at = now + timedelta(seconds=renewed.refresh_expires_in)
            current.updated_at = now
            session.add(current)

    await db.run(save)
    return renewed.access_token
