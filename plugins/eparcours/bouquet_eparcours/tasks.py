"""Tasks: changing their FHIR status, owner or due date without ever losing someone else's change.

Every change names the version of the task it was made on. The change first bumps that version
in the database (`UPDATE … WHERE version = :seen`): if someone changed the task in between, no
row matches, nothing is written, and `TaskConflict` says who changed it and when. The same
transaction then applies the change, writes the timeline and the audit event.

Permissions: clinical statuses (`statuses.CLINICAL`: starting, doing, failing, refusing a step)
need `eparcours.task.complete`; the others, reassigning and rescheduling need
`eparcours.task.schedule`, which a secretary may hold for the professional they act for.
All functions are blocking: call them with `await ctx.db.run(...)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from bouquet.api.accounts import Account
from bouquet.api.audit import Auditor
from bouquet.api.db import Database, utcnow
from bouquet_eparcours import clock, records, scheduling
from bouquet_eparcours.actors import Actor
from bouquet_eparcours.care_plans import (
    NotFound,
    definition_of,
    event,
    new_task,
    require_member,
)
from bouquet_eparcours.definitions import COORDINATOR, PathwayDefinition, StepDefinition
from bouquet_eparcours.models import CarePlan, CareTeamMember, Task, TaskEvent
from bouquet_eparcours.statuses import (
    CLINICAL,
    LABELS,
    OPEN,
    TERMINAL,
    TaskStatus,
    TransitionRefused,
    path,
)

MAX_NOTE = 2000
# A due date is moved within reason: a typing error of a year is caught.
RESCHEDULE_PAST_DAYS = 366
RESCHEDULE_AHEAD_DAYS = 5 * 366


class ActionForbidden(PermissionError):
    """The actor's account may not do this; `message` says so in French."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TaskConflict(Exception):
    """The task changed since the form was shown: `current` is the task as it is now."""

    def __init__(self, current: Task, changed_by: str | None, changed_at: datetime | None) -> None:
        super().__init__(f"task {current.id} is at version {current.version}")
        self.current, self.changed_by, self.changed_at = current, changed_by, changed_at


class InvalidInput(ValueError):
    """The form is not acceptable: `errors` maps a field to a French message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = dict(errors)


@dataclass
class TaskView:
    """A task with its plan, its step definition, the team and the task's own timeline."""

    task: Task
    plan: CarePlan
    definition: PathwayDefinition
    members: list[CareTeamMember]
    events: list[TaskEvent]
    accounts: dict[int, Account]

    @property
    def step(self) -> StepDefinition | None:
        return self.definition.step(self.task.step_id)

    def name(self, account_id: int | None) -> str:
        account = self.accounts.get(account_id) if account_id is not None else None
        return account.display_name if account else "Non attribuée"


def view(db: Database, audit: Auditor, actor: Actor, task_id: int) -> TaskView:
    """The task as a member of its plan's team sees it. Audited as "eparcours.task.read"."""
    with db.write() as session:
        task, plan = _load(session, audit, actor, task_id, "eparcours.task.read")
        members = list(session.exec(select(CareTeamMember).where(CareTeamMember.care_plan_id == plan.id)).all())
        events = list(session.exec(select(TaskEvent).where(TaskEvent.task_id == task_id)
                                   .order_by(col(TaskEvent.at).desc(), col(TaskEvent.id).desc())).all())
        wanted = {m.account_id for m in members} | {task.owner_id, task.performed_by_id} - {None}
        accounts = {a.id: a for a in session.exec(select(Account).where(col(Account.id).in_(wanted))).all()}
        audit.write_in(session, "eparcours.task.read", patient_ins=plan.patient_ins, resource=f"eparcours_task/{task.id}")
        return TaskView(task, plan, definition_of(plan), members, events, accounts)  # type: ignore[arg-type]


def change_status(db: Database, audit: Auditor, actor: Actor, task_id: int, *, version: int, target: str,
                  reason: str | None = None, note: str | None = None, performed_on: date | None = None,
                  form: Mapping[str, str] | None = None) -> list[Task]:
    """Move the task to `target` (through `in-progress` when finishing work not yet started).

    Completing records the step's values from `form` (InvalidInput when they do not fit) and
    schedules what follows (next occurrence, steps starting after this one): those new tasks are
    returned. Raises ActionForbidden, TransitionRefused (FHIR does not allow it), TaskConflict.
    Audited as "eparcours.task.status".
    """
    if target in CLINICAL and not actor.can_complete:
        raise ActionForbidden("Votre compte ne permet pas de réaliser une étape clinique du parcours : "
                              "seul un professionnel de santé de l'équipe peut le faire.")
    if target not in CLINICAL and not (actor.can_schedule or actor.can_complete):
        raise ActionForbidden("Votre compte ne permet pas de modifier les tâches de ce parcours.")
    today = clock.today()
    with db.write() as session:
        task, plan = _load(session, audit, actor, task_id, "eparcours.task.status")
        _check_version(session, task, version)  # a stale form is told so, before judging what it asks
        steps = path(task.status, target)
        definition = definition_of(plan)
        values: dict = {}
        if target == TaskStatus.COMPLETED:
            values, performed_on = _completion(definition, task, form or {}, performed_on, today)
        _claim(session, task, version)
        before = task.status
        for status in steps:
            session.add(event(plan.id, task.id, actor, "status", from_status=task.status, to_status=status,  # type: ignore[arg-type]
                              detail=_status_detail(definition, task, status, values, performed_on)))
            task.status = status
        task.status_reason = _clean(reason, 500) if target in (TaskStatus.REJECTED, TaskStatus.CANCELLED, TaskStatus.FAILED,
                                                               TaskStatus.ON_HOLD, TaskStatus.ENTERED_IN_ERROR) else None
        if target == TaskStatus.COMPLETED:
            task.outputs, task.performed_on, task.performed_by_id = values, performed_on, actor.principal_id
        if note and note.strip():
            session.add(event(plan.id, task.id, actor, "note", note=_clean(note, MAX_NOTE)))  # type: ignore[arg-type]
        session.add(task)
        created = _follow_ups(session, actor, plan, definition, task) if target == TaskStatus.COMPLETED else []
        audit.write_in(session, "eparcours.task.status", patient_ins=plan.patient_ins, resource=f"eparcours_task/{task.id}",
                       details={"from": before, "to": target, "scheduled": len(created)})
        return created


def reassign(db: Database, audit: Auditor, actor: Actor, task_id: int, *, version: int, owner_id: int | None) -> None:
    """Give the task to another member of the care team (or to nobody). Audited as "eparcours.task.assigned"."""
    if not actor.can_schedule:
        raise ActionForbidden("Votre compte ne permet pas de réattribuer les tâches de ce parcours.")
    with db.write() as session:
        task, plan = _load(session, audit, actor, task_id, "eparcours.task.assigned")
        _check_version(session, task, version)
        if task.status in TERMINAL:
            raise TransitionRefused(f"Une tâche {LABELS[task.status].lower()} est close : elle ne peut plus être réattribuée.")
        if owner_id is not None and not session.exec(select(func.count()).select_from(CareTeamMember).where(
                CareTeamMember.care_plan_id == plan.id, CareTeamMember.account_id == owner_id)).one():
            raise InvalidInput({"owner": "Choisissez un membre de l'équipe de soins de ce parcours."})
        _claim(session, task, version)
        names = {a.id: a.display_name for a in session.exec(select(Account).where(
            col(Account.id).in_({task.owner_id, owner_id} - {None}))).all()}
        session.add(event(plan.id, task.id, actor, "assigned", detail={  # type: ignore[arg-type]
            "from": names.get(task.owner_id, "personne"), "to": names.get(owner_id, "personne")}))
        task.owner_id = owner_id
        session.add(task)
        audit.write_in(session, "eparcours.task.assigned", patient_ins=plan.patient_ins,
                       resource=f"eparcours_task/{task.id}", details={"owner": owner_id})


def reschedule(db: Database, audit: Auditor, actor: Actor, task_id: int, *, version: int, due_on: date) -> None:
    """Move the due date (the tolerance moves with it). Audited as "eparcours.task.scheduled"."""
    if not actor.can_schedule:
        raise ActionForbidden("Votre compte ne permet pas de replanifier les tâches de ce parcours.")
    today = clock.today()
    if not today - timedelta(days=RESCHEDULE_PAST_DAYS) <= due_on <= today + timedelta(days=RESCHEDULE_AHEAD_DAYS):
        raise InvalidInput({"due_on": "Choisissez une échéance entre il y a un an et dans cinq ans."})
    with db.write() as session:
        task, plan = _load(session, audit, actor, task_id, "eparcours.task.scheduled")
        _check_version(session, task, version)
        if task.status in TERMINAL:
            raise TransitionRefused(f"Une tâche {LABELS[task.status].lower()} est close : elle ne peut plus être replanifiée.")
        _claim(session, task, version)
        session.add(event(plan.id, task.id, actor, "scheduled", detail={  # type: ignore[arg-type]
            "from": task.due_on.isoformat(), "to": due_on.isoformat()}))
        step = definition_of(plan).step(task.step_id)
        latest_on = scheduling.planned(step, task.occurrence, due_on, task.owner_id).latest_on if step else \
            due_on + (task.latest_on - task.due_on)
        task.due_on, task.latest_on = due_on, latest_on
        session.add(task)
        audit.write_in(session, "eparcours.task.scheduled", patient_ins=plan.patient_ins,
                       resource=f"eparcours_task/{task.id}", details={"due_on": due_on.isoformat()})


def add_note(db: Database, audit: Auditor, actor: Actor, task_id: int, note: str) -> None:
    """Append a note to the task's timeline (notes never overwrite anything, so no version is asked)."""
    text = _clean(note, MAX_NOTE)
    if not text:
        raise InvalidInput({"note": "La note est vide."})
    with db.write() as session:
        task, plan = _load(session, audit, actor, task_id, "eparcours.task.note")
        session.add(event(plan.id, task.id, actor, "note", note=text))  # type: ignore[arg-type]
        audit.write_in(session, "eparcours.task.note", patient_ins=plan.patient_ins, resource=f"eparcours_task/{task.id}")


def _load(session: Session, audit: Auditor, actor: Actor, task_id: int, action: str) -> tuple[Task, CarePlan]:
    task = session.get(Task, task_id)
    plan = session.get(CarePlan, task.care_plan_id) if task is not None else None
    if task is None or plan is None:
        raise NotFound(task_id)
    require_member(session, audit, actor, plan, action)
    return task, plan


def _check_version(session: Session, task: Task, version: int) -> None:
    if task.version != version:
        _conflict(session, task)


def _claim(session: Session, task: Task, version: int) -> None:
    """Bump the task's version if it is still `version`; else raise TaskConflict (nothing written).

    The conditional UPDATE also locks the row until commit, so a change racing this one waits,
    then finds the version moved on.
    """
    claimed = session.execute(update(Task).where(col(Task.id) == task.id, col(Task.version) == version)
                              .values(version=version + 1, updated_at=utcnow())
                              .execution_options(synchronize_session=False)).rowcount
    session.refresh(task)
    if claimed != 1:
        _conflict(session, task)


def _conflict(session: Session, task: Task) -> None:
    last = session.exec(select(TaskEvent).where(TaskEvent.task_id == task.id)
                        .order_by(col(TaskEvent.at).desc(), col(TaskEvent.id).desc())).first()
    # A detached copy: the rollback that follows expires the session's own objects.
    raise TaskConflict(Task(**task.model_dump()), last.actor_label if last else None,
                       last.at if last else task.updated_at)


def _completion(definition: PathwayDefinition, task: Task, form: Mapping[str, str], performed_on: date | None,
                today: date) -> tuple[dict, date]:
    step = definition.step(task.step_id)
    values, problems = records.parse(step.records if step else (), form, today=today)
    errors = {records.PREFIX + record_id: message for record_id, message in problems.items()}  # per form field
    performed_on = performed_on or today
    if performed_on > today:
        errors["performed_on"] = "La date de réalisation ne peut pas être dans le futur."
    if errors:
        raise InvalidInput(errors)
    return values, performed_on


def _status_detail(definition: PathwayDefinition, task: Task, status: str, values: dict, performed_on: date | None) -> dict:
    if status != TaskStatus.COMPLETED:
        return {}
    step = definition.step(task.step_id)
    shown = {field.label: records.shown(field, values.get(field.id)) for field in (step.records if step else ())
             if field.id in values}
    return {"values": shown, "performed_on": performed_on.isoformat() if performed_on else None}


def _follow_ups(session: Session, actor: Actor, plan: CarePlan, definition: PathwayDefinition, task: Task) -> list[Task]:
    members = session.exec(select(CareTeamMember).where(CareTeamMember.care_plan_id == plan.id)
                           .order_by(CareTeamMember.id)).all()
    owners: dict[str, int | None] = {}
    for member in members:
        owners.setdefault(member.role, member.account_id)
    owners[task.role] = task.owner_id or owners.get(task.role)  # whoever did it keeps the next one
    done_before = session.exec(select(func.count()).select_from(Task).where(
        Task.care_plan_id == plan.id, Task.step_id == task.step_id, Task.status == TaskStatus.COMPLETED,
        Task.id != task.id)).one()
    created = []
    assert task.performed_on is not None
    for planned in scheduling.after_completion(definition, task.step_id, task.occurrence, task.performed_on,
                                               owners, first_done=done_before == 0):
        follow = new_task(plan.id, planned)  # type: ignore[arg-type]
        session.add(follow)
        session.flush()
        session.add(event(plan.id, follow.id, actor, "created", to_status=follow.status,  # type: ignore[arg-type]
                          detail={"title": follow.title, "due_on": follow.due_on.isoformat(),
                                  "after": task.title, "occurrence": follow.occurrence}))
        created.append(follow)
    return created


def _clean(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    text = text.strip()
    return text[:limit] or None


@dataclass(frozen=True)
class TaskRow:
    """One line of « Mes tâches »."""

    task: Task
    plan: CarePlan
    overdue: bool


def assigned_to(db: Database, audit: Auditor, actor: Actor, *, status: str = "open", pathway: str = "",
                overdue_only: bool = False) -> list[TaskRow]:
    """The tasks owned by the actor's principal across patients, by due date.

    `status` is "open" (every non-closed status), "all", or one FHIR status. Each patient shown
    is audited once as "eparcours.tasks.listed".
    """
    today = clock.today()
    query = (select(Task, CarePlan).join(CarePlan, col(CarePlan.id) == Task.care_plan_id)
             .where(Task.owner_id == actor.principal_id))
    if status == "open":
        query = query.where(col(Task.status).in_(OPEN))
    elif status != "all":
        query = query.where(Task.status == status)
    if pathway:
        query = query.where(CarePlan.pathway_id == pathway)
    if overdue_only:
        query = query.where(col(Task.status).in_(OPEN), Task.latest_on < today)
    with db.write() as session:
        rows = [TaskRow(task, plan, task.status in OPEN and task.latest_on < today)
                for task, plan in session.exec(query.order_by(Task.due_on, Task.id)).all()]
        for ins in sorted({row.plan.patient_ins for row in rows}):
            audit.write_in(session, "eparcours.tasks.listed", patient_ins=ins, resource="eparcours_task",
                           details={"owner": actor.principal_id})
        return rows


def to_assign(db: Database, audit: Auditor, actor: Actor, *, pathway: str = "", overdue_only: bool = False) -> list[TaskRow]:
    """Open tasks nobody holds (their role is unfilled) in the plans the actor's principal coordinates.

    They are the coordinator's to assign: « Mes tâches » lists them apart. Each patient shown is
    audited once as "eparcours.tasks.listed".
    """
    today = clock.today()
    coordinated = select(CareTeamMember.care_plan_id).where(CareTeamMember.account_id == actor.principal_id,
                                                            CareTeamMember.role == COORDINATOR)
    query = (select(Task, CarePlan).join(CarePlan, col(CarePlan.id) == Task.care_plan_id)
             .where(col(Task.owner_id).is_(None), col(Task.status).in_(OPEN), col(CarePlan.id).in_(coordinated),
                    col(CarePlan.status).in_(("active", "on-hold"))))
    if pathway:
        query = query.where(CarePlan.pathway_id == pathway)
    if overdue_only:
        query = query.where(Task.latest_on < today)
    with db.write() as session:
        rows = [TaskRow(task, plan, task.latest_on < today)
                for task, plan in session.exec(query.order_by(Task.due_on, Task.id)).all()]
        for ins in sorted({row.plan.patient_ins for row in rows}):
            audit.write_in(session, "eparcours.tasks.listed", patient_ins=ins, resource="eparcours_task",
                           details={"unassigned_in_plans_of": actor.principal_id})
        return rows


def pathways_of_owner(db: Database, actor: Actor) -> list[tuple[str, str]]:
    """(pathway id, title) of the plans where the actor's principal owns tasks, for the filter."""
    with db.session() as session:
        rows = session.exec(select(CarePlan.pathway_id, CarePlan.pathway_title)
                            .join(Task, col(Task.care_plan_id) == CarePlan.id)
                            .where(Task.owner_id == actor.principal_id).distinct()).all()
    return sorted({(pid, title) for pid, title in rows}, key=lambda item: item[1])
