"""Single sign-on in real Chromium: sign in once through the portal's pages, a second application signs in
without a prompt, and signing out of the portal signs out of both through the back channel."""

from __future__ import annotations

import time

import pyotp
import pytest
from playwright.sync_api import expect

from bouquet.testing.browser import assert_accessible
from bouquet.testing.fixtures import free_port
from bouquet.testing.oidc import Portal
from bouquet.testing.oidc_rp import RelyingPartyApp
from bouquet.testing.signin import PASSWORD, make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def relying_parties(make_live_server):
    server = make_live_server()
    portal = Portal(server.url, server.app)
    port = free_port()
    rps = RelyingPartyApp(server.url)
    rps.url = f"http://localhost:{port}"
    for name, first_party in (("messagerie", True), ("agenda", False)):
        client_id, secret = portal.register(name=name.capitalize(), redirect_uris=[rps.redirect_uri(name)],
                                            backchannel_logout_uri=f"{rps.url}/{name}/backchannel",
                                            first_party=first_party)
        rps.add(name, client_id, secret)
    rps.start(port)
    yield portal, rps
    rps.stop()


def _wait(condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_sign_in_once_use_two_applications_sign_out_of_both(browser, relying_parties, make_account, app):
    portal, rps = relying_parties
    secret = pyotp.random_base32()
    make_user(app, make_account, totp_secret=secret, username="jean.martin", given_name="Jean", family_name="MARTIN")
    context = browser.new_context(locale="fr-FR")
    context.set_default_timeout(15_000)
    page = context.new_page()
    visited: list[str] = []
    page.on("framenavigated", lambda frame: visited.append(frame.url) if frame == page.main_frame else None)

    # The first application sends the browser to the portal, which asks for both factors.
    page.goto(f"{rps.url}/messagerie/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Se connecter à Bouquet")
    page.fill('input[name="username"]', "jean.martin")
    page.fill('input[name="password"]', PASSWORD)
    page.get_by_role("button", name="Se connecter", exact=True).click()
    page.get_by_label("Code à 6 chiffres").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Valider").click()
    expect(page.get_by_test_id("rp-status")).to_have_text("Connecté : Jean MARTIN")

    # A third-party application asks for consent once; then no sign-in page is seen again.
    before = len(visited)
    page.goto(f"{rps.url}/agenda/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Autoriser Agenda ?")
    assert_accessible(page)
    page.get_by_role("button", name="Autoriser").click()
    expect(page.get_by_test_id("rp-status")).to_have_text("Connecté : Jean MARTIN")
    assert not any("/login" in url and portal.url in url for url in visited[before:])

    # The consent is listed on the account's applications page; an end-session link only asks.
    page.goto(f"{portal.url}/account/applications")
    expect(page.get_by_test_id("consents")).to_contain_text("Agenda")
    assert_accessible(page)
    page.goto(f"{portal.url}/end-session")
    expect(page.get_by_role("heading", level=1)).to_have_text("Se déconnecter de Bouquet ?")
    assert_accessible(page)

    # Signing out of the portal signs out of both, through the back channel.
    page.goto(f"{portal.url}/")
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_text("Vous êtes déconnecté.")).to_be_visible()
    _wait(lambda: all(client.logouts for client in rps.clients.values()))
    sids = {client.logouts[0]["sid"] for client in rps.clients.values()}
    assert len(sids) == 1
    for name in ("messagerie", "agenda"):
        page.goto(f"{rps.url}/{name}/")
        expect(page.get_by_test_id("rp-status")).to_have_text("Non connecté")
    context.close()
