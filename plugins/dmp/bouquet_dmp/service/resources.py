"""The FHIR R4 resources the DMP service answers with, built from its rows.

The tests check them against the `fhir.resources` R4B models (and read them with fhirpy); the
service does not validate each answer again on the way out, which would double the cost of a
search (see `docs/benchmarks.md`, section « DMP »), while the client validates every answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fhir.resources.R4B.operationoutcome import OperationOutcome

from bouquet.api.db import utcnow
from bouquet_dmp.codes import CONFIDENTIALITY_SYSTEM, IDNAT_PS_SYSTEM, INVISIBLE_PATIENT, INVISIBLE_REPRESENTANTS, PROFESSIONS
from bouquet_dmp.doctypes import CLASS_SYSTEM, LOINC, classes, type_of
from bouquet_dmp.models import DmpAccessEvent, DmpDocument, DmpNotification

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
    kind = type_of(document.type_code)
    author: dict[str, Any] = {"display": document.author_name}
    if document.author_idnat:
        author["identifier"] = {"system": IDNAT_PS_SYSTEM, "value": document.author_idnat}
    resource: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": document.id,
        "masterIdentifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{document.id}"},
        "status": document.status,
        "type": {"coding": [{"system": kind.system if kind else LOINC, "code": document.type_code,
                             **({"display": kind.label} if kind else {})}]},
        "category": [{"coding": [{"system": CLASS_SYSTEM, "code": document.class_code,
                                  "display": classes().get(document.class_code, document.class_code)}]}],
        "subject": {"identifier": ins_identifier(document.patient_ins)},
        "date": instant(document.indexed_at),
        "author": [author],
        "description": document.title,
        "content": [{"attachment": {
            "contentType": document.content_type, "url": f"{base}/Binary/{document.id}", "size": document.size,
            "hash": document.sha1, "title": document.title, "creation": document.service_date.isoformat()}}],
        "context": {"period": {"start": document.service_date.isoformat()}},
    }
    labels: list[dict[str, Any]] = []
    if document.masked:
        labels.append({"coding": [{"system": CONFIDENTIALITY, "code": "R", "display": "masqué aux professionnels"}]})
    if document.hidden_from_patient_until is not None and document.hidden_from_patient_until > utcnow():
        labels.append({"coding": [{"system": CONFIDENTIALITY_SYSTEM, "code": INVISIBLE_PATIENT,
                                   "display": "non visible du patient avant l'annonce"}],
                       "text": instant(document.hidden_from_patient_until)})
    if document.hidden_from_representatives:
        labels.append({"coding": [{"system": CONFIDENTIALITY_SYSTEM, "code": INVISIBLE_REPRESENTANTS,
                                   "display": "invisible aux représentants légaux"}]})
    if labels:
        resource["securityLabel"] = labels
    return resource


def audit_event(event: DmpAccessEvent, base: str, *, redact: bool = False) -> dict[str, Any]:
    """One line of the access history as a FHIR AuditEvent (`redact`: without the document's title)."""
    who: dict[str, Any] = {"display": event.actor_name}
    if event.actor_idnat:
        who["identifier"] = {"system": IDNAT_PS_SYSTEM, "value": event.actor_idnat}
    agents: list[dict[str, Any]] = [{"who": who, "requestor": True,
                                     "role": [{"text": PROFESSIONS.get(event.actor_profession or "", "Professionnel")}]}]
    if event.basis:  # why this caller may read: shown with each access in the history
        agents[0]["purposeOfUse"] = [{"text": event.basis}]
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
        "action": "C" if event.transaction in ("provide", "emergency", "regulation") else "R",
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


def communication(notification: DmpNotification, base: str) -> dict[str, Any]:
    """One message of the notification outbox, as a FHIR Communication (status in-progress until a channel sends it)."""
    recipient: dict[str, Any] = {"display": "le patient" if notification.recipient == "patient" else "son médecin traitant"}
    if notification.recipient_idnat:
        recipient["identifier"] = {"system": IDNAT_PS_SYSTEM, "value": notification.recipient_idnat}
    return {
        "resourceType": "Communication", "id": f"n{notification.id}",
        "status": "completed" if notification.status == "sent" else "in-progress",
        "category": [{"coding": [{"system": "urn:bouquet:dmp:notification", "code": notification.recipient}]}],
        "subject": {"identifier": ins_identifier(notification.patient_ins)},
        "recipient": [recipient], "topic": {"text": notification.subject},
        "payload": [{"contentString": notification.body}],
        "note": [{"text": f"créé le {instant(notification.created_at)}"}],
    } | ({"sent": instant(notification.sent_at)} if notification.sent_at else {})


def withheld_outcome(counts: dict[str, int]) -> dict[str, Any]:
    """What a search did not show and why (an OperationOutcome entry of mode « outcome »)."""
    resource = {"resourceType": "OperationOutcome", "id": "withheld", "issue": [
        {"severity": "information", "code": "suppressed", "diagnostics": f"{count} document(s) non affiché(s) : {why}"}
        for why, count in sorted(counts.items())]}
    OperationOutcome.model_validate(resource)
    return resource


def searchset(resources: list[dict[str, Any]], self_url: str, base: str) -> dict[str, Any]:
    matches = [r for r in resources if r["resourceType"] != "OperationOutcome"]
    return {
        "resourceType": "Bundle", "type": "searchset", "total": len(matches),
        "link": [{"relation": "self", "url": self_url}],
        "entry": [{"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r,
                   "search": {"mode": "outcome" if r["resourceType"] == "OperationOutcome" else "match"}}
                  for r in resources],
    }


def outcome(code: str, reason: str, message: str, severity: str = "error") -> dict[str, Any]:
    """An OperationOutcome with a French message and a machine reason (`urn:bouquet:dmp:refusal`)."""
    resource = {"resourceType": "OperationOutcome", "issue": [{
        "severity": severity, "code": code, "diagnostics": message,
        "details": {"coding": [{"system": REFUSAL_SYSTEM, "code": reason}], "text": message}}]}
    OperationOutcome.model_validate(resource)
    return resource
