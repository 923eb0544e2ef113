"""authlib's grants and extensions, bound to Bouquet's tables: the code flow (with OpenID Connect and
PKCE S256), refresh token rotation, client credentials, and `private_key_jwt` client authentication.

Every callback reads and writes through `adapter.current_session()`: the one transaction of the
token or authorization request being served.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import (
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
)
from authlib.oauth2.rfc6749.grants import (
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    RefreshTokenGrant,
)
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode
from authlib.oidc.core.util import create_half_hash
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlmodel import Session, col, select

from bouquet.foundation.db import utcnow
from bouquet.sso.accounts import Account
from bouquet.sso.delegation import principals_of
from bouquet.sso.oidc import tokens
from bouquet.sso.oidc.adapter import current_session
from bouquet.sso.oidc.claims import user_claims
from bouquet.sso.oidc.models import AuthorizationCode, OidcClient, Token
from bouquet.sso.oidc.patients import patient_resource_id, practitioner_url
from bouquet.sso.oidc.scopes import FHIR_USER, OFFLINE_ACCESS, scope_list
from bouquet.sso.oidc.signing import sign_later
from bouquet.web.sessions import WebSession

if TYPE_CHECKING:
    from bouquet.sso.oidc.server import Provider

# `client_secret_post` too: a certified relying party given a secret uses it by default (OIDC Core §9).
SECRET_METHODS = ["client_secret_basic", "client_secret_post"]
CONFIDENTIAL_METHODS = [*SECRET_METHODS, "private_key_jwt"]
CLIENT_AUTH_METHODS = [*CONFIDENTIAL_METHODS, "none"]
ID_TOKEN_LIFETIME = timedelta(minutes=10)
# The longest-lived client assertion accepted (authlib's own client signs them for an hour).
MAX_ASSERTION_LIFETIME = timedelta(hours=1, minutes=1)
ASSERTION_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]


@dataclass
class EndUser:
    """Who an authorization is for: the account, whom a secretary acts for, and how they signed in."""

    account: Account
    acting_for: Account | None
    sid: str
    auth_time: datetime
    amr: list[str] = field(default_factory=list)
    acr: str | None = None
    patient_context_id: str | None = None  # bound by a SMART launch handle at /authorize


def load_end_user(session: Session, account_id: int | None, acting_for_id: int | None, *, sid: str,
                  auth_time: datetime, amr: list[str], acr: str | None, live_sign_in: bool) -> EndUser | None:
    """The end user again at the token endpoint; None when the account was disabled (or, with
    `live_sign_in`, when the portal sign-in has ended since the code was issued)."""

    account = session.get(Account, account_id) if account_id is not None else None
    if account is None or not account.active or account.id is None:
        return None
    if live_sign_in and session.exec(select(WebSession.id).where(
            WebSession.sid == sid, col(WebSession.ended_at).is_(None))).first() is None:
        return None
    acting_for = None
    if acting_for_id is not None:
        # A delegation revoked since the sign-in no longer reaches the principal.
        acting_for = next((p for p in principals_of(session, account.id) if p.id == acting_for_id), None)
    return EndUser(account, acting_for, sid, auth_time, list(amr), acr)


@dataclass
class TokenView:
    """One token of a `Token` row (its access or its refresh token), as authlib's `TokenMixin`."""

    row: Token
    kind: str  # "access_token" or "refresh_token"

    def check_client(self, client: OidcClient) -> bool:
        return self.row.client_id == client.client_id

    def get_scope(self) -> str:
        return self.row.scope

    def get_expires_in(self) -> int:
        return int((self.row.access_expires_at - self.row.issued_at).total_seconds())

    def is_expired(self) -> bool:
        if self.kind == "refresh_token":
            return self.row.refresh_expires_at is not None and self.row.refresh_expires_at <= utcnow()
        return self.row.access_expires_at <= utcnow()

    def is_revoked(self) -> bool:
        return self.row.revoked_at is not None or (self.kind == "refresh_token" and self.row.refresh_used_at is not None)


def find_token(session: Session, value: str, hint: str | None) -> TokenView | None:
    """The access or refresh token with this value, trying the hinted kind first."""
    kinds = ["refresh_token", "access_token"] if hint == "refresh_token" else ["access_token", "refresh_token"]
    for kind in kinds:
        row = tokens.find_by_refresh(session, value) if kind == "refresh_token" else tokens.find_by_access(session, value)
        if row is not None:
            return TokenView(row, kind)
    return None


def with_patient(response: tuple[int, dict[str, Any], Any], patient_context_id: str | None) -> tuple[int, dict[str, Any], Any]:
    """SMART App Launch: the token response names the patient in context (its FHIR Patient id)."""
    status, body, headers = response
    if patient_context_id is not None and isinstance(body, dict) and "access_token" in body:
        body["patient"] = patient_resource_id(patient_context_id)
    return status, body, headers


class S256CodeChallenge(CodeChallenge):
    """PKCE, S256 only: required from every client (RFC 9700 §2.1.1) except a confidential client
    registered as a legacy one (`pkce_required=False`); `plain` refused."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    CODE_CHALLENGE_METHODS = {"S256": CodeChallenge.CODE_CHALLENGE_METHODS["S256"]}

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        client = grant.request.client
        if (client.is_public or client.pkce_required) and not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send a code_challenge with code_challenge_method=S256.")
        if data.get("code_challenge") and data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Only code_challenge_method=S256 is supported.")
        super().validate_code_challenge(grant, redirect_uri)


class BouquetOpenIDCode(OpenIDCode):
    """Adds the ID token to the code grant's token response, signed with the client's algorithm."""

    def __init__(self, provider: Provider) -> None:
        super().__init__(require_nonce=False)
        self.provider = provider

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        return tokens.nonce_used(current_session(), request.payload.client_id, nonce)

    def generate_user_info(self, user: EndUser, scope: str) -> dict[str, Any]:
        return user_claims(user.account, user.acting_for, scope, amr=user.amr)

    def encode_id_token(self, token: dict[str, Any], request: Any) -> str:
        client: OidcClient = request.client
        code: AuthorizationCode = request.authorization_code
        alg = client.id_token_signed_response_alg
        kid, key = self.provider.keyring.signing_key(alg)
        now = int(time.time())
        claims = self.generate_user_info(request.user, token["scope"])
        claims.update(iss=self.provider.issuer, aud=client.client_id, iat=now,
                      exp=now + int(ID_TOKEN_LIFETIME.total_seconds()), auth_time=code.get_auth_time(), sid=code.sid)
        if FHIR_USER in scope_list(token["scope"]):
            claims["fhirUser"] = practitioner_url(self.provider.issuer, request.user.account)
        if code.nonce:
            claims["nonce"] = code.nonce
        if code.acr:
            claims["acr"] = code.acr
        if code.amr:
            claims["amr"] = list(code.amr)
        if at_hash := create_half_hash(token["access_token"], alg):
            claims["at_hash"] = at_hash.decode()
        # Signed once the transaction has committed (`signing`): never while holding the write lock.
        return sign_later({"alg": alg, "kid": kid, "typ": "JWT"}, claims, key)


class CodeGrant(AuthorizationCodeGrant):
    """The authorization code grant; a code is consumed before its tokens are issued."""

    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def validate_requested_scope(self) -> None:
        """Nothing: scope values the provider does not know, or the client may not have, are dropped
        (`OidcClient.get_allowed_scope`), not refused: OpenID Connect Core §3.1.2.1 says to ignore them."""

    def save_authorization_code(self, code: str, request: Any) -> None:
        user: EndUser = request.user
        data = request.payload.data
        assert user.account.id is not None
        tokens.save_code(current_session(), code, client_id=request.client.client_id, account_id=user.account.id,
                         acting_for_id=user.acting_for.id if user.acting_for else None,
                         redirect_uri=request.payload.redirect_uri or "", scope=request.scope or "",
                         nonce=data.get("nonce"), code_challenge=data.get("code_challenge"),
                         code_challenge_method=data.get("code_challenge_method"), sid=user.sid,
                         auth_time=user.auth_time, acr=user.acr, amr=user.amr,
                         patient_context_id=user.patient_context_id)

    def query_authorization_code(self, code: str, client: OidcClient) -> AuthorizationCode | None:
        return tokens.find_code(current_session(), code, client.client_id)

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        """Nothing: the code was marked used before the tokens were made, and is kept to spot a replay."""

    def authenticate_user(self, authorization_code: AuthorizationCode) -> EndUser | None:
        code = authorization_code
        return load_end_user(current_session(), code.account_id, code.acting_for_id, sid=code.sid,
                             auth_time=code.auth_time, amr=code.amr, acr=code.acr, live_sign_in=True)

    def create_token_response(self) -> Any:
        code: AuthorizationCode = self.request.authorization_code
        if not tokens.consume_code(current_session(), code):
            raise InvalidGrantError("The code was already used.")
        return with_patient(super().create_token_response(), code.patient_context_id)


class RotatingRefreshGrant(RefreshTokenGrant):
    """Refresh tokens are single use: each refresh returns a new one; a reused one revokes the grant."""

    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> TokenView | None:
        session = current_session()
        row = tokens.find_by_refresh(session, refresh_token)
        if row is None:
            return None
        if row.refresh_used_at is not None and row.revoked_at is None:
            tokens.revoke_grant(session, row.grant_id, "refresh_token_reused")
            return None
        return TokenView(row, "refresh_token") if tokens.refresh_usable(row) else None

    def authenticate_user(self, refresh_token: TokenView) -> EndUser | None:
        row = refresh_token.row
        return load_end_user(current_session(), row.account_id, row.acting_for_id, sid=row.sid or "",
                             auth_time=row.auth_time or row.issued_at, amr=row.amr, acr=row.acr, live_sign_in=False)

    def issue_token(self, user: EndUser, refresh_token: TokenView) -> dict[str, Any]:
        """A narrowed scope narrows the access token, not the grant: `offline_access` stays, so the
        grant keeps rotating refresh tokens (OpenID Connect Core §11)."""
        scope = scope_list(self.request.payload.scope or refresh_token.get_scope())
        if OFFLINE_ACCESS in scope_list(refresh_token.get_scope()) and OFFLINE_ACCESS not in scope:
            scope.append(OFFLINE_ACCESS)
        return self.generate_token(user=user, scope=" ".join(scope), include_refresh_token=True)

    def revoke_old_credential(self, refresh_token: TokenView) -> None:
        """Nothing: the old refresh token was consumed before the new one was made."""

    def create_token_response(self) -> Any:
        row = self.request.refresh_token.row
        if not tokens.consume_refresh(current_session(), row):
            raise InvalidGrantError("The refresh token was already used.")
        return with_patient(super().create_token_response(), row.patient_context_id)


class BackendGrant(ClientCredentialsGrant):
    """Client credentials, for a client's backend calling Bouquet APIs (e.g. `launch`)."""

    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL_METHODS

    def validate_token_request(self) -> None:
        super().validate_token_request()
        allowed = [value for value in scope_list(self.request.client.scope) if value != "openid"]
        asked = scope_list(self.request.payload.scope)
        if any(value not in allowed for value in asked) or not (asked or allowed):
            raise InvalidScopeError("The client may not ask for this scope.")
        self.request.scope = " ".join(asked or allowed)

    def create_token_response(self) -> Any:
        token = self.generate_token(scope=self.request.scope, include_refresh_token=False)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER


class ClientAssertion(JWTBearerClientAssertion):
    """`private_key_jwt`: the client signs an assertion with a key of its registered JWKS; each
    assertion's `jti` is accepted once, and its lifetime is bounded."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, provider: Provider) -> None:
        super().__init__(validate_jti=True, leeway=30)
        self.provider = provider

    def get_audiences(self) -> list[str]:
        return [self.provider.issuer, *(self.provider.url(path) for path in self.provider.client_auth_paths)]

    def resolve_client_public_key(self, client: OidcClient) -> KeySet:
        if not client.jwks:
            raise InvalidClientError(description="The client has no registered keys.")
        return KeySet.import_key_set(client.jwks)

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> Any:
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=ASSERTION_ALGORITHMS)
        except JoseError as exc:
            raise InvalidClientError(description="The client assertion is not valid.") from exc
        self.verify_claims(token.claims)
        return token.claims

    def validate_jti(self, claims: dict[str, Any], jti: Any) -> bool:
        expires_at = datetime.fromtimestamp(int(claims["exp"]), UTC)
        if expires_at - utcnow() > MAX_ASSERTION_LIFETIME:
            raise InvalidClientError(description="The client assertion lives too long.")
        return tokens.record_assertion(current_session(), str(claims["sub"]), str(jti), expires_at)
