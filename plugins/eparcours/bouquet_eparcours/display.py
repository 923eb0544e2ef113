"""How e-parcours data reads on screen, in French: dates, statuses, timeline lines, patients.

Templates receive this module as `ep.fmt`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from bouquet.api.patient import PatientContext
from bouquet_eparcours.care_plans import CONSENT_METHODS
from bouquet_eparcours.clock import ZONE
from bouquet_eparcours.definitions import (
    INCLUSION,
    REGIONS,
    PathwayDefinition,
    RecordField,
    StepDefinition,
)
from bouquet_eparcours.durations import Duration
from bouquet_eparcours.models import CarePlan, TaskEvent
from bouquet_eparcours.records import shown  # noqa: F401  # templates show recorded values with it
from bouquet_eparcours.statuses import LABELS, TERMINAL, VERBS, TaskStatus

MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")
# DSFR badge colour per status family.
_BADGES = {TaskStatus.COMPLETED: "fr-badge--success", TaskStatus.FAILED: "fr-badge--error",
           TaskStatus.REJECTED: "fr-badge--error", TaskStatus.CANCELLED: "", TaskStatus.ENTERED_IN_ERROR: "",
           TaskStatus.IN_PROGRESS: "fr-badge--info", TaskStatus.ON_HOLD: "fr-badge--warning"}
PLAN_STATUSES = {"active": "En cours", "on-hold": "Suspendu", "completed": "Terminé", "revoked": "Arrêté",
                 "draft": "Brouillon", "entered-in-error": "Saisi par erreur", "unknown": "Inconnu"}


def day(value: date | str | None) -> str:
    """"15/04/2026"."""
    if value is None:
        return "—"
    value = date.fromisoformat(value) if isinstance(value, str) else value
    return value.strftime("%d/%m/%Y")


def long_day(value: date) -> str:
    """"15 avril 2026" ("1er" for the first of the month)."""
    number = "1er" if value.day == 1 else str(value.day)
    return f"{number} {MONTHS[value.month - 1]} {value.year}"


def moment(value: datetime) -> str:
    """"15/04/2026 à 14 h 05", in Paris time."""
    local = value.astimezone(ZONE)
    return f"{local.strftime('%d/%m/%Y')} à {local.hour} h {local.minute:02d}"


def status(code: str) -> str:
    return LABELS.get(code, code)


def verb(code: str) -> str:
    return VERBS.get(code, code)


def badge(code: str) -> str:
    return _BADGES.get(code, "fr-badge--new")


def is_closed(code: str) -> bool:
    return code in TERMINAL


def plan_status(code: str) -> str:
    return PLAN_STATUSES.get(code, code)


def consent(method: str) -> str:
    return CONSENT_METHODS.get(method, method)


def duration(value: Duration | str | None) -> str:
    if value is None:
        return "—"
    return (Duration.parse(value) if isinstance(value, str) else value).label


def regions(codes: list[str] | tuple[str, ...]) -> str:
    return ", ".join(REGIONS.get(code, code) for code in codes)


def patient(plan: CarePlan) -> str:
    """"MARTIN Marie, née le 02/10/1960" (the INS traits kept with the plan)."""
    try:
        person = PatientContext.from_dict(plan.patient)
    except ValueError:
        return "Patient (identité illisible)"
    born = "née" if person.traits.sex.value == "F" else "né"
    return f"{person.display_name}, {born} le {day(person.traits.birth_date)}"


def role_options(definition: PathwayDefinition) -> list[tuple[str, str]]:
    """(role id, label) for each role of the pathway, for the « Ajouter à l'équipe » select."""
    return [(role.id, role.label) for role in definition.roles]


def role_label(plan: CarePlan, role_id: str) -> str:
    """The label of a role as the plan's definition names it."""
    for role in (plan.definition or {}).get("roles", []):
        if role.get("id") == role_id:
            return str(role.get("label", role_id))
    return role_id


def event_line(line: TaskEvent, titles: Mapping[int, str]) -> str:
    """One timeline line as a sentence."""
    title = f"« {titles.get(line.task_id, 'tâche')} »" if line.task_id is not None else ""
    detail = line.detail or {}
    if line.kind == "included":
        return (f"Inclusion dans le parcours « {detail.get('pathway', '')} » (version {detail.get('version', '?')}) ; "
                f"{detail.get('tasks', 0)} tâche(s) planifiée(s). Consentement : {str(detail.get('consent', '')).lower()}.")
    if line.kind == "status":
        sentence = f"{title} : {status(line.from_status or '')} → {status(line.to_status or '')}"
        values = detail.get("values") or {}
        if values:
            sentence += " (" + " ; ".join(f"{label} : {value}" for label, value in values.items()) + ")"
        if detail.get("performed_on"):
            sentence += f", réalisée le {day(detail['performed_on'])}"
        return sentence + "."
    if line.kind == "assigned":
        return f"{title} réattribuée : {detail.get('from', 'personne')} → {detail.get('to', 'personne')}."
    if line.kind == "scheduled":
        return f"{title} replanifiée : échéance du {day(detail.get('from'))} reportée au {day(detail.get('to'))}."
    if line.kind == "created":
        return (f"Étape suivante planifiée : {title} pour le {day(detail.get('due_on'))}"
                f" (après « {detail.get('after', '')} »).")
    if line.kind == "note":
        return f"Note sur {title} : {line.note or ''}" if line.task_id is not None else \
            f"Note au cahier de liaison : {line.note or ''}"
    if line.kind == "plan-status":
        sentence = f"Parcours {plan_status(line.from_status or '').lower()} → {plan_status(line.to_status or '').lower()}"
        if detail.get("reason"):
            sentence += f" (motif : {detail['reason']})"
        return sentence + _closed(detail) + "."
    if line.kind == "consent-withdrawn":
        return (f"Le patient a retiré son consentement le {day(detail.get('on'))} "
                f"({str(detail.get('method', '')).lower()}) : parcours arrêté{_closed(detail)}."
                + (f" {line.note}" if line.note else ""))
    if line.kind == "document":
        return f"Document joint au parcours : « {detail.get('title', '')} »."
    if line.kind == "ppcs":
        return (f"Plan personnalisé de coordination mis à jour : {detail.get('problems', 0)} problème(s) ou besoin(s), "
                f"{detail.get('objectives', 0)} objectif(s).")
    if line.kind == "team":
        if detail.get("removed"):
            sentence = f"{detail['removed']} ne fait plus partie de l'équipe (rôle « {detail.get('role', '')} »)"
        else:
            sentence = f"{detail.get('added', '')} rejoint l'équipe : « {detail.get('role', '')} »"
            if detail.get("replaced"):
                sentence += f", à la place de {', '.join(detail['replaced'])}"
        moved = detail.get("tasks_moved") or 0
        return sentence + (f" ; {moved} tâche(s) réattribuée(s)." if moved else ".")
    return line.kind


def _closed(detail: Mapping[str, Any]) -> str:
    closed = detail.get("closed_tasks") or 0
    return f" ; {closed} tâche(s) en cours close(s)" if closed else ""


def status_options(codes: list[str]) -> list[tuple[str, str]]:
    """(status, what the person does) pairs for the « Que faire de cette étape ? » select, in everyday words."""
    return [(code, verb(code)) for code in codes]


def team_options(view: Any) -> list[tuple[str, str]]:
    """(account id, "Name — role") for each member of a plan's team, for the « Attribuer à » select."""
    options: dict[int, str] = {}
    for member in view.members:
        account = view.accounts.get(member.account_id)
        if account is not None:
            options[member.account_id] = (options[member.account_id] + ", " + member.role_label
                                          if member.account_id in options else f"{account.display_name} — {member.role_label}")
    return [(str(account_id), label) for account_id, label in options.items()]


def pathway_options(offered: list[Any]) -> list[tuple[str, str]]:
    """(pathway id, title) of the catalogue's pathways, for a select."""
    return [(loaded.definition.id, loaded.definition.title) for loaded in offered]


def people_options(accounts: list[Any]) -> list[tuple[str, str]]:
    """(account id, "Name — profession") for the care team selects."""
    return [(str(a.id), a.display_name + (f" — {what}" if (what := _what(a)) else "")) for a in accounts]


def _what(account: Any) -> str:
    """A professional's profession, or a coordination account's role and organisation."""
    if account.kind == "coordination":
        return ", ".join(part for part in (account.coordination_role, account.organisation) if part)
    return account.profession_label or ""


def timing(definition: PathwayDefinition, step: StepDefinition) -> str:
    """When a step falls due, in a sentence: "3 mois après l'inclusion, puis tous les 3 mois"."""
    if step.start.after == INCLUSION:
        anchor = f"la date de référence ({definition.reference_date_label.lower()})"
    else:
        other = definition.step(step.start.after)
        anchor = f"la réalisation de « {other.title if other else step.start.after} »"
    when = f"{step.start.offset.label} après {anchor}" if not step.start.offset.is_zero else f"dès {anchor}"
    if step.recurrence is not None:
        when += f", puis {every(step.recurrence.every)}"
        if step.recurrence.count:
            when += f" ({step.recurrence.count} fois en tout)"
    if step.window is not None:
        when += f" ; en retard au-delà de {step.window.label}"
    return when


def every(period: Duration) -> str:
    """"tous les 3 mois", "tous les ans", "toutes les 2 semaines"."""
    singles = {Duration(years=1): "tous les ans", Duration(months=1): "tous les mois",
               Duration(weeks=1): "toutes les semaines", Duration(days=1): "tous les jours"}
    if period in singles:
        return singles[period]
    only_weeks = period.weeks and not (period.years or period.months or period.days)
    return f"{'toutes' if only_weeks else 'tous'} les {period.label}"


def choices(field: RecordField) -> list[tuple[str, str]]:
    """A choice record's options as (code, label) pairs, for a select."""
    return [(option.code, option.label) for option in field.options]


def who(line: TaskEvent) -> str:
    return line.actor_label + (f" pour {line.acting_for_label}" if line.acting_for_label else "")
