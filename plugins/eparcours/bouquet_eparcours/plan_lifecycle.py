"""A plan's life after inclusion: suspend, resume, complete, stop; the patient's withdrawal of consent.

FHIR CarePlan statuses: `active` ↔ `on-hold` (suspended), then `completed` (the pathway reached its
end) or `revoked` (stopped before its end; the patient's withdrawal of consent always revokes).
Ending a plan closes its open tasks (`cancelled`, with the reason): nobody keeps being asked to do
a step of a plan that has ended. Suspending leaves the tasks as they are.

Changing the plan's status is the coordinator's (or their secretary's) act; the patient may tell
any member of the team that they withdraw their consent, so any member records it. Every change
writes the timeline and the audit trail in one transaction. Blocking: `await ctx.db.run(...)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session, col, select

from bouquet.api.audit import Auditor
from bouquet.api.db import Database, utcnow
from bouquet_eparcours import clock
from bouquet_eparcours.actors import Actor
from bouquet_eparcours.care_plans import NotFound, event, require_member
from bouquet_eparcours.definitions import COORDINATOR
from bouquet_eparcours.models import CarePlan, CareTeamMember, Task
from bouquet_eparcours.statuses import OPEN, TaskStatus

#: Plan status → the statuses it may move to, with the button a person reads.
MOVES: dict[str, dict[str, str]] = {
    "active": {"on-hold": "Suspendre le parcours", "completed": "Terminer le parcours",
               "revoked": "Arrêter le parcours avant son terme"},
    "on-hold": {"active": "Reprendre le parcours", "completed": "Terminer le parcours",
                "revoked": "Arrêter le parcours avant son terme"},
}
ENDED = frozenset({"completed", "revoked"})
#: How the patient expressed the withdrawal of their consent.
WITHDRAWAL_METHODS: dict[str, str] = {
    "oral": "Oralement, auprès d'un membre de l'équipe",
    "written": "Par écrit (courrier, message signé)",
    "representative": "Par son représentant légal",
}
MAX_REASON = 500
# A withdrawal is recorded when it is learnt, which may be a while after the patient said it.
WITHDRAWAL_MAX_AGE_DAYS = 366


class PlanChangeRefused(ValueError):
    """The change is not possible now (`message`, in French; answered 409)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PlanForbidden(PermissionError):
    """The actor may not make this change (`message`, in French; answered 403)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidPlanChange(ValueError):
    """The form is not acceptable: `errors` maps a field to a French message (answered 400)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class Withdrawal:
    """What the consent withdrawal form says."""

    on: date | None
    method: str
    note: str | None


def is_coordinator(session: Session, plan_id: int, principal_id: int) -> bool:
    return session.exec(select(CareTeamMember.id).where(
        CareTeamMember.care_plan_id == plan_id, CareTeamMember.role == COORDINATOR,
        CareTeamMember.account_id == principal_id)).first() is not None


def require_coordinator(session: Session, audit: Auditor, actor: Actor, plan: CarePlan, action: str) -> None:
    """Raise PlanForbidden (audited as denied) unless the actor's principal coordinates the plan."""
    require_member(session, audit, actor, plan, action)
    if not is_coordinator(session, plan.id, actor.principal_id):  # type: ignore[arg-type]
        audit.write_in(session, action, outcome="denied", patient_ins=plan.patient_ins,
                       resource=f"eparcours_care_plan/{plan.id}")
        session.commit()
        raise PlanForbidden("Seul le coordinateur du parcours peut faire ce changement.")


def change_status(db: Database, audit: Auditor, actor: Actor, plan_id: int, *, target: str,
                  reason: str | None) -> int:
    """Move the plan to `target`; ending it cancels its open tasks (their number is returned).

    Raises NotFound, NotMember, PlanForbidden, PlanChangeRefused, InvalidPlanChange (a reason is
    required to suspend or stop). Audited as "eparcours.plan.status".
    """
    reason = (reason or "").strip()[:MAX_REASON] or None
    if target in ("on-hold", "revoked") and not reason:
        raise InvalidPlanChange({"reason": "Indiquez le motif : l'équipe de soins le lira dans l'historique du parcours."})
    with db.write() as session:
        plan = _load(session, plan_id)
        require_coordinator(session, audit, actor, plan, "eparcours.plan.status")
        allowed = MOVES.get(plan.status, {})
        if target not in allowed:
            raise PlanChangeRefused(_refusal(plan.status, target))
        before = plan.status
        closed = _close_open_tasks(session, actor, plan, _ending_reason(target, reason)) if target in ENDED else 0
        plan.status, plan.status_reason = target, reason
        plan.ended_on = clock.today() if target in ENDED else None
        session.add(plan)
        session.add(event(plan.id, None, actor, "plan-status", from_status=before, to_status=target,  # type: ignore[arg-type]
                          detail={"reason": reason, "closed_tasks": closed}))
        audit.write_in(session, "eparcours.plan.status", patient_ins=plan.patient_ins,
                       resource=f"eparcours_care_plan/{plan.id}",
                       details={"from": before, "to": target, "closed_tasks": closed})
        return closed


def withdraw_consent(db: Database, audit: Auditor, actor: Actor, plan_id: int, withdrawal: Withdrawal) -> int:
    """Record the patient's withdrawal of consent: the plan is revoked, its open tasks are cancelled.

    Returns the number of tasks closed. Audited as "eparcours.consent.withdrawn".
    """
    today, errors = clock.today(), {}
    if withdrawal.method not in WITHDRAWAL_METHODS:
        errors["withdrawal_method"] = "Indiquez comment le patient a exprimé le retrait de son consentement."
    if withdrawal.on is None:
        errors["withdrawn_on"] = "Indiquez une date valide."
    elif withdrawal.on > today:
        errors["withdrawn_on"] = "La date du retrait ne peut pas être dans le futur."
    elif withdrawal.on < today - timedelta(days=WITHDRAWAL_MAX_AGE_DAYS):
        errors["withdrawn_on"] = "La date du retrait date de plus d'un an : vérifiez-la."
    with db.write() as session:
        plan = _load(session, plan_id)
        require_member(session, audit, actor, plan, "eparcours.consent.withdrawn")
        if plan.status in ENDED:
            raise PlanChangeRefused("Ce parcours est déjà terminé : il n'y a plus de consentement à retirer.")
        if withdrawal.on is not None and withdrawal.on < plan.consent_date:
            errors["withdrawn_on"] = "Le retrait ne peut pas précéder le consentement (recueilli le " \
                                     f"{plan.consent_date.strftime('%d/%m/%Y')})."
        if errors:
            raise InvalidPlanChange(errors)
        note = (withdrawal.note or "").strip()[:MAX_REASON] or None
        closed = _close_open_tasks(session, actor, plan, "Le patient a retiré son consentement au parcours.")
        before = plan.status
        plan.status, plan.status_reason, plan.ended_on = "revoked", "Retrait du consentement du patient", withdrawal.on
        plan.consent_withdrawn_on, plan.consent_withdrawal_method = withdrawal.on, withdrawal.method
        plan.consent_withdrawal_note, plan.consent_withdrawal_recorded_by_id = note, actor.principal_id
        session.add(plan)
        session.add(event(plan.id, None, actor, "consent-withdrawn", from_status=before, to_status="revoked",  # type: ignore[arg-type]
                          detail={"on": withdrawal.on.isoformat(),  # type: ignore[union-attr]
                                  "method": WITHDRAWAL_METHODS[withdrawal.method], "closed_tasks": closed},
                          note=note))
        audit.write_in(session, "eparcours.consent.withdrawn", patient_ins=plan.patient_ins,
                       resource=f"eparcours_care_plan/{plan.id}",
                       details={"on": withdrawal.on.isoformat(), "method": withdrawal.method,  # type: ignore[union-attr]
                                "closed_tasks": closed})
        return closed


def _load(session: Session, plan_id: int) -> CarePlan:
    plan = session.get(CarePlan, plan_id)
    if plan is None:
        raise NotFound(plan_id)
    return plan


def _close_open_tasks(session: Session, actor: Actor, plan: CarePlan, reason: str) -> int:
    tasks = session.exec(select(Task).where(Task.care_plan_id == plan.id, col(Task.status).in_(OPEN))).all()
    for task in tasks:
        session.add(event(plan.id, task.id, actor, "status", from_status=task.status,  # type: ignore[arg-type]
                          to_status=TaskStatus.CANCELLED, detail={"reason": reason}))
        task.status, task.status_reason = TaskStatus.CANCELLED, reason
        task.version += 1
        task.updated_at = utcnow()
        session.add(task)
    return len(tasks)


def _ending_reason(target: str, reason: str | None) -> str:
    head = "Parcours terminé" if target == "completed" else "Parcours arrêté avant son terme"
    return f"{head}{' : ' + reason if reason else ''}."


def _refusal(current: str, target: str) -> str:
    labels = {"active": "en cours", "on-hold": "suspendu", "completed": "terminé", "revoked": "arrêté"}
    if current == target:
        return f"Le parcours est déjà {labels.get(current, current)}."
    if current in ENDED:
        return f"Ce parcours est {labels[current]} : il ne peut plus changer d'état. Incluez à nouveau le patient si besoin."
    return f"Un parcours {labels.get(current, current)} ne peut pas passer à l'état demandé."
