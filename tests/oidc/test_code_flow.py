"""The authorization code flow end to end, against a live portal, with authlib as the relying party."""

from __future__ import annotations

import httpx
import pytest
from authlib.integrations.base_client import OAuthError
from sqlmodel import select

from bouquet.sso.oidc.models import AuthorizationCode, Token
from bouquet.testing.oidc import query_of


def _rows(portal, table) -> int:
    with portal.db.session() as session:
        return len(session.exec(select(table)).all())


def test_discovery_names_every_endpoint_and_only_what_is_supported(portal):
    document = httpx.get(f"{portal.url}/.well-known/openid-configuration").json()
    assert document["issuer"] == portal.url
    for name in ("authorization", "token", "userinfo", "end_session", "revocation", "introspection"):
        assert document[f"{name}_endpoint"].startswith(portal.url + "/")
    assert document["response_types_supported"] == ["code"]
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["authorization_response_iss_parameter_supported"] is True
    assert set(document["id_token_signing_alg_values_supported"]) == {"RS256", "ES256"}
    assert "eidas1" in document["acr_values_supported"]
    assert document["backchannel_logout_session_supported"] is True
    keys = httpx.get(document["jwks_uri"]).json()["keys"]
    assert {key["alg"] for key in keys} == {"RS256", "ES256"}
    assert all("d" not in key for key in keys)


def test_a_confidential_client_signs_in_with_pkce_and_reads_psc_claims(portal, browsers, make_rp, make_account):
    doctor = make_account(given_name="Jean", family_name="MARTIN", specialty_code="SM54", email="jean@example.fr",
                          practice_sites=[{"structure_id": "R1", "name": "Cabinet du Parc", "siret": "99900012000017",
                                           "postal_code": "69002", "commune_code": "69382", "commune": "Lyon",
                                           "mode_code": "L", "address": "12 Rue de la République"}])
    rp = make_rp(backchannel_logout_uri="http://localhost:9/backchannel")
    browser = browsers().sign_in(doctor)

    token = rp.sign_in(browser)

    assert token["token_type"] == "Bearer" and 0 < token["expires_in"] <= 300
    claims = portal.id_claims(token["id_token"], rp.client_id, nonce=rp.nonce)
    assert claims["sub"] == doctor.idnat_ps == claims["SubjectNameID"]
    assert claims["sid"] == browser.session_row.sid
    assert claims["acr"] == "eidas1" and claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["auth_time"] == int(browser.session_row.authenticated_at.timestamp())
    assert "at_hash" in claims
    info = httpx.get(portal.endpoint("userinfo_endpoint"),
                     headers={"Authorization": f"Bearer {token['access_token']}"}).json()
    assert info["sub"] == doctor.idnat_ps and info["given_name"] == "Jean" and info["family_name"] == "MARTIN"
    [exercice] = info["SubjectRefPro"]["exercices"]
    assert exercice["codeProfession"] == "10" and exercice["codeSavoirFaire"] == "SM54"
    assert exercice["codeTypeSavoirFaire"] == "S" and exercice["codeCiviliteDexercice"] == "DR"
    [activity] = exercice["activities"]
    assert activity["raisonSocialeSite"] == "Cabinet du Parc" and activity["numeroSiretSite"] == "99900012000017"
    assert activity["codeModeExercice"] == "L" and activity["codeDepartement"] == "69"
    assert info["SubjectRole"] == ["10^1.2.250.1.213.1.1.5.5"]
    assert info["SubjectOrganization"] == "Cabinet du Parc" and info["SubjectOrganizationID"] == "R1"


def test_a_public_client_needs_pkce_and_gets_es256_id_tokens(portal, browsers, make_rp, make_account):
    doctor = make_account()
    rp = make_rp(token_endpoint_auth_method="none", id_token_signed_response_alg="ES256")
    browser = browsers().sign_in(doctor)

    refused = browser.get(rp.authorization_url(pkce=False))
    assert refused.status_code == 302
    assert query_of(refused.headers["location"])["error"] == "invalid_request"
    assert query_of(refused.headers["location"])["state"] == rp.state

    token = rp.sign_in(browser)
    header = token["id_token"].split(".")[0]
    import base64
    import json

    assert json.loads(base64.urlsafe_b64decode(header + "==="))["alg"] == "ES256"
    assert portal.id_claims(token["id_token"], rp.client_id)["sub"] == doctor.idnat_ps


def test_plain_pkce_is_refused(portal, browsers, make_rp, make_account):
    rp = make_rp()
    browser = browsers().sign_in(make_account())
    url = rp.authorization_url(pkce=False, code_challenge="a" * 43, code_challenge_method="plain")
    response = browser.get(url)
    assert query_of(response.headers["location"])["error"] == "invalid_request"


def test_refresh_tokens_rotate_and_revocation_ends_the_grant(portal, browsers, make_rp, make_account):
    rp = make_rp()
    token = rp.sign_in(browsers().sign_in(make_account()), scope="openid profile scope_all offline_access")
    refreshed = rp.oauth.refresh_token(portal.endpoint("token_endpoint"), refresh_token=token["refresh_token"])
    assert refreshed["refresh_token"] != token["refresh_token"]
    assert refreshed["access_token"] != token["access_token"]

    introspect = portal.endpoint("introspection_endpoint")
    state = rp.oauth.introspect_token(introspect, token=refreshed["access_token"]).json()
    assert state["active"] is True and state["client_id"] == rp.client_id and state["scope"] == token["scope"]

    rp.oauth.revoke_token(portal.endpoint("revocation_endpoint"), token=refreshed["refresh_token"],
                          token_type_hint="refresh_token")
    assert rp.oauth.introspect_token(introspect, token=refreshed["access_token"]).json() == {"active": False}
    with pytest.raises(OAuthError) as refused:
        rp.oauth.refresh_token(portal.endpoint("token_endpoint"), refresh_token=refreshed["refresh_token"])
    assert refused.value.error == "invalid_grant"


def test_a_reused_refresh_token_revokes_the_whole_grant(portal, browsers, make_rp, make_account):
    rp = make_rp()
    first = rp.sign_in(browsers().sign_in(make_account()), scope="openid profile scope_all offline_access")
    second = rp.oauth.refresh_token(portal.endpoint("token_endpoint"), refresh_token=first["refresh_token"])

    with pytest.raises(OAuthError) as reused:
        rp.oauth.refresh_token(portal.endpoint("token_endpoint"), refresh_token=first["refresh_token"])
    assert reused.value.error == "invalid_grant"
    with pytest.raises(OAuthError):
        rp.oauth.refresh_token(portal.endpoint("token_endpoint"), refresh_token=second["refresh_token"])
    userinfo = httpx.get(portal.endpoint("userinfo_endpoint"), headers={"Authorization": f"Bearer {second['access_token']}"})
    assert userinfo.status_code == 401 and 'error="invalid_token"' in userinfo.headers["www-authenticate"]


def test_a_reused_code_is_refused_and_revokes_what_it_gave(portal, browsers, make_rp, make_account):
    rp = make_rp()
    browser = browsers().sign_in(make_account())
    location = browser.get(rp.authorization_url()).headers["location"]
    token = rp.exchange(location)

    tokens_before = _rows(portal, Token)
    with pytest.raises(OAuthError) as reused:
        rp.exchange(location)
    assert reused.value.error == "invalid_grant"
    assert _rows(portal, Token) == tokens_before
    userinfo = httpx.get(portal.endpoint("userinfo_endpoint"), headers={"Authorization": f"Bearer {token['access_token']}"})
    assert userinfo.status_code == 401


def test_the_token_request_must_repeat_the_redirect_uri_and_the_verifier(portal, browsers, make_rp, make_account):
    rp = make_rp(redirect_uris=["http://localhost:9/callback", "http://localhost:9/other"])
    browser = browsers().sign_in(make_account())
    location = browser.get(rp.authorization_url()).headers["location"]
    with pytest.raises(OAuthError) as wrong_uri:
        rp.exchange(location, redirect_uri="http://localhost:9/other")
    assert wrong_uri.value.error == "invalid_grant"

    location = browser.get(rp.authorization_url()).headers["location"]
    with pytest.raises(OAuthError) as wrong_verifier:
        rp.exchange(location, code_verifier="x" * 50)
    assert wrong_verifier.value.error == "invalid_grant"


def test_an_unregistered_redirect_uri_or_client_gets_a_page_not_a_redirect(portal, browsers, make_rp, make_account):
    rp = make_rp()
    browser = browsers().sign_in(make_account())
    codes = _rows(portal, AuthorizationCode)
    wrong = browser.get(rp.authorization_url(redirect_uri="http://localhost:9/evil"))
    assert wrong.status_code == 400 and "location" not in wrong.headers
    assert "adresse de retour" in wrong.text
    unknown = browser.get(rp.authorization_url().replace(f"client_id={rp.client_id}", "client_id=inconnu"))
    assert unknown.status_code == 400 and "location" not in unknown.headers
    assert "pas enregistrée" in unknown.text
    assert _rows(portal, AuthorizationCode) == codes


def test_prompt_none_without_a_session_answers_login_required(portal, browsers, make_rp):
    rp = make_rp()
    response = browsers().get(rp.authorization_url(prompt="none"))
    assert response.status_code == 302
    answer = query_of(response.headers["location"])
    assert answer["error"] == "login_required" and answer["state"] == rp.state and answer["iss"] == portal.url


def test_without_a_session_the_browser_is_sent_to_sign_in_and_back(portal, browsers, make_rp):
    rp = make_rp()
    response = browsers().get(rp.authorization_url())
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=%2Fauthorize%3F")


def test_implicit_and_hybrid_flows_are_refused(portal, browsers, make_rp, make_account):
    rp = make_rp()
    browser = browsers().sign_in(make_account())
    for response_type in ("token", "id_token", "code id_token"):
        response = browser.get(rp.authorization_url(response_type=response_type))
        answer = query_of(response.headers["location"])
        assert answer["error"] == "unsupported_response_type" and answer["state"] == rp.state
