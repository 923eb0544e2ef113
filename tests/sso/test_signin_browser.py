"""Sign-in in real Chromium: forced TOTP enrolment, recovery codes, sign-out, password + TOTP, replay
refused; axe-core on every sign-in page and the account page."""

from __future__ import annotations

import time

import pyotp
import pytest
from playwright.sync_api import expect

from bouquet.sso import passwords
from bouquet.testing.browser import assert_accessible
from bouquet.testing.signin import PASSWORD

pytestmark = pytest.mark.browser


def _password(page, username):
    page.goto("/login")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', PASSWORD)
    page.get_by_role("button", name="Se connecter", exact=True).click()


def test_enrol_sign_out_sign_in_with_totp(page, live_server, make_account):
    make_account(username="claire", given_name="Claire", family_name="DUBOIS",
                 password_hash=passwords.hash_password(PASSWORD))
    page.goto("/login")
    assert_accessible(page)
    _password(page, "Claire")

    expect(page).to_have_url(f"{live_server.url}/enrol")
    assert_accessible(page)
    page.get_by_role("link", name="Application d'authentification").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ajouter une application d'authentification")
    assert_accessible(page)
    secret = page.get_by_test_id("totp-secret").inner_text().strip()
    page.get_by_label("Code à 6 chiffres").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Valider").click()

    expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
    assert_accessible(page)
    page.get_by_role("button", name="Continuer").click()
    expect(page.get_by_test_id("account-name")).to_have_text("Dr Claire DUBOIS")

    page.goto("/account")
    expect(page.get_by_test_id("recovery-left")).to_contain_text("10 codes")
    assert_accessible(page)
    page.goto("/account/sessions")
    assert_accessible(page)
    page.get_by_role("button", name="Se déconnecter").first.click()
    expect(page.get_by_text("Vous êtes déconnecté.")).to_be_visible()

    # The next time step's code: the enrolment code cannot be used twice.
    code = pyotp.TOTP(secret).at(time.time() + 30)
    _password(page, "claire")
    expect(page).to_have_url(f"{live_server.url}/login/second-factor")
    assert_accessible(page)
    page.get_by_label("Code à 6 chiffres").fill(code)
    page.get_by_role("button", name="Valider").click()
    expect(page.get_by_test_id("account-name")).to_have_text("Dr Claire DUBOIS")

    page.get_by_role("button", name="Se déconnecter").click()
    _password(page, "claire")
    page.get_by_label("Code à 6 chiffres").fill(code)
    page.get_by_role("button", name="Valider").click()
    expect(page.get_by_text("Ce code a déjà été utilisé.")).to_be_visible()
    expect(page.get_by_test_id("account-name")).to_have_count(0)
    assert_accessible(page)
