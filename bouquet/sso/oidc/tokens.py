"""Authorization codes and tokens in the database: issue, find, consume once, revoke.

Codes and tokens are opaque 256-bit random strings; only their SHA-256 is stored. Consuming a
code or a refresh token is a conditional UPDATE (`… WHERE used_at IS NULL`), so of two workers
racing with the same value exactly one wins, on SQLite and PostgreSQL alike. Presenting a value
already consumed is treated as theft: every token descending from it is revoked.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from bouquet.foundation.db import utcnow
from bouquet.sso.oidc.models import AuthorizationCode, ClientAssertionJti, Token
from bouquet.sso.oidc.secrets import hash_secret, new_secret, secret_matches  # noqa: F401  (used by callers)

log = logging.getLogger("bouquet.oidc.tokens")

CODE_LIFETIME = timedelta(minutes=2)
ACCESS_TOKEN_LIFETIME = timedelta(minutes=5)
# Rows are kept this long after they stop being usable, so that a replay is recognised as one.
KEEP_EXPIRED = timedelta(days=1)


# --- authorization codes -----------------------------------------------------------------------

def save_code(session: Session, code: str, **fields: Any) -> AuthorizationCode:
    """Store a new code (its hash) with what it grants; expires after `CODE_LIFETIME`."""
    now = utcnow()
    row = AuthorizationCode(code_hash=hash_secret(code), created_at=now, expires_at=now + CODE_LIFETIME, **fields)
    session.add(row)
    session.flush()
    return row


def find_code(session: Session, code: str, client_id: str) -> AuthorizationCode | None:
    """The unused, unexpired code issued to this client, or None.

    A code presented a second time revokes the tokens issued from it (RFC 6749 §4.1.2).
    """
    row = session.exec(select(AuthorizationCode).where(AuthorizationCode.code_hash == hash_secret(code))).first()
    if row is None or row.client_id != client_id:
        return None
    if row.used_at is not None:
        revoke_from_code(session, row.id, "code_reused")
        return None
    if row.expires_at <= utcnow():
        return None
    return row


def consume_code(session: Session, row: AuthorizationCode) -> bool:
    """Mark the code used; False when another request used it first (then its tokens are revoked)."""
    done = session.execute(update(AuthorizationCode).where(AuthorizationCode.id == row.id,
                                                           col(AuthorizationCode.used_at).is_(None))
                           .values(used_at=utcnow())).rowcount
    if not done:
        revoke_from_code(session, row.id, "code_reused")
    return bool(done)


def nonce_used(session: Session, client_id: str, nonce: str) -> bool:
    """Whether a code was already issued to this client with this nonce (a replayed request)."""
    return session.exec(select(AuthorizationCode.id).where(AuthorizationCode.client_id == client_id,
                                                           AuthorizationCode.nonce == nonce)).first() is not None


# --- tokens ------------------------------------------------------------------------------------

def save_token(session: Session, token: dict[str, Any], *, client_id: str, grant_id: str,
               refresh_expires_at: datetime | None, **fields: Any) -> Token:
    """Store the token response's access (and refresh) token hashes with what they grant."""
    now = utcnow()
    refresh = token.get("refresh_token")
    row = Token(grant_id=grant_id, client_id=client_id, scope=token.get("scope", ""),
                access_token_hash=hash_secret(token["access_token"]), issued_at=now,
                access_expires_at=now + timedelta(seconds=int(token["expires_in"])),
                refresh_token_hash=hash_secret(refresh) if refresh else None,
                refresh_expires_at=refresh_expires_at if refresh else None, **fields)
    session.add(row)
    session.flush()
    return row


def find_by_access(session: Session, access_token: str) -> Token | None:
    return session.exec(select(Token).where(Token.access_token_hash == hash_secret(access_token))).first()


def find_by_refresh(session: Session, refresh_token: str) -> Token | None:
    return session.exec(select(Token).where(Token.refresh_token_hash == hash_secret(refresh_token))).first()


def access_usable(row: Token, now: datetime | None = None) -> bool:
    return row.revoked_at is None and row.access_expires_at > (now or utcnow())


def refresh_usable(row: Token, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return (row.refresh_token_hash is not None and row.revoked_at is None and row.refresh_used_at is None
            and (row.refresh_expires_at is None or row.refresh_expires_at > now))


def consume_refresh(session: Session, row: Token) -> bool:
    """Mark the refresh token used; False (and the grant revoked) when it was used already."""
    done = session.execute(update(Token).where(Token.id == row.id, col(Token.refresh_used_at).is_(None),
                                               col(Token.revoked_at).is_(None))
                           .values(refresh_used_at=utcnow())).rowcount
    if not done:
        revoke_grant(session, row.grant_id, "refresh_token_reused")
    return bool(done)


def _revoke(session: Session, condition: Any, reason: str) -> int:
    return session.execute(update(Token).where(condition, col(Token.revoked_at).is_(None))
                           .values(revoked_at=utcnow(), revoked_reason=reason)).rowcount


def revoke_grant(session: Session, grant_id: str, reason: str) -> int:
    """Revoke every access and refresh token of one authorization."""
    revoked = _revoke(session, Token.grant_id == grant_id, reason)
    if reason.endswith("_reused"):
        # A code or refresh token presented twice: someone else may hold a copy of it.
        log.warning("%s: grant revoked (%d tokens)", reason, revoked, extra={"grant": grant_id[:8]})
    return revoked


def revoke_from_code(session: Session, code_id: int | None, reason: str) -> int:
    """Revoke the grant that began with this authorization code."""
    grant_ids = session.exec(select(Token.grant_id).where(Token.code_id == code_id).distinct()).all()
    return sum(revoke_grant(session, grant_id, reason) for grant_id in grant_ids)


def revoke_sign_in(session: Session, sid: str, reason: str) -> int:
    """Revoke every token issued through one portal sign-in (the person signed out)."""
    return _revoke(session, Token.sid == sid, reason)


def revoke_client_account(session: Session, client_id: str, account_id: int, reason: str) -> int:
    """Revoke what one client holds for one account (consent withdrawn)."""
    return _revoke(session, (Token.client_id == client_id) & (Token.account_id == account_id), reason)


def revoke_client(session: Session, client_id: str, reason: str) -> int:
    return _revoke(session, Token.client_id == client_id, reason)


# --- private_key_jwt assertion ids ------------------------------------------------------------

def record_assertion(session: Session, client_id: str, jti: str, expires_at: datetime) -> bool:
    """Remember an assertion's `jti` until it expires; False when it was seen before (a replay)."""
    from sqlalchemy.exc import IntegrityError

    try:
        with session.begin_nested():  # a savepoint: a duplicate must not abort the caller's transaction
            session.add(ClientAssertionJti(client_id=client_id, jti=jti[:255], expires_at=expires_at))
            session.flush()
    except IntegrityError:
        return False
    return True


# --- housekeeping ------------------------------------------------------------------------------

def purge_expired(session: Session, now: datetime | None = None) -> int:
    """Delete codes, tokens and assertion ids that expired more than `KEEP_EXPIRED` ago."""
    limit = (now or utcnow()) - KEEP_EXPIRED
    removed = session.execute(delete(AuthorizationCode).where(AuthorizationCode.expires_at < limit)).rowcount
    removed += session.execute(delete(ClientAssertionJti).where(ClientAssertionJti.expires_at < limit)).rowcount
    removed += session.execute(delete(Token).where(
        Token.access_expires_at < limit,
        (col(Token.refresh_expires_at).is_(None)) | (col(Token.refresh_expires_at) < limit))).rowcount
    return removed
