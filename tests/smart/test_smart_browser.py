"""In real Chromium: a signed-in professional with a patient in context follows a launch link to an
application, which receives the patient in its token response and reads it, with no sign-in prompt."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from bouquet.testing.browser import assert_accessible
from bouquet.testing.fixtures import free_port
from bouquet.testing.oidc_rp import SMART_SCOPE, RelyingPartyApp
from bouquet.web.sessions import cookie_name

pytestmark = pytest.mark.browser


@pytest.fixture
def smart_app(portal):
    port = free_port()
    rps = RelyingPartyApp(portal.url)
    rps.url = f"http://localhost:{port}"
    client_id, secret = portal.register(name="Dossier de coordination", redirect_uris=[rps.redirect_uri("dossier")],
                                        scope=SMART_SCOPE, first_party=False)
    rps.add("dossier", client_id, secret)
    rps.start(port)
    yield rps
    rps.stop()


def test_an_app_launched_from_bouquet_receives_the_patient_without_signing_in(browser, portal, smart_app, patients,
                                                                               make_account):
    doctor = make_account(given_name="Jean", family_name="MARTIN")
    signed_in = patients.browser(doctor, patients.open(doctor))
    context = browser.new_context(locale="fr-FR")
    context.set_default_timeout(15_000)
    context.add_cookies([{"name": cookie_name(False), "value": signed_in.token, "url": portal.url}])
    page = context.new_page()
    visited: list[str] = []
    page.on("framenavigated", lambda frame: visited.append(frame.url) if frame == page.main_frame else None)

    client_id = smart_app.clients["dossier"].client_id
    page.goto(f"{portal.url}/p/launcher/open?client_id={client_id}&launch_uri={quote(smart_app.url + '/dossier/launch')}")
    # A third-party application asks once; the person sees that it will read the patient's identity.
    expect(page.get_by_role("heading", level=1)).to_have_text("Autoriser Dossier de coordination ?")
    expect(page.get_by_test_id("consent-shared")).to_contain_text("Lire l'identité INS de ce patient")
    expect(page.get_by_test_id("consent-patient")).to_have_text("Patient en contexte : MARTIN Marie, née le 02/10/1960")
    assert_accessible(page)
    page.get_by_role("button", name="Autoriser").click()

    expect(page.get_by_test_id("rp-status")).to_have_text("Connecté : Jean MARTIN")
    expect(page.get_by_test_id("rp-patient")).to_have_text("Patient : MARTIN MARIE (1960-10-02)")
    launch = smart_app.clients["dossier"].launches[0]
    assert launch["patient_status"] == 200 and launch["patient"]["id"] == launch["token"]["patient"]
    assert not any(url.startswith(f"{portal.url}/login") or "/account/confirm" in url for url in visited)
    context.close()
