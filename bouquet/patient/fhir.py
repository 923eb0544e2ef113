"""`/fhir`: the SMART launch base of an application opened from Bouquet.

- `GET /fhir/.well-known/smart-configuration`: SMART App Launch 2 discovery (public);
- `GET /fhir/metadata`: the CapabilityStatement (FHIR R4: Patient read, SMART security);
- `GET /fhir/Patient/{id}`: the patient in context, FR Core Patient INS shape, for an access token
  bound to that patient (SMART launch or token exchange) carrying `patient/Patient.read` (or `.rs`).
  Every read, and every refused read of an existing patient, is audited.
- `GET /fhir/Practitioner/{id}`: the token's own person (the `fhirUser` of its ID token), for a token
  with scope `fhirUser`; anyone else's is 403.

Errors are FHIR `OperationOutcome`s: 401 (no or bad token, with `WWW-Authenticate`), 403 (a token
not bound to this patient, or without the scope), 404 (no such patient, or its context was closed).
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bouquet.foundation.audit import Auditor
from bouquet.patient.context import PatientContextRecord, patient_of
from bouquet.patient.smart import (
    FHIR_PATH,
    fhir_base,
    patient_context_id_of,
    practitioner_id,
)
from bouquet.sso.accounts import Account
from bouquet.sso.oidc import scopes
from bouquet.sso.oidc.bearer import AccessGrant, BearerTokenError, authenticate_bearer
from bouquet.sso.oidc.endpoints import metadata_for
from bouquet.web.routing import public

FHIR_JSON = "application/fhir+json"
FHIR_VERSION = "4.0.1"
FR_CORE_PATIENT_INS = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient-ins"
OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
CAPABILITY_DATE = "2026-11-28"
IDNAT_PS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"  # the IdNat_PS (ANS), as FR Core names practitioners
FHIR_ID = re.compile(r"[A-Za-z0-9.-]{1,64}")
READ_SCOPES = (scopes.PATIENT_READ, scopes.PATIENT_RS)
CAPABILITIES = ["launch-ehr", "client-public", "client-confidential-symmetric", "client-confidential-asymmetric",
                "context-ehr-patient", "sso-openid-connect", "permission-patient",
                "permission-v1", "permission-v2", "authorize-post"]


def smart_configuration(base_url: str) -> dict[str, Any]:
    """SMART App Launch 2 `.well-known/smart-configuration` of this portal."""

    oidc = metadata_for(base_url)
    return {
        "issuer": oidc["issuer"],
        "jwks_uri": oidc["jwks_uri"],
        "authorization_endpoint": oidc["authorization_endpoint"],
        "token_endpoint": oidc["token_endpoint"],
        "userinfo_endpoint": oidc["userinfo_endpoint"],
        "revocation_endpoint": oidc["revocation_endpoint"],
        "introspection_endpoint": oidc["introspection_endpoint"],
        "grant_types_supported": oidc["grant_types_supported"],
        "token_endpoint_auth_methods_supported": oidc["token_endpoint_auth_methods_supported"],
        "token_endpoint_auth_signing_alg_values_supported": oidc["token_endpoint_auth_signing_alg_values_supported"],
        "scopes_supported": oidc["scopes_supported"],
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "capabilities": CAPABILITIES,
    }


def capability_statement(base_url: str) -> dict[str, Any]:
    """The CapabilityStatement of `/fhir`: read the patient in context, secured by SMART."""
    config = smart_configuration(base_url)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": CAPABILITY_DATE,
        "publisher": "Bouquet",
        "kind": "instance",
        "software": {"name": "Bouquet"},
        "implementation": {"description": "Bouquet : patient en contexte des applications lancées depuis le portail",
                           "url": fhir_base(base_url)},
        "fhirVersion": FHIR_VERSION,
        "format": ["json"],
        "rest": [{
            "mode": "server",
            "security": {
                "extension": [{"url": OAUTH_URIS, "extension": [
                    {"url": "authorize", "valueUri": config["authorization_endpoint"]},
                    {"url": "token", "valueUri": config["token_endpoint"]},
                    {"url": "revoke", "valueUri": config["revocation_endpoint"]},
                    {"url": "introspect", "valueUri": config["introspection_endpoint"]},
                ]}],
                "service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                         "code": "SMART-on-FHIR"}]}],
                "description": "OAuth 2 / SMART App Launch : jeton d'accès lié au patient en contexte.",
            },
            "resource": [{"type": "Patient", "supportedProfile": [FR_CORE_PATIENT_INS],
                          "interaction": [{"code": "read"}]},
                         {"type": "Practitioner", "interaction": [{"code": "read"}]}],
        }],
    }


def outcome(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """A FHIR OperationOutcome with one error issue (its diagnostics in French)."""
    body = {"resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": code, "diagnostics": message}]}
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON,
                        headers={"Cache-Control": "no-store", **(headers or {})})


@public
async def smart_configuration_endpoint(request: Request) -> Response:
    return JSONResponse(smart_configuration(request.app.state.settings.base_url),
                        headers={"Cache-Control": "public, max-age=300"})


@public
async def metadata_endpoint(request: Request) -> Response:
    return JSONResponse(capability_statement(request.app.state.settings.base_url), media_type=FHIR_JSON,
                        headers={"Cache-Control": "public, max-age=300"})


@public
async def read_patient(request: Request) -> Response:
    """GET /fhir/Patient/{id}: the patient the bearer token is bound to."""
    state = request.app.state
    try:
        grant = await authenticate_bearer(request, audience=fhir_base(state.settings.base_url))
    except BearerTokenError as error:
        return outcome(error.status_code, "login" if error.status_code == 401 else "forbidden", str(error.detail),
                       dict(error.headers or {}))
    if not any(grant.has_scope(scope) for scope in READ_SCOPES):
        error = BearerTokenError(403, "insufficient_scope", scopes.PATIENT_READ)
        return outcome(403, "forbidden", str(error.detail), dict(error.headers or {}))
    resource_id = request.path_params["id"]
    if not FHIR_ID.fullmatch(resource_id):
        return outcome(404, "not-found", "Aucun patient ne porte cet identifiant.")
    found = await state.db.run(_read, request, grant, resource_id)
    if isinstance(found, Response):
        return found
    return JSONResponse(found, media_type=FHIR_JSON, headers={"Cache-Control": "no-store"})


def _read(request: Request, grant: AccessGrant, resource_id: str) -> dict[str, Any] | Response:
    state = request.app.state
    context_id = patient_context_id_of(resource_id)
    with state.db.write() as session:
        account = session.get(Account, grant.account_id) if grant.account_id is not None else None
        principal = session.get(Account, grant.acting_for_id) if grant.acting_for_id is not None else None
        audit = Auditor(state.db, state.audit_key, actor=account.label if account else f"client:{grant.client_id}",
                        acting_for=principal.label if principal else None,
                        source_ip=request.client.host if request.client else None,
                        request_id=request.scope.get("state", {}).get("request_id"))
        record = session.get(PatientContextRecord, context_id)
        patient = patient_of(record) if record is not None and record.ended_at is None else None
        details = {"client_id": grant.client_id, "token_id": grant.token_id}
        if record is not None and grant.patient_context_id != context_id:
            audit.write_in(session, "fhir.patient_read", outcome="denied", patient_ins=record.patient_ins,
                           resource=f"Patient/{resource_id}", details=details)
            return outcome(403, "forbidden", "Ce jeton d'accès n'est pas lié à ce patient.")
        if patient is None or record is None:
            return outcome(404, "not-found", "Aucun patient en contexte ne porte cet identifiant.")
        audit.write_in(session, "fhir.patient_read", patient_ins=record.patient_ins, resource=f"Patient/{resource_id}",
                       details=details)
    return patient.to_fhir_patient(resource_id)


@public
async def read_practitioner(request: Request) -> Response:
    """GET /fhir/Practitioner/{id}: the person the bearer token was issued to (SMART `fhirUser`)."""
    state = request.app.state
    try:
        grant = await authenticate_bearer(request, scope=scopes.FHIR_USER, audience=fhir_base(state.settings.base_url))
    except BearerTokenError as error:
        return outcome(error.status_code, "login" if error.status_code == 401 else "forbidden", str(error.detail),
                       dict(error.headers or {}))

    def load() -> Any:
        with state.db.session() as session:
            return session.get(Account, grant.account_id) if grant.account_id is not None else None

    account = await state.db.run(load)
    if account is None or practitioner_id(account) != request.path_params["id"]:
        return outcome(403, "forbidden", "Ce jeton d'accès ne donne accès qu'à la fiche de la personne connectée.")
    practitioner: dict[str, Any] = {
        "resourceType": "Practitioner", "id": practitioner_id(account), "active": account.active,
        "name": [{"use": "usual", "family": account.family_name, "given": [account.given_name]}],
    }
    if account.idnat_ps:
        practitioner["identifier"] = [{"system": IDNAT_PS_SYSTEM, "value": account.idnat_ps}]
    return JSONResponse(practitioner, media_type=FHIR_JSON, headers={"Cache-Control": "no-store"})


routes: list[BaseRoute] = [
    Route(f"{FHIR_PATH}/.well-known/smart-configuration", smart_configuration_endpoint, methods=["GET"]),
    Route(f"{FHIR_PATH}/metadata", metadata_endpoint, methods=["GET"]),
    Route(f"{FHIR_PATH}/Patient/{{id}}", read_patient, methods=["GET"]),
    Route(f"{FHIR_PATH}/Practitioner/{{id}}", read_practitioner, methods=["GET"]),
]
