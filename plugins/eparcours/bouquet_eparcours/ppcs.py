"""The plan's structure as the HAS personalised coordination plan (PPCS, 2019).

The HAS « Plan personnalisé de coordination en santé » (model and « mode d'emploi », validated by
the HAS Collège in July 2019) asks for: a referent; a global assessment of the person's situation
(medical, psychological, social and environmental); the person's own project, choices and
preferences; the problems and unmet needs, prioritised; objectives and actions shared by the health,
social and médico-social actors; then follow-up and a re-evaluation date.

`CarePlan.ppcs` holds it as JSON. At inclusion the pathway's `ppcs` template fills what it knows
(problems, objectives with their actions, the re-evaluation delay); the team completes the rest on
the plan page. The referent is the plan's coordinator unless the team names another member.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlmodel import select

from bouquet.api.audit import Auditor
from bouquet.api.db import Database
from bouquet_eparcours import clock
from bouquet_eparcours.actors import Actor
from bouquet_eparcours.care_plans import NotFound, event, require_member
from bouquet_eparcours.definitions import PPCS_ASSESSMENT
from bouquet_eparcours.models import CarePlan, CareTeamMember
from bouquet_eparcours.plan_lifecycle import ENDED, InvalidPlanChange, PlanChangeRefused

ASSESSMENT = PPCS_ASSESSMENT
#: The actors' domains of objectives and actions.
DOMAINS: dict[str, str] = {"sante": "Santé", "social": "Social", "medico-social": "Médico-social"}
MAX_TEXT, MAX_LINES = 2000, 20


def as_form(ppcs: dict[str, Any]) -> dict[str, str]:
    """The PPCS as the plan page's form shows it (lists as one line each; objectives per domain, « objectif : action ; action »)."""
    values = {f"assessment_{key}": (ppcs.get("assessment") or {}).get(key, "") for key in ASSESSMENT}
    values |= {"project": ppcs.get("project", ""), "preferences": ppcs.get("preferences", ""),
               "problems": "\n".join(ppcs.get("problems") or []), "follow_up": ppcs.get("follow_up", ""),
               "reevaluation_on": ppcs.get("reevaluation_on", ""), "referent": str(ppcs.get("referent_id") or "")}
    for domain in DOMAINS:
        values[f"objectives_{domain}"] = "\n".join(
            o["title"] + (" : " + " ; ".join(o["actions"]) if o.get("actions") else "")
            for o in ppcs.get("objectives") or [] if o.get("domain") == domain)
    return values


def update(db: Database, audit: Auditor, actor: Actor, plan_id: int, form: dict[str, str]) -> None:
    """Replace the plan's PPCS with the form's; InvalidPlanChange names every field at fault. Audited."""
    errors: dict[str, str] = {}
    texts = {name: (form.get(name) or "").strip() for name in
             [f"assessment_{k}" for k in ASSESSMENT] + ["project", "preferences", "follow_up"]}
    for name, value in texts.items():
        if len(value) > MAX_TEXT:
            errors[name] = f"{MAX_TEXT} caractères au plus."
    problems = _lines(form.get("problems"), "problems", errors)
    objectives = []
    for domain in DOMAINS:
        for line in _lines(form.get(f"objectives_{domain}"), f"objectives_{domain}", errors):
            title, _, actions = line.partition(":")
            objectives.append({"title": title.strip()[:200], "domain": domain,
                               "actions": [a.strip()[:200] for a in actions.split(";") if a.strip()]})
    reevaluation = (form.get("reevaluation_on") or "").strip()
    if reevaluation:
        try:
            day = date.fromisoformat(reevaluation)
        except ValueError:
            errors["reevaluation_on"] = "Indiquez une date valide."
        else:
            if day < clock.today() or day > clock.today() + timedelta(days=3 * 366):
                errors["reevaluation_on"] = "La réévaluation se prévoit entre aujourd'hui et dans trois ans."
    with db.write() as session:
        plan = session.get(CarePlan, plan_id)
        if plan is None:
            raise NotFound(plan_id)
        require_member(session, audit, actor, plan, "eparcours.ppcs.updated")
        if plan.status in ENDED:
            raise PlanChangeRefused("Ce parcours est terminé : son plan personnalisé ne change plus.")
        referent = int(form["referent"]) if (form.get("referent") or "").isdigit() else None
        if referent is not None and session.exec(select(CareTeamMember.id).where(
                CareTeamMember.care_plan_id == plan.id, CareTeamMember.account_id == referent)).first() is None:
            errors["referent"] = "Le référent est un membre de l'équipe de soins."
        if errors:
            raise InvalidPlanChange(errors)
        plan.ppcs = {"referent_id": referent,
                     "assessment": {key: texts[f"assessment_{key}"] for key in ASSESSMENT},
                     "project": texts["project"], "preferences": texts["preferences"], "problems": problems,
                     "objectives": objectives, "follow_up": texts["follow_up"], "reevaluation_on": reevaluation}
        session.add(plan)
        session.add(event(plan.id, None, actor, "ppcs", detail={  # type: ignore[arg-type]
            "problems": len(problems), "objectives": len(objectives), "reevaluation_on": reevaluation}))
        audit.write_in(session, "eparcours.ppcs.updated", patient_ins=plan.patient_ins,
                       resource=f"eparcours_care_plan/{plan.id}")


def _lines(value: str | None, name: str, errors: dict[str, str]) -> list[str]:
    lines = [line.strip() for line in (value or "").splitlines() if line.strip()]
    if len(lines) > MAX_LINES:
        errors[name] = f"{MAX_LINES} lignes au plus."
    if any(len(line) > 500 for line in lines):
        errors[name] = "Une ligne compte 500 caractères au plus."
    return lines[:MAX_LINES]
