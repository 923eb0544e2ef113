"""Recovery codes: ten single-use codes that stand in for a lost second factor.

Codes are 12 random characters (60 bits) from an alphabet without look-alikes, shown as
`abcd-efgh-jkmn`. Only their SHA-256 is stored: a slow hash adds nothing for random codes of
that length, and redeeming one is a single conditional UPDATE, so a code works once even when
two workers receive it together.

How another factor's enrolment hands over to the recovery codes: when a person enrols their
first second factor during sign-in, the enrolling page calls
`await bouquet.sso.signin.finish_enrolment(ctx, account_id, amr)`; it issues the codes with
`issue_codes`, keeps them in the browser session for one showing, and redirects to
`/enrol/recovery-codes`, whose "Continuer" button completes the sign-in.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import Column, String, delete, func, update
from sqlmodel import Field, Session, SQLModel, select

from bouquet.foundation.db import UtcDateTime, utcnow

COUNT = 10
LENGTH = 12
# Crockford's base32 alphabet: no i, l, o, u, so nothing reads as something else.
ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_LOOKALIKES = str.maketrans({"o": "0", "i": "1", "l": "1"})


class RecoveryCode(SQLModel, table=True):
    """One recovery code of an account, hashed; `used_at` is set when it is spent."""

    __tablename__ = "recovery_code"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    code_hash: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


def _hash(normalised: str) -> str:
    return hashlib.sha256(f"bouquet-recovery:{normalised}".encode()).hexdigest()


def _new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, LENGTH, 4))


def normalise(raw: str) -> str | None:
    """The code's 12 characters, whatever the case, spaces and dashes typed; None if it cannot be one."""
    code = "".join(ch for ch in raw.lower() if ch not in " -\t").translate(_LOOKALIKES)
    return code if len(code) == LENGTH and all(ch in ALPHABET for ch in code) else None


def issue_codes(session: Session, account_id: int) -> list[str]:
    """Replace the account's recovery codes by ten new ones and return them in clear, the only
    time they exist in clear: show them to the person once, never store them."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account_id))
    codes = [_new_code() for _ in range(COUNT)]
    now = utcnow()
    session.add_all([RecoveryCode(account_id=account_id, code_hash=_hash(normalise(code) or ""), created_at=now)
                     for code in codes])
    session.flush()
    return codes


def redeem(session: Session, account_id: int, raw: str, at: datetime | None = None) -> bool:
    """Spend one of the account's unused codes; False if `raw` is none of them (or was used)."""
    code = normalise(raw)
    if code is None:
        return False
    spent = session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.account_id == account_id, RecoveryCode.code_hash == _hash(code),
               RecoveryCode.used_at.is_(None))
        .values(used_at=at or utcnow())
    ).rowcount
    return spent > 0


def remaining(session: Session, account_id: int) -> int:
    """How many unused codes the account has left."""
    return session.exec(select(func.count()).select_from(RecoveryCode)
                        .where(RecoveryCode.account_id == account_id, RecoveryCode.used_at.is_(None))).one()


def delete_factors(session: Session, account_id: int) -> int:
    """Delete every code of the account (an administrator's factor reset); returns how many."""
    return session.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account_id)).rowcount
