"""Consent for third-party clients: asked once, remembered, asked again for more, withdrawn from the account."""

from __future__ import annotations

import html
import re

import httpx

from bouquet.testing.oidc import query_of


def _query_field(page: str) -> str:
    match = re.search(r'name="query" value="([^"]*)"', page)
    assert match, page[:500]
    return html.unescape(match.group(1))


def test_a_third_party_client_asks_once_then_signs_in_silently(portal, browsers, make_rp, make_account):
    rp = make_rp(first_party=False, name="Agenda Santé", scope="openid profile")
    browser = browsers().sign_in(make_account())

    asked = browser.get(rp.authorization_url())
    assert asked.status_code == 200 and "Autoriser Agenda Santé" in asked.text
    assert "form-action 'self' http://localhost:9" in asked.headers["content-security-policy"]
    assert "Vos nom et prénom" in asked.text
    allowed = browser.post("/authorize/consent", {"decision": "allow", "query": _query_field(asked.text)})
    assert allowed.status_code == 302
    token = rp.exchange(allowed.headers["location"])
    assert portal.id_claims(token["id_token"], rp.client_id, nonce=rp.nonce)["given_name"]

    again = browser.get(rp.authorization_url())
    assert again.status_code == 302 and "code" in query_of(again.headers["location"])
    forced = browser.get(rp.authorization_url(prompt="consent"))
    assert forced.status_code == 200 and "Autoriser" in forced.text


def test_refusing_or_asking_silently_answers_the_client(portal, browsers, make_rp, make_account):
    rp = make_rp(first_party=False)
    browser = browsers().sign_in(make_account())
    silent = browser.get(rp.authorization_url(prompt="none"))
    assert query_of(silent.headers["location"])["error"] == "consent_required"
    asked = browser.get(rp.authorization_url())
    denied = browser.post("/authorize/consent", {"decision": "deny", "query": _query_field(asked.text)})
    answer = query_of(denied.headers["location"])
    assert answer["error"] == "access_denied" and answer["state"] == rp.state and answer["iss"] == portal.url


def test_consent_is_per_scope_and_can_be_withdrawn_from_the_account(portal, browsers, make_rp, make_account):
    rp = make_rp(first_party=False, name="Agenda Santé", scope="openid profile scope_all")
    browser = browsers().sign_in(make_account())
    asked = browser.get(rp.authorization_url(scope="openid profile"))
    token = rp.exchange(browser.post("/authorize/consent", {"decision": "allow",
                                                            "query": _query_field(asked.text)}).headers["location"])
    more = browser.get(rp.authorization_url(scope="openid profile scope_all"))
    assert more.status_code == 200 and "identité professionnelle" in more.text

    listed = browser.get("/account/applications")
    assert listed.status_code == 200 and "Agenda Santé" in listed.text
    fragment = browser.get("/account/applications", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'data-testid="consents"' in fragment.text
    withdrawn = browser.post(f"/account/applications/{rp.client_id}/revoke", {})
    assert withdrawn.status_code == 303
    assert "consents-empty" in browser.get("/account/applications").text
    userinfo = httpx.get(portal.endpoint("userinfo_endpoint"), headers={"Authorization": f"Bearer {token['access_token']}"})
    assert userinfo.status_code == 401
    assert browser.get(rp.authorization_url(scope="openid profile")).status_code == 200


def test_the_consent_form_needs_its_csrf_token(portal, browsers, make_rp, make_account):
    rp = make_rp(first_party=False)
    browser = browsers().sign_in(make_account())
    asked = browser.get(rp.authorization_url())
    forged = browser.http.post("/authorize/consent", data={"decision": "allow", "query": _query_field(asked.text)},
                               headers={"Cookie": f"bouquet_session={browser.token}"})
    assert forged.status_code == 403
