"""Signing keys: one RS256 and one ES256 key pair at a time, kept in the database, rotated with notice.

Private keys are sealed with AES-GCM under a key derived from the portal's secret key (purpose
"oidc-signing-keys"), the key id as associated data. `rotate` adds a new key that is published in
the JWKS at once but signs only after `publish_ahead` (relying parties cache the JWKS), and keeps
the old one published `keep_published` after it stops signing, longer than any token it signed lives.

Each worker reads the keys through a `KeyRing`, which caches them until the keys' generation counter
moves (`foundation.generations`: bumped in the transaction of any key change, read once per request),
so a rotation through any worker on any host is published by every worker on its next request.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from joserfc import jwk
from sqlalchemy import text
from sqlmodel import Session, col, or_, select

from bouquet.foundation import generations
from bouquet.foundation.db import Database, utcnow
from bouquet.foundation.keys import derive_key
from bouquet.sso.oidc.adapter import bound
from bouquet.sso.oidc.models import KEYS_GENERATION, SigningKey

ALGORITHMS = ("RS256", "ES256")
PUBLISH_AHEAD = timedelta(hours=1)
KEEP_PUBLISHED = timedelta(days=1)
RSA_BITS = 2048
# An arbitrary constant: the PostgreSQL advisory lock that serialises creating the first keys.
_FIRST_KEYS_LOCK = 4_271_905_373


def _aead(secret_key: str) -> AESGCM:

    return AESGCM(derive_key(secret_key, "oidc-signing-keys"))


def seal(secret_key: str, kid: str, private_jwk: dict[str, Any]) -> str:
    """The private JWK encrypted for storage (nonce + ciphertext, base64)."""
    nonce = os.urandom(12)
    sealed = _aead(secret_key).encrypt(nonce, json.dumps(private_jwk).encode(), kid.encode())
    return base64.b64encode(nonce + sealed).decode("ascii")


def unseal(secret_key: str, kid: str, sealed: str) -> dict[str, Any]:
    """The private JWK back; raises `cryptography.exceptions.InvalidTag` under another secret key."""
    raw = base64.b64decode(sealed)
    return json.loads(_aead(secret_key).decrypt(raw[:12], raw[12:], kid.encode()))


def _generate(alg: str) -> Any:
    if alg == "RS256":
        return jwk.RSAKey.generate_key(RSA_BITS, private=True, auto_kid=True)
    if alg == "ES256":
        return jwk.ECKey.generate_key("P-256", private=True, auto_kid=True)
    raise ValueError(f"unsupported signing algorithm {alg!r}")


def create_key(session: Session, secret_key: str, alg: str, activates_at: datetime) -> SigningKey:
    """A new key pair for `alg`, signing from `activates_at` (in the caller's transaction)."""
    key = _generate(alg)
    public = {**key.as_dict(private=False), "alg": alg, "use": "sig"}
    row = SigningKey(kid=key.kid, alg=alg, public_jwk=public, activates_at=activates_at,
                     sealed_private_jwk=seal(secret_key, key.kid, key.as_dict(private=True)))
    session.add(row)
    session.flush()
    return row


def ensure_keys(session: Session, secret_key: str, now: datetime | None = None) -> list[SigningKey]:
    """Create a signing key for each algorithm that has none yet (a new installation). Idempotent."""
    now = now or utcnow()
    if session.get_bind().dialect.name == "postgresql":
        # Two workers starting on an empty table must not both create "the first" keys.
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _FIRST_KEYS_LOCK})
    created = []
    for alg in ALGORITHMS:
        exists = session.exec(select(SigningKey.id).where(SigningKey.alg == alg, _published(now))).first()
        if exists is None:
            created.append(create_key(session, secret_key, alg, activates_at=now))
    return created


def rotate(session: Session, secret_key: str, *, now: datetime | None = None,
           publish_ahead: timedelta = PUBLISH_AHEAD, keep_published: timedelta = KEEP_PUBLISHED) -> list[SigningKey]:
    """Add the next key of every algorithm; the current ones stop signing when it starts.

    Returns the new keys. The old keys leave the JWKS `keep_published` after they stop signing.
    """
    now = now or utcnow()
    new_keys = []
    for alg in ALGORITHMS:
        new = create_key(session, secret_key, alg, activates_at=now + publish_ahead)
        older = session.exec(select(SigningKey).where(
            SigningKey.alg == alg, SigningKey.id != new.id,
            or_(col(SigningKey.retires_at).is_(None), col(SigningKey.retires_at) > new.activates_at))).all()
        for key in older:
            key.retires_at = new.activates_at
            key.unpublish_at = new.activates_at + keep_published
            session.add(key)
        new_keys.append(new)
    return new_keys


def _published(now: datetime) -> Any:
    return or_(col(SigningKey.unpublish_at).is_(None), col(SigningKey.unpublish_at) > now)


@dataclass(frozen=True)
class _Loaded:
    rows: list[SigningKey]
    private: dict[str, Any]
    generation: int


class KeyRing:
    """The published keys and the signing key of each algorithm, as one worker sees them.

    Methods block (database, decryption): call them off the event loop. `clock` gives the time used
    to decide which key signs (tests move it to cross a rotation).
    """

    def __init__(self, db: Database, secret_key: str, clock: Callable[[], datetime] = utcnow) -> None:
        self.db, self.secret_key, self.clock = db, secret_key, clock
        self._lock = threading.Lock()
        self._loaded: _Loaded | None = None

    def invalidate(self) -> None:
        """Forget the cache: the next call reads the database."""
        self._loaded = None

    def _generation(self) -> int:
        if (session := bound()) is not None:
            return generations.current(session).get(KEYS_GENERATION, 0)
        with self.db.session() as session:
            return generations.current(session).get(KEYS_GENERATION, 0)

    def _load(self) -> _Loaded:
        generation = self._generation()
        loaded = self._loaded
        if loaded is not None and loaded.generation == generation:
            return loaded
        with self._lock:
            now = self.clock()
            if (session := bound()) is not None:
                rows = self._read(session, now)
            else:
                with self.db.session() as session:
                    rows = self._read(session, now)
            if {row.alg for row in rows} != set(ALGORITHMS):
                rows = self._first_keys(now)
                generation = -1  # the keys just made moved the generation: read it again next time
            private = {row.kid: jwk.import_key(unseal(self.secret_key, row.kid, row.sealed_private_jwk))
                       for row in rows}
            self._loaded = _Loaded(rows, private, generation)
            return self._loaded

    @staticmethod
    def _read(session: Session, now: datetime) -> list[SigningKey]:
        rows = list(session.exec(select(SigningKey).where(_published(now)).order_by(SigningKey.id)).all())
        for row in rows:
            session.expunge(row)  # shared by this worker's requests until the keys' generation moves
        return rows

    def _first_keys(self, now: datetime) -> list[SigningKey]:
        def create(session: Session) -> list[SigningKey]:
            ensure_keys(session, self.secret_key, now)
            return list(session.exec(select(SigningKey).where(_published(now)).order_by(SigningKey.id)).all())

        # Inside a request's transaction, use it: a second writer would wait for it forever on SQLite.
        if (session := bound()) is not None:
            return create(session)
        with self.db.write() as session:
            return create(session)

    def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set to publish: every key that signs, will sign soon, or signed recently."""
        loaded = self._load()
        now = self.clock()
        return {"keys": [row.public_jwk for row in loaded.rows
                         if row.unpublish_at is None or row.unpublish_at > now]}

    def public_keyset(self) -> jwk.KeySet:
        return jwk.KeySet.import_key_set(self.jwks())

    def signing_key(self, alg: str) -> tuple[str, Any]:
        """(kid, private key) of the key that signs `alg` now: the newest one already active."""
        loaded = self._load()
        now = self.clock()
        active = [row for row in loaded.rows if row.alg == alg and row.activates_at <= now
                  and (row.retires_at is None or row.retires_at > now)]
        if not active:
            raise LookupError(f"no active {alg} signing key")
        row = max(active, key=lambda candidate: candidate.activates_at)
        return row.kid, loaded.private[row.kid]
