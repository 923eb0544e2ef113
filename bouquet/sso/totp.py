"""TOTP (RFC 6238) authenticator apps: secrets, QR codes, and verification that refuses replays.

A code is accepted within one 30-second step either side of now, and only once: each
credential remembers the last time step it accepted, and a code whose step is not later than
that one is refused as a replay. The check-and-record is one conditional UPDATE, so two
workers given the same code at the same moment cannot both accept it.

Secrets are sealed at rest: AES-GCM under a key derived from the portal's secret key (purpose
"totp"), the account id as associated data, stored as `v1:` + base64(nonce + ciphertext). A row
copied to another account does not unseal, and they are unsealed only to check a code (or to spot
the same app enrolled twice). A secret stored in clear by an older version (base32, never starting
with `v1:`) still verifies, and is sealed the first time it is read with the key; migration 0012
seals them all when it can read the key. A secret sealed under another secret key (the key was
changed) cannot be read: `verify` answers `Check.unreadable` and the person needs a recovery code or
an administrator's factor reset.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import os
from datetime import datetime
from enum import StrEnum

import pyotp
import segno
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import BigInteger, Column, delete, func, or_, update
from sqlmodel import Field, Session, SQLModel, select

from bouquet.foundation.db import UtcDateTime, utcnow
from bouquet.foundation.keys import derive_key
from bouquet.sso import factors

STEP_SECONDS = 30
DIGITS = 6
# Steps accepted either side of now, for clocks that drift and people who type slowly.
WINDOW = 1
ISSUER = "Bouquet"
# What begins a sealed secret; a clear base32 secret (A-Z, 2-7) never does.
SEALED_PREFIX = "v1:"
_NONCE_BYTES = 12

log = logging.getLogger("bouquet.sso.totp")


class TotpCredential(SQLModel, table=True):
    """An authenticator app enrolled by an account (an account may have several)."""

    __tablename__ = "totp_credential"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    secret: str = Field(max_length=128, description="Sealed: 'v1:' + base64(nonce + AES-GCM ciphertext of the base32 "
                                                     "secret), account id as associated data (clear base32 before 0012)")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    last_used_step: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True),
                                       description="Time step of the last accepted code; earlier or equal steps are refused")
    last_used_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class Check(StrEnum):
    """The outcome of a code: accepted, already used (or older than the last used), or wrong."""

    accepted = "accepted"
    replayed = "replayed"
    wrong = "wrong"
    # No app matched and at least one could not be unsealed: the portal's secret key was changed.
    unreadable = "unreadable"


class UnreadableSecret(Exception):
    """A sealed secret that does not open with this secret key (changed key, or a row moved to another account)."""


def _aead(secret_key: str) -> AESGCM:

    return AESGCM(derive_key(secret_key, "totp"))


def _associated_data(account_id: int) -> bytes:
    return f"totp_credential:account:{account_id}".encode()


def seal(secret_key: str, account_id: int, secret: str) -> str:
    """`secret` encrypted for storage in the row of `account_id`."""
    nonce = os.urandom(_NONCE_BYTES)
    sealed = _aead(secret_key).encrypt(nonce, secret.encode("ascii"), _associated_data(account_id))
    return SEALED_PREFIX + base64.b64encode(nonce + sealed).decode("ascii")


def is_sealed(stored: str) -> bool:
    return stored.startswith(SEALED_PREFIX)


def unseal(secret_key: str, account_id: int, stored: str) -> str:
    """The base32 secret of a stored value: a sealed one opened, a legacy clear one as it is.

    Raises `UnreadableSecret` when a sealed value does not open (another secret key, another account).
    """
    if not is_sealed(stored):
        return stored
    try:
        raw = base64.b64decode(stored.removeprefix(SEALED_PREFIX), validate=True)
        return _aead(secret_key).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:],
                                         _associated_data(account_id)).decode("ascii")
    except (InvalidTag, binascii.Error, ValueError) as exc:
        raise UnreadableSecret(f"TOTP secret of account {account_id} does not unseal with this secret key") from exc


def new_secret() -> str:
    """A fresh 160-bit secret, base32 (32 characters), as RFC 4226 recommends."""
    return pyotp.random_base32()


def normalise_code(raw: str) -> str | None:
    """The 6 digits of a code typed with or without spaces, or None if it is not one."""
    code = "".join(raw.split())
    return code if len(code) == DIGITS and code.isascii() and code.isdigit() else None


def step_at(at: datetime) -> int:
    return int(at.timestamp()) // STEP_SECONDS


def code_at(secret: str, at: datetime) -> str:
    """The code an app shows at `at` (for tests and demonstrations)."""
    return pyotp.TOTP(secret).generate_otp(step_at(at))


def matching_steps(secret: str, code: str, at: datetime) -> list[int]:
    """The time steps around `at` whose code is `code`, latest first."""
    totp, now = pyotp.TOTP(secret), step_at(at)
    steps = range(now + WINDOW, now - WINDOW - 1, -1)
    return [step for step in steps if hmac.compare_digest(totp.generate_otp(step), code)]


def provisioning_uri(secret: str, username: str, issuer: str = ISSUER) -> str:
    """The `otpauth://` URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def qr_code_data_uri(uri: str) -> str:
    """The QR code of `uri` as an SVG `data:` URI, usable in an <img> under a strict CSP."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=4, dark="#000", light="#fff")


def verify(session: Session, account_id: int, code: str, at: datetime, *, secret_key: str) -> Check:
    """Check `code` against every TOTP credential of the account and, when accepted, record its
    step so that the same code is refused from now on. A legacy clear secret is sealed on the way."""
    replayed = unreadable = False
    for credential in credentials_of(session, account_id):
        try:
            secret = unseal(secret_key, account_id, credential.secret)
        except UnreadableSecret:
            log.error("TOTP credential %s of account %s cannot be unsealed: was BOUQUET_SECRET_KEY changed?",
                      credential.id, account_id)
            unreadable = True
            continue
        if not is_sealed(credential.secret):
            _seal_in_place(session, credential, seal(secret_key, account_id, secret))
        for step in matching_steps(secret, code, at):
            taken = session.execute(
                update(TotpCredential)
                .where(TotpCredential.id == credential.id,
                       or_(TotpCredential.last_used_step.is_(None), TotpCredential.last_used_step < step))
                .values(last_used_step=step, last_used_at=at)
            ).rowcount
            if taken:
                return Check.accepted
            replayed = True
    if replayed:
        return Check.replayed
    return Check.unreadable if unreadable else Check.wrong


def _seal_in_place(session: Session, credential: TotpCredential, sealed: str) -> None:
    # Only if still the clear value: a concurrent verification may have sealed it already.
    session.execute(update(TotpCredential)
                    .where(TotpCredential.id == credential.id, TotpCredential.secret == credential.secret)
                    .values(secret=sealed))


def has_secret(session: Session, account_id: int, secret: str, *, secret_key: str) -> bool:
    """Whether the account already has an app with this secret (the same enrolment sent twice)."""
    for credential in credentials_of(session, account_id):
        try:
            known = unseal(secret_key, account_id, credential.secret)
        except UnreadableSecret:
            continue
        if hmac.compare_digest(known, secret):
            return True
    return False


def add(session: Session, account_id: int, secret: str, *, secret_key: str,
        used_step: int | None = None) -> TotpCredential:
    """Store a confirmed credential, its secret sealed; `used_step` is the step of the confirmation
    code, so that code cannot be used again to sign in."""
    credential = TotpCredential(account_id=account_id, secret=seal(secret_key, account_id, secret),
                                last_used_step=used_step)
    session.add(credential)
    session.flush()
    return credential


def credentials_of(session: Session, account_id: int) -> list[TotpCredential]:
    return list(session.exec(select(TotpCredential).where(TotpCredential.account_id == account_id)
                             .order_by(TotpCredential.id)).all())


def count(session: Session, account_id: int) -> int:
    return session.exec(select(func.count()).select_from(TotpCredential)
                        .where(TotpCredential.account_id == account_id)).one()


def remove(session: Session, account_id: int, credential_id: int) -> bool:
    """Delete one of the account's credentials; False if it has no such credential."""
    credential = session.get(TotpCredential, credential_id)
    if credential is None or credential.account_id != account_id:
        return False
    session.delete(credential)
    session.flush()
    return True


def delete_factors(session: Session, account_id: int) -> int:
    """Delete every app of the account (an administrator's factor reset); returns how many."""
    return session.execute(delete(TotpCredential).where(TotpCredential.account_id == account_id)).rowcount


factors.register(factors.SecondFactor("totp", "Application d'authentification", count))
