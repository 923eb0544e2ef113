"""A care plan as FHIR R4: a `collection` Bundle of Patient, Practitioner, Consent, CareTeam, CarePlan and Task.

Resources reference each other by `urn:uuid:` full URLs, stable for a given portal and plan. The
patient is the FR Core-shaped Patient the core builds from the INS traits; professionals are
identified by their IdNat_PS. The bundle is checked against the `fhir.resources` R4B models
(R4B keeps R4's CarePlan, CareTeam, Consent and Task), and the codes of required bindings
(statuses, intents) are checked too: `bundle` raises `pydantic.ValidationError` or `ValueError`
rather than hand out an invalid resource.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from bouquet.api.accounts import Account
from bouquet.api.db import utcnow
from bouquet_eparcours import records
from bouquet_eparcours.care_plans import CONSENT_METHODS, PlanView, patient_of
from bouquet_eparcours.definitions import PathwayDefinition, RecordField
from bouquet_eparcours.plan_lifecycle import WITHDRAWAL_METHODS
from bouquet_eparcours.models import Task
from bouquet_eparcours.statuses import TaskStatus

#: The ANS OID of the IdNat_PS (national identifier of health professionals).
IDNAT_PS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"
# FHIR CarePlan statuses a plan may carry as they are; anything else is reported as "unknown".
_CAREPLAN_STATUSES = {"draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"}
_CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
_LOINC = "http://loinc.org"


def bundle(plan_view: PlanView, base_url: str) -> dict[str, Any]:
    """The plan as a validated FHIR R4 Bundle (JSON-ready dict)."""
    plan, definition = plan_view.plan, plan_view.definition
    base = base_url.rstrip("/")
    pathway_uri = f"{base}/p/eparcours/pathways/{definition.id}"  # code systems of roles, steps, records hang under it
    ids = _Ids(base, plan.id)  # type: ignore[arg-type]
    entries: list[dict[str, Any]] = [ids.entry("Patient", "patient", patient_of(plan).to_fhir_patient(f"eparcours-{plan.id}"))]
    for account in sorted(plan_view.accounts.values(), key=lambda a: a.id or 0):
        entries.append(ids.entry("Practitioner", f"account-{account.id}", _practitioner(account)))
    entries.append(ids.entry("Consent", "consent", _consent(plan_view, ids)))
    entries.append(ids.entry("CareTeam", "care-team", _care_team(plan_view, ids, pathway_uri)))
    objectives = (plan.ppcs or {}).get("objectives") or []
    for number, objective in enumerate(objectives, start=1):
        entries.append(ids.entry("Goal", f"goal-{number}", _goal(objective, ids)))
    entries.append(ids.entry("CarePlan", "care-plan", _care_plan(plan_view, ids, pathway_uri)))
    notes = _notes_by_task(plan_view)
    for task in plan_view.tasks:
        entries.append(ids.entry("Task", f"task-{task.id}", _task(task, plan_view, definition, ids, pathway_uri,
                                                                notes.get(task.id, []))))
    data = {"resourceType": "Bundle", "id": f"eparcours-plan-{plan.id}", "type": "collection",
            "timestamp": _instant(utcnow()), "entry": entries}
    Bundle.model_validate(data)
    _check_bindings(entries)
    return data


# The models check structure and types, not the codes of required bindings: these are ours to check.
_REQUIRED_CODES = {
    ("Task", "status"): {s.value for s in TaskStatus},
    ("Task", "intent"): {"unknown", "proposal", "plan", "order", "original-order", "reflex-order", "filler-order",
                         "instance-order", "option"},
    ("Task", "priority"): {"routine", "urgent", "asap", "stat"},
    ("CarePlan", "status"): _CAREPLAN_STATUSES,
    ("CarePlan", "intent"): {"proposal", "plan", "order", "option"},
    ("CareTeam", "status"): {"proposed", "active", "suspended", "inactive", "entered-in-error"},
    ("Consent", "status"): {"draft", "proposed", "active", "rejected", "inactive", "entered-in-error"},
}


def _check_bindings(entries: list[dict[str, Any]]) -> None:
    for entry in entries:
        resource = entry["resource"]
        for (kind, element), codes in _REQUIRED_CODES.items():
            if resource["resourceType"] == kind and element in resource and resource[element] not in codes:
                raise ValueError(f"{kind}.{element} « {resource[element]} » is not in its required value set")


class _Ids:
    """Stable `urn:uuid:` full URLs for the resources of one plan of one portal."""

    def __init__(self, base: str, plan_id: int) -> None:
        self.base, self.plan_id = base, plan_id

    def url(self, key: str) -> str:
        return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.base}/p/eparcours/plans/{self.plan_id}/{key}"))

    def ref(self, key: str, display: str | None = None) -> dict[str, str]:
        return {"reference": self.url(key)} | ({"display": display} if display else {})

    def account(self, account_id: int | None, accounts: dict[int, Account]) -> dict[str, str] | None:
        account = accounts.get(account_id) if account_id is not None else None
        return self.ref(f"account-{account.id}", account.display_name) if account else None

    def entry(self, resource_type: str, key: str, resource: dict[str, Any]) -> dict[str, Any]:
        resource = {"resourceType": resource_type, "id": resource.get("id") or key, **resource}
        return {"fullUrl": self.url(key), "resource": resource}


def _practitioner(account: Account) -> dict[str, Any]:
    practitioner: dict[str, Any] = {"name": [{"family": account.family_name, "given": [account.given_name]}]}
    if account.idnat_ps:
        practitioner["identifier"] = [{"system": IDNAT_PS_SYSTEM, "value": account.idnat_ps}]
    return practitioner


def _consent(plan_view: PlanView, ids: _Ids) -> dict[str, Any]:
    plan = plan_view.plan
    how = CONSENT_METHODS.get(plan.consent_method, plan.consent_method)
    rule = f"Partage des informations au sein de l'équipe de soins du parcours ; consentement recueilli : {how.lower()}."
    consent: dict[str, Any] = {
        "status": "active" if plan.status in ("active", "on-hold") else "inactive",
        "scope": {"coding": [{"system": _CONSENT_SCOPE, "code": "patient-privacy", "display": "Privacy Consent"}]},
        "category": [{"coding": [{"system": _LOINC, "code": "59284-0", "display": "Patient Consent"}]}],
        "patient": ids.ref("patient"),
        "dateTime": plan.consent_date.isoformat(),
        "policyRule": {"text": rule + (f" {plan.consent_note}" if plan.consent_note else "")},
        "provision": {"type": "permit", "actor": [{
            "role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                 "code": "IRCP", "display": "information recipient"}]},
            "reference": ids.ref("care-team")}]},
    }
    if plan.consent_withdrawn_on:  # withdrawn: no longer in force, and the permission ends that day
        how = WITHDRAWAL_METHODS.get(plan.consent_withdrawal_method or "", plan.consent_withdrawal_method or "")
        consent["policyRule"]["text"] += (f" Consentement retiré le {plan.consent_withdrawn_on.strftime('%d/%m/%Y')} "
                                          f"({how.lower()}).")
        consent["provision"]["period"] = {"start": plan.consent_date.isoformat(),
                                          "end": plan.consent_withdrawn_on.isoformat()}
    return consent


def _care_team(plan_view: PlanView, ids: _Ids, pathway_uri: str) -> dict[str, Any]:
    participants = []
    for member in plan_view.members:
        reference = ids.account(member.account_id, plan_view.accounts)
        if reference is None:
            continue
        participants.append({"role": [{"coding": [{"system": f"{pathway_uri}/roles", "code": member.role,
                                                   "display": member.role_label}], "text": member.role_label}],
                             "member": reference, "period": {"start": _instant(member.added_at)}})
    return {"status": "active" if plan_view.plan.status in ("active", "on-hold") else "inactive",
            "name": f"Équipe de soins — {plan_view.plan.pathway_title}", "subject": ids.ref("patient"),
            "period": {"start": plan_view.plan.reference_date.isoformat()}, "participant": participants}


def _care_plan(plan_view: PlanView, ids: _Ids, pathway_uri: str) -> dict[str, Any]:
    plan = plan_view.plan
    care_plan: dict[str, Any] = {
        "instantiatesUri": [f"{pathway_uri}|{plan.pathway_version}"],
        "status": plan.status if plan.status in _CAREPLAN_STATUSES else "unknown",
        "intent": "plan",
        "title": plan.pathway_title,
        "subject": ids.ref("patient"),
        "period": {"start": plan.reference_date.isoformat()} | (
            {"end": plan.ended_on.isoformat()} if plan.ended_on else {}),
        "created": _instant(plan.included_at),
        "careTeam": [ids.ref("care-team")],
        "supportingInfo": [ids.ref("consent")],
        "activity": [{"reference": ids.ref(f"task-{task.id}", task.title)} for task in plan_view.tasks],
    }
    author = ids.account(plan.included_by_id, plan_view.accounts)
    if author:
        care_plan["author"] = author
    if plan_view.definition.description:
        care_plan["description"] = plan_view.definition.description
    _ppcs_into(care_plan, plan.ppcs or {}, ids)
    why = {"on-hold": "Parcours suspendu", "completed": "Parcours terminé", "revoked": "Parcours arrêté"}.get(plan.status)
    if why and plan.status_reason:
        care_plan["note"] = care_plan.get("note", []) + [{"text": f"{why} : {plan.status_reason}"}]
    return care_plan


_DOMAINS = {"sante": "Santé", "social": "Social", "medico-social": "Médico-social"}


def _goal(objective: dict[str, Any], ids: _Ids) -> dict[str, Any]:
    """A PPCS objective as a FHIR Goal, its domain as the category."""
    domain = _DOMAINS.get(objective.get("domain", ""), objective.get("domain", ""))
    return {"lifecycleStatus": "active", "description": {"text": objective.get("title", "")},
            "category": [{"text": domain}], "subject": ids.ref("patient")}


def _ppcs_into(care_plan: dict[str, Any], ppcs: dict[str, Any], ids: _Ids) -> None:
    """The PPCS in the CarePlan: goals, the actions as planned activities, the person's project, problems, re-evaluation."""
    objectives = ppcs.get("objectives") or []
    if objectives:
        care_plan["goal"] = [ids.ref(f"goal-{n}", o.get("title")) for n, o in enumerate(objectives, start=1)]
        care_plan["activity"] += [
            {"detail": {"status": "not-started", "description": action, "goal": [ids.ref(f"goal-{n}")],
                        "kind": "Task"}}
            for n, objective in enumerate(objectives, start=1) for action in objective.get("actions") or []]
    notes = []
    if ppcs.get("project"):
        notes.append(f"Projet de la personne : {ppcs['project']}")
    if ppcs.get("preferences"):
        notes.append(f"Choix et préférences : {ppcs['preferences']}")
    if ppcs.get("problems"):
        notes.append("Problèmes et besoins, par priorité : " + " ; ".join(
            f"{n}. {p}" for n, p in enumerate(ppcs["problems"], start=1)))
    for key, label in (("medical", "médicale"), ("psychological", "psychologique"), ("social", "sociale"),
                       ("environmental", "environnementale")):
        if (ppcs.get("assessment") or {}).get(key):
            notes.append(f"Évaluation {label} : {ppcs['assessment'][key]}")
    if ppcs.get("follow_up"):
        notes.append(f"Suivi : {ppcs['follow_up']}")
    if ppcs.get("reevaluation_on"):
        notes.append(f"Réévaluation prévue le {ppcs['reevaluation_on']}")
    if notes:
        care_plan["note"] = [{"text": text} for text in notes] + care_plan.get("note", [])


def _task(task: Task, plan_view: PlanView, definition: PathwayDefinition, ids: _Ids, pathway_uri: str,
          notes: list[dict[str, Any]]) -> dict[str, Any]:
    step = definition.step(task.step_id)
    resource: dict[str, Any] = {
        "instantiatesUri": f"{pathway_uri}|{plan_view.plan.pathway_version}",
        "basedOn": [ids.ref("care-plan")],
        "status": task.status,
        "intent": "plan",
        "priority": "routine",
        "code": {"coding": [{"system": f"{pathway_uri}/steps", "code": task.step_id, "display": task.title}],
                 "text": task.title},
        "description": (step.description if step and step.description else task.title),
        "for": ids.ref("patient"),
        "authoredOn": _instant(task.created_at),
        "lastModified": _instant(max(task.updated_at, task.created_at)),
        "restriction": {"period": {"start": task.due_on.isoformat(), "end": task.latest_on.isoformat()}},
    }
    requester = ids.account(plan_view.plan.included_by_id, plan_view.accounts)
    if requester:
        resource["requester"] = requester
    owner = ids.account(task.owner_id, plan_view.accounts)
    if owner:
        resource["owner"] = owner
    if task.status_reason:
        resource["statusReason"] = {"text": task.status_reason}
    if task.performed_on:
        resource["executionPeriod"] = {"end": task.performed_on.isoformat()}
    if notes:
        resource["note"] = notes
    outputs = [_output(field, task.outputs[field.id], pathway_uri) for field in (step.records if step else ())
               if field.id in task.outputs]
    if outputs:
        resource["output"] = outputs
    return resource


def _output(field: RecordField, value: Any, pathway_uri: str) -> dict[str, Any]:
    output: dict[str, Any] = {"type": {"coding": [{"system": f"{pathway_uri}/records", "code": field.id,
                                                   "display": field.label}], "text": field.label}}
    if field.kind == "quantity":
        output["valueQuantity"] = {"value": value} | ({"unit": field.unit} if field.unit else {})
    elif field.kind == "date":
        output["valueDate"] = value
    elif field.kind == "boolean":
        output["valueBoolean"] = bool(value)
    elif field.kind == "choice":
        output["valueCodeableConcept"] = {"coding": [{"system": f"{pathway_uri}/records/{field.id}", "code": value,
                                                      "display": records.shown(field, value)}],
                                          "text": records.shown(field, value)}
    else:
        output["valueString"] = str(value)
    return output


def _notes_by_task(plan_view: PlanView) -> dict[int, list[dict[str, Any]]]:
    notes: dict[int, list[dict[str, Any]]] = {}
    for line in sorted(plan_view.events, key=lambda e: (e.at, e.id or 0)):
        if line.kind == "note" and line.task_id is not None and line.note:
            author = line.actor_label + (f" pour {line.acting_for_label}" if line.acting_for_label else "")
            notes.setdefault(line.task_id, []).append({"authorString": author, "time": _instant(line.at), "text": line.note})
    return notes


def _instant(moment: datetime) -> str:
    return moment.isoformat()
