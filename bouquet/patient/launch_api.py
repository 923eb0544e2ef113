"""`POST /api/launch`: a practice software asks for a link that opens Bouquet on a patient.

The caller is an OAuth client of Bouquet with a `client_credentials` access token carrying the
scope `launch`. The JSON body names the professional (IdNat_PS), the patient (INS and traits),
and optionally the encounter and a `return_url`. Every value is checked before anything is
stored; a refusal names the field (`"patient.ins"`, `"professional"`…) and says why in French.
See `docs/integration.md` for the vendor's view.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bouquet.foundation.audit import Auditor
from bouquet.patient import launch_handles
from bouquet.patient.ins import InsError
from bouquet.patient.model import PatientContext
from bouquet.sso.accounts import Account, AccountKind, is_idnat_ps
from bouquet.sso.oidc.bearer import AccessGrant, BearerTokenError, authenticate_bearer
from bouquet.sso.oidc.clients import find_client
from bouquet.sso.oidc.models import OidcClient
from bouquet.sso.oidc.scopes import LAUNCH
from bouquet.sso.throttle import current_time
from bouquet.web.json import JsonBodyError, read_json
from bouquet.web.routing import public

PATH = "/api/launch"
MAX_BODY = 16 * 1024
MAX_RETURN_URL = 2000
# Keys of the patient object a caller may not set: the portal knows where the context came from.
_TRUSTED_KEYS = ("source", "established_at")
UNKNOWN_PROFESSIONAL = ("Aucun professionnel de santé actif de Bouquet ne porte cet identifiant national "
                        "(IdNat_PS) : vérifiez-le, ou demandez au professionnel de se connecter une première fois.")


class LaunchRefused(Exception):
    """One value of the request is refused: `field` names it, `message` says why in French."""

    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field, self.code, self.message = field, code, message

    def response(self) -> JSONResponse:
        return JSONResponse({"error": "invalid_request", "field": self.field, "code": self.code,
                             "message": self.message}, status_code=400, headers={"Cache-Control": "no-store"})


@public  # the bearer token, not a browser session, authenticates the caller
async def create_launch(request: Request) -> Response:
    """Check the client's token and the body, store a handle, answer 201 with the launch URL."""
    try:
        grant = await authenticate_bearer(request, scope=LAUNCH)
    except BearerTokenError as refused:
        return refused.response()
    state = request.app.state
    audit = _auditor(request, grant)
    try:
        body = await _json_body(request)
        client, professional = await state.db.run(_caller_and_professional, state.db, grant, body.get("professional"))
        patient = _patient(body)
        return_url = _return_url(body.get("return_url"), client)
    except LaunchRefused as refused:
        # Nothing is stored; the refusal itself is on the record (field and reason, never the values).
        await audit.log("launch.refused", outcome="failure", details={"field": refused.field, "code": refused.code})
        return refused.response()
    lifetime = timedelta(seconds=state.settings.launch_handle_seconds)
    handle = await state.db.run(
        launch_handles.create, state.db, audit, client_id=client.client_id, professional=professional,
        patient=patient, return_url=return_url, lifetime=lifetime, now=current_time(state))
    return JSONResponse({"launch_url": f"{state.settings.base_url}/launch?launch={handle}",
                         "expires_in": state.settings.launch_handle_seconds},
                        status_code=201, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def _auditor(request: Request, grant: AccessGrant) -> Auditor:
    state = request.app.state
    return Auditor(state.db, state.audit_key, actor=f"client:{grant.client_id}",
                   source_ip=request.client.host if request.client else None,
                   request_id=request.scope.get("state", {}).get("request_id"))


async def _json_body(request: Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise LaunchRefused("body", "wrong_content_type", "Envoyez le corps de la requête en JSON "
                            "(en-tête « Content-Type: application/json »).")
    try:
        body = await read_json(request, max_bytes=MAX_BODY)
    except JsonBodyError as refused:
        raise LaunchRefused("body", refused.reason, refused.message) from None
    if not isinstance(body, dict):
        raise LaunchRefused("body", "wrong_type", "Le corps de la requête doit être un objet JSON.")
    return body


def _caller_and_professional(db: Any, grant: AccessGrant, professional: object) -> tuple[OidcClient, str]:
    """The calling client (active) and the IdNat_PS of an active professional account. Blocking."""
    if not isinstance(professional, str) or not professional.strip():
        raise LaunchRefused("professional", "missing", "Indiquez l'identifiant national (IdNat_PS) du professionnel.")
    professional = professional.strip()
    if not is_idnat_ps(professional):
        raise LaunchRefused("professional", "bad_format", "L'identifiant national (IdNat_PS) doit compter 12 chiffres : "
                            "« 8 » suivi du numéro RPPS avec sa clé.")
    with db.session() as session:
        client = find_client(session, grant.client_id)
        account = session.exec(select(Account).where(Account.idnat_ps == professional)).first()
    if client is None or not client.active:
        # The token was valid a moment ago: the client was disabled in between.
        raise LaunchRefused("client", "client_disabled", "Ce logiciel n'est plus autorisé à ouvrir Bouquet.")
    if account is None or not account.active or account.kind != AccountKind.professional:
        raise LaunchRefused("professional", "unknown", UNKNOWN_PROFESSIONAL)
    return client, professional


def _patient(body: dict[str, Any]) -> PatientContext:
    """The patient object (and the top-level encounter) as a validated `PatientContext`."""
    data = body.get("patient")
    if data is None:
        raise LaunchRefused("patient", "missing", "Indiquez le patient (objet « patient » : INS et traits).")
    if not isinstance(data, dict):
        raise LaunchRefused("patient", "wrong_type", "Le patient doit être un objet JSON (INS et traits).")
    if data.get("identity_status") in (None, ""):
        raise LaunchRefused("patient.identity_status", "missing", "Indiquez le statut de l'identité du patient "
                            "(« patient.identity_status » : provisoire, recuperee, validee ou qualifiee).")
    values = {key: value for key, value in data.items() if key not in _TRUSTED_KEYS}
    if "encounter" in body:
        values["encounter"] = body["encounter"]
    try:
        patient = PatientContext.from_dict(values)
    except InsError as refused:
        field = "encounter" if refused.field == "encounter" and "encounter" in body else f"patient.{refused.field}"
        raise LaunchRefused(field, refused.code, refused.message) from None
    return replace(patient, source="launch")  # the real source (the client's name) is set when it opens


def _return_url(value: object, client: OidcClient) -> str | None:
    """An address of the practice software itself: the origin of one of its registered redirect URIs."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_RETURN_URL:
        raise LaunchRefused("return_url", "wrong_type",
                            f"L'adresse de retour doit être une chaîne de {MAX_RETURN_URL} caractères au plus.")
    origin = _origin(value)
    allowed = {_origin(uri) for uri in client.redirect_uris} - {None}
    if origin is None or origin not in allowed or any(c in value for c in "\\\r\n\t"):
        raise LaunchRefused("return_url", "foreign_origin", "L'adresse de retour doit être sur l'origine "
                            "(schéma, hôte et port) d'une adresse de redirection enregistrée pour ce logiciel.")
    return value


def _origin(url: str) -> tuple[str, str, int | None] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80)
