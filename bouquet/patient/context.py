"""Where the patient context lives: one database row per established context, and a pointer to it in
the browser session.

A context is established for one account (and, for a secretary, the principal they act for) from
one source (the practice software, or a manual entry). The browser session keeps the id of its
current context under `CURRENT_KEY` and a few recent ones under `RECENT_KEY`, so any worker can
rebuild `RequestContext.patient` from the database. A context established by or for someone else
is never shown. Establishing and closing a context are audited.

The patient's identity is data about a person: never log a `PatientContext` (its repr shows it).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Column, String
from sqlmodel import Field, SQLModel, col, select

from bouquet.foundation.db import Database, UtcDateTime, utcnow
from bouquet.patient.ins import InsError
from bouquet.patient.model import PatientContext
from bouquet.web.context import ensure_session

if TYPE_CHECKING:
    from bouquet.foundation.audit import Auditor
    from bouquet.sso.accounts import Account
    from bouquet.web.context import RequestContext
    from bouquet.web.sessions import BrowserSession

log = logging.getLogger("bouquet.patient.context")

#: Session data key: id of the browser's current patient context.
CURRENT_KEY = "patient_context_id"
#: Session data key: ids of the other contexts this browser opened, most recent first.
RECENT_KEY = "patient_contexts_recent"
#: How many other contexts the "Changer de patient" menu offers.
RECENT_LIMIT = 5


class PatientContextRecord(SQLModel, table=True):
    """One established patient context. `patient` holds `PatientContext.to_dict()`."""

    __tablename__ = "patient_context"

    id: str = Field(sa_column=Column(String(64), primary_key=True))
    patient: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    patient_ins: str = Field(max_length=80, index=True, description="'<oid>|<matricule>', as the audit trail names it")
    source: str = Field(max_length=256, description="The practice software's client name, or 'manual'")
    established_at: datetime = Field(sa_type=UtcDateTime)
    established_by_id: int = Field(foreign_key="account.id", index=True)
    acting_for_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    ended_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


@dataclass(frozen=True)
class RecentPatient:
    """A context the browser may switch back to in one click."""

    context_id: str
    patient: PatientContext


@dataclass(frozen=True)
class SessionPatients:
    """The browser session's current patient context (if any) and its other recent ones."""

    current_id: str | None = None
    current: PatientContext | None = None
    recent: tuple[RecentPatient, ...] = ()


def audit_ins(patient: PatientContext) -> str:
    """The patient as the audit trail names them: '<oid>|<matricule>' for a qualified identity; otherwise the
    INS is not shared (RNIV) and the trail names them by their traits: 'traits|<birth name>|<first name>|<birth date>|<sex>'."""
    if patient.ins_shareable:
        return f"{patient.ins.oid}|{patient.ins.matricule}"
    traits = patient.traits
    return f"traits|{traits.birth_name[:30]}|{traits.first_given_name[:20]}|{traits.birth_date.isoformat()}|{traits.sex.value}"


# --- the table -------------------------------------------------------------------------------

def establish(db: Database, audit: Auditor, account: Account, acting_for: Account | None,
              patient: PatientContext, source: str) -> str:
    """Store `patient` as a new context of `account` (acting for `acting_for`) and return its id.

    The stored context carries `source` and the time of establishment. Writes the audit event
    "patient.context_established" in the same transaction. Raises PatientContextError for a
    `source` the context refuses (empty, too long, control characters). Blocking.
    """
    assert account.id is not None
    now = utcnow()
    patient = replace(patient, source=source, established_at=now)
    record = PatientContextRecord(
        id=secrets.token_urlsafe(24), patient=patient.to_dict(), patient_ins=audit_ins(patient), source=source,
        established_at=now, established_by_id=account.id, acting_for_id=acting_for.id if acting_for else None)
    with db.write() as session:
        session.add(record)
        session.flush()
        audit.write_in(session, "patient.context_established", patient_ins=record.patient_ins,
                       resource=f"patient_context/{record.id}", details={"source": source})
    return record.id


def load(db: Database, context_id: str) -> PatientContext | None:
    """The open context `context_id`, whoever established it, or None (unknown, closed, unreadable)."""
    with db.session() as session:
        record = session.get(PatientContextRecord, context_id)
    return patient_of(record) if record is not None and record.ended_at is None else None


def load_for(db: Database, context_id: str, account: Account, acting_for: Account | None) -> PatientContext | None:
    """Like `load`, but only a context established by `account` for `acting_for` (else None)."""
    with db.session() as session:
        record = session.get(PatientContextRecord, context_id)
    return patient_of(record) if record is not None and _usable(record, account, acting_for) else None


def close(db: Database, audit: Auditor, context_id: str, account: Account, acting_for: Account | None) -> bool:
    """End the open context `context_id` if `account` established it for `acting_for`.

    Returns whether it was closed; writes "patient.context_closed" when it was. Blocking.
    """
    with db.write() as session:
        record = session.get(PatientContextRecord, context_id)
        if record is None or not _usable(record, account, acting_for):
            return False
        record.ended_at = utcnow()
        session.add(record)
        audit.write_in(session, "patient.context_closed", patient_ins=record.patient_ins,
                       resource=f"patient_context/{record.id}")
    return True


def for_session(db: Database, browser: BrowserSession, account: Account,
                acting_for: Account | None) -> SessionPatients:
    """The session's current and recent contexts that this account may use now (one query).

    Called for every signed-in request while the request context loads. Contexts of another
    account or principal are ignored; closed or vanished ones are dropped from the session.
    """
    current_id, recent_ids = _session_ids(browser)
    wanted = [*([current_id] if current_id else []), *recent_ids]
    if not wanted:
        return SessionPatients()
    with db.session() as session:
        records = {r.id: r for r in session.exec(select(PatientContextRecord)
                                                  .where(col(PatientContextRecord.id).in_(wanted))).all()}
    alive = [cid for cid in wanted if cid in records and records[cid].ended_at is None]
    if len(alive) != len(wanted):
        _point(browser, current_id if current_id in alive else None, [cid for cid in recent_ids if cid in alive])
    usable: dict[str, PatientContext] = {}
    for cid in alive:
        patient = patient_of(records[cid]) if _usable(records[cid], account, acting_for) else None
        if patient is not None:
            usable[cid] = patient
    current = usable.get(current_id) if current_id else None
    recent = tuple(RecentPatient(cid, usable[cid]) for cid in recent_ids if cid in usable and cid != current_id)
    return SessionPatients(current_id if current is not None else None, current, recent[:RECENT_LIMIT])


def _usable(record: PatientContextRecord, account: Account, acting_for: Account | None) -> bool:
    return (record.ended_at is None and record.established_by_id == account.id
            and record.acting_for_id == (acting_for.id if acting_for else None))


def patient_of(record: PatientContextRecord) -> PatientContext | None:
    try:
        return PatientContext.from_dict(record.patient)
    except (InsError, TypeError, ValueError):
        # A row the current rules refuse is not shown; name the row, never the patient.
        log.warning("patient context %s no longer validates; ignored", record.id)
        return None


# --- the browser session's pointer -----------------------------------------------------------

def _session_ids(browser: BrowserSession) -> tuple[str | None, list[str]]:
    current = browser.get(CURRENT_KEY)
    recent = browser.get(RECENT_KEY)
    current = current if isinstance(current, str) and current else None
    recent_ids = [cid for cid in recent if isinstance(cid, str) and cid] if isinstance(recent, list) else []
    return current, recent_ids


def _point(browser: BrowserSession, current_id: str | None, recent_ids: Sequence[str]) -> None:
    """Make `current_id` the session's current context, keeping the others as recent ones."""
    if current_id is None:
        browser.pop(CURRENT_KEY)
    elif browser.get(CURRENT_KEY) != current_id:
        browser.set(CURRENT_KEY, current_id)
    recent = list(dict.fromkeys(cid for cid in recent_ids if cid != current_id))[:RECENT_LIMIT * 2]
    if browser.get(RECENT_KEY, []) != recent:
        browser.set(RECENT_KEY, recent)


async def establish_in_session(ctx: RequestContext, patient: PatientContext, source: str) -> str:
    """Establish `patient` for the signed-in account and make it the browser's current context.

    The previous current context stays open in the "Changer de patient" menu. Also sets
    `ctx.patient` for the rest of this request. Raises PatientContextError for a bad `source`,
    PermissionError without a signed-in account.
    """

    if ctx.account is None:
        raise PermissionError("a patient context needs a signed-in account")
    browser = await ensure_session(ctx)
    context_id = await ctx.db.run(establish, ctx.db, ctx.audit, ctx.account, ctx.acting_for, patient, source)
    _make_current(ctx, browser, context_id, await ctx.db.run(load, ctx.db, context_id))
    return context_id


async def switch_in_session(ctx: RequestContext, context_id: str) -> bool:
    """Make `context_id` the browser's current context, if this account may use it (audited)."""
    if ctx.account is None or ctx.session is None:
        return False
    patient = await ctx.db.run(load_for, ctx.db, context_id, ctx.account, ctx.acting_for)
    if patient is None:
        return False
    _make_current(ctx, ctx.session, context_id, patient)
    await ctx.audit.log("patient.context_switched", patient_ins=audit_ins(patient),
                        resource=f"patient_context/{context_id}")
    return True


async def close_in_session(ctx: RequestContext, context_id: str) -> bool:
    """Close `context_id` (audited) and forget it in the browser session; False if it was not ours."""
    if ctx.account is None or ctx.session is None:
        return False
    closed = await ctx.db.run(close, ctx.db, ctx.audit, context_id, ctx.account, ctx.acting_for)
    current_id, recent_ids = _session_ids(ctx.session)
    if closed or context_id in (current_id, *recent_ids):
        _point(ctx.session, None if current_id == context_id else current_id,
               [cid for cid in recent_ids if cid != context_id])
    if current_id == context_id:
        ctx.patient, ctx.patient_context_id = None, None
    ctx.recent_patients = [r for r in ctx.recent_patients if r.context_id != context_id]
    return closed


def _make_current(ctx: RequestContext, browser: BrowserSession, context_id: str, patient: PatientContext | None) -> None:
    previous, recent_ids = _session_ids(browser)
    known = [RecentPatient(ctx.patient_context_id, ctx.patient)] if ctx.patient and ctx.patient_context_id else []
    known += ctx.recent_patients
    # The same patient opened again replaces their older context in the menu.
    hidden = {r.context_id for r in known if patient is not None and r.patient.ins == patient.ins} | {context_id}
    _point(browser, context_id, [cid for cid in [*([previous] if previous else []), *recent_ids] if cid not in hidden])
    ctx.recent_patients = [r for r in known if r.context_id not in hidden][:RECENT_LIMIT]
    ctx.patient, ctx.patient_context_id = patient, context_id
