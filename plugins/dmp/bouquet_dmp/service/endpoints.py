"""The DMP service's endpoints (see the package docstring for the list)."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy.orm import defer
from sqlmodel import Session, col, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import bouquet_dmp.service.provide as provide
from bouquet.api.db import utcnow
from bouquet.api.patient import PatientContext
from bouquet.api.web import JsonBodyError, body_limit, read_json
from bouquet_dmp import access
from bouquet_dmp.codes import IDNAT_PS_SYSTEM, INVISIBLE_PATIENT, INVISIBLE_REPRESENTANTS
from bouquet_dmp.config import dmp_settings
from bouquet_dmp.doctypes import class_of
from bouquet_dmp.identity import HEADER, Caller, IdentityError, verify
from bouquet_dmp.models import DmpDocument, DmpRecord
from bouquet_dmp.service.resources import (
    FHIR_JSON,
    audit_event,
    communication,
    document_reference,
    instant,
    outcome,
    searchset,
    withheld_outcome,
)

MAX_BODY = 70_000_000
INVISIBLE_PATIENT_UNSET = ("Le délai après lequel un document « non visible du patient » lui devient visible n'est pas "
                           "configuré (BOUQUET_DMP_INVISIBLE_PATIENT_DAYS) : sa source réglementaire n'a pas été trouvée. "
                           "Le document n'a pas été envoyé.")
MAX_REASON = 500


class Refusal(Exception):
    def __init__(self, status: int, code: str, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.reason, self.message = status, code, reason, message


def _fhir(body: dict[str, Any], status_code: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status_code, media_type=FHIR_JSON)


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refusal)
    return _fhir(outcome(exc.code, exc.reason, exc.message), exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _fhir(outcome("not-found" if exc.status_code == 404 else "processing", "http", str(exc.detail)), exc.status_code)


exception_handlers = {Refusal: _refused, HTTPException: _http_error}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _caller(request: Request) -> Caller:
    try:
        return verify(request.headers.get(HEADER), request.app.state.identity_key)
    except IdentityError as exc:
        raise Refusal(401, "login", "identity", f"Identité du professionnel refusée : {exc}.") from None


def _patient_param(request: Request, name: str, caller: Caller) -> str:
    value = request.query_params.get(name, "")
    system, _, matricule = value.partition("|")
    if not system.startswith("urn:oid:") or not matricule:
        raise Refusal(400, "required", "patient", f"Le paramètre {name} doit valoir urn:oid:<OID>|<INS>.")
    patient_ins = f"{system.removeprefix('urn:oid:')}|{matricule}"
    if patient_ins != caller.patient:
        raise Refusal(403, "forbidden", "patient-mismatch",
                      "La requête porte sur un autre patient que celui de l'identité présentée.")
    return patient_ins


def _db(request: Request) -> Any:
    return request.app.state.db


def _refuse_blocked(session: Session, caller: Caller, standing: access.Standing, transaction: str,
                    document_id: str | None = None) -> None:
    if standing.blocked:
        access.trace(session, caller, transaction, access.DENIED, document_id=document_id,
                     detail="professionnel bloqué par le patient")
        session.commit()
        raise Refusal(403, "forbidden", "blocked", "Le patient s'est opposé à votre accès à son DMP.")


def _refuse_without_care(session: Session, caller: Caller, standing: access.Standing, transaction: str,
                         document_id: str | None = None) -> None:
    """Outside the care relationship (and of an emergency access) the DMP answers nothing but why."""
    if not standing.may_read:
        access.trace(session, caller, transaction, access.DENIED, document_id=document_id,
                     detail="hors relation de soins", basis=standing.care_refusal)
        session.commit()
        reason = "not-professional" if caller.kind != "professional" else "care"
        raise Refusal(403, "forbidden", reason, standing.care_refusal or access.NO_CARE)


#: The DocumentReference search parameters the service supports (ITI-67), as the CapabilityStatement declares them;
#: any other is refused (400) rather than silently ignored, which would answer more than was asked.
DOCUMENT_SEARCH = {
    "patient.identifier": ("token", "INS du patient (obligatoire)"),
    "status": ("token", "current, superseded… (plusieurs valeurs séparées par des virgules)"),
    "identifier": ("token", "identifiant du document (masterIdentifier urn:uuid:…)"),
    "type": ("token", "type de document (JDV_J66_TypeCode_DMP)"),
    "category": ("token", "classe de document (JDV_J57_ClassCode_DMP)"),
    "period": ("date", "date de l'acte (ge, le, gt, lt, eq)"),
    "date": ("date", "date d'indexation dans le DMP (ge, le, gt, lt, eq)"),
    "author.identifier": ("token", "IdNat_PS de l'auteur"),
    "security-label": ("token", "niveau de confidentialité (R : masqué aux professionnels)"),
}
#: Result parameters a FHIR client may add; the service answers JSON whatever `_format` asks.
RESULT_PARAMETERS = frozenset({"_format"})


def _search_param(name: str, kind: str, documentation: str) -> dict[str, str]:
    return {"name": name, "type": kind, "documentation": documentation}


async def metadata(request: Request) -> Response:
    return _fhir({
        "resourceType": "CapabilityStatement", "status": "active", "date": "2026-11-28", "kind": "instance",
        "fhirVersion": "4.0.1", "format": ["application/fhir+json"],
        "implementation": {"description": "DMP embarqué Bouquet (IHE MHD)", "url": _base(request)},
        "rest": [{"mode": "server", "resource": [
            {"type": "Patient", "interaction": [{"code": "search-type"}],
             "searchParam": [_search_param("identifier", "token", "INS du patient : urn:oid:<OID>|<matricule>")],
             "operation": [{"name": "bris-de-glace", "definition": "urn:bouquet:dmp:operation:bris-de-glace"},
                           {"name": "regulation", "definition": "urn:bouquet:dmp:operation:regulation"},
                           {"name": "consentement", "definition": "urn:bouquet:dmp:operation:consentement"}]},
            {"type": "DocumentReference", "interaction": [{"code": "search-type"}, {"code": "read"}],
             "searchParam": [_search_param(name, kind, doc) for name, (kind, doc) in DOCUMENT_SEARCH.items()]},
            {"type": "Binary", "interaction": [{"code": "read"}]},
            {"type": "AuditEvent", "interaction": [{"code": "search-type"}],
             "searchParam": [_search_param("patient.identifier", "token", "INS du patient (obligatoire)")]},
        ], "interaction": [{"code": "transaction"}]}],
    })


async def patient_search(request: Request) -> Response:
    caller = _caller(request)
    patient_ins = _patient_param(request, "identifier", caller)

    def run() -> list[dict[str, Any]]:
        with _db(request).write() as session:
            standing = access.standing_of(session, caller, request.app.state.care_team)
            _refuse_blocked(session, caller, standing, "patient")
            record = session.get(DmpRecord, patient_ins)
            access.trace(session, caller, "patient", access.GRANTED, emergency=standing.emergency,
                         detail=None if record else "pas de DMP")
            if record is None:
                return []
            patient = PatientContext.from_dict(record.patient).to_fhir_patient(id=uuid.uuid5(uuid.NAMESPACE_URL, patient_ins).hex)
            if standing.emergency_until is not None:
                patient["meta"] = {"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
                                                 "code": "BTG", "display": f"bris de glace jusqu'au {instant(standing.emergency_until)}"}]}
            return [patient]

    found = await _db(request).run(run)
    return _fhir(searchset(found, str(request.url), _base(request)))


async def emergency_access(request: Request) -> Response:
    caller = _caller(request)
    try:
        body = await read_json(request)
        reason = next(p.get("valueString", "") for p in body.get("parameter", []) if p.get("name") == "reason")
    except JsonBodyError as refused:
        raise Refusal(refused.status, "structure" if refused.status == 400 else "too-costly", "body", refused.message) from None
    except (ValueError, AttributeError, TypeError, StopIteration):
        raise Refusal(400, "required", "reason", "Le motif de l'accès en urgence est obligatoire (paramètre reason).") from None
    reason = " ".join(str(reason).split())
    if len(reason) < 10 or len(reason) > MAX_REASON:
        raise Refusal(400, "invalid", "reason", "Le motif de l'accès en urgence doit faire entre 10 et 500 caractères.")
    if caller.kind != "professional" or not caller.idnat:
        raise Refusal(403, "forbidden", "not-professional", "Seul un professionnel de santé peut accéder au DMP en urgence.")
    mode = access.REGULATION if request.url.path.endswith("$regulation") else access.BRIS_DE_GLACE
    if mode == access.REGULATION and caller.profession != "10":
        raise Refusal(403, "forbidden", "not-regulator", "Seul le médecin régulateur du SAMU (centre 15) accède au DMP en régulation.")
    minutes = request.app.state.dmp.emergency_minutes
    transaction = "regulation" if mode == access.REGULATION else "emergency"

    def run() -> dict[str, Any]:
        with _db(request).write() as session:
            standing = access.standing_of(session, caller, request.app.state.care_team)
            _refuse_blocked(session, caller, standing, transaction)
            record = session.get(DmpRecord, caller.patient)
            if record is None:
                raise Refusal(404, "not-found", "no-record", "Ce patient n'a pas de DMP.")
            if access.opposed(record, mode):
                access.trace(session, caller, transaction, access.DENIED, detail="opposition préalable du patient",
                             basis="le patient s'est opposé à l'accès en urgence (CSP L. 1111-17 I)" if mode == access.BRIS_DE_GLACE
                             else "le patient s'est opposé à l'accès du médecin régulateur (CSP L. 1111-17 I)")
                session.commit()
                raise Refusal(403, "forbidden", "opposed",
                              "Le patient s'est opposé par avance à l'accès en urgence à son DMP (CSP L. 1111-17 I) : "
                              "l'accès est refusé." if mode == access.BRIS_DE_GLACE else
                              "Le patient s'est opposé par avance à l'accès du médecin régulateur à son DMP (CSP L. 1111-17 I).")
            grant = access.grant_emergency(session, caller, reason, minutes, mode)
            access.trace(session, caller, transaction, access.GRANTED, emergency=True, detail=f"motif : {reason}",
                         basis=("accès en urgence (régulation SAMU – centre 15)" if mode == access.REGULATION
                                else "accès en urgence (bris de glace)") + " ; le patient et son médecin traitant en sont informés")
            return {"resourceType": "Parameters", "parameter": [
                {"name": "expires", "valueInstant": instant(grant.expires_at)}]}

    return _fhir(await _db(request).run(run))


def _filters(request: Request) -> list[Any]:
    params, filters = request.query_params, []
    unknown = sorted(set(params) - set(DOCUMENT_SEARCH) - RESULT_PARAMETERS)
    if unknown:
        raise Refusal(400, "not-supported", "parameter",
                      f"Paramètre de recherche non pris en charge : {', '.join(unknown)} (voir /metadata).")
    identifiers = params.get("identifier")
    if identifiers:
        filters.append(col(DmpDocument.id).in_([v.rsplit("|", 1)[-1].removeprefix("urn:uuid:") for v in identifiers.split(",")]))
    status = params.get("status")
    if status:
        filters.append(col(DmpDocument.status).in_(status.split(",")))
    for name, column in (("type", DmpDocument.type_code), ("category", DmpDocument.class_code)):
        value = params.get(name)
        if value:
            codes = [v.split("|", 1)[1] if "|" in v else v for v in value.split(",")]
            filters.append(col(column).in_(codes))
    for name, column in (("period", col(DmpDocument.service_date)), ("date", col(DmpDocument.indexed_at))):
        for value in params.getlist(name):
            prefix, day = (value[:2], value[2:]) if value[:2] in ("ge", "le", "gt", "lt", "eq") else ("eq", value)
            try:
                when = date.fromisoformat(day)
            except ValueError:
                raise Refusal(400, "invalid", name, f"Le paramètre {name} « {value} » doit être une date (ge/le AAAA-MM-JJ).") from None
            if name == "date":  # an instant: compare whole days, from midnight UTC
                start = datetime.combine(when, time.min, tzinfo=timezone.utc)
                end = start + timedelta(days=1)
                filters.append({"ge": column >= start, "le": column < end, "gt": column >= end, "lt": column < start,
                                "eq": (column >= start) & (column < end)}[prefix])
            else:
                filters.append({"ge": column >= when, "le": column <= when, "gt": column > when, "lt": column < when,
                                "eq": column == when}[prefix])
    label = params.get("security-label")
    if label:
        codes = {v.split("|", 1)[-1] for v in label.split(",")}
        filters.append(col(DmpDocument.masked).in_(sorted({code == "R" for code in codes})))  # R: masked, N: not
    author = params.get("author.identifier")
    if author:
        filters.append(DmpDocument.author_idnat == author.removeprefix(f"{IDNAT_PS_SYSTEM}|"))
    return filters


async def document_search(request: Request) -> Response:
    caller = _caller(request)
    patient_ins = _patient_param(request, "patient.identifier", caller)
    filters = _filters(request)
    base = _base(request)

    def run() -> list[dict[str, Any]]:
        with _db(request).write() as session:
            standing = access.standing_of(session, caller, request.app.state.care_team)
            _refuse_blocked(session, caller, standing, "search")
            _refuse_without_care(session, caller, standing, "search")
            # The metadata only: the contents stay in the database until a retrieve.
            rows = session.exec(select(DmpDocument).options(defer(DmpDocument.content))  # type: ignore[arg-type]
                                .where(DmpDocument.patient_ins == patient_ins, *filters)
                                .order_by(col(DmpDocument.service_date).desc(), col(DmpDocument.indexed_at).desc())).all()
            shown, withheld = [], Counter[str]()
            for row in rows:
                allowed, why = access.decide(row, caller, standing)
                if allowed:
                    shown.append(row)
                else:
                    withheld[why] += 1
            access.trace(session, caller, "search", access.GRANTED, emergency=standing.emergency,
                         detail=f"{len(shown)} document(s) visible(s)", basis=standing.why)
            found = [document_reference(row, base) for row in shown]
            if withheld:
                found.append(withheld_outcome(withheld))
            return found

    return _fhir(searchset(await _db(request).run(run), str(request.url), base))


def _visible_document(request: Request, caller: Caller, transaction: str) -> tuple[DmpDocument, bool]:
    document_id = request.path_params["document_id"]
    with _db(request).write() as session:
        standing = access.standing_of(session, caller, request.app.state.care_team)
        _refuse_blocked(session, caller, standing, transaction, document_id)
        _refuse_without_care(session, caller, standing, transaction, document_id)
        document = session.get(DmpDocument, document_id)
        allowed, why = access.decide(document, caller, standing) if document is not None else (False, "document absent")
        if document is None or not allowed:
            access.trace(session, caller, transaction, access.DENIED, document_id=document_id,
                         emergency=standing.emergency, detail="document absent ou non autorisé", basis=why)
            session.commit()
            raise Refusal(404, "not-found", "no-document", "Ce document n'existe pas ou ne vous est pas accessible.")
        access.trace(session, caller, transaction, access.GRANTED, document_id=document_id,
                     emergency=standing.emergency and document.masked, detail=document.title,
                     basis=f"{standing.why} ; {why}")
        return document, standing.emergency


async def document_read(request: Request) -> Response:
    caller = _caller(request)
    document, _ = await _db(request).run(_visible_document, request, caller, "read")
    return _fhir(document_reference(document, _base(request)))


async def binary_read(request: Request) -> Response:
    caller = _caller(request)
    document, _ = await _db(request).run(_visible_document, request, caller, "retrieve")
    return Response(document.content, media_type=document.content_type,
                    headers={"Content-Disposition": "inline", "X-Content-Type-Options": "nosniff"})


@body_limit(MAX_BODY)
async def transaction(request: Request) -> Response:
    caller = _caller(request)
    if caller.kind != "professional" or not caller.idnat:
        raise Refusal(403, "forbidden", "not-professional", "Seul un professionnel de santé peut alimenter le DMP.")
    try:
        body = await read_json(request, max_bytes=MAX_BODY)
    except JsonBodyError as refused:
        if refused.reason == "too_large":
            raise Refusal(413, "too-costly", "size", "Le Bundle est trop volumineux.") from None
        raise Refusal(400, "structure", "invalid", refused.message) from None
    try:
        submission = provide.read(body, request.app.state.dmp.max_upload_bytes)
    except provide.ProvideError as exc:
        raise Refusal(400 if exc.reason != "content" else 422, "invalid", exc.reason, exc.message) from None
    if submission.patient_ins != caller.patient:
        raise Refusal(403, "forbidden", "patient-mismatch", "Le document porte sur un autre patient que celui de l'identité présentée.")
    invisible_days = dmp_settings().invisible_patient_days  # read when used, like every DMP setting
    if INVISIBLE_PATIENT in submission.confidentiality and not invisible_days:
        raise Refusal(422, "not-supported", "invisible-patient-delay", INVISIBLE_PATIENT_UNSET)
    now = utcnow()

    def run() -> DmpDocument:
        with _db(request).write() as session:
            standing = access.standing_of(session, caller, request.app.state.care_team)
            _refuse_blocked(session, caller, standing, "provide")
            _refuse_without_care(session, caller, standing, "provide")   # feeding needs the same care relationship (L. 1111-17 III)
            if session.get(DmpRecord, caller.patient) is None:
                raise Refusal(404, "not-found", "no-record", "Ce patient n'a pas de DMP.")
            document = DmpDocument(
                id=str(uuid.uuid4()), patient_ins=caller.patient, type_code=submission.type_code,
                class_code=class_of(submission.type_code), title=submission.title,
                content_type=submission.content_type, size=len(submission.data), sha1=submission.sha1,
                content=submission.data, author_idnat=caller.idnat, author_name=caller.name[:200],
                author_profession=caller.profession, service_date=submission.service_date, indexed_at=now,
                submission_set_id=submission.submission_set_id, masked="R" in submission.confidentiality,
                hidden_from_representatives=INVISIBLE_REPRESENTANTS in submission.confidentiality,
                hidden_from_patient_until=(now + timedelta(days=invisible_days)
                                           if INVISIBLE_PATIENT in submission.confidentiality and invisible_days else None))
            session.add(document)
            access.trace(session, caller, "provide", access.GRANTED, document_id=document.id, detail=document.title)
            return document

    document = await _db(request).run(run)
    response = {"resourceType": "Bundle", "type": "transaction-response", "entry": [
        {"response": {"status": "201 Created", "location": f"List/{submission.submission_set_id}"}},
        {"response": {"status": "201 Created", "location": f"DocumentReference/{document.id}"}},
        {"response": {"status": "201 Created", "location": f"Binary/{document.id}"}},
    ]}
    return _fhir(response)


async def audit_search(request: Request) -> Response:
    caller = _caller(request)
    patient_ins = _patient_param(request, "patient.identifier", caller)
    if caller.kind != "professional":
        raise Refusal(403, "forbidden", "not-professional", "L'historique des accès est réservé aux professionnels de santé.")
    base = _base(request)

    def run() -> list[dict[str, Any]]:
        with _db(request).write() as session:
            standing = access.standing_of(session, caller, request.app.state.care_team)
            _refuse_blocked(session, caller, standing, "history")
            _refuse_without_care(session, caller, standing, "history")
            events = access.history(session, patient_ins)
            named = {event.document_id for event in events if event.document_id}
            documents = session.exec(select(DmpDocument).options(defer(DmpDocument.content))  # type: ignore[arg-type]
                                     .where(col(DmpDocument.id).in_(named))).all() if named else []
            shown = {document.id for document in documents if access.visible(document, caller, standing)}
            access.trace(session, caller, "history", access.GRANTED, emergency=standing.emergency, basis=standing.why)
            # A line about a document this caller may not see keeps who and when, not the document's title.
            return [audit_event(event, base, redact=bool(event.document_id) and event.document_id not in shown)
                    for event in events] + [communication(n, base) for n in access.notifications(session, patient_ins)]

    return _fhir(searchset(await _db(request).run(run), str(request.url), base))


async def consent(request: Request) -> Response:
    """Record the patient's consent given to the caller: for this consultation, or the care team's initial consent."""
    caller = _caller(request)
    if caller.kind != "professional" or not caller.idnat:
        raise Refusal(403, "forbidden", "not-professional", access.NOT_PROFESSIONAL)
    try:
        body = await read_json(request)
        values = {p.get("name"): p.get("valueCode") for p in body.get("parameter", [])}
    except JsonBodyError as refused:
        raise Refusal(refused.status, "structure" if refused.status == 400 else "too-costly", "body", refused.message) from None
    except (ValueError, AttributeError, TypeError):
        raise Refusal(400, "structure", "invalid", "Le corps doit être un Parameters FHIR (scope, how).") from None
    scope, how = values.get("scope"), values.get("how")
    if scope not in ("consultation", "equipe-de-soins"):
        raise Refusal(400, "required", "scope", "Le paramètre scope doit valoir « consultation » ou « equipe-de-soins ».")
    if how not in access.CONSENT_WAYS:
        raise Refusal(400, "required", "how", "Le paramètre how doit valoir « oral », « ecrit » ou « electronique ».")

    def run() -> str:
        with _db(request).write() as session:
            standing = access.standing_of(session, caller, request.app.state.care_team)
            _refuse_blocked(session, caller, standing, "consent")
            if session.get(DmpRecord, caller.patient) is None:
                raise Refusal(404, "not-found", "no-record", "Ce patient n'a pas de DMP.")
            recorded = access.record_consent(session, caller, how, care_team=scope == "equipe-de-soins")
            access.trace(session, caller, "consent", access.GRANTED, detail=recorded, basis=recorded)
            return recorded

    recorded = await _db(request).run(run)
    return _fhir({"resourceType": "Parameters", "parameter": [{"name": "recorded", "valueString": recorded}]})


routes = [
    Route("/metadata", metadata, methods=["GET"]),
    Route("/Patient", patient_search, methods=["GET"]),
    Route("/Patient/$bris-de-glace", emergency_access, methods=["POST"]),
    Route("/Patient/$regulation", emergency_access, methods=["POST"]),
    Route("/Patient/$consentement", consent, methods=["POST"]),
    Route("/DocumentReference", document_search, methods=["GET"]),
    Route("/DocumentReference/{document_id}", document_read, methods=["GET"]),
    Route("/Binary/{document_id}", binary_read, methods=["GET"]),
    Route("/", transaction, methods=["POST"]),
    Route("/AuditEvent", audit_search, methods=["GET"]),
]
