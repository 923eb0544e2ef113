"""What the OpenID Foundation's Basic-OP and Config-OP plans and a strict relying party check, that the
other files of this folder do not: `client_secret_post`, unknown scopes ignored, `offline_access`,
`redirect_uri` required, PKCE from every client (and its documented exception), RFC 7009's hint,
one answer for every client-authentication failure, the token in a `/userinfo` POST body, PSC's
userinfo fields. docs/oidc.md's conformance matrix names the test of each plan module."""

from __future__ import annotations

import base64
import html
import json
import re
from urllib.parse import urlencode

import httpx
import pytest
from authlib.integrations.base_client import OAuthError
from authlib.oauth2.rfc7523 import private_key_jwt_sign
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey, RSAKey
from sqlmodel import select

from bouquet.sso.accounts import Account
from bouquet.sso.oidc.clients import InvalidClient, register_client
from bouquet.sso.oidc.models import AuthorizationCode, Token
from bouquet.testing.oidc import REDIRECT, query_of


def _rows(portal, table) -> int:
    with portal.db.session() as session:
        return len(session.exec(select(table)).all())


def _code(response: httpx.Response) -> str:
    assert response.status_code == 302, response.text[:300]
    answer = query_of(response.headers["location"])
    assert "error" not in answer, answer
    return answer["code"]


def _userinfo(portal, access_token: str) -> dict:
    response = httpx.get(portal.endpoint("userinfo_endpoint"), headers={"Authorization": f"Bearer {access_token}"})
    assert response.status_code == 200, response.text
    return response.json()


# --- client_secret_post (oidcc-server-client-secret-post) -------------------------------------------------------

def test_discovery_advertises_client_secret_post_and_offline_access(portal):
    document = httpx.get(f"{portal.url}/.well-known/openid-configuration").json()
    assert "client_secret_post" in document["token_endpoint_auth_methods_supported"]
    assert "client_secret_post" in document["revocation_endpoint_auth_methods_supported"]
    assert "client_secret_post" in document["introspection_endpoint_auth_methods_supported"]
    assert "offline_access" in document["scopes_supported"]
    assert document["backchannel_logout_supported"] is True
    assert {"email_verified", "Secteur_Activite", "Palier_Authentification"} <= set(document["claims_supported"])


def test_a_client_secret_post_client_completes_the_code_flow_with_the_secret_in_the_body(
        portal, browsers, make_rp, make_account):
    rp = make_rp(token_endpoint_auth_method="client_secret_post", scope="openid profile")
    doctor = make_account()
    browser = browsers().sign_in(doctor)

    code = _code(browser.get(rp.authorization_url()))
    # The same request a certified RP sends: no Authorization header, the secret in the form.
    sent = httpx.post(portal.endpoint("token_endpoint"), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": rp.client_id,
        "client_secret": rp.oauth.client_secret, "code_verifier": rp.verifier})
    assert sent.status_code == 200, sent.text
    assert portal.id_claims(sent.json()["id_token"], rp.client_id, nonce=rp.nonce)["sub"] == doctor.idnat_ps

    # The same client presenting its secret another way than it registered is refused.
    code = _code(browser.get(rp.authorization_url()))
    basic = httpx.post(portal.endpoint("token_endpoint"), auth=(rp.client_id, rp.oauth.client_secret), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": rp.verifier})
    assert basic.status_code == 401 and basic.json()["error"] == "invalid_client"
    assert "www-authenticate" in basic.headers


# --- client authentication failures: one answer (401 + WWW-Authenticate) ---------------------------------------

def test_every_client_authentication_failure_is_a_401_with_www_authenticate(portal):
    token_url = portal.endpoint("token_endpoint")
    key = ECKey.generate_key("P-256", private=True, auto_kid=True)
    key_client, _ = portal.register(token_endpoint_auth_method="private_key_jwt",
                                    jwks={"keys": [key.as_dict(private=False)]},
                                    grant_types=["client_credentials"], scope="launch")
    post_client, _ = portal.register(token_endpoint_auth_method="client_secret_post",
                                     grant_types=["client_credentials"], scope="launch")
    basic_client, _ = portal.register(grant_types=["client_credentials"], scope="launch")

    stranger = ECKey.generate_key("P-256", private=True)
    attempts = {
        "private_key_jwt, foreign key": {"client_id": key_client, "client_assertion": private_key_jwt_sign(
            stranger, key_client, token_url, alg="ES256"),
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
        "private_key_jwt, garbage": {"client_id": key_client, "client_assertion": "not.a.jwt",
                                     "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
        "client_secret_post, wrong secret": {"client_id": post_client, "client_secret": "faux"},
        "unknown client": {"client_id": "inconnu", "client_secret": "faux"},
    }
    for name, credentials in attempts.items():
        response = httpx.post(token_url, data={"grant_type": "client_credentials", "scope": "launch", **credentials})
        assert response.status_code == 401, (name, response.status_code, response.text)
        assert response.json()["error"] == "invalid_client", name
        assert response.headers["www-authenticate"].startswith("Basic "), name
    basic = httpx.post(token_url, auth=(basic_client, "faux"), data={"grant_type": "client_credentials"})
    assert basic.status_code == 401 and "www-authenticate" in basic.headers

    # The second try, with the right key, works.
    good = httpx.post(token_url, data={
        "grant_type": "client_credentials", "scope": "launch", "client_id": key_client,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": private_key_jwt_sign(key, key_client, token_url, alg="ES256")})
    assert good.status_code == 200 and good.json()["scope"] == "launch"


# --- scopes: unknown ones ignored, offline_access -----------------------------------------------------------------

def test_unknown_scopes_are_ignored_not_refused(portal, browsers, make_rp, make_account):
    rp = make_rp(scope="openid profile")
    browser = browsers().sign_in(make_account())
    for scope in ("openid bogus", "openid address phone", "email openid", "openid profile scope_all"):
        location = browser.get(rp.authorization_url(scope=scope)).headers["location"]
        token = rp.exchange(location)
        granted = set(token["scope"].split())
        assert "openid" in granted and granted <= {"openid", "profile"}, (scope, granted)
        assert "refresh_token" not in token


def test_a_refresh_token_only_for_offline_access(portal, browsers, make_rp, make_account):
    rp = make_rp(scope="openid profile")
    browser = browsers().sign_in(make_account())

    without = rp.sign_in(browser)
    assert "refresh_token" not in without and "offline_access" not in without["scope"]

    offline = rp.sign_in(browser, scope="openid profile offline_access")
    assert offline["scope"].split() == ["openid", "profile", "offline_access"]
    refreshed = rp.oauth.refresh_token(portal.endpoint("token_endpoint"), refresh_token=offline["refresh_token"])
    # authlib's client narrows the scope to its registered "openid profile": the grant keeps offline access.
    assert refreshed["refresh_token"] != offline["refresh_token"] and "offline_access" in refreshed["scope"]

    # A client not registered for refresh tokens asks in vain: the scope is dropped.
    no_refresh = make_rp(scope="openid", grant_types=["authorization_code"])
    token = no_refresh.sign_in(browser, scope="openid offline_access")
    assert token["scope"] == "openid" and "refresh_token" not in token


def test_offline_access_is_consented_by_the_person(portal, browsers, make_rp, make_account):
    rp = make_rp(first_party=False, name="Agenda Santé", scope="openid profile")
    browser = browsers().sign_in(make_account())

    asked = browser.get(rp.authorization_url())
    query = html.unescape(re.search(r'name="query" value="([^"]*)"', asked.text).group(1))
    rp.exchange(browser.post("/authorize/consent", {"decision": "allow", "query": query}).headers["location"])

    # Remembered for "openid profile", but offline access is more: asked again, and described.
    again = browser.get(rp.authorization_url(scope="openid profile offline_access"))
    assert again.status_code == 200 and "Garder l&#39;accès à ces informations quand vous" in again.text
    query = html.unescape(re.search(r'name="query" value="([^"]*)"', again.text).group(1))
    token = rp.exchange(browser.post("/authorize/consent", {"decision": "allow", "query": query}).headers["location"])
    assert token["refresh_token"]


# --- redirect_uri is required (OIDC Core §3.1.2.1) ---------------------------------------------------------------

def test_the_redirect_uri_is_required_even_with_one_registered(portal, browsers, make_rp, make_account):
    rp = make_rp()
    browser = browsers().sign_in(make_account())
    codes = _rows(portal, AuthorizationCode)
    url = rp.authorization_url()
    without = browser.get(re.sub(r"&?redirect_uri=[^&]*", "", url))
    assert without.status_code == 400 and "location" not in without.headers
    assert "adresse où revenir" in without.text
    assert _rows(portal, AuthorizationCode) == codes
    assert "code" in query_of(browser.get(rp.authorization_url()).headers["location"])  # the corrected request


# --- PKCE: from every client by default, a documented exception for legacy confidential clients -----------------

def test_pkce_is_required_from_confidential_clients_unless_registered_as_legacy(
        portal, browsers, make_rp, make_account):
    browser = browsers().sign_in(make_account())
    modern = make_rp()
    refused = browser.get(modern.authorization_url(pkce=False))
    assert query_of(refused.headers["location"])["error"] == "invalid_request"
    assert _code(browser.get(modern.authorization_url()))

    # oidcc-server: the conformance suite sends no PKCE; its client is registered as a legacy one.
    legacy = make_rp(pkce_required=False)
    token = legacy.sign_in(browser, pkce=False)
    assert portal.id_claims(token["id_token"], legacy.client_id, nonce=legacy.nonce)["acr"] == "eidas1"
    # PKCE is still checked when a legacy client sends it.
    location = browser.get(legacy.authorization_url()).headers["location"]
    with pytest.raises(OAuthError) as wrong:
        legacy.exchange(location, code_verifier="x" * 50)
    assert wrong.value.error == "invalid_grant"


def test_a_public_client_cannot_be_exempted_from_pkce(app):
    with app.state.db.write() as session, pytest.raises(InvalidClient) as invalid:
        register_client(session, name="Appli mobile", redirect_uris=[REDIRECT], token_endpoint_auth_method="none",
                        pkce_required=False)
    assert "pkce_required" in invalid.value.problems


# --- revocation (RFC 7009) ---------------------------------------------------------------------------------------

def test_revocation_ignores_an_unknown_token_type_hint(portal, browsers, make_rp, make_account):
    rp = make_rp()
    token = rp.sign_in(browsers().sign_in(make_account()), scope="openid offline_access")
    revoke = portal.endpoint("revocation_endpoint")
    response = httpx.post(revoke, auth=(rp.client_id, rp.oauth.client_secret),
                          data={"token": token["access_token"], "token_type_hint": "id_token"})
    assert response.status_code == 200
    assert httpx.get(portal.endpoint("userinfo_endpoint"),
                     headers={"Authorization": f"Bearer {token['access_token']}"}).status_code == 401
    missing = httpx.post(revoke, auth=(rp.client_id, rp.oauth.client_secret), data={"token_type_hint": "x"})
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"


# --- userinfo (oidcc-userinfo-get, -post-header, -post-body) ------------------------------------------------------

def test_userinfo_takes_the_token_in_a_header_or_a_post_body_but_not_both(portal, browsers, make_rp, make_account):
    doctor = make_account()
    rp = make_rp()
    token = rp.sign_in(browsers().sign_in(doctor))
    url, access = portal.endpoint("userinfo_endpoint"), token["access_token"]

    assert httpx.get(url, headers={"Authorization": f"Bearer {access}"}).json()["sub"] == doctor.idnat_ps
    assert httpx.post(url, headers={"Authorization": f"Bearer {access}"}).json()["sub"] == doctor.idnat_ps
    in_body = httpx.post(url, data={"access_token": access})
    assert in_body.status_code == 200 and in_body.json()["sub"] == doctor.idnat_ps

    both = httpx.post(url, headers={"Authorization": f"Bearer {access}"}, data={"access_token": access})
    assert both.status_code == 400 and both.json()["error"] == "invalid_request"
    assert "une seule façon" in both.json()["error_description"]
    wrong = httpx.post(url, data={"access_token": "inconnu"})
    assert wrong.status_code == 401 and 'error="invalid_token"' in wrong.headers["www-authenticate"]


# --- PSC's userinfo shape -----------------------------------------------------------------------------------------

def test_userinfo_has_psc_fields(portal, browsers, make_rp, make_account):
    doctor = make_account(email="jean@example.fr", practice_sites=[
        {"structure_id": "R1", "name": "Cabinet du Parc", "sector_code": "SA07", "mode_code": "L"}])
    with portal.db.write() as session:
        stored = session.get(Account, doctor.id)
        stored.civility_code = "M"
        session.add(stored)
    rp = make_rp(scope="openid profile email scope_all")
    token = rp.sign_in(browsers().sign_in(doctor), scope="openid profile email scope_all")
    info = _userinfo(portal, token["access_token"])
    assert info["Secteur_Activite"] == "SA07^1.2.250.1.71.4.2.4"
    assert info["Palier_Authentification"] == "APPPRIP2^1.2.250.1.213.1.5.1.1.1"
    assert info["email"] == "jean@example.fr" and info["email_verified"] is False
    assert info["SubjectRefPro"]["codeCivilite"] == "M"
    assert info["UITVersion"] == "1.0" and info["Acces_Regulation_Medicale"] == "FAUX"
    assert info["Mode_Acces_Raison"] == "" and info["PSI_Locale"] == "1.2.250.1.213.1.3.1.1"
    claims = portal.id_claims(token["id_token"], rp.client_id, nonce=rp.nonce)
    assert claims["Palier_Authentification"] == info["Palier_Authentification"]


# --- authorization requests the Basic plan sends, which must not fail --------------------------------------------

@pytest.mark.parametrize("extra", [
    {"display": "page"},                                     # oidcc-display-page
    {"display": "popup"},                                    # oidcc-display-popup
    {"claims_locales": "se"},                                # oidcc-claims-locales
    {"extra": "foobar"},                                     # oidcc-ensure-request-with-unknown-parameter-succeeds
    {"claims": '{"userinfo": {"name": {"essential": true}}}'},  # oidcc-claims-essential
    {"acr_values": "eidas1 http://schemas.openid.net/pape/policies/2007/06/phishing-resistant"},
])
def test_parameters_the_provider_does_not_act_on_do_not_fail_the_request(portal, browsers, make_rp, make_account,
                                                                          extra):
    rp = make_rp()
    token = rp.sign_in(browsers().sign_in(make_account()), **extra)
    assert portal.id_claims(token["id_token"], rp.client_id, nonce=rp.nonce)["sub"]


def test_a_request_without_nonce_or_response_type(portal, browsers, make_rp, make_account):
    rp = make_rp(pkce_required=False)
    browser = browsers().sign_in(make_account())
    # oidcc-ensure-request-without-nonce-succeeds-for-code-flow
    url = re.sub(r"&nonce=[^&]*", "", rp.authorization_url(pkce=False))
    token = rp.exchange(browser.get(url).headers["location"])
    assert "nonce" not in portal.id_claims(token["id_token"], rp.client_id)
    # oidcc-response-type-missing
    missing = browser.get(re.sub(r"response_type=code&?", "", rp.authorization_url(pkce=False)))
    assert missing.status_code == 302
    assert query_of(missing.headers["location"])["error"] in {"unsupported_response_type", "invalid_request"}


def test_request_objects_are_answered_request_not_supported(portal, browsers, make_rp, make_account):
    rp = make_rp()
    browser = browsers().sign_in(make_account())
    response = browser.get(rp.authorization_url(request="eyJhbGciOiJub25lIn0.e30."))
    answer = query_of(response.headers["location"])
    assert answer["error"] == "request_not_supported" and answer["state"] == rp.state
    by_reference = query_of(browser.get(rp.authorization_url(request_uri="https://rp.example/r/1")).headers["location"])
    assert by_reference["error"] == "request_uri_not_supported"
    # oidcc-ensure-request-object-with-redirect-uri: a wrong redirect_uri outside the object is never followed.
    outside = browser.get(rp.authorization_url(request="eyJhbGciOiJub25lIn0.e30.", redirect_uri="http://localhost:9/evil"))
    assert outside.status_code == 400 and "location" not in outside.headers


def test_max_age_large_and_prompt_none_with_id_token_hint_keep_the_sign_in(portal, browsers, make_rp, make_account):
    rp = make_rp()
    browser = browsers().sign_in(make_account())
    first = rp.sign_in(browser, max_age="15000")                 # oidcc-max-age-10000
    second = rp.sign_in(browser, max_age="10000")
    one = portal.id_claims(first["id_token"], rp.client_id)
    two = portal.id_claims(second["id_token"], rp.client_id)
    assert (one["sub"], one["auth_time"]) == (two["sub"], two["auth_time"])
    # oidcc-id-token-hint and oidcc-prompt-none-logged-in
    silent = rp.sign_in(browser, prompt="none", id_token_hint=first["id_token"])
    three = portal.id_claims(silent["id_token"], rp.client_id)
    assert (three["sub"], three["auth_time"]) == (one["sub"], one["auth_time"])


def test_a_refresh_token_is_bound_to_its_client(portal, browsers, make_rp, make_account):
    rp, other = make_rp(scope="openid"), make_rp(scope="openid")
    token = rp.sign_in(browsers().sign_in(make_account()), scope="openid offline_access")
    with pytest.raises(OAuthError) as stolen:
        other.oauth.refresh_token(portal.endpoint("token_endpoint"), refresh_token=token["refresh_token"])
    assert stolen.value.error == "invalid_grant"
    assert rp.oauth.refresh_token(portal.endpoint("token_endpoint"), refresh_token=token["refresh_token"])


def test_a_scope_email_request_releases_the_address(portal, browsers, make_rp, make_account):
    doctor = make_account(email="lea@example.fr")
    rp = make_rp(scope="openid email")
    # oidcc-scope-email, then oidcc-alternate-happy-flow (values reversed, parameters in another order)
    for scope in ("openid email", "email openid"):
        token = rp.sign_in(browsers().sign_in(doctor), scope=scope)
        assert _userinfo(portal, token["access_token"])["email"] == "lea@example.fr"
    assert _rows(portal, Token) >= 2


# --- RP-initiated logout plan: the variants of the request ------------------------------------------------------

def _signed_out(portal, browser, rp) -> bool:
    return query_of(browser.get(rp.authorization_url(prompt="none")).headers["location"]).get("error") == \
        "login_required"


@pytest.mark.parametrize("variant", ["no-params", "only-state", "no-id-token-hint", "no-post-logout-redirect-uri",
                                     "query-added-to-post-logout-redirect-uri"])
def test_rp_initiated_logout_variants_sign_out_without_redirecting_elsewhere(
        portal, browsers, make_rp, make_account, variant):
    bye = "http://localhost:9/bye"
    rp = make_rp(post_logout_redirect_uris=[bye])
    browser = browsers().sign_in(make_account())
    token = rp.sign_in(browser)
    params = {
        "no-params": {},
        "only-state": {"state": "s-1"},
        "no-id-token-hint": {"post_logout_redirect_uri": bye, "state": "s-1"},
        "no-post-logout-redirect-uri": {"id_token_hint": token["id_token"]},
        "query-added-to-post-logout-redirect-uri": {"id_token_hint": token["id_token"],
                                                    "post_logout_redirect_uri": bye + "?foo=bar", "state": "s-1"},
    }[variant]
    asked = browser.get(f"/end-session?{urlencode(params)}")
    assert asked.status_code == 200 and "Se déconnecter de Bouquet" in asked.text
    confirmed = browser.post("/end-session/confirm", {"query": urlencode(params)})
    assert confirmed.status_code == 200 and "Vous êtes déconnecté" in confirmed.text
    assert "location" not in confirmed.headers
    assert _signed_out(portal, browser, rp)


def test_rp_initiated_logout_without_state_returns_to_the_exact_uri(portal, browsers, make_rp, make_account):
    rp = make_rp(post_logout_redirect_uris=["http://localhost:9/bye"])
    browser = browsers().sign_in(make_account())
    token = rp.sign_in(browser)
    query = urlencode({"id_token_hint": token["id_token"], "post_logout_redirect_uri": "http://localhost:9/bye"})
    confirmed = browser.post("/end-session/confirm", {"query": query})
    assert confirmed.status_code == 303 and confirmed.headers["location"] == "http://localhost:9/bye"
    assert _signed_out(portal, browser, rp)


def test_rp_initiated_logout_refuses_a_hint_unsigned_or_signed_by_someone_else(
        portal, browsers, make_rp, make_account):
    rp = make_rp(post_logout_redirect_uris=["http://localhost:9/bye"])
    browser = browsers().sign_in(make_account())
    token = rp.sign_in(browser)
    claims = portal.id_claims(token["id_token"], rp.client_id)

    def segment(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    unsigned = f"{segment({'alg': 'none'})}.{segment(claims)}."                     # -modified-id-token-hint
    foreign = jose_jwt.encode({"alg": "RS256"}, claims, RSAKey.generate_key(2048))  # -bad-id-token-hint
    for hint in (unsigned, foreign):
        query = urlencode({"id_token_hint": hint, "post_logout_redirect_uri": "http://localhost:9/bye"})
        refused = browser.get(f"/end-session?{query}")
        assert refused.status_code == 400 and "location" not in refused.headers
    assert not _signed_out(portal, browser, rp)
