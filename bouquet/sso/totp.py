"""TOTP (RFC 6238) authenticator apps: secrets, QR codes, and verification that refuses replays.

A code is accepted within one 30-second step either side of now, and only once: each
credential remembers the last time step it accepted, and a code whose step is not later than
that one is refused as a replay. The check-and-record is one conditional UPDATE, so two
workers given the same code at the same moment cannot both accept it.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from enum import StrEnum

import pyotp
import segno
from sqlalchemy import BigInteger, Column, delete, func, or_, update
from sqlmodel import Field, Session, SQLModel, select

from bouquet.db import UtcDateTime, utcnow
from bouquet.sso import factors

STEP_SECONDS = 30
DIGITS = 6
# Steps accepted either side of now, for clocks that drift and people who type slowly.
WINDOW = 1
ISSUER = "Bouquet"


class TotpCredential(SQLModel, table=True):
    """An authenticator app enrolled by an account (an account may have several)."""

    __tablename__ = "totp_credential"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    secret: str = Field(max_length=64, description="base32, as shown to the person at enrolment")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    last_used_step: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True),
                                       description="Time step of the last accepted code; earlier or equal steps are refused")
    last_used_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class Check(StrEnum):
    """The outcome of a code: accepted, already used (or older than the last used), or wrong."""

    accepted = "accepted"
    replayed = "replayed"
    wrong = "wrong"


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


def verify(session: Session, account_id: int, code: str, at: datetime) -> Check:
    """Check `code` against every TOTP credential of the account and, when accepted, record its
    step so that the same code is refused from now on."""
    replayed = False
    for credential in credentials_of(session, account_id):
        for step in matching_steps(credential.secret, code, at):
            taken = session.execute(
                update(TotpCredential)
                .where(TotpCredential.id == credential.id,
                       or_(TotpCredential.last_used_step.is_(None), TotpCredential.last_used_step < step))
                .values(last_used_step=step, last_used_at=at)
            ).rowcount
            if taken:
                return Check.accepted
            replayed = True
    return Check.replayed if replayed else Check.wrong


def add(session: Session, account_id: int, secret: str, used_step: int | None = None) -> TotpCredential:
    """Store a confirmed credential; `used_step` is the step of the confirmation code, so that
    code cannot be used again to sign in."""
    credential = TotpCredential(account_id=account_id, secret=secret, last_used_step=used_step)
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
