"""The provider: authlib's `AuthorizationServer` with Bouquet's grants, endpoints and storage.

One `Provider` per app (`provider_of(app)`), created on first use. It keeps no state of its own but
the client and key caches, invalidated by generation counters any worker moves (`foundation.generations`):
codes, tokens, consents, clients and keys are all in the database, so N workers behave as one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from authlib.oauth2 import AuthorizationServer, OAuth2Request
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc9207 import IssuerParameter
from authlib.oidc.rpinitiated import EndSessionEndpoint
from joserfc.jwk import KeySet
from sqlmodel import Session, select

from bouquet.foundation.db import Database, utcnow
from bouquet.foundation.generations import GenerationCache
from bouquet.foundation.keys import audit_key
from bouquet.foundation.settings import Settings
from bouquet.sso.accounts import Account
from bouquet.sso.oidc import scopes, signing, tokens
from bouquet.sso.oidc.adapter import (
    AuthlibResponse,
    RequestData,
    StarletteOAuth2Request,
    bound_session,
    current_session,
)
from bouquet.sso.oidc.claims import subject
from bouquet.sso.oidc.exchange import TokenExchangeGrant
from bouquet.sso.oidc.grants import (
    CLIENT_AUTH_METHODS,
    CONFIDENTIAL_METHODS,
    BackendGrant,
    BouquetOpenIDCode,
    ClientAssertion,
    CodeGrant,
    RotatingRefreshGrant,
    S256CodeChallenge,
    TokenView,
    find_token,
)
from bouquet.sso.oidc.keys import KeyRing
from bouquet.sso.oidc.models import CLIENTS_GENERATION, OidcClient
from bouquet.sso.oidc.patients import (
    NoPatients,
    PatientBinding,
    fhir_base,
    patient_resource_id,
)

T = TypeVar("T")

AUTHORIZE, TOKEN, USERINFO, JWKS = "/authorize", "/token", "/userinfo", "/jwks"
REVOKE, INTROSPECT, END_SESSION = "/revoke", "/introspect", "/end-session"
DISCOVERY = "/.well-known/openid-configuration"


class BouquetAuthorizationServer(AuthorizationServer):
    """authlib's server, reading clients and storing tokens in the request's transaction."""

    def __init__(self, provider: Provider) -> None:
        super().__init__(scopes_supported=list(provider.scopes.supported))
        self.provider = provider

    def query_client(self, client_id: str) -> OidcClient | None:
        session = current_session()
        client = self.provider.clients.get(session, client_id, lambda: self._load_client(session, client_id))
        return client if client is not None and client.active else None

    def _load_client(self, session: Session, client_id: str) -> OidcClient | None:
        client = session.exec(select(OidcClient).where(OidcClient.client_id == client_id)).first()
        if client is None:
            return None
        session.expunge(client)  # shared by this worker's requests until the clients' generation moves
        # A path (the portal's own callback, migration 0009) is on this issuer's origin; never stored so.
        client.redirect_uris = [self.provider.url(uri) if uri.startswith("/") else uri for uri in client.redirect_uris]
        return client

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        session, client = current_session(), request.client
        code, old = request.authorization_code, getattr(request.refresh_token, "row", None)
        if code is not None:
            tokens.save_token(session, token, client_id=client.client_id, grant_id=tokens.new_secret(),
                              refresh_expires_at=code.auth_time + self.provider.refresh_lifetime,
                              account_id=code.account_id, acting_for_id=request.user.acting_for and request.user.acting_for.id,
                              code_id=code.id, sid=code.sid, auth_time=code.auth_time, acr=code.acr, amr=list(code.amr),
                              patient_context_id=code.patient_context_id)
        elif old is not None:
            # A rotated refresh token continues its grant; it never outlives the first one.
            tokens.save_token(session, token, client_id=client.client_id, grant_id=old.grant_id,
                              refresh_expires_at=old.refresh_expires_at, account_id=old.account_id,
                              acting_for_id=request.user.acting_for and request.user.acting_for.id,
                              code_id=old.code_id, sid=old.sid, auth_time=old.auth_time, acr=old.acr, amr=list(old.amr),
                              patient_context_id=old.patient_context_id, audience=old.audience)
        else:
            tokens.save_token(session, token, client_id=client.client_id, grant_id=tokens.new_secret(),
                              refresh_expires_at=None)

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        return request if isinstance(request, OAuth2Request) else StarletteOAuth2Request(request)

    def create_json_request(self, request: Any) -> Any:
        raise NotImplementedError("no JSON endpoint")

    def handle_response(self, status: int, body: Any, headers: Any) -> AuthlibResponse:
        headers = list(headers)
        if isinstance(body, dict) and body.get("error") == "invalid_client" and status == 400:
            # Every client-authentication failure alike, whatever the method (RFC 6749 §5.2 allows 401).
            status = 401
        if status == 401 and not any(name.lower() == "www-authenticate" for name, _ in headers):
            description = str((body or {}).get("error_description", "")).replace('"', "'")
            headers.append(("WWW-Authenticate", f'Basic realm="{self.provider.issuer}", error="invalid_client", '
                                                f'error_description="{description}"'))
        return AuthlibResponse(status, body, headers)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No signals: what matters is recorded in the database by the callbacks themselves."""


def _bearer_token(grant_type: str, client: OidcClient, user: Any = None, scope: str | None = None,
                  expires_in: int | None = None, include_refresh_token: bool = True) -> dict[str, Any]:
    token: dict[str, Any] = {"token_type": "Bearer", "access_token": tokens.new_secret(),
                             "expires_in": expires_in or int(tokens.ACCESS_TOKEN_LIFETIME.total_seconds())}
    if scope:
        token["scope"] = scope
    # OpenID Connect Core §11: a refresh token only for `offline_access` (kept by every rotation).
    if include_refresh_token and user is not None and scopes.OFFLINE_ACCESS in scopes.scope_list(scope):
        token["refresh_token"] = tokens.new_secret()
    return token


class Revocation(RevocationEndpoint):
    """RFC 7009. Revoking any token of a grant revokes the whole grant (its access and refresh tokens)."""

    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def check_params(self, request: Any, client: OidcClient) -> None:
        """`token` is required; an unknown `token_type_hint` is ignored, the search covering every
        kind of token (RFC 7009 §2.1) — not refused."""
        if "token" not in request.form:
            raise InvalidRequestError("The token to revoke is missing.")

    def query_token(self, token_string: str, token_type_hint: str | None) -> TokenView | None:
        return find_token(current_session(), token_string, token_type_hint)

    def revoke_token(self, token: TokenView, request: Any) -> None:
        tokens.revoke_grant(current_session(), token.row.grant_id, "revoked_by_client")


class Introspection(IntrospectionEndpoint):
    """RFC 7662, for resource servers (clients registered with `may_introspect`) and a token's own client."""

    CLIENT_AUTH_METHODS = CONFIDENTIAL_METHODS

    def __init__(self, provider: Provider) -> None:
        super().__init__()
        self.provider = provider

    def query_token(self, token_string: str, token_type_hint: str | None) -> TokenView | None:
        return find_token(current_session(), token_string, token_type_hint)

    def check_permission(self, token: TokenView, client: OidcClient, request: Any) -> bool:
        return client.may_introspect or token.row.client_id == client.client_id

    def introspect_token(self, token: TokenView) -> dict[str, Any]:
        row = token.row
        expires = row.refresh_expires_at if token.kind == "refresh_token" else row.access_expires_at
        payload: dict[str, Any] = {"active": True, "client_id": row.client_id, "scope": row.scope,
                                   "iat": int(row.issued_at.timestamp()), "iss": self.provider.issuer}
        if token.kind == "access_token":
            payload["token_type"] = "Bearer"
        if expires is not None:
            payload["exp"] = int(expires.timestamp())
        session = current_session()
        account = session.get(Account, row.account_id) if row.account_id is not None else None
        if account is not None:
            payload.update(sub=subject(account), username=account.idnat_ps or account.username, sid=row.sid,
                           acr=row.acr, amr=list(row.amr))
            if row.auth_time is not None:
                payload["auth_time"] = int(row.auth_time.timestamp())
        if row.acting_for_id is not None and (principal := session.get(Account, row.acting_for_id)) is not None:
            payload["acting_for"] = {"SubjectNameID": principal.idnat_ps or subject(principal)}
        if row.audience is not None:
            payload["aud"] = row.audience
        if row.patient_context_id is not None:
            payload["patient"] = patient_resource_id(row.patient_context_id)
        return payload


class EndSession(EndSessionEndpoint):
    """RP-initiated logout's validation (id_token_hint signed by us, registered post-logout URI).

    Ending the browser's session is the route's job: it holds the cookie and asks for confirmation.
    """

    def __init__(self, provider: Provider) -> None:
        super().__init__()
        self.provider = provider

    def get_server_jwks(self) -> KeySet:
        return self.provider.keyring.public_keyset()

    def end_session(self, end_session_request: Any) -> None:
        """Nothing here: see `bouquet.sso.oidc.logout`."""


class Provider:
    """The OpenID provider of one app: issuer, keys, authlib server, and how to run authlib code."""

    client_auth_paths = (TOKEN, REVOKE, INTROSPECT)

    def __init__(self, settings: Settings, db: Database, plugin_names: list[str] | tuple[str, ...] = (),
                 known_scopes: scopes.KnownScopes = scopes.CORE, patients: PatientBinding | None = None) -> None:
        self.settings, self.db = settings, db
        self.scopes = known_scopes  # the core's and the loaded plugins' (`bouquet_scopes`)
        self.patients: PatientBinding = patients or NoPatients()  # SMART launch and token exchange
        self.issuer = settings.base_url
        # What token exchange may name as `audience`: each plugin's API, and the SMART /fhir base.
        self.audiences = frozenset({fhir_base(self.issuer), *(f"bouquet:plugin:{name}" for name in plugin_names)})
        self.audit_key = audit_key(settings)
        self.refresh_lifetime = timedelta(hours=settings.session_absolute_hours)
        self.keyring = KeyRing(db, settings.secret_key)
        # Registered clients, per worker, valid while no worker anywhere changed one (`foundation.generations`).
        self.clients: GenerationCache[str, OidcClient] = GenerationCache(CLIENTS_GENERATION)
        self.server = self._build()

    def url(self, path: str) -> str:
        return self.issuer + path

    def _build(self) -> BouquetAuthorizationServer:
        server = BouquetAuthorizationServer(self)
        server.register_token_generator("default", _bearer_token)
        server.register_client_auth_method("private_key_jwt", ClientAssertion(self))
        server.register_grant(CodeGrant, [BouquetOpenIDCode(self), S256CodeChallenge(required=True)])
        server.register_grant(RotatingRefreshGrant)
        server.register_grant(BackendGrant)
        server.register_grant(TokenExchangeGrant)
        server.register_endpoint(Revocation(server))
        server.register_endpoint(Introspection(self))
        server.register_endpoint(EndSession(self))
        issuer = self.issuer

        class _Issuer(IssuerParameter):
            def get_issuer(self) -> str:
                return issuer

        self.rfc9207 = _Issuer()
        server.register_extension(self.rfc9207)
        return server

    def transaction(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn` in one write transaction that authlib's callbacks see (blocking); the ID tokens it
        issues are signed after the commit (`signing`), outside the write lock."""
        with signing.deferred() as pending:
            with self.db.write() as session, bound_session(session):
                result = fn(*args)
            return signing.complete(result, pending)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`transaction`, off the event loop."""
        return await self.db.run(self.transaction, fn, *args)

    def token_response(self, data: RequestData) -> AuthlibResponse:
        return self.server.create_token_response(data)

    def endpoint_response(self, name: str, data: RequestData) -> AuthlibResponse:
        return self.server.create_endpoint_response(name, data)


def provider_of(app: Any) -> Provider:
    """The app's provider (made on first use; it holds nothing another worker would need)."""
    state = app.state
    provider = getattr(state, "oidc", None)
    if provider is None:
        plugins = getattr(state, "plugins", None)
        provider = state.oidc = Provider(state.settings, state.db, plugins.names if plugins is not None else (),
                                         scopes.known_scopes(app), getattr(state, "patients", None))
    return provider


def purge(db: Database, patients: PatientBinding | None = None) -> int:
    """Delete expired codes, tokens, assertion ids and SMART launch handles (blocking)."""
    now = utcnow()
    with db.write() as session:
        return tokens.purge_expired(session, now) + (patients or NoPatients()).purge(session, now)
