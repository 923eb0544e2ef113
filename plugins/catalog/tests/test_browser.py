"""In Chromium: a professional with a patient in context finds a referenced app in the catalogue, opens it,
and the app (a relying party) receives the SSO identity and the patient with no sign-in prompt.
The catalogue pages pass axe-core and run under the CSP."""

from __future__ import annotations

import pytest
from bouquet_catalog import images, solutions
from bouquet_catalog.solutions import Actor
from bouquet_catalog.workflow import OPERATOR, VENDOR

from bouquet.api.patient import DEMO_PATIENTS
from bouquet.api.web import cookie_name
from bouquet.testing.browser import assert_accessible
from bouquet.testing.fixtures import BouquetClient, free_port, signed_in_session
from bouquet.testing.oidc_rp import RelyingPartyApp

pytestmark = pytest.mark.browser
PATIENT = DEMO_PATIENTS[0]


def _referenced_app(app, rp: RelyingPartyApp, png) -> tuple[int, str, str]:
    """A launchable solution filed (with a large logo and a tall screenshot), reviewed and referenced; its client
    id and (once) secret."""
    vendor_side, operator_side = Actor(None, "Éditeur de test", VENDOR), Actor(None, "Opérateur de test", OPERATOR)
    content = {"name": "Télésurveillance Démo", "category": "TLS", "version": "1.0",
               "description": "Une application de démonstration.\n\nElle reçoit le patient en contexte.",
               "professions": ["10"], "regions": ["FR"], "claims": {"psc": {"detail": "", "evidence": "PSC", "status": "declared"}},
               "website": None, "launch_url": f"{rp.url}/demo/launch", "redirect_uris": [rp.redirect_uri("demo")], "jwks": None}
    with app.state.db.write() as session:
        vendor = solutions.vendor_for(session, "999000011", "Démo Logiciels")
        pictures = [images.check("logo", png(512, 512), "Logo"), images.check("screenshot", png(1200, 2000), "Capture")]
        solution = solutions.create(session, vendor, content, pictures, vendor_side)
        solutions.transition(session, solution, "submit", vendor_side)
        solutions.transition(session, solution, "start_review", operator_side)
        solutions.transition(session, solution, "approve", operator_side, verified={"psc"})
        secret = solutions.new_client_secret(session, solution)
        return solution.id, solution.oidc_client_id, secret  # type: ignore[return-value]


def _box(page, selector: str) -> dict[str, float]:
    element = page.locator(selector)
    element.evaluate("img => img.decode()")  # loaded, so that its size is its displayed size
    return element.bounding_box()


def test_professional_opens_a_referenced_app_with_the_patient(browser, make_live_server, make_account, h):
    server = make_live_server()
    app = server.app
    rp = RelyingPartyApp(server.url).start(free_port())
    try:
        solution_id, client_id, secret = _referenced_app(app, rp, h.png)
        rp.add("demo", client_id, secret)
        doctor = make_account(given_name="Alice", family_name="MARTIN")
        session = signed_in_session(app, doctor)  # signed in to the provider and to the portal
        http = BouquetClient(app, base_url="http://testserver.local", follow_redirects=False)  # same database, same session
        http._set_session(session.new_token)
        assert http.submit("/patient", {"demo": PATIENT.ins.matricule}).status_code == 303

        context = browser.new_context(base_url=server.url, locale="fr-FR")
        context.set_default_timeout(10_000)
        context.add_cookies([{"name": cookie_name(False), "value": session.new_token, "url": server.url}])
        page = context.new_page()
        try:
            page.goto("/p/catalog/?q=telesurveillance demo")
            assert page.get_by_test_id("result").count() == 1
            logo = _box(page, "[data-testid=result] img.catalog-logo")  # the stylesheet keeps a 512 px logo a small mark
            assert 0 < logo["width"] <= 80 and 0 < logo["height"] <= 80
            assert_accessible(page)
            page.get_by_role("link", name="Télésurveillance Démo").click()
            page.wait_for_url(f"**/p/catalog/solutions/{solution_id}")
            assert "vérifiée par l'opérateur" in page.get_by_test_id("claims").inner_text().lower()
            logo, shot = _box(page, "img.catalog-detail-logo"), _box(page, "img.catalog-screenshot")
            assert 0 < logo["height"] <= 96
            viewport = page.viewport_size
            assert 0 < shot["height"] <= 512 and shot["x"] + shot["width"] <= viewport["width"]  # 2000 px tall, bounded
            assert abs(shot["width"] / shot["height"] - 1200 / 2000) < 0.02  # not distorted
            page.set_viewport_size({"width": 360, "height": 740})  # a phone: the screenshot shrinks with the column
            assert _box(page, "img.catalog-screenshot")["width"] <= 360
            page.set_viewport_size(viewport)
            assert_accessible(page)
            page.get_by_role("button", name="Ouvrir").click()
            allow = page.get_by_role("button", name="Autoriser")
            page.wait_for_url(lambda url: url.startswith(rp.url) or "/authorize" in url)
            if "/authorize" in page.url and allow.count():  # a third-party app asks the person once
                allow.click()
            page.wait_for_url(f"{rp.url}/demo/**")
            status = page.get_by_test_id("rp-status")
            assert status.inner_text() == "Connecté : Alice MARTIN"  # no sign-in prompt: the portal session carried it
            launch = rp.clients["demo"].launches[-1]
            assert launch["patient_status"] == 200
            assert launch["patient"]["name"][0]["family"] == PATIENT.traits.birth_name
        finally:
            context.close()
    finally:
        rp.stop()
