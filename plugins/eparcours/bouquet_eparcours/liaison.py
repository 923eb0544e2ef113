"""The cahier de liaison: dated notes on a plan, written and read by its care team.

A note is a line of the plan's timeline (kind "note", no task): it never overwrites anything.
Blocking: call with `await ctx.db.run(...)`.
"""

from __future__ import annotations

from bouquet.api.audit import Auditor
from bouquet.api.db import Database
from bouquet_eparcours.actors import Actor
from bouquet_eparcours.care_plans import NotFound, event, require_member
from bouquet_eparcours.models import CarePlan
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
