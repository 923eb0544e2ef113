"""The core's journeys as their people walk them in Chromium, second tries included; a screenshot of
every step is kept in var/screenshots/<journey>/ (or $BOUQUET_SCREENSHOTS), which CI keeps as artefacts.

- the administrator creates a doctor's account (refused without a profession, corrected), invites her,
  the doctor chooses her password and her second factor from the invitation, signs in with her IdNat;
  the administrator disables the account: the doctor lands on the sign-in page told why, and her right
  password then says to contact the administrator;
- a doctor changes her password behind a confirmation of her identity (a mismatch refused, corrected),
  and signs in with the new one;
- a form sent from a tab left open too long is refused, and going back to it finds what was typed.
"""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from playwright.sync_api import expect

from bouquet.sso import passwords
from bouquet.testing.browser import assert_accessible, screenshot
from bouquet.testing.fixtures import signed_in_session
from bouquet.testing.signin import PASSWORD
from bouquet.web.sessions import cookie_name

pytestmark = pytest.mark.browser

DOCTOR_PASSWORD = "Ma phrase de passe de médecin 2026"
NEW_PASSWORD = "Une toute nouvelle phrase de passe"


def _as(page, live_server, account) -> None:
    signed_in = signed_in_session(live_server.app, account)
    page.context.add_cookies([{"name": cookie_name(False), "value": signed_in.new_token, "url": live_server.url}])


def _sign_in(page, identifier: str, password: str) -> None:
    page.goto("/login")
    page.locator("#username").fill(identifier)
    page.locator("#password").fill(password)
    page.get_by_role("button", name="Se connecter", exact=True).click()


def test_the_administrator_creates_invites_and_disables_a_doctor_who_signs_in_with_her_idnat(
        browser, live_server, make_account):
    admin = make_account(kind="admin", username="admin", given_name="Camille", family_name="Roux")
    operator = browser.new_context(base_url=live_server.url, locale="fr-FR")
    doctor_browser = browser.new_context(base_url=live_server.url, locale="fr-FR")
    for context in (operator, doctor_browser):  # their CSP violations fail the test (the `browser` fixture)
        context.set_default_timeout(10_000)
    try:
        page = operator.new_page()
        _as(page, live_server, admin)
        page.goto("/admin/accounts/new")
        assert_accessible(page)
        page.get_by_label("Type de compte").select_option("professional")
        page.get_by_label("Identifiant de connexion").fill("dr.lefevre")
        page.get_by_label("Prénom").fill("Claire")
        page.get_by_label("Nom", exact=True).fill("Lefèvre")
        page.get_by_label("Identifiant national RPPS").fill("899900000029")
        page.get_by_role("button", name="Créer le compte").click()
        # Refused: the profession is missing; everything typed is still there.
        expect(page.get_by_test_id("form-errors")).to_contain_text("Choisissez la profession")
        expect(page.get_by_label("Prénom")).to_have_value("Claire")
        expect(page.get_by_label("Identifiant national RPPS")).to_have_value("899900000029")
        screenshot(page, "administrator", "01-creation-refusee-profession")
        assert_accessible(page)
        page.get_by_label("Profession", exact=True).select_option("10")
        page.get_by_label("Spécialité (obligatoire pour un médecin)").fill("Médecine générale")
        page.get_by_role("button", name="Créer le compte").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Dr Claire Lefèvre")
        expect(page.get_by_test_id("identity")).to_contain_text("Médecin (10)")
        screenshot(page, "administrator", "02-compte-cree")

        page.get_by_role("button", name="Créer une invitation").click()
        link = page.locator("#invitation-url").input_value()
        screenshot(page, "administrator", "03-invitation")

        # The doctor, in her own browser: password, then her authenticator app, then her recovery codes.
        doctor = doctor_browser.new_page()
        doctor.goto(link)
        doctor.locator("#password").fill(DOCTOR_PASSWORD)
        doctor.locator("#confirmation").fill(DOCTOR_PASSWORD + "!")
        doctor.get_by_role("button", name="Enregistrer et continuer").click()
        expect(doctor.locator("#confirmation-error")).to_be_visible()
        screenshot(doctor, "administrator", "04-invitation-confirmation-refusee")
        doctor.locator("#password").fill(DOCTOR_PASSWORD)
        doctor.locator("#confirmation").fill(DOCTOR_PASSWORD)
        doctor.get_by_role("button", name="Enregistrer et continuer").click()
        doctor.get_by_role("link", name="Application d'authentification").click()
        secret = doctor.get_by_test_id("totp-secret").inner_text().strip()
        doctor.get_by_label("Code à 6 chiffres").fill(pyotp.TOTP(secret).now())
        doctor.get_by_role("button", name="Valider").click()
        expect(doctor.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
        expect(doctor.get_by_role("button", name="Imprimer")).to_be_visible()
        expect(doctor.get_by_role("link", name="Télécharger (fichier texte)")).to_be_visible()
        screenshot(doctor, "administrator", "05-codes-de-secours")
        doctor.get_by_role("button", name="Continuer").click()
        expect(doctor.get_by_test_id("account-name")).to_have_text("Dr Claire Lefèvre")
        doctor.get_by_role("button", name="Se déconnecter").click()

        # She signs in with her IdNat ("8" + RPPS), not only her username.
        _sign_in(doctor, "899900000029", DOCTOR_PASSWORD)
        expect(doctor).to_have_url(f"{live_server.url}/login/second-factor")
        doctor.get_by_label("Code à 6 chiffres").fill(pyotp.TOTP(secret).at(time.time() + 30))
        doctor.get_by_role("button", name="Valider").click()
        expect(doctor.get_by_test_id("account-name")).to_have_text("Dr Claire Lefèvre")
        screenshot(doctor, "administrator", "06-connexion-idnat")

        # The administrator disables the account: a reason is required, then it is done.
        page.reload()
        page.get_by_role("button", name="Désactiver le compte").click()
        expect(page.locator("#reason-disable-error")).to_be_visible()
        page.get_by_label("Motif de la désactivation").fill("Départ du cabinet")
        page.get_by_role("button", name="Désactiver le compte").click()
        expect(page.get_by_text("Le compte est désactivé et ses sessions sont terminées.")).to_be_visible()
        screenshot(page, "administrator", "07-compte-desactive")

        # The doctor's next page: the sign-in page, saying why.
        doctor.goto("/account")
        expect(doctor).to_have_url(re.compile(r"/login(\?|$)"))
        expect(doctor.get_by_text("Un administrateur a mis fin à votre session.")).to_be_visible()
        screenshot(doctor, "administrator", "08-session-terminee")
        _sign_in(doctor, "dr.lefevre", DOCTOR_PASSWORD)
        expect(doctor.get_by_test_id("form-alert")).to_contain_text("Contactez l'administrateur")
        screenshot(doctor, "administrator", "09-compte-desactive-connexion")
        assert_accessible(doctor)
    finally:
        operator.close()
        doctor_browser.close()


def test_a_doctor_changes_her_password_behind_a_confirmation(page, live_server, make_account):
    secret = pyotp.random_base32()
    doctor = make_account(username="dr.martin", idnat_ps="899900000011", given_name="Jean", family_name="Martin",
                          password_hash=passwords.hash_password(PASSWORD))
    from bouquet.sso import recovery, totp

    with live_server.app.state.db.session() as session:
        totp.add(session, doctor.id, secret, secret_key=live_server.app.state.settings.secret_key)
        codes = recovery.issue_codes(session, doctor.id)
    _sign_in(page, "899900000011", PASSWORD)
    page.get_by_label("Code à 6 chiffres").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Valider").click()
    expect(page.get_by_test_id("account-name")).to_have_text("Dr Jean Martin")

    page.goto("/account")
    page.get_by_role("link", name="Changer de mot de passe").click()
    # A sign-in of a few seconds ago is recent enough: straight to the form; otherwise the
    # confirmation page comes first (tested over HTTP in tests/sso/test_password_pages.py).
    if "/account/confirm" in page.url:
        page.locator("#password").fill(PASSWORD)
        page.locator("#code").fill(codes[0])
        page.get_by_role("button", name="Confirmer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Changer de mot de passe")
    screenshot(page, "password-change", "01-formulaire")
    assert_accessible(page)
    page.locator("#password").fill(NEW_PASSWORD)
    page.locator("#confirmation").fill(NEW_PASSWORD + " bis")
    page.get_by_role("button", name="Changer de mot de passe").click()
    expect(page.get_by_test_id("form-errors")).to_contain_text("ne sont pas identiques")
    screenshot(page, "password-change", "02-confirmation-refusee")
    page.locator("#password").fill(NEW_PASSWORD)
    page.locator("#confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Changer de mot de passe").click()
    expect(page.get_by_text("Votre mot de passe est changé.")).to_be_visible()
    screenshot(page, "password-change", "03-mot-de-passe-change")

    page.get_by_role("button", name="Se déconnecter").click()
    _sign_in(page, "dr.martin", PASSWORD)
    expect(page.get_by_test_id("form-alert")).to_contain_text("incorrect")
    _sign_in(page, "dr.martin", NEW_PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/login/second-factor")
    page.get_by_label("Code à 6 chiffres").fill(pyotp.TOTP(secret).at(time.time() + 30))
    page.get_by_role("button", name="Valider").click()
    expect(page.get_by_test_id("account-name")).to_have_text("Dr Jean Martin")
    screenshot(page, "password-change", "04-connexion-nouveau-mot-de-passe")


def test_a_form_sent_from_a_stale_tab_is_refused_and_what_was_typed_comes_back(page, live_server, make_account):
    admin = make_account(kind="admin", username="admin")
    _as(page, live_server, admin)
    page.goto("/admin/accounts/new")
    page.get_by_label("Type de compte").select_option("secretary")
    page.get_by_label("Identifiant de connexion").fill("sec.bernard")
    page.get_by_label("Prénom").fill("Sophie")
    page.get_by_label("Nom", exact=True).fill("Bernard")
    # The page's token belongs to a session that has since been replaced (e.g. a confirmation in another tab).
    page.locator('form[action="/admin/accounts/new"] input[name="csrf_token"]').evaluate("input => { input.value = 'jeton-perime'; }")
    page.get_by_role("button", name="Créer le compte").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Formulaire expiré")
    screenshot(page, "stale-tab", "01-formulaire-expire")
    assert_accessible(page)
    page.get_by_test_id("back-to-form").click()
    expect(page.get_by_label("Prénom")).to_have_value("Sophie")
    expect(page.get_by_label("Identifiant de connexion")).to_have_value("sec.bernard")
    expect(page.get_by_label("Type de compte")).to_have_value("secretary")
    screenshot(page, "stale-tab", "02-saisie-retrouvee")
    page.get_by_role("button", name="Créer le compte").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sophie Bernard")
    # Put back once: the form is empty the next time.
    page.goto("/admin/accounts/new")
    expect(page.get_by_label("Prénom")).to_have_value("")
