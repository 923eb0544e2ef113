"""The account's keys (bouquet.sso.webauthn_account): list, add, rename, remove, and confirming with a key."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bouquet.foundation.audit import AuditEvent
from bouquet.foundation.db import utcnow
from bouquet.sso.webauthn import WebAuthnCredential
from bouquet.testing.signin import age_sign_in, follow, next_in
from bouquet.testing.webauthn import SoftAuthenticator

ORIGIN = "http://testserver"


def post(client, url, body=None):
    return client.post(url, json=body or {}, headers={"X-CSRF-Token": client.csrf_token, "Accept": "application/json"})


def enrol(client, account, key, name):
    """Enrol `key` as the account's first second factor, during a sign-in, as /enrol/webauthn does."""
    pending = {"account_id": account.id, "amr": ["pwd"], "next": "/", "at": utcnow().isoformat(), "enrolling": True}
    client._set_session(client.app.state.sessions.create(data={"signin": pending}).new_token)
    options = post(client, "/enrol/webauthn/options").json()
    assert post(client, "/enrol/webauthn", {"credential": key.register(options), "name": name}).status_code == 200


def age_signin(client, minutes):
    """Pretend this session's sign-in (or last confirmation) happened `minutes` ago."""
    age_sign_in(client.app, client, minutes)


def asks_recent_authentication(location):
    """A new authorization request of the portal, asking the provider for max_age=300."""
    return location.startswith("/authorize?client_id=bouquet-portal&") and "&max_age=300" in location


def credentials(client, account):
    with client.app.state.db.session() as session:
        return session.exec(select(WebAuthnCredential).where(WebAuthnCredential.account_id == account.id)
                            .order_by(WebAuthnCredential.id)).all()


def events(client, action):
    with client.app.state.db.session() as session:
        return session.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).all()


def add_key(client, key, name="Téléphone"):
    options = post(client, "/account/webauthn/options")
    assert options.status_code == 200, options.text
    return post(client, "/account/webauthn", {"credential": key.register(options.json()), "name": name})


@pytest.fixture
def usb_key():
    return SoftAuthenticator(ORIGIN)


@pytest.fixture
def doctor(client, make_account, usb_key):
    """A signed-in professional whose one second factor is `usb_key`, named "Clé USB"."""
    account = make_account(given_name="Alice", family_name="MARTIN")
    enrol(client, account, usb_key, "Clé USB")
    client.login(account)
    return account


def test_the_account_page_lists_the_keys(client, doctor):
    page = client.get("/account")
    assert page.status_code == 200
    assert 'data-testid="webauthn-key"' in page.text
    assert "Clé USB" in page.text and "Clé d&#39;accès" in page.text and "liée à un seul appareil" in page.text
    assert "Jamais" in page.text
    assert f'href="/account/webauthn/{credentials(client, doctor)[0].id}/remove"' not in page.text  # the only factor


def test_add_a_key(client, doctor, usb_key):
    page = client.get("/account/webauthn/new")
    assert page.status_code == 200 and 'data-webauthn="register"' in page.text
    phone = SoftAuthenticator(ORIGIN, backup_eligible=True)
    options = post(client, "/account/webauthn/options").json()
    assert [descriptor["id"] for descriptor in options["excludeCredentials"]] == [usb_key.id]
    response = post(client, "/account/webauthn", {"credential": phone.register(options), "name": "Téléphone"})
    assert response.status_code == 200, response.text
    assert response.json() == {"redirect": "/account"}
    assert [c.amr for c in credentials(client, doctor)] == ["hwk", "swk"]
    added = events(client, "factor.added")[-1]
    assert added.actor == doctor.label and added.details["name"] == "Téléphone"
    page = client.get("/account").text
    assert "La clé « Téléphone » est ajoutée à votre compte." in page and "synchronisée" in page


def test_adding_a_key_needs_a_recent_authentication(client, doctor):
    age_signin(client, 30)
    assert asks_recent_authentication(client.get("/account/webauthn/new").headers["location"])
    response = post(client, "/account/webauthn/options")
    assert response.status_code == 403
    assert asks_recent_authentication(response.json()["redirect"])


def test_a_key_already_registered_is_refused(client, doctor, usb_key):
    options = post(client, "/account/webauthn/options").json()
    options["excludeCredentials"] = []  # an authenticator that ignores the exclusion list
    response = post(client, "/account/webauthn", {"credential": usb_key.register(options)})
    assert response.status_code == 409
    assert len(credentials(client, doctor)) == 1


def test_rename_a_key(client, doctor):
    [key] = credentials(client, doctor)
    response = client.submit(f"/account/webauthn/{key.id}/rename", {"name": " Clé  du cabinet "})
    assert response.headers["location"] == "/account"
    assert credentials(client, doctor)[0].name == "Clé du cabinet"
    client.submit(f"/account/webauthn/{key.id}/rename", {"name": "  "})
    assert credentials(client, doctor)[0].name == "Clé du cabinet"
    assert "Donnez un nom à la clé." in client.get("/account").text


def test_the_last_second_factor_cannot_be_removed(client, doctor):
    [key] = credentials(client, doctor)
    response = client.submit(f"/account/webauthn/{key.id}/remove")
    assert response.status_code == 400
    assert "seule méthode de connexion" in response.text
    assert len(credentials(client, doctor)) == 1
    assert events(client, "factor.removed") == []


def test_remove_one_of_two_keys(client, doctor):
    add_key(client, SoftAuthenticator(ORIGIN))
    first = credentials(client, doctor)[0]
    page = client.get(f"/account/webauthn/{first.id}/remove")
    assert page.status_code == 200 and "Supprimer la clé « Clé USB »" in page.text
    assert client.submit(f"/account/webauthn/{first.id}/remove").headers["location"] == "/account"
    assert [c.name for c in credentials(client, doctor)] == ["Téléphone"]
    [removed] = events(client, "factor.removed")
    assert removed.actor == doctor.label
    assert (removed.details["type"], removed.details["name"]) == ("webauthn", "Clé USB")


def test_removing_a_key_needs_a_recent_authentication(client, doctor):
    add_key(client, SoftAuthenticator(ORIGIN))
    age_signin(client, 30)
    first = credentials(client, doctor)[0]
    assert asks_recent_authentication(client.get(f"/account/webauthn/{first.id}/remove").headers["location"])
    assert asks_recent_authentication(client.submit(f"/account/webauthn/{first.id}/remove").headers["location"])
    assert len(credentials(client, doctor)) == 2


def test_another_accounts_key_is_not_found(client, doctor, make_account):
    [key] = credentials(client, doctor)
    client.login(make_account())
    assert client.get(f"/account/webauthn/{key.id}/remove").status_code == 404
    assert client.submit(f"/account/webauthn/{key.id}/remove").status_code == 404
    assert client.submit(f"/account/webauthn/{key.id}/rename", {"name": "volée"}).status_code == 404
    assert credentials(client, doctor)[0].name == "Clé USB"


def test_the_account_endpoints_need_a_signed_in_account(client):
    client.anonymous_session()
    assert client.get("/account/webauthn/new", headers={"accept": "text/html"}).status_code == 303
    assert post(client, "/account/webauthn/options").status_code == 401


# --- confirming one's identity with a key ------------------------------------------------------

def test_a_key_confirms_the_identity(client, doctor, usb_key):
    age_signin(client, 30)
    before = client.session_token
    confirm = follow(client, client.get("/account/webauthn/new"))  # the provider asks to confirm
    assert confirm.url.path == "/account/confirm" and 'data-verify-url="/account/confirm/webauthn"' in confirm.text
    resume = next_in(confirm.text)
    options = post(client, "/account/confirm/webauthn/options").json()
    assert [descriptor["id"] for descriptor in options["allowCredentials"]] == [usb_key.id]
    response = post(client, "/account/confirm/webauthn", {"credential": usb_key.assertion(options), "next": resume})
    assert response.status_code == 200, response.text
    assert response.json() == {"redirect": resume}
    assert client.session_token != before
    page = follow(client, client.get(resume))  # the code, the portal's callback, the page
    assert page.status_code == 200 and page.url.path == "/account/webauthn/new"
    [confirmed] = events(client, "signin.reauthenticated")
    assert confirmed.details["amr"] == ["hwk", "user", "mfa"]


def test_a_key_that_fails_does_not_confirm(client, doctor, usb_key):
    age_signin(client, 30)
    options = post(client, "/account/confirm/webauthn/options").json()
    response = post(client, "/account/confirm/webauthn", {"credential": usb_key.assertion(options, user_verified=False)})
    assert response.status_code == 403
    assert client.get("/account/webauthn/new").status_code == 303
