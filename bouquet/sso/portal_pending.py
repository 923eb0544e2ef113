"""The portal's pending authorization requests, one database row each (migration 0011).

When the portal sends a browser to `/authorize` (`bouquet.sso.portal`), what its callback will need
— the PKCE verifier, the nonce, where to go after, the `max_age` and `acr_values` asked — is stored
as a `PortalPendingSignin` row keyed by the SHA-256 of the `state`, not in the browser session's
JSON: a session's data is written whole by each request (last writer wins), so two tabs starting a
sign-in at the same moment would lose one of the two. Rows are independent, so any number of tabs
and workers can start sign-ins at once.

Each row is bound to the browser that started it: `binding` is the SHA-256 of the session cookie the
browser presented (or was given) when it first asked — for a visitor with no session, carried in
their signed anonymous cookie (`bouquet.web.anonymous`; no session row for them) — and the same value is kept in the browser
session's data under `portal_authorizations`, which survives the session rotations of the sign-in
(`flow.complete`, `/account/confirm`). Two tabs reloaded with the same cookie — live, or expired,
in which case each gets a new anonymous session and the browser keeps only the last cookie — compute
the same binding, so whichever session the browser ends up with can finish both sign-ins. A
callback from another browser (another binding) cannot see, let alone consume, the row.

The row is consumed once by `DELETE … WHERE state_hash = … AND binding = … RETURNING …`: of two
workers handling the same authorization response, one gets the row, the other nothing. Expired rows
are purged as new ones are stored, and a browser keeps at most `MAX_PER_BROWSER` pending rows.

The verifier is sealed (AES-GCM under a key derived from the secret key, the state hash as
associated data): a database dump gives no verifier to redeem an intercepted code with.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Column, String, Text, delete
from sqlmodel import Field, SQLModel, col, select

from bouquet.foundation.db import Database, UtcDateTime, utcnow
from bouquet.foundation.keys import derive_key
from bouquet.web import anonymous

#: As long as a sign-in may take (bouquet.sso.flow.PENDING_LIFETIME).
LIFETIME = timedelta(minutes=10)
#: Pending authorizations one browser may have at once (tabs reloaded together); the oldest go first.
MAX_PER_BROWSER = 20
_SEAL_PURPOSE = "portal-pkce-verifier"


class PortalPendingSignin(SQLModel, table=True):
    """One authorization request the portal sent a browser with, until its callback (or expiry)."""

    __tablename__ = "portal_pending_signin"

    id: int | None = Field(default=None, primary_key=True)
    state_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    binding: str = Field(max_length=64, index=True,
                         description="SHA-256 of the cookie of the browser that started it (see the module)")
    verifier: str = Field(max_length=200, description="The PKCE verifier, sealed")
    nonce: str = Field(max_length=64)
    next: str = Field(sa_column=Column(Text, nullable=False))
    max_age: int | None = Field(default=None)
    acr_values: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime, index=True)

    def __repr__(self) -> str:
        return f"PortalPendingSignin(id={self.id}, expires_at={self.expires_at})"  # no verifier in reprs


@dataclass(frozen=True)
class Pending:
    """A consumed pending authorization, verifier unsealed: what the callback checks the response against."""

    verifier: str
    nonce: str
    next: str
    max_age: int | None
    acr_values: str


def hash_state(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def binding_for(cookie: str) -> str:
    """The binding of a browser that presents (or was just given) this session cookie."""
    return anonymous.binding_for(cookie)


def _aead(secret_key: str) -> AESGCM:

    return AESGCM(derive_key(secret_key, _SEAL_PURPOSE))


def _seal(secret_key: str, state_hash: str, verifier: str) -> str:
    nonce = secrets.token_bytes(12)
    sealed = _aead(secret_key).encrypt(nonce, verifier.encode(), state_hash.encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def _unseal(secret_key: str, state_hash: str, sealed: str) -> str | None:
    try:
        raw = base64.urlsafe_b64decode(sealed.encode())
        return _aead(secret_key).decrypt(raw[:12], raw[12:], state_hash.encode()).decode()
    except (InvalidTag, ValueError):
        return None  # another secret key (changed since), or a tampered row


def store(db: Database, secret_key: str, *, binding: str, state: str, verifier: str, nonce: str, next_url: str,
          max_age: int | None, acr_values: str, now: datetime | None = None) -> None:
    """Store one pending authorization (blocking); purge expired rows and this browser's oldest beyond the cap."""
    now = now or utcnow()
    state_hash = hash_state(state)
    table = PortalPendingSignin
    with db.write() as session:
        session.execute(delete(table).where(col(table.expires_at) <= now)
                        .execution_options(synchronize_session=False))
        newest = (select(table.id).where(table.binding == binding)
                  .order_by(col(table.created_at).desc(), col(table.id).desc()).limit(MAX_PER_BROWSER - 1))
        session.execute(delete(table).where(table.binding == binding, col(table.id).not_in(newest.scalar_subquery()))
                        .execution_options(synchronize_session=False))
        session.add(PortalPendingSignin(
            state_hash=state_hash, binding=binding, verifier=_seal(secret_key, state_hash, verifier), nonce=nonce,
            next=next_url, max_age=max_age, acr_values=acr_values, created_at=now, expires_at=now + LIFETIME))


def consume(db: Database, secret_key: str, *, binding: str, state: str,
            now: datetime | None = None) -> tuple[Pending | None, str]:
    """Take the pending authorization `state` names for this browser, once (blocking).

    Returns it, or None with the reason: "unknown state" (never stored, already used, or started by
    another browser — which leaves it in place) or "expired state" (deleted all the same)."""
    table = PortalPendingSignin
    with db.session() as session:
        row = session.execute(
            delete(table).where(table.state_hash == hash_state(state), table.binding == binding)
            .returning(table.state_hash, table.verifier, table.nonce, table.next, table.max_age, table.acr_values,
                       table.expires_at)
            .execution_options(synchronize_session=False)).first()
    if row is None:
        return None, "unknown state"
    if row.expires_at <= (now or utcnow()):
        return None, "expired state"
    verifier = _unseal(secret_key, row.state_hash, row.verifier)
    if verifier is None:
        return None, "unreadable verifier"
    return Pending(verifier, row.nonce, row.next, row.max_age, row.acr_values), ""


def pending_for(db: Database, binding: str) -> list[PortalPendingSignin]:
    """This browser's pending authorizations, oldest first (tests, support)."""
    with db.session() as session:
        return list(session.exec(select(PortalPendingSignin).where(PortalPendingSignin.binding == binding)
                                 .order_by(col(PortalPendingSignin.created_at), col(PortalPendingSignin.id))).all())
