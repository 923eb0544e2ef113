"""In Chromium: a doctor signs in from the practice software through Pro Santé Connect (the stand-in),
with no Bouquet code asked, and lands on a patient; signing out of Bouquet ends the PSC session; a
back-channel logout from PSC ends Bouquet's session."""

from __future__ import annotations

from playwright.sync_api import expect

from bouquet.patient.demo import DEMO_PATIENTS
from bouquet.testing.browser import assert_accessible
from bouquet.testing.practice_software import start_practice_software
from bouquet.testing.psc import PscStandin, psc_userinfo

IDNAT = "810000123454"


def test_sign_in_with_psc_open_a_patient_and_sign_out_both_ways(browser, make_live_server, make_account):
    standin = PscStandin().start()
    portal = make_live_server(**standin.settings())
    software = start_practice_software(portal.url, portal.app)
    make_account(idnat_ps=IDNAT, username="jean.martin", given_name="Jean", family_name="MARTIN")
    standin.identity = psc_userinfo(IDNAT, "Jean", "MARTIN")
    context = browser.new_context(locale="fr-FR")
    context.set_default_timeout(15_000)
    page = context.new_page()
    visited: list[str] = []
    page.on("request", lambda request: visited.append(request.url) if request.is_navigation_request() else None)
    try:
        # From the practice software, to Bouquet's sign-in page, to PSC, back: no code asked by Bouquet.
        page.goto(software.url)
        page.get_by_role("link", name="Se connecter avec Bouquet").click()
        expect(page.get_by_role("heading", name="Avec votre carte CPS ou l'application e-CPS")).to_be_visible()
        assert_accessible(page)
        page.get_by_role("link", name="Se connecter avec Pro Santé Connect").click()
        expect(page.get_by_role("heading", name="Pro Santé Connect")).to_be_visible()
        page.get_by_role("button", name="Valider avec ma carte CPS").click()
        expect(page.get_by_test_id("ps-user")).to_have_text("Connecté : Jean MARTIN")
        assert not [url for url in visited if "/login/second-factor" in url or "/enrol" in url]

        patient = DEMO_PATIENTS[0]
        page.get_by_role("button", name=f"Ouvrir {patient.traits.birth_name} {patient.traits.first_given_name} "
                                        "dans le Bouquet").click()
        expect(page).to_have_url(f"{portal.url}/patient")
        expect(page.get_by_test_id("patient-birth-name")).to_have_text(patient.traits.birth_name)

        # Signing out of Bouquet signs out of PSC too, and comes back to Bouquet's sign-in page.
        [first_psc_session] = list(standin.sessions)
        page.get_by_role("button", name="Se déconnecter").click()
        expect(page.get_by_text("Vous êtes déconnecté.")).to_be_visible()
        assert any(url.startswith(standin.issuer + "/protocol/openid-connect/logout?") for url in visited)
        assert standin.sessions[first_psc_session]["ended"] is True

        # Signed in again through PSC; then PSC ends its session over the back channel.
        page.goto(f"{portal.url}/")
        page.get_by_role("link", name="Se connecter avec Pro Santé Connect").click()
        page.get_by_role("button", name="Valider avec ma carte CPS").click()
        expect(page).to_have_url(f"{portal.url}/")
        second = next(sid for sid, state in standin.sessions.items() if not state["ended"])
        answer = standin.backchannel_logout(second, f"{portal.url}/login/psc/backchannel-logout")
        assert answer.status_code == 200
        page.reload()
        expect(page.get_by_role("heading", name="Se connecter à Bouquet")).to_be_visible()
    finally:
        context.close()
        software.stop()
        standin.stop()
