"""WebAuthn in real Chromium, with a virtual authenticator: enrolment, passkey sign-in, a clone refused,
a key as second factor and on the account page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from bouquet.foundation.audit import AuditEvent
from bouquet.sso.passwords import hash_password
from bouquet.sso.webauthn import WebAuthnCredential
from bouquet.testing.browser import add_virtual_authenticator, assert_accessible

pytestmark = pytest.mark.browser

PASSWORD = "cheval-agrafe-pile-2024"


def sign_in_with_password(page, account):
    page.goto("/login")
    page.fill('input[name="username"]', account.username)
    page.fill('input[name="password"]', PASSWORD)
    page.get_by_role("button", name="Se connecter", exact=True).click()


def set_sign_count(live_server, account, count):
    with live_server.app.state.db.write() as session:
        for credential in session.exec(select(WebAuthnCredential).where(WebAuthnCredential.account_id == account.id)):
            credential.sign_count = count
            session.add(credential)


def test_enrol_a_passkey_then_sign_in_with_it_alone(page, live_server, make_account):
    doctor = make_account(given_name="Alice", family_name="MARTIN", password_hash=hash_password(PASSWORD))
    authenticator = add_virtual_authenticator(page)

    sign_in_with_password(page, doctor)
    expect(page).to_have_url(re.compile(r"/enrol$"))
    page.get_by_role("link", name="Clé de sécurité ou clé d'accès").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Enregistrer une clé de sécurité ou une clé d'accès")
    assert_accessible(page)
    page.get_by_label("Nom de la clé (facultatif)").fill("Ordinateur du cabinet")
    page.get_by_role("button", name="Enregistrer ma clé").click()

    expect(page).to_have_url(re.compile(r"/enrol/recovery-codes$"))
    expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
    page.get_by_role("button", name="Continuer").click()
    expect(page.get_by_test_id("account-name")).to_have_text("Dr Alice MARTIN")
    [credential] = authenticator.credentials()
    assert credential["isResidentCredential"] is True

    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_test_id("account-name")).to_have_count(0)
    assert_accessible(page)
    page.get_by_role("button", name="Se connecter avec une clé d'accès").click()
    expect(page.get_by_test_id("account-name")).to_have_text("Dr Alice MARTIN")

    # A cloned authenticator: the stored counter is ahead of the one the authenticator reports.
    page.get_by_role("button", name="Se déconnecter").click()
    set_sign_count(live_server, doctor, 1000)
    page.get_by_role("button", name="Se connecter avec une clé d'accès").click()
    expect(page.locator("#passkey-login-status")).to_contain_text("Cette clé n'a pas permis de vous connecter.")
    expect(page.get_by_test_id("account-name")).to_have_count(0)
    with live_server.app.state.db.session() as session:
        clone = session.exec(select(AuditEvent).where(AuditEvent.action == "signin.webauthn_counter_regression")).one()
    assert clone.actor == doctor.label


def test_a_key_as_second_factor_and_on_the_account_page(page, live_server, make_account):
    doctor = make_account(given_name="Bruno", family_name="PETIT", password_hash=hash_password(PASSWORD))
    first = add_virtual_authenticator(page)
    sign_in_with_password(page, doctor)
    page.get_by_role("link", name="Clé de sécurité ou clé d'accès").click()
    page.get_by_role("button", name="Enregistrer ma clé").click()
    page.get_by_role("button", name="Continuer").click()
    page.get_by_role("button", name="Se déconnecter").click()

    sign_in_with_password(page, doctor)
    expect(page).to_have_url(re.compile(r"/login/second-factor$"))
    assert_accessible(page)
    page.get_by_role("button", name="Utiliser ma clé").click()
    expect(page.get_by_test_id("account-name")).to_have_text("Dr Bruno PETIT")

    page.goto("/account")
    expect(page.get_by_test_id("webauthn-key")).to_have_count(1)
    expect(page.get_by_test_id("webauthn-key")).to_contain_text("Clé 1")
    assert_accessible(page)

    # Another key: the first one unplugged, a new one plugged in.
    first.remove()
    add_virtual_authenticator(page)
    page.get_by_role("link", name="Ajouter une clé").click()
    assert_accessible(page)
    page.get_by_label("Nom de la clé (facultatif)").fill("Clé de secours")
    page.get_by_role("button", name="Ajouter la clé").click()
    expect(page).to_have_url(re.compile(r"/account$"))
    expect(page.get_by_test_id("webauthn-key")).to_have_count(2)
    expect(page.get_by_role("status").filter(has_text="Clé de secours")).to_be_visible()
