"""The DMP service's endpoints (see the package docstring for the list)."""

from __future__ import annotations

import uuid
from datetime import date
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
from bouquet_dmp.codes import CLASS_SYSTEM, IDNAT_PS_SYSTEM, LOINC, TYPES
from bouquet_dmp.identity import HEADER, Caller, IdentityError, verify
from bouquet_dmp.models import DmpDocument, DmpRecord
from bouquet_dmp.service.resources import (
    FHIR_JSON,
    audit_event,
    document_reference,
    instant,
    outcome,
    searchset,
)

MAX_BODY = 70_000_000
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


async def metadata(request: Request) -> Response:
    return _fhir({
        "resourceType": "CapabilityStatement", "status": "active", "date": "2026-11-28", "kind": "instance",
        "fhirVersion": "4.0.1", "format": ["application/fhir+json"],
        "implementation": {"description": "DMP embarqué Bouquet (IHE MHD)", "url": _base(request)},
        "rest": [{"mode": "server", "resource": [
            {"type": "Patient", "interaction": [{"code": "search-type"}]},
            {"type": "DocumentReference", "interaction": [{"code": "search-type"}, {"code": "read"}]},
            {"type": "Binary", "interaction": [{"code": "read"}]},
            {"type": "AuditEvent", "interaction": [{"code": "search-type"}]},
        ], "interaction": [{"code": "transaction"}]}],
    })


async def patient_search(request: Request) -> Response:
    caller = _caller(request)
    patient_ins = _patient_param(request, "identifier", caller)

    def run() -> list[dict[str, Any]]:
        with _db(request).write() as session:
            standing = access.standing_of(session, caller)
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
    minutes = request.app.state.dmp.emergency_minutes

    def run() -> dict[str, Any]:
        with _db(request).write() as session:
            standing = access.standing_of(session, caller)
            _refuse_blocked(session, caller, standing, "emergency")
            if session.get(DmpRecord, caller.patient) is None:
                raise Refusal(404, "not-found", "no-record", "Ce patient n'a pas de DMP.")
            grant = access.grant_emergency(session, caller, reason, minutes)
            access.trace(session, caller, "emergency", access.GRANTED, emergency=True, detail=f"motif : {reason}")
            return {"resourceType": "Parameters", "parameter": [
                {"name": "expires", "valueInstant": instant(grant.expires_at)}]}

    return _fhir(await _db(request).run(run))


def _filters(request: Request) -> list[Any]:
    params, filters = request.query_params, []
    status = params.get("status")
    if status:
        filters.append(col(DmpDocument.status).in_(status.split(",")))
    for name, column, system in (("type", DmpDocument.type_code, LOINC), ("category", DmpDocument.class_code, CLASS_SYSTEM)):
        value = params.get(name)
        if value:
            codes = [v.split("|", 1)[1] if "|" in v else v for v in value.split(",")]
            filters.append(col(column).in_(codes))
    for value in params.getlist("period"):
        prefix, day = (value[:2], value[2:]) if value[:2] in ("ge", "le", "gt", "lt", "eq") else ("eq", value)
        try:
            when = date.fromisoformat(day)
        except ValueError:
            raise Refusal(400, "invalid", "period", f"Le paramètre period « {value} » doit être une date (ge/le AAAA-MM-JJ).") from None
        column = col(DmpDocument.service_date)
        filters.append({"ge": column >= when, "le": column <= when, "gt": column > when, "lt": column < when,
                        "eq": column == when}[prefix])
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
            standing = access.standing_of(session, caller)
            _refuse_blocked(session, caller, standing, "search")
            # The metadata only: the contents stay in the database until a retrieve.
            rows = session.exec(select(DmpDocument).options(defer(DmpDocument.content))  # type: ignore[arg-type]
                                .where(DmpDocument.patient_ins == patient_ins, *filters)
                                .order_by(col(DmpDocument.service_date).desc(), col(DmpDocument.indexed_at).desc())).all()
            shown = [row for row in rows if access.visible(row, caller, standing)]
            access.trace(session, caller, "search", access.GRANTED, emergency=standing.emergency,
                         detail=f"{len(shown)} document(s) visible(s)")
            return [document_reference(row, base) for row in shown]

    return _fhir(searchset(await _db(request).run(run), str(request.url), base))


def _visible_document(request: Request, caller: Caller, transaction: str) -> tuple[DmpDocument, bool]:
    document_id = request.path_params["document_id"]
    with _db(request).write() as session:
        standing = access.standing_of(session, caller)
        _refuse_blocked(session, caller, standing, transaction, document_id)
        document = session.get(DmpDocument, document_id)
        if document is None or not access.visible(document, caller, standing):
            access.trace(session, caller, transaction, access.DENIED, document_id=document_id,
                         emergency=standing.emergency, detail="document absent ou non autorisé")
            session.commit()
            raise Refusal(404, "not-found", "no-document", "Ce document n'existe pas ou ne vous est pas accessible.")
        access.trace(session, caller, transaction, access.GRANTED, document_id=document_id,
                     emergency=standing.emergency and document.masked, detail=document.title)
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

    def run() -> DmpDocument:
        with _db(request).write() as session:
            standing = access.standing_of(session, caller)
            _refuse_blocked(session, caller, standing, "provide")
            if session.get(DmpRecord, caller.patient) is None:
                raise Refusal(404, "not-found", "no-record", "Ce patient n'a pas de DMP.")
            document = DmpDocument(
                id=str(uuid.uuid4()), patient_ins=caller.patient, type_code=submission.type_code,
                class_code=TYPES[submission.type_code].class_code, title=submission.title,
                content_type=submission.content_type, size=len(submission.data), sha1=submission.sha1,
                content=submission.data, author_idnat=caller.idnat, author_name=caller.name[:200],
                author_profession=caller.profession, service_date=submission.service_date, indexed_at=utcnow(),
                submission_set_id=submission.submission_set_id)
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
            standing = access.standing_of(session, caller)
            _refuse_blocked(session, caller, standing, "history")
            events = access.history(session, patient_ins)
            named = {event.document_id for event in events if event.document_id}
            documents = session.exec(select(DmpDocument).options(defer(DmpDocument.content))  # type: ignore[arg-type]
                                     .where(col(DmpDocument.id).in_(named))).all() if named else []
            shown = {document.id for document in documents if access.visible(document, caller, standing)}
            access.trace(session, caller, "history", access.GRANTED, emergency=standing.emergency)
            # A line about a document this caller may not see keeps who and when, not the document's title.
            return [audit_event(event, base, redact=bool(event.document_id) and event.document_id not in shown)
                    for event in events]

    return _fhir(searchset(await _db(request).run(run), str(request.url), base))


routes = [
    Route("/metadata", metadata, methods=["GET"]),
    Route("/Patient", patient_search, methods=["GET"]),
    Route("/Patient/$bris-de-glace", emergency_access, methods=["POST"]),
    Route("/DocumentReference", document_search, methods=["GET"]),
    Route("/DocumentReference/{document_id}", document_read, methods=["GET"]),
    Route("/Binary/{document_id}", binary_read, methods=["GET"]),
    Route("/", transaction, methods=["POST"]),
    Route("/AuditEvent", audit_search, methods=["GET"]),
]
