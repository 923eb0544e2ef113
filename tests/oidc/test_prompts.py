"""What the client asks about the sign-in itself: max_age, prompt, acr_values, id_token_hint, nonce;
and who a secretary acts for."""

from __future__ import annotations

import html
import re
from urllib.parse import unquote

import httpx
import pyotp

from bouquet.sso.oidc.acr import PHISHING_RESISTANT
from bouquet.testing.oidc import query_of, reauthenticate
from bouquet.testing.signin import PASSWORD, make_user


def _next_of(location: str) -> str:
    assert location.startswith("/account/confirm?next="), location
    return unquote(location.split("next=", 1)[1])


def _continue_target(page: str) -> str:
    match = re.search(r'data-testid="oidc-continue"', page) and re.search(r'href="([^"]+)" data-testid="oidc-continue"', page)
    assert match, page[:300]
    return html.unescape(match.group(1))


def test_max_age_0_sends_the_person_to_confirm_their_identity_then_back(portal, browsers, make_rp, make_account, app):
    secret = pyotp.random_base32()
    doctor, _ = make_user(app, make_account, totp_secret=secret)
    rp = make_rp()
    browser = browsers().sign_in(doctor)
    sid, first_auth = browser.session_row.sid, browser.session_row.authenticated_at

    asked = browser.get(rp.authorization_url(max_age="0"))
    assert asked.status_code == 303
    back_to = _next_of(asked.headers["location"])
    assert back_to.startswith("/authorize?") and "bq_reauth=" in back_to

    confirmed = browser.post("/account/confirm", {"password": PASSWORD, "code": pyotp.TOTP(secret).now(),
                                                  "next": back_to})
    assert confirmed.status_code == 303 and confirmed.headers["location"] == back_to
    browser.token = confirmed.cookies.get("bouquet_session") or browser.token
    returned = browser.get(back_to)
    # Back from a form: a page that moves on by itself, not a redirect the form's CSP would block.
    assert returned.status_code == 200
    token = rp.exchange(_continue_target(returned.text))
    claims = portal.id_claims(token["id_token"], rp.client_id, nonce=rp.nonce)
    assert claims["sid"] == sid
    assert claims["auth_time"] > first_auth.timestamp() - 1
    assert claims["auth_time"] >= int(back_to.rsplit("bq_reauth=", 1)[1].split(".")[0])


def test_prompt_login_asks_again_even_with_a_fresh_session(portal, browsers, make_rp, make_account):
    rp = make_rp()
    browser = browsers().sign_in(make_account())
    asked = browser.get(rp.authorization_url(prompt="login"))
    back_to = _next_of(asked.headers["location"])
    reauthenticate(browser)
    returned = browser.get(back_to)
    assert returned.status_code == 200
    assert "code" in query_of(_continue_target(returned.text))


def test_the_return_marker_cannot_be_forged(portal, browsers, make_rp, make_account):
    rp = make_rp()
    browser = browsers().sign_in(make_account())
    forged = browser.get(rp.authorization_url(prompt="login") + "&bq_reauth=0.0000")
    assert forged.status_code == 303 and forged.headers["location"].startswith("/account/confirm?")


def test_prompt_none_never_asks_anything(portal, browsers, make_rp, make_account):
    rp = make_rp()
    browser = browsers().sign_in(make_account())
    for params in ({"max_age": "0"}, {"acr_values": PHISHING_RESISTANT}):
        response = browser.get(rp.authorization_url(prompt="none", **params))
        assert query_of(response.headers["location"])["error"] == "login_required"
    silent = browser.get(rp.authorization_url(prompt="none"))
    assert "code" in query_of(silent.headers["location"])


def test_a_phishing_resistant_level_needs_a_security_key(portal, browsers, make_rp, make_account):
    rp = make_rp()
    doctor = make_account()
    with_app = browsers().sign_in(doctor)
    asked = with_app.get(rp.authorization_url(acr_values=PHISHING_RESISTANT))
    back_to = _next_of(asked.headers["location"])
    reauthenticate(with_app)  # with the authenticator app again: still not phishing-resistant
    refused = with_app.get(back_to)
    target = _continue_target(refused.text)
    assert query_of(target)["error"] == "unmet_authentication_requirements"

    with_key = browsers().sign_in(doctor, amr=("hwk", "user", "mfa"))
    token = rp.sign_in(with_key, acr_values=f"{PHISHING_RESISTANT} eidas1")
    assert portal.id_claims(token["id_token"], rp.client_id)["acr"] == PHISHING_RESISTANT
    plain = rp.sign_in(with_key)
    assert portal.id_claims(plain["id_token"], rp.client_id)["acr"] == "eidas1"


def test_id_token_hint_must_name_the_signed_in_person(portal, browsers, make_rp, make_account):
    rp = make_rp()
    alice, bob = make_account(), make_account()
    alice_token = rp.sign_in(browsers().sign_in(alice))["id_token"]
    as_bob = browsers().sign_in(bob)
    mismatch = as_bob.get(rp.authorization_url(id_token_hint=alice_token))
    assert query_of(mismatch.headers["location"])["error"] == "login_required"
    forged = as_bob.get(rp.authorization_url(id_token_hint=alice_token[:-4] + "AAAA"))
    assert query_of(forged.headers["location"])["error"] == "invalid_request"
    as_alice = browsers().sign_in(alice)
    assert "code" in query_of(as_alice.get(rp.authorization_url(id_token_hint=alice_token)).headers["location"])


def test_a_nonce_is_accepted_once(portal, browsers, make_rp, make_account):
    rp = make_rp()
    browser = browsers().sign_in(make_account())
    rp.sign_in(browser, nonce="n-0123456789")
    replay = browser.get(rp.authorization_url(nonce="n-0123456789"))
    assert query_of(replay.headers["location"])["error"] == "invalid_request"


def test_a_secretary_is_signed_in_as_themself_acting_for_the_professional(portal, browsers, make_rp, make_account):
    doctor = make_account(given_name="Jean", family_name="MARTIN")
    secretary = make_account(kind="secretary", given_name="Sophie", family_name="BERNARD")
    rp = make_rp()
    token = rp.sign_in(browsers().sign_in(secretary, acting_for=doctor))
    claims = portal.id_claims(token["id_token"], rp.client_id)
    assert claims["sub"] == f"bouquet:account:{secretary.id}" and claims["account_kind"] == "secretary"
    assert claims["acting_for"] == {"SubjectNameID": doctor.idnat_ps, "given_name": "Jean", "family_name": "MARTIN",
                                    "SubjectRole": ["10^1.2.250.1.213.1.1.5.5"]}
    assert "SubjectRefPro" not in claims
    info = httpx.get(portal.endpoint("userinfo_endpoint"), headers={"Authorization": f"Bearer {token['access_token']}"})
    assert info.json()["acting_for"]["SubjectNameID"] == doctor.idnat_ps
