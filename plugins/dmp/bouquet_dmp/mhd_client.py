"""The MHD client: how the portal reads and feeds a DMP (IHE MHD on FHIR R4, as the ANS PDSm guide
profiles it), against `BOUQUET_DMP_URL` or, when unset, the embedded service (called in-process
through its ASGI app, the same HTTP exchange without a socket).

Every call carries the caller's signed identity and the patient's INS (`identity`). Searches and
retrievals are idempotent and retried after a network error or a 502/503/504; a provide is sent
once. Answers are parsed with the `fhir.resources` R4B models: anything else raises
`DmpInvalidAnswer`, an unreachable service `DmpUnavailable`, a refusal `DmpRefused`.
"""

from __future__ import annotations

import asyncio
import base64
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import httpx
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.parameters import Parameters
from pydantic import ValidationError

from bouquet.api.patient import DEMO_SOURCE, INS_NOT_SHARED
from bouquet.api.psc import PscUnavailable, psc_access_token
from bouquet_dmp.codes import CONFIDENTIALITY_SYSTEM, IDNAT_PS_SYSTEM, INVISIBLE_PATIENT
from bouquet_dmp.config import DmpSettings, dmp_settings
from bouquet_dmp.doctypes import CLASS_SYSTEM, LOINC, classes, type_of, types
from bouquet_dmp.content import STORED
from bouquet_dmp.identity import HEADER, Caller, key_for, sign
from bouquet_dmp.service.provide import SUBMISSION_SET
from bouquet_dmp.service.resources import CONFIDENTIALITY, REFUSAL_SYSTEM, TRANSACTION_SYSTEM

if TYPE_CHECKING:
    from bouquet.api.patient import PatientContext
    from bouquet.api.web import RequestContext

EMBEDDED_BASE = "http://dmp.embedded"
FHIR_JSON = "application/fhir+json"
#: Patient contexts that do not come from a consultation in the professional's own software.
UNATTESTED_SOURCES = frozenset({"manual", DEMO_SOURCE})
RETRY_STATUSES = frozenset({502, 503, 504})
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


class DocumentList(list["DocumentEntry"]):
    """A search's documents, and `withheld`: what the DMP says about documents it did not show (French)."""

    def __init__(self) -> None:
        super().__init__()
        self.withheld: list[str] = []


class DmpError(Exception):
    """The DMP could not answer as asked; `message` is French and can be shown as is."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.message, self.reason = message, reason


class DmpUnavailable(DmpError):
    """No answer (connection refused, timeout) or a server error."""


class DmpInvalidAnswer(DmpError):
    """An answer that is not the FHIR resource it should be."""


class DmpRefused(DmpError):
    """The DMP refused the request (blocked professional, unknown document, bad input…)."""


@dataclass(frozen=True)
class DocumentEntry:
    """A document of the DMP as a DocumentReference describes it."""

    id: str
    title: str
    type_code: str
    type_label: str
    class_code: str
    class_label: str
    content_type: str
    size: int | None
    url: str
    author_name: str
    author_idnat: str | None
    service_date: date | None
    indexed_at: datetime | None
    masked: bool
    labels: frozenset[str] = frozenset()
    hidden_from_patient_until: str | None = None


@dataclass(frozen=True)
class PatientStatus:
    has_record: bool
    emergency_until: str | None = None


@dataclass(frozen=True)
class AccessLine:
    """One line of the patient's access history (an AuditEvent)."""

    at: datetime
    actor: str
    role: str
    acting_for: str | None
    transaction: str
    document_id: str | None
    granted: bool
    emergency: bool
    detail: str | None
    basis: str | None = None


@dataclass(frozen=True)
class Notice:
    """A message of the DMP's notification outbox (after an emergency access)."""

    recipient: str
    subject: str
    body: str
    sent: bool


class AccessHistory(list[AccessLine]):
    """The access history's lines, and `notifications`: the outbox's messages about this DMP."""

    def __init__(self) -> None:
        super().__init__()
        self.notifications: list[Notice] = []


def caller_of(ctx: RequestContext, patient: PatientContext | None = None) -> Caller:
    """The identity the DMP is called with for this request's account and `patient` (default: in context)."""
    account, principal, patient = ctx.account, ctx.acting_for, patient or ctx.patient
    assert account is not None and patient is not None
    return Caller(sub=account.label, name=account.display_name, kind=str(account.kind),
                  patient=f"{patient.ins.oid}|{patient.ins.matricule}", idnat=account.idnat_ps,
                  profession=account.profession_code, for_idnat=principal.idnat_ps if principal else None,
                  for_name=principal.display_name if principal else None,
                  # A context from the professional's own software attests a consultation; the test form does not.
                  attested_care=patient.source not in UNATTESTED_SOURCES)


def client_for(ctx: RequestContext, patient: PatientContext | None = None, settings: DmpSettings | None = None) -> MhdClient:
    """A client for this request's account and `patient` (default: in context), on the configured DMP."""
    settings = settings or dmp_settings()
    key, caller = key_for(ctx.settings.secret_key), caller_of(ctx, patient)
    # The DMP is identified by the INS: a non-qualified identity's INS is never sent (RNIV), nor the DMP fed.
    withheld = None if (patient or ctx.patient).ins_shareable else INS_NOT_SHARED  # type: ignore[union-attr]
    if settings.url:
        # A DMP « Pro Santé Connecté » takes the professional's PSC token instead of the signed header.
        bearer = (lambda: psc_access_token(ctx)) if settings.psc_tokens else None
        return MhdClient(settings.url, caller, key, settings, ins_withheld=withheld, bearer=bearer)
    from bouquet_dmp.service import service_for

    return MhdClient(EMBEDDED_BASE, caller, key, settings, ins_withheld=withheld,
                     transport=httpx.ASGITransport(app=service_for(ctx.app_state)))


class MhdClient:
    def __init__(self, base: str, caller: Caller, key: bytes, settings: DmpSettings,
                 transport: httpx.AsyncBaseTransport | None = None, ins_withheld: str | None = None,
                 bearer: Callable[[], Awaitable[str | None]] | None = None) -> None:
        self.base, self.caller, self.key, self.settings, self.transport = base.rstrip("/"), caller, key, settings, transport
        self.ins_withheld = ins_withheld
        self.bearer = bearer
        oid, matricule = caller.patient.split("|", 1)
        self.patient_token = f"urn:oid:{oid}|{matricule}"

    # --- transport ---------------------------------------------------------------------------

    async def _credentials(self) -> dict[str, str]:
        """The signed identity header, or the professional's PSC access token when the DMP requires one."""
        if self.bearer is None:
            return {HEADER: sign(self.caller, self.key)}
        try:
            token = await self.bearer()
        except PscUnavailable as exc:
            raise DmpUnavailable("Pro Santé Connect ne répond pas : le DMP ne peut pas être consulté pour le moment.",
                                 "psc-unavailable") from exc
        if token is None:
            raise DmpRefused("Le DMP demande une connexion par Pro Santé Connect : reconnectez-vous avec votre carte "
                             "CPS ou l'application e-CPS.", "psc-required")
        return {"Authorization": f"Bearer {token}"}

    async def _send(self, method: str, url: str, *, idempotent: bool, **kwargs: Any) -> httpx.Response:
        """One call, retried if idempotent, all attempts within `timeout_seconds` (the panel must answer in time)."""
        if self.ins_withheld:
            raise DmpRefused(self.ins_withheld, "identity-not-qualified")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.timeout_seconds
        attempts = 1 + (self.settings.retries if idempotent else 0)
        extra_headers = kwargs.pop("headers", {})
        error: DmpError = DmpUnavailable("Le DMP ne répond pas (délai dépassé).", "timeout")
        async with httpx.AsyncClient(transport=self.transport, follow_redirects=False) as http:
            for attempt in range(attempts):
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                headers = {**await self._credentials(), "Accept": FHIR_JSON, **extra_headers}
                try:
                    response = await http.request(method, url, headers=headers, timeout=remaining, **kwargs)
                except httpx.TimeoutException:
                    error = DmpUnavailable("Le DMP ne répond pas (délai dépassé).", "timeout")
                except httpx.TransportError:
                    error = DmpUnavailable("Le DMP est injoignable.", "unreachable")
                else:
                    if response.status_code not in RETRY_STATUSES:
                        return response
                    error = DmpUnavailable(f"Le DMP est indisponible (erreur {response.status_code}).", "server")
                if attempt + 1 < attempts:
                    await asyncio.sleep(min(0.05 * 2 ** attempt, max(0.0, deadline - loop.time())))
            raise error

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        kind = response.headers.get("content-type", "").split(";")[0].strip()
        if kind not in (FHIR_JSON, "application/json"):
            if response.status_code >= 500:
                raise DmpUnavailable(f"Le DMP est indisponible (erreur {response.status_code}).", "server")
            raise DmpInvalidAnswer("Le DMP a envoyé une réponse invalide (ce n'est pas du FHIR JSON).", "not-json")
        try:
            body = response.json()
        except ValueError:
            raise DmpInvalidAnswer("Le DMP a envoyé une réponse invalide (JSON illisible).", "bad-json") from None
        if not isinstance(body, dict):
            raise DmpInvalidAnswer("Le DMP a envoyé une réponse invalide.", "bad-json")
        if response.status_code >= 500:
            raise DmpUnavailable(f"Le DMP est indisponible (erreur {response.status_code}).", "server")
        if response.status_code >= 400:
            raise self._refusal(body, response.status_code)
        return body

    @staticmethod
    def _refusal(body: dict[str, Any], status: int) -> DmpRefused:
        message, reason = f"Le DMP a refusé la demande (erreur {status}).", ""
        if body.get("resourceType") == "OperationOutcome":
            for issue in body.get("issue") or []:
                details = issue.get("details") or {}
                message = details.get("text") or issue.get("diagnostics") or message
                reason = next((c.get("code", "") for c in details.get("coding") or [] if c.get("system") == REFUSAL_SYSTEM), "")
                break
        return DmpRefused(str(message)[:500], reason)

    async def _bundle(self, path: str, params: list[tuple[str, str]]) -> Bundle:
        body = self._json(await self._send("GET", f"{self.base}/{path}", idempotent=True, params=params))
        try:
            bundle = Bundle.model_validate(body)
        except (ValidationError, ValueError, TypeError):
            raise DmpInvalidAnswer("Le DMP a envoyé une réponse invalide (Bundle FHIR non conforme).", "bad-bundle") from None
        if bundle.type != "searchset":
            raise DmpInvalidAnswer("Le DMP a envoyé une réponse invalide (un Bundle searchset était attendu).", "bad-bundle")
        return bundle

    # --- transactions ------------------------------------------------------------------------

    async def patient(self) -> PatientStatus:
        """Whether the patient has a DMP (TD0.2), and an active bris de glace of the caller."""
        bundle = await self._bundle("Patient", [("identifier", self.patient_token)])
        patients = [e.resource for e in bundle.entry or [] if e.resource is not None and e.resource.get_resource_type() == "Patient"]
        if not patients:
            return PatientStatus(False)
        security = patients[0].meta.security if patients[0].meta and patients[0].meta.security else []
        until = next((s.display for s in security if s.code == "BTG"), None)
        return PatientStatus(True, until)

    async def find(self, *, type_code: str | None = None, class_code: str | None = None, since: date | None = None,
                   until: date | None = None, author_idnat: str | None = None) -> DocumentList:
        """ITI-67: the patient's current documents matching the filters, most recent first."""
        params = [("patient.identifier", self.patient_token), ("status", "current")]
        if type_code:
            kind = type_of(type_code)
            params.append(("type", f"{kind.system if kind else LOINC}|{type_code}"))
        if class_code:
            params.append(("category", f"{CLASS_SYSTEM}|{class_code}"))
        if since:
            params.append(("period", f"ge{since.isoformat()}"))
        if until:
            params.append(("period", f"le{until.isoformat()}"))
        if author_idnat:
            params.append(("author.identifier", f"{IDNAT_PS_SYSTEM}|{author_idnat}"))
        bundle = await self._bundle("DocumentReference", params)
        entries = DocumentList()
        for entry in bundle.entry or []:
            resource = entry.resource
            if resource is not None and resource.get_resource_type() == "OperationOutcome" and entry.search \
                    and entry.search.mode == "outcome":
                # Documents the DMP holds but withholds from this caller, and why (the matrix, masking, care).
                entries.withheld.extend(issue.diagnostics for issue in resource.issue or [] if issue.diagnostics)
                continue
            if resource is None or resource.get_resource_type() != "DocumentReference":
                raise DmpInvalidAnswer("Le DMP a envoyé une réponse invalide (ressource inattendue).", "bad-bundle")
            entries.append(self._entry(resource))
        return entries

    def _entry(self, reference: Any) -> DocumentEntry:
        try:
            attachment = reference.content[0].attachment
            known = types()
            type_code = next(c.code for c in reference.type.coding if c.code in known or c.system == LOINC)
            kind = known.get(type_code)
            class_code = next((c.code for cat in reference.category or [] for c in cat.coding or [] if c.system == CLASS_SYSTEM),
                              kind.class_code if kind else "")
            author = (reference.author or [None])[0]
            author_idnat = author.identifier.value if author is not None and author.identifier else None
            start = reference.context.period.start if reference.context and reference.context.period else None
            return DocumentEntry(
                id=str(reference.id), title=reference.description or attachment.title or "Document",
                type_code=type_code, type_label=kind.label if kind else type_code,
                class_code=class_code, class_label=classes().get(class_code, class_code),
                content_type=attachment.contentType or "", size=attachment.size, url=attachment.url or "",
                author_name=(author.display if author is not None else None) or "Auteur inconnu", author_idnat=author_idnat,
                service_date=date.fromisoformat(str(start)[:10]) if start else None,
                indexed_at=reference.date if isinstance(reference.date, datetime) else None,
                masked=any(c.code == "R" for label in reference.securityLabel or [] for c in label.coding or []),
                labels=frozenset(c.code for label in reference.securityLabel or [] for c in label.coding or []
                                 if c.system == CONFIDENTIALITY_SYSTEM and c.code),
                hidden_from_patient_until=next((label.text for label in reference.securityLabel or []
                                                if label.text and any(c.code == INVISIBLE_PATIENT for c in label.coding or [])),
                                               None))
        except (AttributeError, IndexError, StopIteration, TypeError, ValueError):
            raise DmpInvalidAnswer("Le DMP a envoyé une réponse invalide (DocumentReference incomplet).", "bad-document") from None

    async def read(self, document_id: str) -> DocumentEntry:
        """The DocumentReference `document_id`."""
        from fhir.resources.R4B.documentreference import DocumentReference

        if not FHIR_ID.fullmatch(document_id):   # an id goes into a URL path: nothing else may ride along
            raise DmpRefused("Ce document n'existe pas ou ne vous est pas accessible.", "no-document")
        body = self._json(await self._send("GET", f"{self.base}/DocumentReference/{document_id}", idempotent=True))
        try:
            return self._entry(DocumentReference.model_validate(body))
        except (ValidationError, ValueError, TypeError):
            raise DmpInvalidAnswer("Le DMP a envoyé une réponse invalide (DocumentReference non conforme).", "bad-document") from None

    async def retrieve(self, entry: DocumentEntry) -> tuple[bytes, str]:
        """ITI-68: the document's bytes and content type, from its attachment URL (on this DMP only)."""
        if not entry.url.startswith(f"{self.base}/Binary/"):
            raise DmpInvalidAnswer("Le DMP a indiqué une adresse de document qui n'est pas la sienne.", "foreign-url")
        response = await self._send("GET", entry.url, idempotent=True, headers={"Accept": "*/*"})
        if response.status_code >= 400:
            self._json(response)
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in STORED:
            raise DmpInvalidAnswer("Le DMP a envoyé un document d'un type inattendu.", "bad-content")
        return response.content, kind

    async def provide(self, *, type_code: str, title: str, content_type: str, data: bytes, service_date: date,
                      confidentiality: frozenset[str] = frozenset()) -> str:
        """ITI-65: submit one document (`confidentiality`: R, INVISIBLE_PATIENT, INVISIBLE_REPRESENTANTS_LEGAUX); its id."""
        body = provide_bundle(self.caller, self.patient_token, type_code=type_code, title=title,
                              content_type=content_type, data=data, service_date=service_date,
                              confidentiality=confidentiality)
        response = await self._send("POST", f"{self.base}/", idempotent=False, json=body,
                                    headers={"Content-Type": FHIR_JSON})
        answer = self._json(response)
        try:
            bundle = Bundle.model_validate(answer)
            location = next(e.response.location for e in bundle.entry or []
                            if e.response and (e.response.location or "").startswith("DocumentReference/"))
        except (ValidationError, ValueError, TypeError, StopIteration):
            raise DmpInvalidAnswer("Le DMP a envoyé une réponse invalide à l'envoi du document.", "bad-bundle") from None
        return location.split("/", 1)[1]

    async def emergency(self, reason: str, *, regulation: bool = False) -> str:
        """Bris de glace (or the SAMU's regulation): open the DMP in an emergency; returns when the access ends."""
        body = {"resourceType": "Parameters", "parameter": [{"name": "reason", "valueString": reason}]}
        operation = "$regulation" if regulation else "$bris-de-glace"
        answer = self._json(await self._send("POST", f"{self.base}/Patient/{operation}", idempotent=False,
                                             json=body, headers={"Content-Type": FHIR_JSON}))
        try:
            parameters = Parameters.model_validate(answer)
            return str(next(p.valueInstant for p in parameters.parameter or [] if p.name == "expires"))
        except (ValidationError, ValueError, TypeError, StopIteration):
            raise DmpInvalidAnswer("Le DMP a envoyé une réponse invalide à la demande d'accès en urgence.", "bad-parameters") from None

    async def consent(self, scope: str, how: str) -> str:
        """Record the patient's consent (`scope`: consultation, or equipe-de-soins for the initial consent); what was recorded."""
        body = {"resourceType": "Parameters", "parameter": [{"name": "scope", "valueCode": scope},
                                                            {"name": "how", "valueCode": how}]}
        answer = self._json(await self._send("POST", f"{self.base}/Patient/$consentement", idempotent=False,
                                             json=body, headers={"Content-Type": FHIR_JSON}))
        try:
            parameters = Parameters.model_validate(answer)
            return str(next(p.valueString for p in parameters.parameter or [] if p.name == "recorded"))
        except (ValidationError, ValueError, TypeError, StopIteration):
            raise DmpInvalidAnswer("Le DMP a envoyé une réponse invalide à l'enregistrement du consentement.", "bad-parameters") from None

    async def history(self) -> AccessHistory:
        """The patient's access history, most recent first, and the notifications sent about it."""
        bundle = await self._bundle("AuditEvent", [("patient.identifier", self.patient_token)])
        lines = AccessHistory()
        try:
            for entry in bundle.entry or []:
                event = entry.resource
                if event is not None and event.get_resource_type() == "Communication":
                    lines.notifications.append(Notice(
                        recipient=event.recipient[0].display or "", subject=event.topic.text if event.topic else "",
                        body=event.payload[0].contentString if event.payload else "", sent=event.status == "completed"))
                    continue
                if event is None or event.get_resource_type() != "AuditEvent":
                    raise TypeError
                requestor = next(a for a in event.agent if a.requestor)
                principal = next((a.who.display for a in event.agent if not a.requestor and a.who), None)
                lines.append(AccessLine(
                    at=event.recorded, actor=requestor.who.display if requestor.who else "?",
                    role=requestor.role[0].text if requestor.role else "", acting_for=principal,
                    transaction=next((c.code for c in event.subtype or [] if c.system == TRANSACTION_SYSTEM), ""),
                    document_id=next((e.what.reference.split("/", 1)[1] for e in event.entity or []
                                      if e.what and e.what.reference and e.what.reference.startswith("DocumentReference/")), None),
                    granted=event.outcome == "0",
                    emergency=any(c.code == "BTG" for p in event.purposeOfEvent or [] for c in p.coding or []),
                    detail=event.outcomeDesc,
                    basis=next((p.text for p in requestor.purposeOfUse or [] if p.text), None)))
        except (AttributeError, StopIteration, TypeError, IndexError):
            raise DmpInvalidAnswer("Le DMP a envoyé une réponse invalide (historique non conforme).", "bad-audit") from None
        return lines


def provide_bundle(caller: Caller, patient_token: str, *, type_code: str, title: str, content_type: str,
                   data: bytes, service_date: date, confidentiality: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The ITI-65 transaction Bundle: SubmissionSet List + DocumentReference + Binary (validated here)."""
    system, value = patient_token.split("|", 1)
    subject = {"identifier": {"system": system, "value": value}}
    author: dict[str, Any] = {"display": caller.name}
    if caller.idnat:
        author["identifier"] = {"system": IDNAT_PS_SYSTEM, "value": caller.idnat}
    binary_url, reference_url, list_url = (f"urn:uuid:{uuid.uuid4()}" for _ in range(3))
    now = datetime.now().astimezone().isoformat(timespec="seconds")
    kind = types()[type_code]
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": list_url, "request": {"method": "POST", "url": "List"}, "resource": {
            "resourceType": "List", "id": uuid.uuid4().hex, "status": "current", "mode": "working", "date": now,
            "code": {"coding": [{"system": "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes",
                                 "code": SUBMISSION_SET}]},
            "subject": subject, "source": author, "entry": [{"item": {"reference": reference_url}}]}},
        {"fullUrl": reference_url, "request": {"method": "POST", "url": "DocumentReference"}, "resource": {
            "resourceType": "DocumentReference", "status": "current",
            "type": {"coding": [{"system": kind.system, "code": type_code, "display": kind.label}]},
            "category": [{"coding": [{"system": CLASS_SYSTEM, "code": kind.class_code}]}],
            "subject": subject, "date": now, "author": [author], "description": title,
            "content": [{"attachment": {"contentType": content_type, "url": binary_url, "size": len(data), "title": title}}],
            "context": {"period": {"start": service_date.isoformat()}},
            **({"securityLabel": [{"coding": [
                {"system": CONFIDENTIALITY if code == "R" else CONFIDENTIALITY_SYSTEM, "code": code}]}
                for code in sorted(confidentiality)]} if confidentiality else {})}},
        {"fullUrl": binary_url, "request": {"method": "POST", "url": "Binary"}, "resource": {
            "resourceType": "Binary", "contentType": content_type, "data": base64.b64encode(data).decode()}},
    ]}
    Bundle.model_validate(bundle)
    return bundle
