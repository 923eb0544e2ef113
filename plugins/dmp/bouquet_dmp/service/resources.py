"""The FHIR R4 resources the DMP service answers with, built from its rows.

The tests check them against the `fhir.resources` R4B models (and read them with fhirpy); the
service does not validate each answer again on the way out, which would double the cost of a
search (see `docs/benchmarks.md`, section « DMP »), while the client validates every answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fhir.resources.R4B.operationoutcome import OperationOutcome

from bouquet_dmp.codes import (
    CLASS_SYSTEM,
    CLASSES,
    IDNAT_PS_SYSTEM,
    LOINC,
    PROFESSIONS,
    TYPES,
)
from bouquet_dmp.models import DmpAccessEvent, DmpDocument

REFUSAL_SYSTEM = "urn:bouquet:dmp:refusal"
TRANSACTION_SYSTEM = "urn:bouquet:dmp:transaction"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
FHIR_JSON = "application/fhir+json"


def instant(value: datetime) -> str:
    return value.isoformat(timespec="seconds").replace("+00:00", "Z")


def ins_identifier(patient_ins: str) -> dict[str, str]:
    oid, matricule = patient_ins.split("|", 1)
    return {"system": f"urn:oid:{oid}", "value": matricule}


def document_reference(document: DmpDocument, base: str) -> dict[str, Any]:
    """The MHD DocumentReference of `document`; its attachment URL is the Binary to retrieve (ITI-68)."""
    kind = TYPES.get(document.type_code)
    author: dict[str, Any] = {"display": document.author_name}
    if document.author_idnat:
        author["identifier"] = {"system": IDNAT_PS_SYSTEM, "value": document.author_idnat}
    resource: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": document.id,
        "masterIdentifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{document.id}"},
        "status": document.status,
        "type": {"coding": [{"system": LOINC, "code": document.type_code,
                             **({"display": kind.label} if kind else {})}]},
        "category": [{"coding": [{"system": CLASS_SYSTEM, "code": document.class_code,
                                  "display": CLASSES.get(document.class_code, document.class_code)}]}],
        "subject": {"identifier": ins_identifier(document.patient_ins)},
        "date": instant(document.indexed_at),
        "author": [author],
        "description": document.title,
        "content": [{"attachment": {
            "contentType": document.content_type, "url": f"{base}/Binary/{document.id}", "size": document.size,
            "hash": document.sha1, "title": document.title, "creation": document.service_date.isoformat()}}],
        "context": {"period": {"start": document.service_date.isoformat()}},
    }
    if document.masked:
        resource["securityLabel"] = [{"coding": [{"system": CONFIDENTIALITY, "code": "R", "display": "masqué par le patient"}]}]
    return resource


def audit_event(event: DmpAccessEvent, base: str, *, redact: bool = False) -> dict[str, Any]:
    """One line of the access history as a FHIR AuditEvent (`redact`: without the document's title)."""
    who: dict[str, Any] = {"display": event.actor_name}
    if event.actor_idnat:
        who["identifier"] = {"system": IDNAT_PS_SYSTEM, "value": event.actor_idnat}
    agents: list[dict[str, Any]] = [{"who": who, "requestor": True,
                                     "role": [{"text": PROFESSIONS.get(event.actor_profession or "", "Professionnel")}]}]
    if event.acting_for_name:
        agents.append({"who": {"display": event.acting_for_name}, "requestor": False, "role": [{"text": "pour le compte de"}]})
    entities: list[dict[str, Any]] = [{"what": {"identifier": ins_identifier(event.patient_ins)},
                                       "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1"}}]
    if event.document_id:
        entities.append({"what": {"reference": f"DocumentReference/{event.document_id}"},
                         "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "3"}})
    resource: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": str(event.id),
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest"},
        "subtype": [{"system": TRANSACTION_SYSTEM, "code": event.transaction}],
        "action": "C" if event.transaction in ("provide", "emergency") else "R",
        "recorded": instant(event.at),
        "outcome": "0" if event.outcome == "granted" else "4",
        "agent": agents,
        "source": {"observer": {"display": "DMP (service embarqué Bouquet)"}},
        "entity": entities,
    }
    if redact:
        resource["outcomeDesc"] = "document non consultable par vous"
    elif event.detail:
        resource["outcomeDesc"] = event.detail
    if event.emergency:
        resource["purposeOfEvent"] = [{"coding": [{"system": ACT_REASON, "code": "BTG", "display": "bris de glace"}]}]
    return resource


def searchset(resources: list[dict[str, Any]], self_url: str, base: str) -> dict[str, Any]:
    return {
        "resourceType": "Bundle", "type": "searchset", "total": len(resources),
        "link": [{"relation": "self", "url": self_url}],
        "entry": [{"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}}
                  for r in resources],
    }


def outcome(code: str, reason: str, message: str, severity: str = "error") -> dict[str, Any]:
    """An OperationOutcome with a French message and a machine reason (`urn:bouquet:dmp:refusal`)."""
    resource = {"resourceType": "OperationOutcome", "issue": [{
        "severity": severity, "code": code, "diagnostics": message,
        "details": {"coding": [{"system": REFUSAL_SYSTEM, "code": reason}], "text": message}}]}
    OperationOutcome.model_validate(resource)
    return resource
