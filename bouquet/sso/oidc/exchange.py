"""OAuth 2.0 Token Exchange (RFC 8693), the "API Pro Santé Connectée" pattern.

A confidential client registered with the grant type `urn:ietf:params:oauth:grant-type:token-exchange`
presents a Bouquet access token it holds for a professional (`subject_token`, of type
`urn:ietf:params:oauth:token-type:access_token`) and gets a new short-lived access token:

- `audience`: one API identifier (`bouquet:plugin:<plugin>`, or the `/fhir` base); the new token
  is accepted only by that API (`authenticate_bearer(request, audience=…)`);
- `scope`: a subset of the subject token's scopes (never more: `invalid_scope`);
- `patient` (a FHIR Patient id) or `resource` (`<base>/fhir/Patient/<id>`): a patient context the
  professional (acting for whom they act for) established and that is still open; a subject token
  already bound to a patient can only keep that one (`invalid_target` otherwise).

The new token belongs to the subject's grant: it is revoked with it (sign-out, refresh reuse,
RFC 7009), lives at most `ACCESS_TOKEN_LIFETIME` and never outlives the subject token. It has no
refresh token and cannot itself be exchanged. Exchanges binding a patient are audited.
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import (
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc6749.grants import BaseGrant
from authlib.oauth2.rfc6749.grants.base import TokenEndpointMixin

from bouquet.foundation import audit
from bouquet.foundation.db import utcnow
from bouquet.sso.oidc import tokens
from bouquet.sso.oidc.adapter import current_session
from bouquet.sso.oidc.grants import CONFIDENTIAL_METHODS, EndUser, load_end_user
from bouquet.sso.oidc.models import Token
from bouquet.sso.oidc.patients import (
    fhir_base,
    patient_context_id_of,
    patient_resource_id,
)
from bouquet.sso.oidc.scopes import scope_list

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"


class InvalidTargetError(OAuth2Error):
    """RFC 8693 §2.2.2: the audience or resource is unknown, or not one the subject may reach."""

    error = "invalid_target"


class TokenExchangeGrant(BaseGrant, TokenEndpointMixin):
    """RFC 8693 at the token endpoint, narrowing a Bouquet access token (see the module docstring)."""

    GRANT_TYPE = TOKEN_EXCHANGE
    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL_METHODS

    def validate_token_request(self) -> None:
        client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError("The client is not allowed to exchange tokens.")
        self.request.client = client
        data, datalist = self.request.payload.data, self.request.payload.datalist
        for name in ("audience", "resource", "patient", "scope", "subject_token"):
            if len(datalist.get(name, [])) > 1:
                raise (InvalidTargetError if name in ("audience", "resource") else InvalidRequestError)(
                    f"Send at most one '{name}'.")
        if not data.get("subject_token") or not data.get("subject_token_type"):
            raise InvalidRequestError("'subject_token' and 'subject_token_type' are required.")
        if data["subject_token_type"] != ACCESS_TOKEN_TYPE:
            raise InvalidRequestError(f"Only subject_token_type={ACCESS_TOKEN_TYPE} is supported.")
        if data.get("requested_token_type", ACCESS_TOKEN_TYPE) != ACCESS_TOKEN_TYPE:
            raise InvalidRequestError(f"Only requested_token_type={ACCESS_TOKEN_TYPE} is supported.")
        if data.get("actor_token"):
            raise InvalidRequestError("Delegation ('actor_token') is not supported.")

        session = current_session()
        subject = tokens.find_by_access(session, data["subject_token"])
        if (subject is None or not tokens.access_usable(subject) or subject.client_id != client.client_id
                or subject.account_id is None or subject.audience is not None):
            raise InvalidGrantError("The subject token is unknown, expired, revoked, not yours, or already exchanged.")
        user = load_end_user(session, subject.account_id, subject.acting_for_id, sid=subject.sid or "",
                             auth_time=subject.auth_time or subject.issued_at, amr=list(subject.amr),
                             acr=subject.acr, live_sign_in=subject.sid is not None)
        if user is None or (subject.acting_for_id is not None and user.acting_for is None):
            raise InvalidGrantError("The subject token's sign-in or delegation has ended.")

        held = scope_list(subject.scope)
        asked = scope_list(data.get("scope"))
        if any(value not in held for value in asked):
            raise InvalidScopeError("The scope may only narrow the subject token's.")
        audience = data.get("audience")
        if audience is not None and audience not in self.server.provider.audiences:
            raise InvalidTargetError("Unknown audience.")
        self.request.user = user
        self.request.scope = " ".join(asked or held)
        self.subject, self.audience = subject, audience
        self.patient_context_id = self._patient(subject, user, data.get("patient"), data.get("resource"))

    def _patient(self, subject: Token, user: EndUser, patient: str | None, resource: str | None) -> str | None:
        if resource is not None:
            prefix = fhir_base(self.server.provider.issuer) + "/Patient/"
            if not resource.startswith(prefix) or (patient is not None and resource != prefix + patient):
                raise InvalidTargetError("Unknown resource.")
            patient = resource[len(prefix):]
        if patient is None:
            return subject.patient_context_id
        context_id = patient_context_id_of(patient)
        if subject.patient_context_id is not None and subject.patient_context_id != context_id:
            raise InvalidTargetError("The subject token is bound to another patient.")
        acting_for_id = user.acting_for.id if user.acting_for else None
        if not self.server.provider.patients.held_by(current_session(), context_id, user.account.id, acting_for_id):
            raise InvalidTargetError("Unknown patient.")
        return context_id

    def create_token_response(self) -> Any:
        session, subject, client = current_session(), self.subject, self.request.client
        left = int((subject.access_expires_at - utcnow()).total_seconds())
        lifetime = max(1, min(int(tokens.ACCESS_TOKEN_LIFETIME.total_seconds()), left))
        token = self.generate_token(scope=self.request.scope, expires_in=lifetime, include_refresh_token=False)
        token["issued_token_type"] = ACCESS_TOKEN_TYPE
        tokens.save_token(session, token, client_id=client.client_id, grant_id=subject.grant_id, refresh_expires_at=None,
                          account_id=subject.account_id, acting_for_id=subject.acting_for_id, code_id=subject.code_id,
                          sid=subject.sid, auth_time=subject.auth_time, acr=subject.acr, amr=list(subject.amr),
                          patient_context_id=self.patient_context_id, audience=self.audience)
        if self.patient_context_id is not None:
            token["patient"] = patient_resource_id(self.patient_context_id)
            self._audit(session)
        return 200, token, self.TOKEN_RESPONSE_HEADER

    def _audit(self, session: Any) -> None:
        user: EndUser = self.request.user
        patients = self.server.provider.patients
        audit.append(session, self.server.provider.audit_key, audit.AuditRecord(
            actor=user.account.label, acting_for=user.acting_for.label if user.acting_for else None,
            action="oidc.token_exchanged", patient_ins=patients.audit_ins(session, self.patient_context_id),
            resource=f"client:{self.request.client.client_id}",
            details={"audience": self.audience, "scope": self.request.scope,
                     "patient_context": self.patient_context_id}))

