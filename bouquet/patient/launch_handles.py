"""Launch handles: the single-use, short-lived link a practice software gets from `POST /api/launch`.

The handle itself (256 random bits, URL-safe) is given to the client once; only its SHA-256 is
stored, so a database dump opens nothing. A handle is consumed by one conditional UPDATE
(`… WHERE consumed_at IS NULL AND expires_at > now`): whichever worker's update touches the row
wins, every other attempt sees it consumed. The patient is stored as `PatientContext.to_dict()`.

The patient's identity is data about a person: never log a `LaunchHandle` row's `patient`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Column, String, delete, update
from sqlmodel import Field, SQLModel, col, select

from bouquet.foundation.db import Database, UtcDateTime
from bouquet.patient.context import audit_ins
from bouquet.patient.ins import InsError
from bouquet.patient.model import PatientContext

if TYPE_CHECKING:
    from bouquet.foundation.audit import Auditor

#: Handles (and the patient identity they carry) are kept this long after they expire, then purged.
RETENTION = timedelta(days=1)
#: What a handle looks like on the wire: `secrets.token_urlsafe(32)`, 43 characters.
_HANDLE_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,100}")


class LaunchHandle(SQLModel, table=True):
    """One launch asked for by a practice software (migration 0007)."""

    __tablename__ = "launch_handle"

    id: int | None = Field(default=None, primary_key=True)
    handle_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    client_id: str = Field(max_length=100, description="The OAuth client that asked for it")
    professional: str = Field(max_length=20, description="IdNat_PS of the professional it is for")
    patient: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    encounter: str | None = Field(default=None, max_length=256)
    return_url: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime, index=True)
    consumed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    consumed_by_id: int | None = Field(default=None, foreign_key="account.id")
    patient_context_id: str | None = Field(default=None, foreign_key="patient_context.id", max_length=64)

    def __repr__(self) -> str:
        return f"LaunchHandle(id={self.id}, client_id={self.client_id!r})"  # no patient in reprs


class HandleState(StrEnum):
    USABLE = "usable"
    CONSUMED = "consumed"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Launch:
    """A handle as the browser side needs it."""

    id: int
    state: HandleState
    client_id: str
    professional: str
    patient: PatientContext | None
    return_url: str | None


def hash_handle(handle: str) -> str:
    return hashlib.sha256(handle.encode("ascii")).hexdigest()


def well_formed(handle: str | None) -> bool:
    """Whether `handle` could be one of ours (checked before any hashing or query)."""
    return bool(handle) and _HANDLE_SHAPE.fullmatch(handle or "") is not None


def create(db: Database, audit: Auditor, *, client_id: str, professional: str, patient: PatientContext,
           return_url: str | None, lifetime: timedelta, now: datetime) -> str:
    """Store a new handle for `patient` and return it (the only time it exists in clear).

    Writes "launch.created" in the same transaction. Blocking.
    """
    handle = secrets.token_urlsafe(32)
    row = LaunchHandle(handle_hash=hash_handle(handle), client_id=client_id, professional=professional,
                       patient=patient.to_dict(), encounter=patient.encounter, return_url=return_url,
                       created_at=now, expires_at=now + lifetime)
    with db.write() as session:
        # Data minimisation: dead handles go as new ones come; the audit trail keeps the history.
        session.execute(delete(LaunchHandle).where(col(LaunchHandle.expires_at) < now - RETENTION))
        session.add(row)
        session.flush()
        audit.write_in(session, "launch.created", patient_ins=audit_ins(patient), resource=f"launch/{row.id}",
                       details={"client_id": client_id, "professional": professional,
                                "expires_at": row.expires_at.isoformat()})
    return handle


def find(db: Database, handle: str, now: datetime) -> Launch:
    """What `handle` is now: usable, consumed, expired or unknown (then `id` is 0). Blocking."""
    if not well_formed(handle):
        return Launch(0, HandleState.UNKNOWN, "", "", None, None)
    with db.session() as session:
        row = session.exec(select(LaunchHandle).where(LaunchHandle.handle_hash == hash_handle(handle))).first()
    if row is None or row.id is None:
        return Launch(0, HandleState.UNKNOWN, "", "", None, None)
    return Launch(row.id, _state(row, now), row.client_id, row.professional, patient_of(row), row.return_url)


def consume(db: Database, audit: Auditor, handle_id: int, account_id: int, now: datetime,
            patient_ins: str | None) -> bool:
    """Mark the handle consumed by `account_id` if nobody did and it has not expired; True if we did.

    The conditional UPDATE makes the race between workers safe on both backends. Writes
    "launch.consumed" in the same transaction when it wins. Blocking.
    """
    with db.write() as session:
        result = session.execute(
            update(LaunchHandle)
            .where(col(LaunchHandle.id) == handle_id, col(LaunchHandle.consumed_at).is_(None),
                   col(LaunchHandle.expires_at) > now)
            .values(consumed_at=now, consumed_by_id=account_id))
        won = result.rowcount == 1  # type: ignore[attr-defined]
        if won:
            audit.write_in(session, "launch.consumed", patient_ins=patient_ins, resource=f"launch/{handle_id}")
    return won


def link(db: Database, handle_id: int, context_id: str) -> None:
    """Record which patient context the consumed handle established. Blocking."""
    with db.write() as session:
        session.execute(update(LaunchHandle).where(col(LaunchHandle.id) == handle_id)
                        .values(patient_context_id=context_id))


def release(db: Database, handle_id: int) -> None:
    """Undo a consumption whose context could not be established, so nothing is left half-done."""
    with db.write() as session:
        session.execute(update(LaunchHandle).where(col(LaunchHandle.id) == handle_id)
                        .values(consumed_at=None, consumed_by_id=None))


def state_of(db: Database, handle_id: int, now: datetime) -> HandleState:
    """The state of handle `handle_id` now (after a lost race: consumed or expired). Blocking."""
    with db.session() as session:
        row = session.get(LaunchHandle, handle_id)
    return HandleState.UNKNOWN if row is None else _state(row, now)


def _state(row: LaunchHandle, now: datetime) -> HandleState:
    if row.consumed_at is not None:
        return HandleState.CONSUMED
    if row.expires_at <= now:
        return HandleState.EXPIRED
    return HandleState.USABLE


def patient_of(row: LaunchHandle) -> PatientContext | None:
    try:
        return replace(PatientContext.from_dict(row.patient), established_at=None)
    except (InsError, TypeError, ValueError):
        return None
