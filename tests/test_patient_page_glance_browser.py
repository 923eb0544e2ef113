"""The patient page reads in one glance at 1280×800: the DMP and prevention panels above the fold, no
alert repeating a panel shown on the page, and application buttons that open the application."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from bouquet.patient.demo import DEMO_PATIENTS
from bouquet.testing.browser import assert_accessible, screenshot
from bouquet.testing.fixtures import signed_in_session
from bouquet.web.sessions import cookie_name

pytestmark = pytest.mark.browser

FOLD = 800


def test_the_patient_page_shows_the_dmp_and_prevention_panels_above_the_fold(browser, live_server, make_account):
    doctor = make_account(username="dr.martin", given_name="Jean", family_name="Martin",
                          specialty_label="Médecine générale")
    context = browser.new_context(base_url=live_server.url, locale="fr-FR", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        signed_in = signed_in_session(live_server.app, doctor)
        context.add_cookies([{"name": cookie_name(False), "value": signed_in.new_token, "url": live_server.url}])
        page.goto("/patient/open")
        page.get_by_label("Choisir un patient fictif").select_option(DEMO_PATIENTS[0].ins.matricule)
        page.get_by_role("button", name="Ouvrir ce patient").click()
        expect(page.locator("[data-bq-panel][aria-busy]")).to_have_count(0)
        screenshot(page, "doctor-patient-page", "01-dossier")
        tops = {}
        for title in ("Dossier médical partagé (DMP)", "Prévention"):
            card = page.locator('[data-testid="panel"]', has=page.get_by_role("heading", name=title, exact=True))
            tops[title] = card.bounding_box()["y"]
        height = page.evaluate("document.documentElement.scrollHeight")
        print(f"panel tops {tops}, page height {height}px")
        assert all(top < FOLD for top in tops.values()), tops
        assert_accessible(page)
    finally:
        context.close()
