"""The shell in real Chromium: it renders with the design system, its scripts run under the CSP,
and axe-core finds no serious or critical accessibility violation."""

from __future__ import annotations

import pytest

from bouquet.sso import totp
from bouquet.testing.browser import assert_accessible
from bouquet.testing.fixtures import signed_in_session
from bouquet.testing.signin import PASSWORD, install_clock, make_user
from bouquet.web.sessions import cookie_name

pytestmark = pytest.mark.browser


def _sign_in(page, live_server, account):
    browser_session = signed_in_session(live_server.app, account)
    page.context.add_cookies([{"name": cookie_name(False), "value": browser_session.new_token,
                               "url": live_server.url}])


def test_home_page(page, live_server, make_account):
    doctor = make_account(given_name="Alice", family_name="MARTIN")
    _sign_in(page, live_server, doctor)
    page.goto("/")
    assert page.get_by_test_id("account-name").inner_text() == "Dr Alice MARTIN"
    # DSFR's JavaScript ran (it marks the document once started): no CSP violation blocked it.
    page.locator("html[data-fr-js]").wait_for(state="attached")  # (a string wait_for_function needs eval: CSP)
    assert page.evaluate("typeof htmx") == "object"
    assert_accessible(page)


def test_error_and_plugins_pages(page, live_server, make_account):
    _sign_in(page, live_server, make_account())
    response = page.goto("/nulle-part")
    assert response.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "Page introuvable"
    assert_accessible(page)
    page.goto("/-/plugins")
    assert page.get_by_role("cell", name="dmp", exact=True).is_visible()
    assert_accessible(page)


def test_anonymous_visitor_signs_in_through_the_portals_provider_and_lands_on_the_page(page, live_server,
                                                                                       make_account):
    clock = install_clock(live_server.app)
    secret = totp.new_secret()
    account, _ = make_user(live_server.app, make_account, totp_secret=secret, given_name="Alice", family_name="MARTIN")
    visited = []
    page.on("response", lambda response: visited.append((response.status, response.url.removeprefix(live_server.url))))

    page.goto("/account/sessions")
    # The portal's client asked the provider (/authorize), which asks for the sign-in.
    assert page.url.startswith(f"{live_server.url}/login?next=%2Fauthorize%3Fclient_id%3Dbouquet-portal%26")
    assert_accessible(page)
    page.fill('input[name="username"]', account.username)
    page.fill('input[name="password"]', PASSWORD)
    page.get_by_role("button", name="Se connecter", exact=True).click()
    page.get_by_label("Code à 6 chiffres").fill(totp.code_at(secret, clock()))
    visited.clear()
    page.get_by_role("button", name="Valider").click()
    page.get_by_role("heading", level=1).wait_for()

    assert page.url == f"{live_server.url}/account/sessions"
    # Redirects only (the sign-in form's CSP allows them: the callback is on the same origin), one page.
    steps = [(status, url.split("?")[0]) for status, url in visited if not url.startswith("/static/")]
    assert steps == [(303, "/login/second-factor"), (302, "/authorize"), (303, "/auth/callback"),
                     (200, "/account/sessions")], steps
    assert_accessible(page)
