"""How clients prove who they are (client_secret_basic, private_key_jwt, none), client credentials for
backends, introspection by resource servers, and the bearer-token helper Bouquet's own APIs use."""

from __future__ import annotations

import time

import httpx
import pytest
from authlib.oauth2.rfc7523 import private_key_jwt_sign
from joserfc.jwk import ECKey
from sqlmodel import select
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bouquet import hookimpl, public
from bouquet.sso.oidc import BearerTokenError, authenticate_bearer
from bouquet.sso.oidc.clients import InvalidClient, register_client
from bouquet.sso.oidc.models import Token
from bouquet.testing.oidc import Portal

ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _key_client(portal: Portal, **fields):
    key = ECKey.generate_key("P-256", private=True, auto_kid=True)
    client_id, _ = portal.register(token_endpoint_auth_method="private_key_jwt",
                                   jwks={"keys": [key.as_dict(private=False)]},
                                   grant_types=["authorization_code", "refresh_token", "client_credentials"],
                                   scope="openid launch", **fields)
    return client_id, key


def _backend_token(portal: Portal, client_id: str, assertion: str, **data: str) -> httpx.Response:
    return httpx.post(portal.endpoint("token_endpoint"), data={
        "grant_type": "client_credentials", "client_id": client_id, "client_assertion_type": ASSERTION,
        "client_assertion": assertion, **data})


def test_a_private_key_jwt_client_completes_the_code_flow(portal, browsers, make_rp, make_account):
    key = ECKey.generate_key("P-256", private=True, auto_kid=True)
    rp = make_rp(token_endpoint_auth_method="private_key_jwt", jwks={"keys": [key.as_dict(private=False)]}, auth=key)
    token = rp.sign_in(browsers().sign_in(make_account()))
    assert portal.id_claims(token["id_token"], rp.client_id, nonce=rp.nonce)["acr"] == "eidas1"


def test_a_client_assertion_is_accepted_once_and_only_while_valid(portal):
    client_id, key = _key_client(portal)
    token_url = portal.endpoint("token_endpoint")
    assertion = private_key_jwt_sign(key, client_id, token_url, alg="ES256")

    first = _backend_token(portal, client_id, assertion, scope="launch")
    with portal.db.session() as session:
        issued = len(session.exec(select(Token)).all())
    assert first.status_code == 200 and first.json()["scope"] == "launch"
    replayed = _backend_token(portal, client_id, assertion, scope="launch")
    assert replayed.status_code in (400, 401) and replayed.json()["error"] == "invalid_client"

    past = int(time.time()) - 600
    expired = private_key_jwt_sign(key, client_id, token_url, alg="ES256", issued_at=past - 60, expires_at=past)
    assert _backend_token(portal, client_id, expired).json()["error"] == "invalid_client"

    stranger = ECKey.generate_key("P-256", private=True)
    forged = private_key_jwt_sign(stranger, client_id, token_url, alg="ES256")
    assert _backend_token(portal, client_id, forged).json()["error"] == "invalid_client"

    elsewhere = private_key_jwt_sign(key, client_id, "https://other.example/token", alg="ES256")
    assert _backend_token(portal, client_id, elsewhere).json()["error"] == "invalid_client"

    too_long = private_key_jwt_sign(key, client_id, token_url, alg="ES256", expires_in=86_400)
    assert _backend_token(portal, client_id, too_long).json()["error"] == "invalid_client"
    with portal.db.session() as session:
        assert len(session.exec(select(Token)).all()) == issued  # no refused request issued anything


def test_client_credentials_grant_only_the_scopes_the_client_may_have(portal):
    client_id, secret = portal.register(grant_types=["client_credentials"], scope="launch", redirect_uris=[])
    token_url = portal.endpoint("token_endpoint")
    granted = httpx.post(token_url, data={"grant_type": "client_credentials"}, auth=(client_id, secret))
    assert granted.status_code == 200
    assert granted.json()["scope"] == "launch" and "refresh_token" not in granted.json()
    refused = httpx.post(token_url, data={"grant_type": "client_credentials", "scope": "launch scope_all"},
                         auth=(client_id, secret))
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_scope"
    wrong_secret = httpx.post(token_url, data={"grant_type": "client_credentials"}, auth=(client_id, "nope"))
    assert wrong_secret.status_code == 401 and wrong_secret.json()["error"] == "invalid_client"
    code_grant = httpx.post(token_url, data={"grant_type": "authorization_code", "code": "x"}, auth=(client_id, secret))
    assert code_grant.json()["error"] == "unauthorized_client"


def test_registration_refuses_what_would_be_unsafe(app):
    cases = [
        ({"redirect_uris": ["http://app.example/cb"]}, "redirect_uris"),
        ({"redirect_uris": ["https://app.example/cb#frag"]}, "redirect_uris"),
        ({"token_endpoint_auth_method": "none", "grant_types": ["client_credentials"]}, "grant_types"),
        ({"token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [{"kty": "EC", "d": "secret"}]}}, "jwks"),
        ({"scope": "openid admin"}, "scope"),
        ({"backchannel_logout_uri": "ftp://app.example/logout"}, "backchannel_logout_uri"),
    ]
    for fields, problem in cases:
        with app.state.db.write() as session, pytest.raises(InvalidClient) as refused:
            register_client(session, name="App", **{"redirect_uris": ["https://app.example/cb"], **fields})
        assert problem in refused.value.problems


def test_introspection_is_for_resource_servers_and_the_tokens_own_client(portal, browsers, make_rp, make_account):
    rp = make_rp()
    token = rp.sign_in(browsers().sign_in(make_account()))
    introspect = portal.endpoint("introspection_endpoint")
    server_id, server_secret = portal.register(grant_types=["client_credentials"], scope="launch", redirect_uris=[],
                                               may_introspect=True)
    other_id, other_secret = portal.register(grant_types=["client_credentials"], scope="launch", redirect_uris=[])

    seen = httpx.post(introspect, data={"token": token["access_token"]}, auth=(server_id, server_secret)).json()
    assert seen["active"] is True and seen["client_id"] == rp.client_id and seen["acr"] == "eidas1"
    assert seen["sub"] and seen["exp"] > time.time()
    hidden = httpx.post(introspect, data={"token": token["access_token"]}, auth=(other_id, other_secret)).json()
    assert hidden == {"active": False}
    anonymous = httpx.post(introspect, data={"token": token["access_token"]})
    assert anonymous.status_code == 401


class _Probe:
    """A plugin API protected by a bearer token, as the patient-context API will be."""

    @hookimpl
    def bouquet_routes(self):
        @public
        async def launch(request: Request) -> JSONResponse:
            try:
                grant = await authenticate_bearer(request, scope="launch")
            except BearerTokenError as error:
                return error.response()
            return JSONResponse({"client_id": grant.client_id, "account_id": grant.account_id})

        return [Route("/launch", launch, methods=["POST"])]


@pytest.fixture
def probed(make_live_server) -> Portal:
    server = make_live_server(extra_plugins=[("probe", _Probe())])
    return Portal(server.url, server.app)


def test_authenticate_bearer_checks_the_token_and_its_scope(probed):
    client_id, secret = probed.register(grant_types=["client_credentials"], scope="launch", redirect_uris=[])
    other_id, other_secret = probed.register(grant_types=["client_credentials"], scope="openid", redirect_uris=[])
    token_url = probed.endpoint("token_endpoint")
    launch = httpx.post(token_url, data={"grant_type": "client_credentials"}, auth=(client_id, secret)).json()
    weak = httpx.post(token_url, data={"grant_type": "client_credentials"}, auth=(other_id, other_secret))
    url = f"{probed.url}/p/probe/launch"

    ok = httpx.post(url, json={}, headers={"Authorization": f"Bearer {launch['access_token']}"})
    assert ok.status_code == 200 and ok.json() == {"client_id": client_id, "account_id": None}
    missing = httpx.post(url, json={})
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == 'Bearer realm="bouquet"'
    unknown = httpx.post(url, json={}, headers={"Authorization": "Bearer nope"})
    assert unknown.status_code == 401 and 'error="invalid_token"' in unknown.headers["www-authenticate"]
    assert weak.status_code == 400  # "openid" alone is no backend scope
    no_scope_id, no_scope_secret = probed.register(grant_types=["client_credentials"], scope="email", redirect_uris=[])
    other = httpx.post(token_url, data={"grant_type": "client_credentials"}, auth=(no_scope_id, no_scope_secret)).json()
    forbidden = httpx.post(url, json={}, headers={"Authorization": f"Bearer {other['access_token']}"})
    assert forbidden.status_code == 403 and 'error="insufficient_scope"' in forbidden.headers["www-authenticate"]
