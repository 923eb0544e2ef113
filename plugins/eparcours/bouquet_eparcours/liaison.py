"""The coordination record: the cahier de liaison (dated notes on a plan) and the team's message thread.

A note is a line of the plan's timeline (kind "note", no task): it never overwrites anything. A
message goes to the plan's thread; each member's unread messages are counted in « Mes tâches » and
marked read when they open the plan. Blocking: call with `await ctx.db.run(...)`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from bouquet.api.audit import Auditor
from bouquet.api.db import Database
from bouquet_eparcours.actors import Actor
from bouquet_eparcours.care_plans import NotFound, event, require_member
from bouquet_eparcours.models import CarePlan, CareTeamMember, PlanDocument, PlanMessage, PlanMessageRead
from bouquet_eparcours.plan_lifecycle import InvalidPlanChange

MAX_NOTE = 2000


def add_note(db: Database, audit: Auditor, actor: Actor, plan_id: int, text: str) -> None:
    """Append a note to the plan's cahier de liaison. Audited as "eparcours.plan.note"."""
    text = (text or "").strip()
    if not text:
        raise InvalidPlanChange({"liaison_note": "La note est vide."})
    if len(text) > MAX_NOTE:
        raise InvalidPlanChange({"liaison_note": f"La note dépasse {MAX_NOTE} caractères : raccourcissez-la."})
    with db.write() as session:
        plan = session.get(CarePlan, plan_id)
        if plan is None:
            raise NotFound(plan_id)
        require_member(session, audit, actor, plan, "eparcours.plan.note")
        session.add(event(plan.id, None, actor, "note", note=text))  # type: ignore[arg-type]
        audit.write_in(session, "eparcours.plan.note", patient_ins=plan.patient_ins,
                       resource=f"eparcours_care_plan/{plan.id}")


def send(db: Database, audit: Auditor, actor: Actor, plan_id: int, text: str) -> None:
    """Post a message to the plan's thread. Audited as "eparcours.message.sent"."""
    text = (text or "").strip()
    if not text:
        raise InvalidPlanChange({"message": "Le message est vide."})
    if len(text) > MAX_NOTE:
        raise InvalidPlanChange({"message": f"Le message dépasse {MAX_NOTE} caractères : raccourcissez-le."})
    with db.write() as session:
        plan = session.get(CarePlan, plan_id)
        if plan is None:
            raise NotFound(plan_id)
        require_member(session, audit, actor, plan, "eparcours.message.sent")
        message = PlanMessage(care_plan_id=plan.id, author_id=actor.account.id, author_label=actor.label[:200],  # type: ignore[arg-type]
                              acting_for_label=actor.acting_for_label, body=text)
        session.add(message)
        session.flush()
        _mark_read(session, plan.id, actor.account.id, message.id)  # type: ignore[arg-type]
        audit.write_in(session, "eparcours.message.sent", patient_ins=plan.patient_ins,
                       resource=f"eparcours_care_plan/{plan.id}")


def thread(db: Database, actor: Actor, plan_id: int) -> list[PlanMessage]:
    """The plan's messages, oldest first, now marked read for the actor (the caller has checked membership)."""
    with db.write() as session:
        messages = list(session.exec(select(PlanMessage).where(PlanMessage.care_plan_id == plan_id)
                                     .order_by(col(PlanMessage.id))).all())
        if messages:
            _mark_read(session, plan_id, actor.account.id, messages[-1].id)  # type: ignore[arg-type]
        return messages


@dataclass(frozen=True)
class Unread:
    plan: CarePlan
    count: int


def unread(db: Database, actor: Actor) -> list[Unread]:
    """Per plan of the actor's principal's teams, the messages others wrote that the actor has not read."""
    with db.session() as session:
        teams = select(CareTeamMember.care_plan_id).where(CareTeamMember.account_id == actor.principal_id)
        read = select(PlanMessageRead.last_read_id).where(PlanMessageRead.care_plan_id == PlanMessage.care_plan_id,
                                                          PlanMessageRead.account_id == actor.account.id).scalar_subquery()
        rows = session.exec(select(PlanMessage.care_plan_id, func.count()).where(
            col(PlanMessage.care_plan_id).in_(teams), PlanMessage.author_id != actor.account.id,
            PlanMessage.id > func.coalesce(read, 0)).group_by(PlanMessage.care_plan_id)).all()
        return [Unread(session.get(CarePlan, plan_id), count) for plan_id, count in rows]  # type: ignore[arg-type]


def _mark_read(session: Session, plan_id: int, account_id: int, message_id: int) -> None:
    mark = session.exec(select(PlanMessageRead).where(PlanMessageRead.care_plan_id == plan_id,
                                                      PlanMessageRead.account_id == account_id)).first()
    if mark is None:
        session.add(PlanMessageRead(care_plan_id=plan_id, account_id=account_id, last_read_id=message_id))
    elif mark.last_read_id < message_id:
        mark.last_read_id = message_id
        session.add(mark)


#: What may be attached to a plan, recognised by its first bytes (never by the name or the browser's word).
DOCUMENT_TYPES = ((b"%PDF-", "application/pdf"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))
MAX_DOCUMENT = 5 * 1024 * 1024


def attach(db: Database, audit: Auditor, actor: Actor, plan_id: int, title: str, filename: str, data: bytes) -> None:
    """Attach a document (PDF, PNG or JPEG, 5 MB at most) to the plan. Audited as "eparcours.document.added"."""
    errors, title = {}, (title or "").strip()
    if not title or len(title) > 200:
        errors["document_title"] = "Donnez un titre au document (200 caractères au plus)."
    content_type = next((kind for magic, kind in DOCUMENT_TYPES if data.startswith(magic)), None)
    if not data:
        errors["document_file"] = "Choisissez le fichier à joindre."
    elif len(data) > MAX_DOCUMENT:
        errors["document_file"] = "Le fichier dépasse 5 Mo."
    elif content_type is None:
        errors["document_file"] = "Le fichier doit être un PDF, une image PNG ou JPEG."
    if errors:
        raise InvalidPlanChange(errors)
    with db.write() as session:
        plan = session.get(CarePlan, plan_id)
        if plan is None:
            raise NotFound(plan_id)
        require_member(session, audit, actor, plan, "eparcours.document.added")
        row = PlanDocument(care_plan_id=plan.id, title=title, filename=(filename or "document")[-200:],  # type: ignore[arg-type]
                           content_type=content_type, data=data, uploaded_by_id=actor.account.id,  # type: ignore[arg-type]
                           uploaded_by_label=actor.label[:200])
        session.add(row)
        session.flush()
        session.add(event(plan.id, None, actor, "document", detail={"title": title}))  # type: ignore[arg-type]
        audit.write_in(session, "eparcours.document.added", patient_ins=plan.patient_ins,
                       resource=f"eparcours_document/{row.id}")


def documents(db: Database, plan_id: int) -> list[dict[str, object]]:
    """The plan's documents (without their bytes), latest first (the caller has checked membership)."""
    with db.session() as session:
        rows = session.exec(select(PlanDocument.id, PlanDocument.title, PlanDocument.filename,
                                   PlanDocument.uploaded_by_label, PlanDocument.uploaded_at)
                            .where(PlanDocument.care_plan_id == plan_id).order_by(col(PlanDocument.id).desc())).all()
    return [{"id": r[0], "title": r[1], "filename": r[2], "by": r[3], "at": r[4]} for r in rows]


def document(db: Database, audit: Auditor, actor: Actor, plan_id: int, document_id: int) -> PlanDocument:
    """One document of the plan, for a member. Audited as "eparcours.document.read"."""
    with db.write() as session:
        plan = session.get(CarePlan, plan_id)
        row = session.get(PlanDocument, document_id)
        if plan is None or row is None or row.care_plan_id != plan.id:
            raise NotFound(document_id)
        require_member(session, audit, actor, plan, "eparcours.document.read")
        audit.write_in(session, "eparcours.document.read", patient_ins=plan.patient_ins,
                       resource=f"eparcours_document/{row.id}")
        session.expunge(row)
        return row
