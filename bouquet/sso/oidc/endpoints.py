"""The provider's HTTP endpoints, and the route list `bouquet.app` mounts.

Discovery (`/.well-known/openid-configuration`) names every endpoint; clients should find them
there rather than hard-code them. The token, revocation, introspection and userinfo endpoints
authenticate their callers themselves (client credentials or bearer token): they are `@sessionless`
(public, and no browser session is loaded for them) and listed in `CSRF_EXEMPT`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bouquet.sso.oidc import acr, admin, authorize, claims, consent, logout, scopes
from bouquet.sso.oidc.adapter import read_request, to_response
from bouquet.sso.oidc.bearer import (
    BearerTokenError,
    bearer_token_of,
    validate_access_token,
)
from bouquet.sso.oidc.exchange import TOKEN_EXCHANGE
from bouquet.sso.oidc.grants import (
    ASSERTION_ALGORITHMS,
    CLIENT_AUTH_METHODS,
    CONFIDENTIAL_METHODS,
    load_end_user,
)
from bouquet.sso.oidc.server import (
    AUTHORIZE,
    DISCOVERY,
    END_SESSION,
    INTROSPECT,
    JWKS,
    REVOKE,
    TOKEN,
    USERINFO,
    Provider,
    provider_of,
)
from bouquet.web.routing import sessionless

# "=" marks an exact path that cross-origin requests may also reach: relying parties POST
# authentication requests to /authorize from their own pages (OpenID Connect Core §3.1.2.1);
# /authorize changes nothing before the person acts, and its consent form keeps its CSRF token.
CSRF_EXEMPT = (TOKEN, REVOKE, INTROSPECT, USERINFO)
# Other sites POST authorization requests in the browser (OpenID Connect allows it); nothing changes
# before the person acts, and the consent form keeps its token.
CSRF_CROSS_SITE = (AUTHORIZE,)
FORM = "application/x-www-form-urlencoded"


def metadata(provider: Provider) -> dict[str, Any]:
    """The OpenID Provider Metadata (OpenID Connect Discovery 1.0, RFC 8414)."""
    return metadata_for(provider.issuer, provider.scopes)


def metadata_for(issuer: str, known_scopes: scopes.KnownScopes = scopes.CORE) -> dict[str, Any]:
    """The OpenID Provider Metadata of the provider whose issuer is `issuer` (the base URL), which
    knows `known_scopes` (the core's and the loaded plugins')."""

    def url(path: str) -> str:
        return issuer + path

    return {
        "issuer": issuer,
        "authorization_endpoint": url(AUTHORIZE),
        "token_endpoint": url(TOKEN),
        "userinfo_endpoint": url(USERINFO),
        "jwks_uri": url(JWKS),
        "end_session_endpoint": url(END_SESSION),
        "revocation_endpoint": url(REVOKE),
        "introspection_endpoint": url(INTROSPECT),
        "scopes_supported": list(known_scopes.supported),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials", TOKEN_EXCHANGE],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "token_endpoint_auth_methods_supported": list(CLIENT_AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGORITHMS,
        "revocation_endpoint_auth_methods_supported": list(CLIENT_AUTH_METHODS),
        "introspection_endpoint_auth_methods_supported": list(CONFIDENTIAL_METHODS),
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": list(claims.SUPPORTED),
        "acr_values_supported": list(acr.SUPPORTED),
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "ui_locales_supported": ["fr-FR"],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "authorization_response_iss_parameter_supported": True,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "frontchannel_logout_supported": False,
    }


@sessionless
async def discovery(request: Request) -> Response:
    return JSONResponse(metadata(provider_of(request.app)), headers={"Cache-Control": "public, max-age=300"})


@sessionless
async def jwks(request: Request) -> Response:
    provider = provider_of(request.app)
    keys = await provider.db.run(provider.keyring.jwks)
    # Short: a new key is published an hour before it signs, so caches of minutes are safe.
    return JSONResponse(keys, headers={"Cache-Control": "public, max-age=300"})


def _bad_request(message: str) -> Response:
    return JSONResponse({"error": "invalid_request", "error_description": message}, status_code=400,
                        headers={"Cache-Control": "no-store"})


async def _authlib_endpoint(request: Request, path: str, name: str | None) -> Response:
    provider = provider_of(request.app)
    try:
        data = await read_request(request, provider.url(path))
    except ValueError as exc:
        return _bad_request(str(exc))
    if name is None:
        result = await provider.run(provider.token_response, data)
    else:
        result = await provider.run(provider.endpoint_response, name, data)
    return to_response(result)


@sessionless
async def token(request: Request) -> Response:
    """POST /token: authorization_code, refresh_token, client_credentials and token exchange (RFC 8693)."""
    return await _authlib_endpoint(request, TOKEN, None)


@sessionless
async def revoke(request: Request) -> Response:
    """POST /revoke (RFC 7009)."""
    return await _authlib_endpoint(request, REVOKE, "revocation")


@sessionless
async def introspect(request: Request) -> Response:
    """POST /introspect (RFC 7662)."""
    return await _authlib_endpoint(request, INTROSPECT, "introspection")


@sessionless
async def userinfo(request: Request) -> Response:
    """GET or POST /userinfo: the claims the access token's scopes release about its user. The token
    comes in the `Authorization` header or, on a POST, as `access_token` in a form body (RFC 6750
    §2.1, §2.2) — one way only (§2)."""
    value = bearer_token_of(request)
    if request.method == "POST" and request.headers.get("content-type", "").startswith(FORM):
        in_body = (await request.form()).get("access_token")
        if isinstance(in_body, str) and in_body:
            if value is not None or request.headers.get("authorization"):
                return JSONResponse({"error": "invalid_request", "error_description":
                                     "Envoyez le jeton d'accès d'une seule façon : dans l'en-tête Authorization "
                                     "ou dans le corps du formulaire, pas les deux."}, status_code=400,
                                    headers={"WWW-Authenticate": 'Bearer error="invalid_request"',
                                             "Cache-Control": "no-store"})
            value = in_body if len(in_body) < 200 else None
            if value is None:
                return BearerTokenError(401, "invalid_token").response()
    if value is None:
        return BearerTokenError(401, None).response()
    db = request.app.state.db

    def load() -> dict[str, Any] | BearerTokenError:
        with db.session() as session:  # one transaction: the token, then whom it is about
            grant = validate_access_token(session, value)
            if grant is None or grant.account_id is None or grant.audience is not None:
                return BearerTokenError(401, "invalid_token")
            if not grant.has_scope(scopes.OPENID):
                return BearerTokenError(403, "insufficient_scope", scopes.OPENID)
            user = load_end_user(session, grant.account_id, grant.acting_for_id, sid=grant.sid or "",
                                 auth_time=grant.expires_at, amr=list(grant.amr), acr=grant.acr, live_sign_in=False)
            if user is None:
                return BearerTokenError(401, "invalid_token")
            return claims.user_claims(user.account, user.acting_for, " ".join(sorted(grant.scopes)), amr=list(grant.amr))

    found = await db.run(load)
    if isinstance(found, BearerTokenError):
        return found.response()
    return JSONResponse(found, headers={"Cache-Control": "no-store"})


routes: list[BaseRoute] = [
    Route(DISCOVERY, discovery, methods=["GET"]),
    Route(JWKS, jwks, methods=["GET"]),
    Route(AUTHORIZE, authorize.authorize, methods=["GET", "POST"]),
    Route(f"{AUTHORIZE}/consent", authorize.decide_consent, methods=["POST"]),
    Route(f"{AUTHORIZE}/switch-account", authorize.switch_account, methods=["POST"]),
    Route(TOKEN, token, methods=["POST"]),
    Route(USERINFO, userinfo, methods=["GET", "POST"]),
    Route(REVOKE, revoke, methods=["POST"]),
    Route(INTROSPECT, introspect, methods=["POST"]),
    Route(END_SESSION, logout.end_session, methods=["GET"]),
    Route(f"{END_SESSION}/confirm", logout.confirm_end_session, methods=["POST"]),
    Route("/account/applications", consent.applications, methods=["GET"]),
    Route("/account/applications/{client_id}/revoke", consent.revoke, methods=["POST"]),
    *admin.routes,
]
