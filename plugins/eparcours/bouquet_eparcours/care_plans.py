"""Care plans: including a patient in a pathway, and reading a plan as a member of its care team.

Every function here is blocking (call it with `await ctx.db.run(...)`), runs in one transaction
and writes its audit event in that transaction: a read or a change of a patient's plan exists
in the audit trail exactly when it happened. Only members of a plan's care team (or a
secretary acting for one) may read it; anyone else gets `NotMember`, audited as denied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, col, select

from bouquet.api.accounts import Account
from bouquet.api.audit import Auditor
from bouquet.api.db import Database
from bouquet.api.patient import PatientContext
from bouquet.api.patient import audit_ins as core_audit_ins
from bouquet_eparcours import clock, scheduling
from bouquet_eparcours.actors import Actor
from bouquet_eparcours.definitions import COORDINATOR, PathwayDefinition, RoleDefinition
from bouquet_eparcours.models import CarePlan, CareTeamMember, Task, TaskEvent
from bouquet_eparcours.statuses import OPEN

#: How the patient's consent was obtained (stored code → what the form and the plan show).
CONSENT_METHODS: dict[str, str] = {
    "oral": "Oralement, consentement tracé dans le dossier",
    "written": "Par écrit (formulaire signé)",
    "representative": "Par son représentant légal",
}
# Consent recorded today may have been obtained a while ago, not years ago.
CONSENT_MAX_AGE_DAYS = 366
# A reference date (a hospital discharge…) may lie in the past, within reason.
REFERENCE_MAX_AGE_DAYS = 5 * 366
REFERENCE_MAX_AHEAD_DAYS = 366
CANDIDATES_LIMIT = 300


class NotFound(LookupError):
    """No such care plan or task."""


class NotMember(PermissionError):
    """The actor is not in this plan's care team."""


class InclusionRefused(ValueError):
    """The inclusion form is not acceptable: `errors` maps a form field to a French message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = dict(errors)


class PlanExists(ValueError):
    """The patient already follows this pathway; `coordinator` names who leads that plan."""

    def __init__(self, plan_id: int, coordinator: str) -> None:
        super().__init__(f"plan {plan_id}")
        self.plan_id, self.coordinator = plan_id, coordinator


@dataclass(frozen=True)
class Inclusion:
    """What the inclusion form says."""

    pathway: PathwayDefinition
    reference_date: date | None  # None: the form's date was not a date
    consent_date: date | None
    consent_method: str
    consent_note: str | None
    members: Mapping[str, int | None]  # role id → account id


@dataclass
class PlanView:
    """A plan as its care team sees it."""

    plan: CarePlan
    definition: PathwayDefinition
    members: list[CareTeamMember]
    tasks: list[Task]
    events: list[TaskEvent]
    accounts: dict[int, Account] = field(default_factory=dict)

    def name(self, account_id: int | None) -> str:
        account = self.accounts.get(account_id) if account_id is not None else None
        return account.display_name if account else "Non attribuée"

    def holders(self, role: str) -> list[Account]:
        return [self.accounts[m.account_id] for m in self.members if m.role == role and m.account_id in self.accounts]


def audit_ins(patient: PatientContext) -> str:
    """The patient as the audit trail names them: '<oid>|<matricule>', or their traits when the identity is not
    qualified (its INS is not shared: `bouquet.api.patient.audit_ins`)."""
    return core_audit_ins(patient)


def patient_of(plan: CarePlan) -> PatientContext:
    return PatientContext.from_dict(plan.patient)


def definition_of(plan: CarePlan) -> PathwayDefinition:
    """The pathway as it was when the patient was included."""
    return PathwayDefinition.model_validate(plan.definition)


def candidates(db: Database, role: RoleDefinition) -> list[Account]:
    """Active accounts who may hold `role` (professionals of its professions, or coordination accounts), by name."""
    query = select(Account).where(Account.kind == ("coordination" if role.coordination else "professional"),
                                  col(Account.disabled_at).is_(None))
    if role.professions and not role.coordination:
        query = query.where(col(Account.profession_code).in_(role.professions))
    with db.session() as session:
        return list(session.exec(query.order_by(Account.family_name, Account.given_name).limit(CANDIDATES_LIMIT)).all())


def include(db: Database, audit: Auditor, actor: Actor, patient: PatientContext, inclusion: Inclusion) -> int:
    """Create the care plan, its care team and its first tasks; return the plan's id.

    Raises InclusionRefused (dates, consent, team) or PlanExists (an active plan of the same
    pathway for this patient). Audited as "eparcours.plan.created".
    """
    errors = _check(inclusion)
    definition, ins = inclusion.pathway, audit_ins(patient)
    with db.write() as session:
        accounts, team_errors = _team_accounts(session, definition, inclusion.members)
        errors |= {name: message for name, message in team_errors.items() if name not in errors}
        if errors:  # every error at once, so that the form is corrected in one go
            raise InclusionRefused(errors)
        assert inclusion.reference_date is not None and inclusion.consent_date is not None
        existing = session.exec(select(CarePlan).where(CarePlan.patient_ins == ins, CarePlan.pathway_id == definition.id,
                                                       col(CarePlan.status).in_(("active", "on-hold")))).first()
        if existing is not None:
            coordinator = _coordinator_name(session, existing.id)
            raise PlanExists(existing.id, coordinator)  # type: ignore[arg-type]
        plan = CarePlan(patient_ins=ins, patient=patient.to_dict(), pathway_id=definition.id,
                        pathway_version=definition.version, pathway_title=definition.title,
                        definition=definition.model_dump(mode="json"), reference_date=inclusion.reference_date,
                        consent_date=inclusion.consent_date, consent_method=inclusion.consent_method,
                        consent_note=inclusion.consent_note, included_by_id=actor.principal_id,
                        ppcs=definition.ppcs.start(inclusion.reference_date))
        session.add(plan)
        session.flush()
        assert plan.id is not None
        for role_id, account in accounts.items():
            role = definition.role(role_id)
            assert role is not None
            session.add(CareTeamMember(care_plan_id=plan.id, account_id=account.id, role=role_id,  # type: ignore[arg-type]
                                       role_label=role.label, added_by_id=actor.principal_id))
        owners = {role_id: account.id for role_id, account in accounts.items()}
        tasks = scheduling.at_inclusion(definition, inclusion.reference_date, owners)
        for planned in tasks:
            session.add(new_task(plan.id, planned))
        session.add(event(plan.id, None, actor, "included", detail={
            "pathway": definition.title, "version": definition.version, "tasks": len(tasks),
            "consent": CONSENT_METHODS[inclusion.consent_method]}))
        audit.write_in(session, "eparcours.plan.created", patient_ins=ins, resource=f"eparcours_care_plan/{plan.id}",
                       details={"pathway": definition.id, "version": definition.version})
        return plan.id


def new_task(plan_id: int, planned: scheduling.PlannedTask) -> Task:
    """The row for a planned task."""
    return Task(care_plan_id=plan_id, step_id=planned.step.id, occurrence=planned.occurrence, title=planned.step.title,
                role=planned.step.role, required=planned.step.required, owner_id=planned.owner_id,
                status=planned.status, due_on=planned.due_on, latest_on=planned.latest_on)


def event(plan_id: int, task_id: int | None, actor: Actor, kind: str, *, from_status: str | None = None,
          to_status: str | None = None, detail: dict[str, object] | None = None, note: str | None = None) -> TaskEvent:
    """A timeline line, naming the actor and the professional a secretary acts for."""
    return TaskEvent(care_plan_id=plan_id, task_id=task_id, actor_id=actor.account.id, actor_label=actor.label,  # type: ignore[arg-type]
                     acting_for_label=actor.acting_for_label, kind=kind, from_status=from_status,
                     to_status=to_status, detail=detail or {}, note=note)


def _check(inclusion: Inclusion) -> dict[str, str]:
    today, errors = clock.today(), {}
    if inclusion.consent_method not in CONSENT_METHODS:
        errors["consent_method"] = "Indiquez comment le consentement du patient a été recueilli."
    if inclusion.consent_date is None:
        errors["consent_date"] = "Indiquez une date valide."
    elif inclusion.consent_date > today:
        errors["consent_date"] = "La date du consentement ne peut pas être dans le futur."
    elif (today - inclusion.consent_date).days > CONSENT_MAX_AGE_DAYS:
        errors["consent_date"] = "Le consentement date de plus d'un an : recueillez-le à nouveau."
    if inclusion.reference_date is None:
        errors["reference_date"] = "Indiquez une date valide."
    elif (today - inclusion.reference_date).days > REFERENCE_MAX_AGE_DAYS:
        errors["reference_date"] = "La date de référence est trop ancienne (plus de cinq ans)."
    elif (inclusion.reference_date - today).days > REFERENCE_MAX_AHEAD_DAYS:
        errors["reference_date"] = "La date de référence est à plus d'un an dans le futur."
    if not inclusion.members.get(COORDINATOR):
        errors[f"member_{COORDINATOR}"] = "Désignez le coordinateur du parcours."
    return errors


def _team_accounts(session: Session, definition: PathwayDefinition,
                   members: Mapping[str, int | None]) -> tuple[dict[str, Account], dict[str, str]]:
    chosen, errors = {}, {}
    for role in definition.roles:
        account_id = members.get(role.id)
        if not account_id:
            continue
        account = session.get(Account, account_id)
        if account is None or not account.active or account.kind not in ("professional", "coordination"):
            errors[f"member_{role.id}"] = f"Le membre choisi pour « {role.label} » n'a pas de compte actif."
        elif not role.admits(account):
            errors[f"member_{role.id}"] = (f"{account.display_name} ({account.profession_label or 'profession inconnue'}) "
                                           f"ne peut pas tenir le rôle « {role.label} ».")
        else:
            chosen[role.id] = account
    return chosen, errors


def _coordinator_name(session: Session, plan_id: int | None) -> str:
    member = session.exec(select(CareTeamMember).where(CareTeamMember.care_plan_id == plan_id,
                                                       CareTeamMember.role == COORDINATOR)).first()
    account = session.get(Account, member.account_id) if member else None
    return account.display_name if account else "le coordinateur"


def is_member(session: Session, plan_id: int, principal_id: int) -> bool:
    """Whether `principal_id` holds a role in the plan's care team."""
    return session.exec(select(func.count()).select_from(CareTeamMember).where(
        CareTeamMember.care_plan_id == plan_id, CareTeamMember.account_id == principal_id)).one() > 0


def require_member(session: Session, audit: Auditor, actor: Actor, plan: CarePlan, action: str) -> None:
    """Raise NotMember (audited as denied) unless the actor's principal is in the plan's team."""
    if not is_member(session, plan.id, actor.principal_id):  # type: ignore[arg-type]
        audit.write_in(session, action, outcome="denied", patient_ins=plan.patient_ins,
                       resource=f"eparcours_care_plan/{plan.id}")
        session.commit()  # keep the denial even though the caller's request fails
        raise NotMember(plan.id)


def view(db: Database, audit: Auditor, actor: Actor, plan_id: int, *, action: str = "eparcours.plan.read") -> PlanView:
    """The plan with its team, tasks (by due date) and timeline (latest first). Audited as `action`."""
    with db.write() as session:
        plan = session.get(CarePlan, plan_id)
        if plan is None:
            raise NotFound(plan_id)
        require_member(session, audit, actor, plan, action)
        members = list(session.exec(select(CareTeamMember).where(CareTeamMember.care_plan_id == plan_id)
                                    .order_by(CareTeamMember.id)).all())
        tasks = list(session.exec(select(Task).where(Task.care_plan_id == plan_id)
                                  .order_by(Task.due_on, Task.id)).all())
        events = list(session.exec(select(TaskEvent).where(TaskEvent.care_plan_id == plan_id)
                                   .order_by(col(TaskEvent.at).desc(), col(TaskEvent.id).desc())).all())
        wanted = {m.account_id for m in members} | {t.owner_id for t in tasks if t.owner_id} | {
            t.performed_by_id for t in tasks if t.performed_by_id} | {plan.included_by_id}
        accounts = {a.id: a for a in session.exec(select(Account).where(col(Account.id).in_(wanted))).all()}
        audit.write_in(session, action, patient_ins=plan.patient_ins, resource=f"eparcours_care_plan/{plan.id}")
        return PlanView(plan, definition_of(plan), members, tasks, events, accounts)  # type: ignore[arg-type]


@dataclass(frozen=True)
class PlanSummary:
    """A plan of the patient in context, for the panel and the alerts."""

    plan: CarePlan
    next_tasks: list[Task]
    overdue: list[Task]
    coordinator: str


def for_patient(db: Database, audit: Auditor, actor: Actor, patient: PatientContext, *, via: str,
                next_count: int = 3) -> list[PlanSummary]:
    """The patient's plans whose care team includes the actor, with their next and overdue tasks.

    Audited as "eparcours.plan.read" (with `via`, e.g. "panel" or "alerts") when there is one.
    """
    ins, today = audit_ins(patient), clock.today()
    with db.write() as session:
        # A subquery, not DISTINCT: PostgreSQL cannot compare the plan's JSON columns.
        teams = select(CareTeamMember.care_plan_id).where(CareTeamMember.account_id == actor.principal_id)
        plans = session.exec(select(CarePlan).where(CarePlan.patient_ins == ins, col(CarePlan.id).in_(teams))
                             .order_by(col(CarePlan.included_at).desc())).all()
        summaries = []
        for plan in plans:
            open_tasks = list(session.exec(select(Task).where(Task.care_plan_id == plan.id, col(Task.status).in_(OPEN))
                                           .order_by(Task.due_on, Task.id)).all())
            summaries.append(PlanSummary(plan, open_tasks[:next_count], [t for t in open_tasks if t.latest_on < today],
                                         _coordinator_name(session, plan.id)))
        for summary in summaries:  # last: the audit chain stays locked until commit
            audit.write_in(session, "eparcours.plan.read", patient_ins=ins,
                           resource=f"eparcours_care_plan/{summary.plan.id}", details={"via": via})
        return summaries
