"""Reading a CDS Hooks 2.0 `patient-view` request: the hook, its context, and the prefetched FHIR R4
Patient (INS identifier, birthDate, gender), Immunization / Procedure bundles and the Condition
bundle (the problem list, mapped by `conditions.py`).

Anything malformed raises `CdsRequestError` with the JSON path of the offending field and a
French reason, answered as 400. Resources Bouquet has no use for (a vaccine it does not know, an
act not completed, a date known only to the year) are skipped, not refused: they are valid FHIR.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bouquet.api.patient import OID_LABELS, Ins, InsError
from bouquet_prevention.catalogue import Catalogue
from bouquet_prevention.conditions import reported_of_fhir
from bouquet_prevention.engine import Act, PatientFacts
from bouquet_prevention.pregnancy import Reported

__all__ = ["HOOK", "PREFETCH", "CdsRequestError", "PatientView", "parse_patient_view"]

HOOK = "patient-view"
#: The prefetch templates the service asks for (its discovery document).
PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "immunizations": "Immunization?patient={{context.patientId}}&status=completed",
    "procedures": "Procedure?patient={{context.patientId}}&status=completed",
    "conditions": "Condition?patient={{context.patientId}}&clinical-status=active",
}
_GENDERS = {"male": "M", "female": "F"}
# FHIR date / dateTime: a full day is needed; a year or a month alone is skipped.
_FHIR_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))?)?)?$")


class CdsRequestError(ValueError):
    """The request is malformed: `field` is the JSON path at fault, `reason` says what is wrong (French)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason

    def as_json(self) -> dict[str, str]:
        return {"error": "invalid_request", "field": self.field, "reason": self.reason}


@dataclass(frozen=True)
class PatientView:
    """What a valid patient-view request tells: who asks, about whom, and the acts it carries."""

    hook_instance: str
    user_id: str
    patient_id: str
    ins: Ins
    facts: PatientFacts
    acts: list[Act] = field(default_factory=list)
    skipped: int = 0
    #: What the prefetched problem list says, with a pregnancy Condition's onset (its start): resolved
    #: with Bouquet's declarations on the evaluation day (`pregnancy.resolve`).
    reported: Reported = Reported()

    @property
    def patient_ins(self) -> str:
        return f"{self.ins.oid}|{self.ins.matricule}"


def parse_patient_view(body: Any, catalogue: Catalogue) -> PatientView:
    """Validate a patient-view request body; CdsRequestError names the first problem."""
    if not isinstance(body, dict):
        raise CdsRequestError("(body)", "Le corps de la requête doit être un objet JSON.")
    hook = _string(body, "hook", "hook")
    if hook != HOOK:
        raise CdsRequestError("hook", f"Ce service répond au hook « {HOOK} » (reçu « {hook[:60]} »).")
    hook_instance = _string(body, "hookInstance", "hookInstance")
    try:
        uuid.UUID(hook_instance)
    except ValueError:
        raise CdsRequestError("hookInstance", "hookInstance doit être un UUID.") from None
    context = body.get("context")
    if not isinstance(context, dict):
        raise CdsRequestError("context", "Le champ « context » (objet) est obligatoire.")
    patient_id = _string(context, "patientId", "context.patientId")
    user_id = _string(context, "userId", "context.userId")
    prefetch = body.get("prefetch")
    if prefetch is not None and not isinstance(prefetch, dict):
        raise CdsRequestError("prefetch", "Le champ « prefetch » doit être un objet.")
    prefetch = prefetch or {}
    patient = prefetch.get("patient")
    if patient is None:
        raise CdsRequestError("prefetch.patient", "La ressource Patient préchargée est obligatoire "
                                                  "(ce service n'interroge pas le serveur FHIR du client).")
    ins, facts = _patient(patient, patient_id)
    acts: list[Act] = []
    skipped = 0
    for key, resource_type in (("immunizations", "Immunization"), ("procedures", "Procedure")):
        found, ignored = _bundle_acts(prefetch.get(key), f"prefetch.{key}", resource_type, catalogue)
        acts += found
        skipped += ignored
    reported = reported_of_fhir(_bundle_resources(prefetch.get("conditions"), "prefetch.conditions", "Condition"))
    if reported.codes:
        facts = PatientFacts(facts.birth_date, facts.sex, reported.codes)
    return PatientView(hook_instance, user_id, patient_id, ins, facts, acts, skipped, reported)


def _bundle_resources(bundle: Any, path: str, resource_type: str) -> list[dict[str, Any]]:
    """The resources of type `resource_type` in a prefetched search Bundle (None: none); 400 if malformed."""
    if bundle is None:
        return []
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise CdsRequestError(f"{path}.resourceType", "Un Bundle FHIR (searchset) est attendu.")
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise CdsRequestError(f"{path}.entry", "« entry » doit être une liste.")
    resources = []
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise CdsRequestError(f"{path}.entry[{index}].resource", "Chaque entrée doit contenir une ressource FHIR.")
        if resource["resourceType"] == resource_type:
            resources.append(resource)
        elif resource["resourceType"] != "OperationOutcome":
            raise CdsRequestError(f"{path}.entry[{index}].resource.resourceType",
                                  f"Une ressource {resource_type} est attendue.")
    return resources


def _string(container: dict[str, Any], key: str, path: str) -> str:
    value = container.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CdsRequestError(path, f"Le champ « {key} » (chaîne non vide) est obligatoire.")
    return value.strip()


def _patient(resource: Any, patient_id: str) -> tuple[Ins, PatientFacts]:
    path = "prefetch.patient"
    if not isinstance(resource, dict) or resource.get("resourceType") != "Patient":
        raise CdsRequestError(f"{path}.resourceType", "Une ressource FHIR « Patient » est attendue.")
    if "id" in resource and resource["id"] != patient_id:
        raise CdsRequestError(f"{path}.id", "L'id du Patient ne correspond pas à context.patientId.")
    birth = resource.get("birthDate")
    try:
        born = _day(birth) if isinstance(birth, str) else None
    except ValueError:
        born = None
    if born is None:
        raise CdsRequestError(f"{path}.birthDate", "La date de naissance complète (AAAA-MM-JJ) est obligatoire.")
    gender = resource.get("gender")
    if gender is not None and gender not in {"male", "female", "other", "unknown"}:
        raise CdsRequestError(f"{path}.gender", "gender doit valoir male, female, other ou unknown.")
    sex = _GENDERS.get(gender) if isinstance(gender, str) else None
    ins = _ins(resource.get("identifier"), path)
    if sex is not None and ins.sex_code != sex:
        raise CdsRequestError(f"{path}.gender", "Le sexe ne correspond pas à celui du matricule INS.")
    if ins.birth_year_2d != born.year % 100 or (ins.birth_month is not None and ins.birth_month != born.month):
        raise CdsRequestError(f"{path}.birthDate", "La date de naissance ne correspond pas au matricule INS.")
    return ins, PatientFacts(born, sex)


def _ins(identifiers: Any, path: str) -> Ins:
    if not isinstance(identifiers, list):
        raise CdsRequestError(f"{path}.identifier", "Le Patient doit porter son INS dans « identifier ».")
    for index, identifier in enumerate(identifiers):
        system = identifier.get("system") if isinstance(identifier, dict) else None
        if not isinstance(system, str) or system.removeprefix("urn:oid:") not in OID_LABELS:
            continue
        try:
            return Ins.parse(identifier.get("value"), system)
        except InsError as exc:
            raise CdsRequestError(f"{path}.identifier[{index}].value", exc.message) from None
    raise CdsRequestError(f"{path}.identifier", "Aucun identifiant INS (system urn:oid:1.2.250.1.213.1.4.8, "
                                                ".9, .10 ou .11) sur le Patient.")


def _bundle_acts(bundle: Any, path: str, resource_type: str, catalogue: Catalogue) -> tuple[list[Act], int]:
    if bundle is None:
        return [], 0
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise CdsRequestError(f"{path}.resourceType", "Un Bundle FHIR (searchset) est attendu.")
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise CdsRequestError(f"{path}.entry", "« entry » doit être une liste.")
    acts, skipped = [], 0
    for index, entry in enumerate(entries):
        where = f"{path}.entry[{index}].resource"
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise CdsRequestError(where, "Chaque entrée doit contenir une ressource FHIR.")
        if resource["resourceType"] == "OperationOutcome":
            continue  # search bundles may carry warnings
        if resource["resourceType"] != resource_type:
            raise CdsRequestError(f"{where}.resourceType", f"Une ressource {resource_type} est attendue.")
        act = _act(resource, where, resource_type, catalogue)
        if act is None:
            skipped += 1
        else:
            acts.append(act)
    return acts, skipped


def _act(resource: dict[str, Any], where: str, resource_type: str, catalogue: Catalogue) -> Act | None:
    if resource.get("status") != "completed":
        return None
    code_key = "vaccineCode" if resource_type == "Immunization" else "code"
    concept = resource.get(code_key)
    codings = concept.get("coding") if isinstance(concept, dict) else None
    if not isinstance(codings, list):
        raise CdsRequestError(f"{where}.{code_key}.coding", "Un CodeableConcept avec « coding » est attendu.")
    act_code = next((code for coding in codings if isinstance(coding, dict)
                     and (code := catalogue.act_for_coding(coding.get("system"), coding.get("code")))), None)
    if act_code is None:
        return None
    if resource_type == "Immunization":
        value, field_name = resource.get("occurrenceDateTime"), "occurrenceDateTime"
    else:
        period = resource.get("performedPeriod")
        value, field_name = resource.get("performedDateTime"), "performedDateTime"
        if value is None and isinstance(period, dict):
            value, field_name = period.get("end") or period.get("start"), "performedPeriod"
    if value is None:
        return None  # occurrenceString and the like: no usable date
    invalid = CdsRequestError(f"{where}.{field_name}", "Date FHIR invalide (attendu AAAA-MM-JJ ou dateTime).")
    if not isinstance(value, str):
        raise invalid
    try:
        day = _day(value)
    except ValueError:
        raise invalid from None
    return Act(act_code, day) if day is not None else None


def _day(value: str) -> date | None:
    """The calendar day of a FHIR date or dateTime, None when only the year or month is known;
    ValueError for anything that is not a FHIR date (including 2023-02-30)."""
    match = _FHIR_DATE.match(value)
    if match is None:
        raise ValueError(value)
    if match.group(3) is None:
        return None
    return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
