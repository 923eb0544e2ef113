"""The WebAuthn endpoints (bouquet.sso.webauthn_pages) over HTTP, with a software authenticator."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bouquet.foundation.audit import AuditEvent
from bouquet.foundation.db import utcnow
from bouquet.sso.accounts import Account
from bouquet.sso.webauthn import CHALLENGE_KEY, WebAuthnCredential
from bouquet.testing.signin import follow
from bouquet.testing.webauthn import SoftAuthenticator
from bouquet.web.sessions import WebSession, hash_token

ORIGIN = "http://testserver"


def headers(client):
    return {"X-CSRF-Token": client.csrf_token, "Accept": "application/json"}


def post(client, url, body=None):
    return client.post(url, json=body or {}, headers=headers(client))


def start_signin(client, account, *, amr=("pwd",), enrolling=False, next_url="/"):
    """A browser whose password step is done (the state `flow.begin` leaves)."""
    pending = {"account_id": account.id, "amr": list(amr), "next": next_url,
               "at": utcnow().isoformat(), "enrolling": enrolling}
    browser = client.app.state.sessions.create(data={"signin": pending})
    client._set_session(browser.new_token)


def enrol(client, account, key, name="Clé USB"):
    """Enrol `key` as the first second factor of `account`, as /enrol/webauthn does."""
    start_signin(client, account, enrolling=True)
    options = post(client, "/enrol/webauthn/options").json()
    return post(client, "/enrol/webauthn", {"credential": key.register(options), "name": name})


def passkey(client, key, *, next_url=None, **assertion):
    options = post(client, "/login/passkey/options").json()
    return post(client, "/login/passkey", {"credential": key.assertion(options, **assertion), "next": next_url})


def session_row(client):
    with client.app.state.db.session() as session:
        return session.exec(select(WebSession).where(WebSession.token_hash == hash_token(client.session_token))).one()


def events(client, action):
    with client.app.state.db.session() as session:
        return session.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).all()


def credentials(client, account):
    with client.app.state.db.session() as session:
        return session.exec(select(WebAuthnCredential).where(WebAuthnCredential.account_id == account.id)).all()


@pytest.fixture
def enrolled(client, make_account):
    """A professional with one security key, and a fresh anonymous browser."""
    doctor, key = make_account(given_name="Alice", family_name="MARTIN"), SoftAuthenticator(ORIGIN)
    assert enrol(client, doctor, key).status_code == 200
    client.anonymous_session()
    return doctor, key


# --- enrolment -------------------------------------------------------------------------------

def test_enrolment_page_needs_an_enrolling_signin(client, make_account):
    client.anonymous_session()
    assert client.get("/enrol/webauthn").headers["location"] == "/login"
    start_signin(client, make_account(), enrolling=False)
    assert client.get("/enrol/webauthn").headers["location"] == "/login/second-factor"
    start_signin(client, make_account(), enrolling=True)
    page = client.get("/enrol/webauthn")
    assert page.status_code == 200
    assert 'data-webauthn="register"' in page.text and "webauthn.js" in page.text


def test_enrolment_stores_the_key_and_hands_over_to_recovery_codes(client, make_account):
    doctor = make_account()
    response = enrol(client, doctor, SoftAuthenticator(ORIGIN), name="  Clé   USB ")
    assert response.status_code == 200, response.text
    assert response.json() == {"redirect": "/enrol/recovery-codes"}
    [stored] = credentials(client, doctor)
    assert (stored.name, stored.amr) == ("Clé USB", "hwk")
    [added] = events(client, "factor.added")
    assert added.actor == doctor.label
    assert added.details["type"] == "webauthn" and added.details["name"] == "Clé USB"
    assert session_row(client).account_id is None  # signed in only after the recovery codes


def test_enrolment_is_refused_once_the_account_has_a_second_factor(client, make_account):
    doctor = make_account()
    enrol(client, doctor, SoftAuthenticator(ORIGIN))
    response = enrol(client, doctor, SoftAuthenticator(ORIGIN))
    assert response.status_code == 403
    assert len(credentials(client, doctor)) == 1


def test_enrolment_without_a_pending_signin_is_refused(client):
    client.anonymous_session()
    response = post(client, "/enrol/webauthn/options")
    assert response.status_code == 403
    assert response.json()["redirect"] == "/login"
    assert "connexion a expiré" in response.json()["message"]


def test_a_registration_response_is_used_once(client, make_account):
    doctor, key = make_account(), SoftAuthenticator(ORIGIN)
    start_signin(client, doctor, enrolling=True)
    options = post(client, "/enrol/webauthn/options").json()
    body = {"credential": key.register(options)}
    bad = post(client, "/enrol/webauthn", {"credential": SoftAuthenticator(ORIGIN).register(options, origin="http://evil")})
    assert bad.status_code == 403
    assert post(client, "/enrol/webauthn", body).status_code == 409  # the failed attempt spent the challenge


def test_unreadable_bodies_are_bad_requests(client, make_account):
    start_signin(client, make_account(), enrolling=True)
    response = client.post("/enrol/webauthn", content=b"not json", headers=headers(client))
    assert response.status_code == 400 and response.json()["error"] == "bad_request"
    post(client, "/enrol/webauthn/options")
    response = post(client, "/enrol/webauthn", {"credential": {"id": "nope"}, "name": "x" * 61})
    assert response.status_code == 400
    assert "60 caractères" in response.json()["message"]


def test_ceremonies_need_the_csrf_token(client):
    client.anonymous_session()
    response = client.post("/login/passkey/options", json={}, headers={"Accept": "application/json"})
    assert response.status_code == 403


# --- passkey sign-in -------------------------------------------------------------------------

def test_a_passkey_alone_signs_in(client, enrolled):
    doctor, key = enrolled
    before = client.session_token
    response = passkey(client, key, next_url="/p/dmp/")
    assert response.status_code == 200, response.text
    assert response.json() == {"redirect": "/p/dmp/"}
    assert client.session_token != before  # a new session at sign-in
    row = session_row(client)
    assert row.account_id == doctor.id and row.amr == ["hwk", "user", "mfa"]
    home = follow(client, client.get("/", headers={"accept": "text/html"}))  # through the portal's sign-in
    assert "Dr Alice MARTIN" in home.text
    assert session_row(client).data["portal"]["acr"] == "http://schemas.openid.net/pape/policies/2007/06/phishing-resistant"
    [success] = events(client, "signin.success")
    assert success.actor == doctor.label and success.details["amr"] == ["hwk", "user", "mfa"]


def test_a_passkey_never_sends_elsewhere(client, enrolled):
    _, key = enrolled
    assert passkey(client, key, next_url="https://evil.example/").json() == {"redirect": "/"}


def test_a_passkey_response_is_used_once(client, enrolled):
    _, key = enrolled
    options = post(client, "/login/passkey/options").json()
    body = {"credential": key.assertion(options)}
    assert post(client, "/login/passkey", body).status_code == 200
    client.anonymous_session()
    assert post(client, "/login/passkey", body).status_code == 409


def test_an_expired_challenge_is_refused(client, enrolled):
    _, key = enrolled
    options = post(client, "/login/passkey/options").json()
    with client.app.state.db.write() as session:
        row = session.exec(select(WebSession).where(WebSession.token_hash == hash_token(client.session_token))).one()
        row.data = {**row.data, CHALLENGE_KEY: {**row.data[CHALLENGE_KEY],
                                                "expires": (utcnow() - timedelta(seconds=1)).isoformat()}}
        session.add(row)
    response = post(client, "/login/passkey", {"credential": key.assertion(options)})
    assert response.status_code == 409
    assert response.json()["message"] == "Le délai est dépassé. Recommencez."


def test_unknown_keys_and_disabled_accounts_get_the_same_answer(client, enrolled):
    doctor, key = enrolled
    stranger = SoftAuthenticator(ORIGIN)
    stranger.user_handle = b"u" * 32
    unknown = passkey(client, stranger)
    with client.app.state.db.write() as session:
        account = session.get(Account, doctor.id)
        account.disabled_at = utcnow()
        session.add(account)
    disabled = passkey(client, key)
    assert unknown.status_code == disabled.status_code == 403
    assert unknown.json() == disabled.json()
    assert session_row(client).account_id is None


@pytest.mark.parametrize("wrong", [{"origin": "http://evil.example"}, {"rp_id": "evil.example"},
                                   {"user_verified": False}])
def test_a_passkey_from_elsewhere_or_without_verification_is_refused(client, enrolled, wrong):
    doctor, key = enrolled
    response = passkey(client, key, **wrong)
    assert response.status_code == 403
    assert [event.actor for event in events(client, "signin.failure")] == [doctor.label]


def test_a_counter_regression_is_refused_and_audited(client, enrolled):
    doctor, key = enrolled
    assert passkey(client, key).status_code == 200
    with client.app.state.db.write() as session:
        [stored] = session.exec(select(WebAuthnCredential).where(WebAuthnCredential.account_id == doctor.id)).all()
        stored.sign_count = 100
        session.add(stored)
    client.anonymous_session()
    response = passkey(client, key)
    assert response.status_code == 403
    assert session_row(client).account_id is None
    [clone] = events(client, "signin.webauthn_counter_regression")
    assert clone.actor == doctor.label and clone.outcome == "denied"
    assert (clone.details["stored_count"], clone.details["reported_count"]) == (100, 2)


# --- second factor ---------------------------------------------------------------------------

def test_a_key_as_second_factor_after_the_password(client, enrolled):
    doctor, key = enrolled
    start_signin(client, doctor, next_url="/account")
    options = post(client, "/login/webauthn/options").json()
    assert [descriptor["id"] for descriptor in options["allowCredentials"]] == [key.id]
    assert options["userVerification"] == "required"
    response = post(client, "/login/webauthn", {"credential": key.assertion(options)})
    assert response.status_code == 200, response.text
    assert response.json() == {"redirect": "/account"}
    assert session_row(client).amr == ["pwd", "hwk", "user", "mfa"]


def test_the_second_factor_must_belong_to_the_account(client, enrolled, make_account):
    _, key = enrolled
    other = make_account()
    enrol(client, other, SoftAuthenticator(ORIGIN))
    start_signin(client, other)
    options = post(client, "/login/webauthn/options").json()
    options["allowCredentials"] = []  # the attacker's browser offers whatever it holds
    response = post(client, "/login/webauthn", {"credential": key.assertion(options)})
    assert response.status_code == 403
    assert session_row(client).account_id is None


def test_second_factor_needs_a_pending_signin_and_a_key(client, make_account):
    client.anonymous_session()
    assert post(client, "/login/webauthn/options").status_code == 403
    start_signin(client, make_account())
    response = post(client, "/login/webauthn/options")
    assert response.status_code == 403
    assert "Aucune clé" in response.json()["message"]


@pytest.mark.parametrize("url", ["/login/passkey", "/enrol/webauthn"])
def test_deeply_nested_json_is_a_bad_request(client, make_account, url):
    # Issue 13, item 4: 100 000 nested arrays gave a 500 (RecursionError).
    start_signin(client, make_account(), enrolling=True)
    response = client.post(url, content=b"[" * 100_000 + b"]" * 100_000, headers=headers(client))
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert "trop imbriqué" in response.json()["message"]
    # Nesting within the limit is only as wrong as its content: a refusal about the credential or the ceremony.
    again = client.post(url, content=b'{"credential": [[[["x"]]]]}', headers=headers(client))
    assert again.status_code in {400, 403, 409} and "imbriqué" not in again.json()["message"]
