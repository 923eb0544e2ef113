"""The care team after inclusion: adding and removing members, changing the coordinator or the médecin traitant.

Only the coordinator (or their secretary) changes the team. `coordinator` and `medecin-traitant`
are held by one person at a time: naming someone else replaces the holder. The open tasks of a
person who leaves the team go back to the coordinator, who reassigns them; a coordinator leaves
only by naming another. Every change writes the timeline and the audit trail in one transaction.
Blocking: call with `await ctx.db.run(...)`.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from bouquet.api.accounts import Account
from bouquet.api.audit import Auditor
from bouquet.api.db import Database, utcnow
from bouquet_eparcours.actors import Actor
from bouquet_eparcours.care_plans import NotFound, definition_of, event
from bouquet_eparcours.definitions import COORDINATOR
from bouquet_eparcours.models import CarePlan, CareTeamMember, Task
from bouquet_eparcours.plan_lifecycle import ENDED, InvalidPlanChange, PlanChangeRefused, require_coordinator
from bouquet_eparcours.statuses import OPEN

#: Roles one person holds at a time: naming another replaces them.
SINGLE_HOLDER = frozenset({COORDINATOR, "medecin-traitant"})


def add_member(db: Database, audit: Auditor, actor: Actor, plan_id: int, *, role_id: str,
               account_id: int | None) -> None:
    """Give `role_id` to `account_id` (replacing the holder of a single-holder role).

    Raises InvalidPlanChange (unknown role, person who may not hold it), PlanChangeRefused (plan
    ended, already holds it), PlanForbidden. Audited as "eparcours.team.added".
    """
    with db.write() as session:
        plan = _open_plan(session, plan_id)
        require_coordinator(session, audit, actor, plan, "eparcours.team.added")
        role = definition_of(plan).role(role_id)
        errors = {}
        if role is None:
            errors["role"] = "Choisissez un rôle de l'équipe de soins de ce parcours."
        account = session.get(Account, account_id) if account_id else None
        if account is None or not account.active or account.kind not in ("professional", "coordination"):
            errors["account"] = "Choisissez une personne dont le compte est actif."
        elif role is not None and not role.admits(account):
            errors["account"] = (f"{account.display_name} ({account.profession_label or 'profession inconnue'}) "
                                 f"ne peut pas tenir le rôle « {role.label} ».")
        if errors:
            raise InvalidPlanChange(errors)
        assert role is not None and account is not None
        holders = list(session.exec(select(CareTeamMember).where(CareTeamMember.care_plan_id == plan.id,
                                                                 CareTeamMember.role == role.id)).all())
        if any(member.account_id == account.id for member in holders):
            raise PlanChangeRefused(f"{account.display_name} tient déjà le rôle « {role.label} ».")
        session.add(CareTeamMember(care_plan_id=plan.id, account_id=account.id, role=role.id,  # type: ignore[arg-type]
                                   role_label=role.label, added_by_id=actor.principal_id))
        replaced = holders if role.id in SINGLE_HOLDER else []
        for member in replaced:
            session.delete(member)
        session.flush()
        moved = 0
        for member in replaced:  # the role's steps follow the role; anything else of theirs goes to the coordinator
            moved += _move(session, actor, plan, member.account_id, account.id, role_id=role.id)  # type: ignore[arg-type]
            moved += _give_back(session, actor, plan, member.account_id)
        if role.id != COORDINATOR:  # steps of the role that waited for someone now have an owner
            moved += _move(session, actor, plan, None, account.id, role_id=role.id)  # type: ignore[arg-type]
        names = _names(session, {m.account_id for m in replaced})
        session.add(event(plan.id, None, actor, "team", detail={  # type: ignore[arg-type]
            "role": role.label, "added": account.display_name, "replaced": [names[m.account_id] for m in replaced],
            "tasks_moved": moved}))
        audit.write_in(session, "eparcours.team.added", patient_ins=plan.patient_ins,
                       resource=f"eparcours_care_plan/{plan.id}",
                       details={"role": role.id, "account": account.id, "replaced": [m.account_id for m in replaced]})


def remove_member(db: Database, audit: Auditor, actor: Actor, plan_id: int, member_id: int) -> int:
    """Take a member off the team; their open tasks go back to the coordinator (count returned).

    The coordinator is never removed this way (name another coordinator instead). Audited as
    "eparcours.team.removed".
    """
    with db.write() as session:
        plan = _open_plan(session, plan_id)
        require_coordinator(session, audit, actor, plan, "eparcours.team.removed")
        member = session.get(CareTeamMember, member_id)
        if member is None or member.care_plan_id != plan.id:
            raise NotFound(member_id)
        if member.role == COORDINATOR:
            raise PlanChangeRefused("Le coordinateur ne peut pas être retiré : désignez d'abord un autre coordinateur.")
        session.delete(member)
        session.flush()
        moved = _give_back(session, actor, plan, member.account_id)
        name = _names(session, {member.account_id}).get(member.account_id, "")
        session.add(event(plan.id, None, actor, "team", detail={  # type: ignore[arg-type]
            "role": member.role_label, "removed": name, "tasks_moved": moved}))
        audit.write_in(session, "eparcours.team.removed", patient_ins=plan.patient_ins,
                       resource=f"eparcours_care_plan/{plan.id}",
                       details={"role": member.role, "account": member.account_id, "tasks_moved": moved})
        return moved


def _open_plan(session: Session, plan_id: int) -> CarePlan:
    plan = session.get(CarePlan, plan_id)
    if plan is None:
        raise NotFound(plan_id)
    if plan.status in ENDED:
        raise PlanChangeRefused("Ce parcours est terminé : son équipe de soins ne change plus.")
    return plan


def coordinator_id(session: Session, plan_id: int) -> int | None:
    member = session.exec(select(CareTeamMember).where(CareTeamMember.care_plan_id == plan_id,
                                                       CareTeamMember.role == COORDINATOR)).first()
    return member.account_id if member else None


def _give_back(session: Session, actor: Actor, plan: CarePlan, leaving_id: int) -> int:
    """The open tasks of someone no longer in the team go to the coordinator."""
    still_member = session.exec(select(CareTeamMember.id).where(CareTeamMember.care_plan_id == plan.id,
                                                                CareTeamMember.account_id == leaving_id)).first()
    if still_member is not None:  # they keep another role in the team: their tasks stay theirs
        return 0
    return _move(session, actor, plan, leaving_id, coordinator_id(session, plan.id))  # type: ignore[arg-type]


def _move(session: Session, actor: Actor, plan: CarePlan, from_id: int | None, to_id: int | None, *,
          role_id: str | None = None) -> int:
    """Give the open tasks owned by `from_id` (None: nobody) — of `role_id` only, when given — to `to_id`."""
    query = select(Task).where(Task.care_plan_id == plan.id, col(Task.status).in_(OPEN),
                               col(Task.owner_id).is_(None) if from_id is None else Task.owner_id == from_id)
    if role_id is not None:
        query = query.where(Task.role == role_id)
    tasks = session.exec(query).all()
    names = _names(session, {from_id, to_id} - {None})  # type: ignore[arg-type]
    for task in tasks:
        session.add(event(plan.id, task.id, actor, "assigned", detail={  # type: ignore[arg-type]
            "from": names.get(from_id, "personne"), "to": names.get(to_id, "personne")}))  # type: ignore[arg-type]
        task.owner_id, task.version, task.updated_at = to_id, task.version + 1, utcnow()
        session.add(task)
    return len(tasks)


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {a.id: a.display_name for a in session.exec(select(Account).where(col(Account.id).in_(ids))).all()}  # type: ignore[misc]
