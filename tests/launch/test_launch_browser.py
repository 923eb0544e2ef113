"""In real Chromium, the story of issue 5: sign in once in the practice software, open three patients from
it without another sign-in, a used or expired link refused, and a browser without a session (first signed
in as someone else) signing in and landing on the right patient. axe-core on the launch pages."""

from __future__ import annotations

import time

import pyotp
import pytest
from playwright.sync_api import expect
from sqlmodel import select

from bouquet.patient.demo import DEMO_PATIENTS
from bouquet.patient.launch import LaunchHandle
from bouquet.testing.browser import assert_accessible
from bouquet.testing.practice_software import NAME
from bouquet.testing.signin import PASSWORD, make_user

pytestmark = pytest.mark.browser


def _sign_in(page, username: str, code: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("Se connecter à Bouquet")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', PASSWORD)
    page.get_by_role("button", name="Se connecter", exact=True).click()
    page.get_by_label("Code à 6 chiffres").fill(code)
    page.get_by_role("button", name="Valider").click()


def _expire(portal_app, launch_url: str) -> None:
    from bouquet.patient.launch_handles import hash_handle

    handle = launch_url.split("launch=", 1)[1]
    with portal_app.state.db.write() as session:
        row = session.exec(select(LaunchHandle).where(LaunchHandle.handle_hash == hash_handle(handle))).one()
        row.expires_at = row.created_at
        session.add(row)


def _service_tokens(portal_app, client_id: str) -> int:
    from bouquet.sso.oidc.models import Token

    with portal_app.state.db.session() as session:
        rows = session.exec(select(Token).where(Token.client_id == client_id)).all()
    return len([row for row in rows if row.account_id is None])


def test_open_patients_from_the_practice_software(browser, live_server, practice_software, app, make_account):
    portal, software = live_server, practice_software
    doctor_secret, nurse_secret = pyotp.random_base32(), pyotp.random_base32()
    doctor, _ = make_user(app, make_account, totp_secret=doctor_secret, username="jean.martin",
                          given_name="Jean", family_name="MARTIN")
    make_user(app, make_account, totp_secret=nurse_secret, username="lea.durand", given_name="Léa",
              family_name="DURAND", profession_code="60", profession_label="Infirmier")

    context = browser.new_context(locale="fr-FR")
    context.set_default_timeout(15_000)
    page = context.new_page()
    visited: list[str] = []
    # Every navigation request, redirects included: the launch links and any sign-in page on the way.
    page.on("request", lambda request: visited.append(request.url) if request.is_navigation_request() else None)

    # Sign in once, in the practice software, with two factors on Bouquet's pages.
    page.goto(software.url)
    page.get_by_role("link", name="Se connecter avec Bouquet").click()
    _sign_in(page, "jean.martin", pyotp.TOTP(doctor_secret).now())
    expect(page.get_by_test_id("ps-user")).to_have_text("Connecté : Jean MARTIN")

    # Three patients, each straight onto their page: no sign-in page in between.
    signed_in_at = len(visited)
    launch_urls = []
    for patient in DEMO_PATIENTS[:3]:
        page.goto(software.url)
        before = len(visited)
        page.get_by_role("button", name=f"Ouvrir {patient.traits.birth_name} {patient.traits.first_given_name} "
                                        "dans le Bouquet").click()
        expect(page).to_have_url(f"{portal.url}/patient")
        expect(page.get_by_test_id("patient-birth-name")).to_have_text(patient.traits.birth_name)
        expect(page.get_by_test_id("patient-source")).to_contain_text(NAME)
        launch_urls += [url for url in visited[before:] if "/launch?launch=" in url]
    assert len(set(launch_urls)) == 3
    assert _service_tokens(portal.app, software.client_id) == 1  # the software reused its cached token
    assert not any("/login" in url for url in visited[signed_in_at:] if url.startswith(portal.url))
    assert_accessible(page)

    # A link already used is refused, with the way back to the practice software.
    page.goto(launch_urls[0])
    expect(page.get_by_role("heading", level=1)).to_have_text("Lien d'ouverture déjà utilisé")
    expect(page.get_by_test_id("launch-return")).to_have_attribute("href", f"{software.url}/")
    assert_accessible(page)

    # An expired one too.
    expired = software.launch_url(doctor.idnat_ps, DEMO_PATIENTS[3])
    _expire(portal.app, expired)
    page.goto(expired)
    expect(page.get_by_role("heading", level=1)).to_have_text("Lien d'ouverture expiré")
    assert_accessible(page)
    context.close()

    # A browser without a session: sign-in first; signed in as someone else, refused, then switch account.
    context = browser.new_context(locale="fr-FR")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(software.launch_url(doctor.idnat_ps, DEMO_PATIENTS[4]))
    _sign_in(page, "lea.durand", pyotp.TOTP(nurse_secret).now())
    expect(page.get_by_role("heading", level=1)).to_have_text("Ouverture destinée à un autre compte")
    expect(page.get_by_test_id("patient-banner")).to_have_count(0)
    assert_accessible(page)
    page.get_by_role("button", name="Changer de compte").click()
    _sign_in(page, "jean.martin", pyotp.TOTP(doctor_secret).at(time.time() + 30))  # not the code used above
    expect(page).to_have_url(f"{portal.url}/patient")
    expect(page.get_by_test_id("patient-birth-name")).to_have_text("N'DIAYE")
    context.close()
