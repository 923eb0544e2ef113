"""The audit trail: an append-only, hash-chained record of every access to patient data.

Each event is sealed with an HMAC over its fields and the previous event's seal, so an edit,
a deletion or an insertion made directly in the database breaks the chain at that event, and
`bouquet audit verify` names it. Appends are serialised by locking the single `audit_chain`
row first, which works the same on PostgreSQL (row lock) and SQLite (write lock).
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import json
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, String, Text, update
from sqlmodel import Field, Session, SQLModel, select

from bouquet.foundation.db import Database, UtcDateTime, utcnow

GENESIS = "0" * 64
#: Outcomes that record a refusal (`bouquet.web.refusals` audits any 401/403 that wrote none).
REFUSAL_OUTCOMES = frozenset({"denied"})
# The refusals audited during the current request (a list shared with the worker threads it uses).
_refusals_written: ContextVar[list[str] | None] = ContextVar("bouquet_refusals_written", default=None)


def watch_refusals() -> list[str]:
    """Start noting, for the current request, the refusals written to the trail (their actions)."""
    written: list[str] = []
    _refusals_written.set(written)
    return written


class AuditEvent(SQLModel, table=True):
    """One thing that happened: who (for whom) did what to which patient's data, and how it ended."""

    __tablename__ = "audit_event"

    seq: int = Field(primary_key=True, description="Position in the chain, 1, 2, 3… without gaps")
    at: datetime = Field(sa_type=UtcDateTime)
    actor: str = Field(max_length=200, description="Account that acted, e.g. 'account:12 (Dr Martin)'")
    acting_for: str | None = Field(default=None, max_length=200, description="Principal of a secretary")
    patient_ins: str | None = Field(default=None, max_length=80, index=True, description="'<oid>|<matricule>'")
    action: str = Field(max_length=100, index=True)
    resource: str | None = Field(default=None, max_length=300)
    outcome: str = Field(max_length=40, description="success, denied, failure, …")
    source_ip: str | None = Field(default=None, max_length=64)
    request_id: str | None = Field(default=None, max_length=64)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(sa_column=Column(String(64), nullable=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False))


class AuditChain(SQLModel, table=True):
    """The head of the chain: the last sequence number and seal. Its one row is the append lock."""

    __tablename__ = "audit_chain"

    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    last_hash: str = Field(default=GENESIS, sa_column=Column(Text, nullable=False))


@dataclass(frozen=True)
class AuditRecord:
    """What a caller says about an event; the chain adds time, sequence and seals."""

    actor: str
    action: str
    outcome: str = "success"
    acting_for: str | None = None
    patient_ins: str | None = None
    resource: str | None = None
    source_ip: str | None = None
    request_id: str | None = None
    details: dict[str, Any] | None = None


def _seal(key: bytes, prev_hash: str, fields: dict[str, Any]) -> str:
    payload = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hmac.new(key, (prev_hash + payload).encode(), hashlib.sha256).hexdigest()


def _sealed_fields(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "at": event.at.isoformat(timespec="microseconds"),
        "actor": event.actor,
        "acting_for": event.acting_for,
        "patient_ins": event.patient_ins,
        "action": event.action,
        "resource": event.resource,
        "outcome": event.outcome,
        "source_ip": event.source_ip,
        "request_id": event.request_id,
        "details": event.details or {},
    }


def append(session: Session, key: bytes, record: AuditRecord) -> AuditEvent:
    """Add `record` to the chain inside the caller's transaction (it is kept only if that commits).

    Call it last in the transaction: it holds the chain lock until commit.
    """
    session.execute(update(AuditChain).where(AuditChain.id == 1).values(seq=AuditChain.seq + 1))
    head = session.execute(select(AuditChain.seq, AuditChain.last_hash).where(AuditChain.id == 1)).one()
    event = AuditEvent(
        seq=head.seq,
        at=utcnow(),
        actor=record.actor,
        acting_for=record.acting_for,
        patient_ins=record.patient_ins,
        action=record.action,
        resource=record.resource,
        outcome=record.outcome,
        source_ip=record.source_ip,
        request_id=record.request_id,
        details=record.details or {},
        prev_hash=head.last_hash,
        hash="",
    )
    event.hash = _seal(key, event.prev_hash, _sealed_fields(event))
    session.add(event)
    session.flush()
    session.execute(update(AuditChain).where(AuditChain.id == 1).values(last_hash=event.hash))
    if record.outcome in REFUSAL_OUTCOMES and (written := _refusals_written.get()) is not None:
        written.append(record.action)
    return event


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of `verify`: how many events were checked, and the first broken one if any."""

    checked: int
    broken_seq: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def verify(session: Session, key: bytes, batch: int = 5000) -> VerifyResult:
    """Walk the whole chain and report the first event whose seal, order or link is wrong."""
    expected_seq, prev_hash, checked = 1, GENESIS, 0
    for event in _events(session, batch):
        if event.seq != expected_seq:
            missing = "missing" if event.seq > expected_seq else "duplicated"
            return VerifyResult(checked, expected_seq, f"event #{expected_seq} is {missing} (found #{event.seq} next)")
        if event.prev_hash != prev_hash:
            return VerifyResult(checked, event.seq, f"event #{event.seq} does not link to event #{event.seq - 1}")
        if not hmac.compare_digest(event.hash, _seal(key, prev_hash, _sealed_fields(event))):
            return VerifyResult(checked, event.seq, f"event #{event.seq} was altered (its seal does not match its content)")
        prev_hash, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    head = session.get(AuditChain, 1)
    if head is None:
        return VerifyResult(checked, 0, "the chain head row is missing")
    if head.seq != checked or head.last_hash != prev_hash:
        return VerifyResult(checked, checked + 1, f"event #{checked + 1} onwards were removed (the head records #{head.seq})")
    return VerifyResult(checked)


def _events(session: Session, batch: int) -> Iterator[AuditEvent]:
    last = 0
    while True:
        rows = session.exec(select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        session.expunge_all()


class Auditor:
    """Writes audit events for one actor in one request; handed to plugins as `ctx.audit`."""

    def __init__(self, db: Database, key: bytes, *, actor: str, acting_for: str | None = None,
                 source_ip: str | None = None, request_id: str | None = None) -> None:
        self.db, self.key = db, key
        self.actor, self.acting_for = actor, acting_for
        self.source_ip, self.request_id = source_ip, request_id

    def record(self, action: str, *, outcome: str = "success", patient_ins: str | None = None,
               resource: str | None = None, details: dict[str, Any] | None = None) -> AuditRecord:
        return AuditRecord(
            actor=self.actor, acting_for=self.acting_for, action=action, outcome=outcome,
            patient_ins=patient_ins, resource=resource, source_ip=self.source_ip,
            request_id=self.request_id, details=details,
        )

    def write_in(self, session: Session, action: str, **fields: Any) -> AuditEvent:
        """Append inside the caller's transaction: the event exists only if the change does."""
        return append(session, self.key, self.record(action, **fields))

    def write(self, action: str, **fields: Any) -> AuditEvent:
        """Append in a transaction of its own (blocking: from async code, use `log`)."""
        with self.db.write() as session:
            return append(session, self.key, self.record(action, **fields))

    async def log(self, action: str, **fields: Any) -> AuditEvent:
        """Append in a transaction of its own, off the event loop."""
        return await self.db.run(self.write, action, **fields)


def cli_actor() -> str:
    """How the audit trail names an operator at the command line."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in a bare container
        return "cli"
