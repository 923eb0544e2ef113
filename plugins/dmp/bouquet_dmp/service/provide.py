"""ITI-65 (Provide Document Bundle): read a transaction Bundle — SubmissionSet List, DocumentReference,
Binary — into one document to store. Refusals are `ProvideError`s with a French message."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from bouquet_dmp.codes import CONFIDENTIALITY_SYSTEM, INVISIBLE_PATIENT, INVISIBLE_REPRESENTANTS
from bouquet_dmp.doctypes import types

CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
CONFIDENTIALITY_CODES = frozenset({"R", "N", INVISIBLE_PATIENT, INVISIBLE_REPRESENTANTS})
from bouquet_dmp.content import STORED, ContentError, check

SUBMISSION_SET = "submissionset"


class ProvideError(ValueError):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


@dataclass(frozen=True)
class Submission:
    submission_set_id: str
    type_code: str
    title: str
    content_type: str
    data: bytes
    sha1: str
    service_date: date
    patient_ins: str
    confidentiality: frozenset[str] = frozenset()


def read(body: Any, max_bytes: int) -> Submission:
    """The document a transaction Bundle submits; raises ProvideError."""
    try:
        bundle = Bundle.model_validate(body)
    except (ValidationError, ValueError, TypeError) as exc:
        raise ProvideError("invalid", f"Le Bundle ne respecte pas FHIR R4 : {str(exc)[:300]}") from None
    if bundle.type != "transaction":
        raise ProvideError("invalid", "Le Bundle doit être de type « transaction » (ITI-65).")
    by_type: dict[str, list[Any]] = {}
    for entry in bundle.entry or []:
        if entry.resource is not None:
            by_type.setdefault(entry.resource.get_resource_type(), []).append(entry)
    lists, references, binaries = by_type.get("List", []), by_type.get("DocumentReference", []), by_type.get("Binary", [])
    if len(lists) != 1 or len(references) != 1 or len(binaries) != 1:
        raise ProvideError("invalid", "Le Bundle doit contenir un lot de soumission (List), un DocumentReference et un Binary.")
    submission_list = lists[0].resource
    codes = [c.code for c in (submission_list.code.coding if submission_list.code else [])]
    if SUBMISSION_SET not in codes:
        raise ProvideError("invalid", "La List doit être un lot de soumission (code « submissionset »).")
    reference, binary_entry = references[0].resource, binaries[0]
    known = types()
    type_code = next((c.code for c in (reference.type.coding if reference.type else [])
                      if c.code in known and c.system == known[c.code].system), None)
    if type_code is None:
        raise ProvideError("invalid", "Le type du document n'est pas un type accepté par le DMP (JDV_J66_TypeCode_DMP).")
    subject = reference.subject.identifier if reference.subject else None
    if subject is None or not (subject.system or "").startswith("urn:oid:") or not subject.value:
        raise ProvideError("invalid", "Le DocumentReference doit désigner le patient par son INS (subject.identifier).")
    attachment = reference.content[0].attachment
    if attachment.url != binary_entry.fullUrl:
        raise ProvideError("invalid", "La pièce jointe du DocumentReference doit désigner le Binary du Bundle.")
    binary = binary_entry.resource
    # The model has already decoded (and so checked) the base64 of Binary.data.
    data = binary.data if isinstance(binary.data, bytes) else b""
    try:
        content_type = check(data, binary.contentType or "", STORED, max_bytes)
    except ContentError as exc:
        raise ProvideError("content", str(exc)) from None
    period = reference.context.period if reference.context else None
    start = period.start if period is not None else None
    service_date = date.fromisoformat(str(start)[:10]) if start else date.today()
    title = (reference.description or attachment.title or known[type_code].label).strip()[:300]
    confidentiality = frozenset(c.code for label in reference.securityLabel or [] for c in label.coding or []
                                if c.code in CONFIDENTIALITY_CODES and c.system in (CONFIDENTIALITY, CONFIDENTIALITY_SYSTEM))
    unknown = [c.code for label in reference.securityLabel or [] for c in label.coding or []
               if c.code not in CONFIDENTIALITY_CODES]
    if unknown:
        raise ProvideError("invalid", f"Code de confidentialité inconnu : {', '.join(str(u) for u in unknown)}.")
    return Submission(
        submission_set_id=str(submission_list.id or "")[:64] or hashlib.sha1(data).hexdigest(),
        type_code=type_code, title=title, content_type=content_type, data=data,
        sha1=base64.b64encode(hashlib.sha1(data).digest()).decode(), service_date=service_date,  # noqa: S324  # FHIR's Attachment.hash is SHA-1
        patient_ins=f"{subject.system.removeprefix('urn:oid:')}|{subject.value}", confidentiality=confidentiality)
