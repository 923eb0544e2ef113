"""The shell in real Chromium: it renders with the design system, its scripts run under the CSP,
and axe-core finds no serious or critical accessibility violation."""

from __future__ import annotations

import pytest

from bouquet.sessions import cookie_name
from bouquet.testing.browser import assert_accessible

pytestmark = pytest.mark.browser


def _sign_in(page, live_server, account):
    browser_session = live_server.app.state.sessions.create(account_id=account.id, amr=["pwd", "otp", "mfa"])
    page.context.add_cookies([{"name": cookie_name(False), "value": browser_session.new_token,
                               "url": live_server.url}])


def test_home_page(page, live_server, make_account):
    doctor = make_account(given_name="Alice", family_name="MARTIN")
    _sign_in(page, live_server, doctor)
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto("/")
    assert page.get_by_test_id("account-name").inner_text() == "Dr Alice MARTIN"
    # DSFR's JavaScript ran (it marks the document once started): no CSP violation blocked it.
    page.locator("html[data-fr-js]").wait_for(state="attached")  # (a string wait_for_function needs eval: CSP)
    assert page.evaluate("typeof htmx") == "object"
    assert not [e for e in errors if "Content Security Policy" in e]
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


def test_anonymous_visitor_is_sent_to_sign_in(page, live_server):
    page.goto("/")
    assert page.url.startswith(f"{live_server.url}/login?next=")
