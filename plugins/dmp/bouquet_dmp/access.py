"""What the DMP lets a caller see, and the trace of every access: the access matrix (profession ×
document class), documents masked by the patient, professionals the patient blocked, and bris de
glace (an emergency access with a stated reason, for a limited time). Everything lives in the
database; the embedded service calls these functions inside its own transactions.

Rules, in order: a blocked professional (or a secretary acting for one) is refused everything,
even in an emergency; a document is visible when the caller's profession may read its class, and,
if the patient masked it, only to its author or under bris de glace.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bouquet.api.db import Database, utcnow
from bouquet_dmp.identity import Caller
from bouquet_dmp.models import (
    DmpAccessEvent,
    DmpAccessRule,
    DmpBlockedProfessional,
    DmpDocument,
    DmpEmergencyAccess,
)

GRANTED, DENIED = "granted", "denied"


@dataclass(frozen=True)
class Standing:
    """Where a caller stands with one patient's DMP right now."""

    blocked: bool
    emergency_until: datetime | None
    readable_classes: frozenset[str]

    @property
    def emergency(self) -> bool:
        return self.emergency_until is not None


def standing_of(session: Session, caller: Caller) -> Standing:
    idnats = [idnat for idnat in (caller.idnat, caller.for_idnat) if idnat]
    blocked = bool(idnats) and session.exec(select(DmpBlockedProfessional.id).where(
        DmpBlockedProfessional.patient_ins == caller.patient,
        col(DmpBlockedProfessional.idnat_ps).in_(idnats))).first() is not None
    until = None
    if caller.idnat and caller.kind == "professional":
        until = session.exec(select(DmpEmergencyAccess.expires_at).where(
            DmpEmergencyAccess.patient_ins == caller.patient, DmpEmergencyAccess.idnat_ps == caller.idnat,
            DmpEmergencyAccess.expires_at > utcnow()).order_by(col(DmpEmergencyAccess.expires_at).desc())).first()
    profession = caller.matrix_profession
    classes = frozenset(session.exec(select(DmpAccessRule.class_code).where(
        DmpAccessRule.profession == profession, DmpAccessRule.allowed == True)).all()) if profession else frozenset()  # noqa: E712
    return Standing(blocked, until, classes)


def visible(document: DmpDocument, caller: Caller, standing: Standing) -> bool:
    """Whether `caller` may see `document` (its metadata and its content)."""
    if standing.blocked or document.patient_ins != caller.patient or document.class_code not in standing.readable_classes:
        return False
    if document.masked:
        return standing.emergency or (caller.idnat is not None and caller.idnat == document.author_idnat)
    return True


def grant_emergency(session: Session, caller: Caller, reason: str, minutes: int) -> DmpEmergencyAccess:
    """Record a bris-de-glace access for `caller` (a professional) to their patient's DMP."""
    assert caller.idnat is not None
    now = utcnow()
    access = DmpEmergencyAccess(patient_ins=caller.patient, idnat_ps=caller.idnat, actor_name=caller.name,
                                reason=reason, granted_at=now, expires_at=now + timedelta(minutes=minutes))
    session.add(access)
    return access


def trace(session: Session, caller: Caller, transaction: str, outcome: str, *, document_id: str | None = None,
          emergency: bool = False, detail: str | None = None) -> None:
    """Add one line to the patient's access history (inside the caller's transaction)."""
    session.add(DmpAccessEvent(
        patient_ins=caller.patient, actor_idnat=caller.idnat, actor_name=caller.name[:200],
        actor_profession=caller.matrix_profession, acting_for_name=caller.for_name, transaction=transaction,
        document_id=document_id, outcome=outcome, emergency=emergency, detail=(detail or None) and detail[:500]))


def history(session: Session, patient_ins: str, limit: int = 200) -> list[DmpAccessEvent]:
    """The patient's access history, most recent first."""
    return list(session.exec(select(DmpAccessEvent).where(DmpAccessEvent.patient_ins == patient_ins)
                             .order_by(col(DmpAccessEvent.at).desc(), col(DmpAccessEvent.id).desc()).limit(limit)).all())


# --- the patient's choices (made in their own space; here for the demo, the tests and operators) ---

def block(db: Database, patient_ins: str, idnat_ps: str) -> None:
    with db.write() as session:
        exists = session.exec(select(DmpBlockedProfessional).where(
            DmpBlockedProfessional.patient_ins == patient_ins, DmpBlockedProfessional.idnat_ps == idnat_ps)).first()
        if exists is None:
            session.add(DmpBlockedProfessional(patient_ins=patient_ins, idnat_ps=idnat_ps))


def unblock(db: Database, patient_ins: str, idnat_ps: str) -> None:
    with db.write() as session:
        for row in session.exec(select(DmpBlockedProfessional).where(
                DmpBlockedProfessional.patient_ins == patient_ins, DmpBlockedProfessional.idnat_ps == idnat_ps)):
            session.delete(row)


def mask(db: Database, document_id: str, masked: bool = True) -> None:
    with db.write() as session:
        document = session.get(DmpDocument, document_id)
        if document is None:
            raise KeyError(document_id)
        document.masked = masked
        session.add(document)


def set_rule(db: Database, profession: str, class_code: str, allowed: bool) -> None:
    with db.write() as session:
        rule = session.get(DmpAccessRule, (profession, class_code)) or DmpAccessRule(profession=profession,
                                                                                      class_code=class_code)
        rule.allowed = allowed
        session.add(rule)
