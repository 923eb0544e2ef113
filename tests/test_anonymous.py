"""Anonymous visitors: no session row per page view, and still a CSRF token on every form (issue 13, item 8)."""

from __future__ import annotations

import re

from sqlalchemy import func
from sqlmodel import select

from bouquet.sso import portal_pending
from bouquet.testing.fixtures import BouquetClient
from bouquet.testing.signin import PASSWORD, csrf_in, make_user
from bouquet.web import anonymous, csrf
from bouquet.web.sessions import WebSession, hash_token

KEY = b"k" * 32
HTML = {"accept": "text/html"}


def _count(app, table) -> int:
    with app.state.db.session() as session:
        return session.exec(select(func.count()).select_from(table)).one()


def _fresh(app) -> BouquetClient:
    """A browser with no cookie at all (a crawler, or a script that drops cookies)."""
    return BouquetClient(app, base_url="http://testserver.local", follow_redirects=False)


# --- the cookie ----------------------------------------------------------------------------------

def test_an_anonymous_cookie_is_signed_and_expires():
    issued = anonymous.issue(KEY, now=1_000_000)
    assert issued.new and issued.value.startswith("anon.")
    read = anonymous.read(KEY, issued.value, now=1_000_000 + 60)
    assert read is not None and read.binding == issued.binding and not read.new
    assert anonymous.read(b"x" * 32, issued.value, now=1_000_060) is None  # another key
    body, _, mac = issued.value.rpartition(".")
    other_binding = body[:-64] + "0" * 64
    assert anonymous.read(KEY, f"{other_binding}.{mac}", now=1_000_060) is None  # tampered binding
    later = 1_000_000 + anonymous.LIFETIME_SECONDS + 1
    assert anonymous.read(KEY, issued.value, now=later) is None  # expired
    for junk in (None, "", "anon.", "anon.x.y.z", "anon." + "1" * 300, "a-session-token"):
        assert anonymous.read(KEY, junk) is None


def test_renewal_keeps_the_binding():
    fresh = anonymous.issue(KEY)
    assert anonymous.renew(KEY, fresh.value, fresh) is fresh  # still fresh: nothing sent again
    old = anonymous.issue(KEY, now=fresh.issued_at - anonymous.RENEW_AFTER_SECONDS - 1)
    renewed = anonymous.renew(KEY, old.value, old)
    assert renewed.new and renewed.value != old.value and renewed.binding == old.binding
    # A stale or unreadable cookie: the new one's binding is derived from what the browser presented,
    # so tabs reloaded together with the same stale cookie agree on it.
    first, second = anonymous.renew(KEY, "stale", None), anonymous.renew(KEY, "stale", None)
    assert first.binding == second.binding == anonymous.binding_for("stale")
    assert anonymous.renew(KEY, None, None).binding != anonymous.renew(KEY, None, None).binding


# --- no server state for anonymous page views ----------------------------------------------------

def test_three_hundred_anonymous_page_views_store_no_session(app):
    """Before: each of these views stored a `web_session` row (300 rows). Now: none. The 100 views of
    a page that needs a sign-in each leave one pending authorization, which expires in 10 minutes."""
    pages = ["/login", "/-/plugins", "/account"]
    for n in range(300):
        with _fresh(app) as browser:
            response = browser.get(pages[n % 3], headers=HTML)
        assert response.status_code in (200, 303)
        assert anonymous.read(app.state.anonymous_key, response.cookies.get("bouquet_session")) is not None
    assert _count(app, WebSession) == 0
    assert _count(app, portal_pending.PortalPendingSignin) == 100
    # A browser that keeps its cookie is one binding: at most MAX_PER_BROWSER pending rows for it.
    with _fresh(app) as browser:
        for _ in range(portal_pending.MAX_PER_BROWSER + 10):
            browser.get("/account", headers=HTML)
        binding = anonymous.read(app.state.anonymous_key, browser.session_token).binding
    assert len(portal_pending.pending_for(app.state.db, binding)) == portal_pending.MAX_PER_BROWSER
    assert _count(app, WebSession) == 0


def test_the_sign_in_form_is_still_protected_against_csrf(app, make_account):
    account, _ = make_user(app, make_account)
    with _fresh(app) as browser:
        page = browser.get("/login")
        token = csrf_in(page.text)
        cookie = browser.session_token
        assert token == csrf.token_for(app.state.csrf_key, hash_token(cookie))  # bound to the anonymous cookie
        form = {"username": account.username, "password": "wrong password"}
        # Without the token, or with another browser's, nothing is checked (no throttle counted, no audit).
        assert browser.post("/login", data=form).status_code == 403
        with _fresh(app) as other:
            other_token = csrf_in(other.get("/login").text)
        assert browser.post("/login", data={**form, "csrf_token": other_token}).status_code == 403
        # A forged anonymous cookie (its MAC does not match) carries no token at all.
        forged = re.sub(r"\.[^.]+$", ".forged", cookie)
        browser.cookies.set("bouquet_session", forged, domain="testserver.local", path="/")
        assert browser.post("/login", data={**form, "csrf_token": csrf.token_for(app.state.csrf_key,
                                                                                  hash_token(forged))}).status_code == 403
        assert _count(app, WebSession) == 0
        # The right token with its own cookie: the sign-in goes on, and only now is a session stored.
        browser.cookies.set("bouquet_session", cookie, domain="testserver.local", path="/")
        answer = browser.post("/login", data={"username": account.username, "password": PASSWORD,
                                              "csrf_token": token})
        assert answer.status_code == 303 and answer.headers["location"] in ("/enrol", "/login/second-factor")
        assert _count(app, WebSession) == 1
        assert browser.session_token != cookie


def test_a_wrong_password_stores_no_session_and_keeps_the_pending_authorization(app):
    with _fresh(app) as browser:
        browser.get("/account", headers=HTML)
        visitor = anonymous.read(app.state.anonymous_key, browser.session_token)
        assert visitor is not None and len(portal_pending.pending_for(app.state.db, visitor.binding)) == 1
        refused = browser.submit("/login", {"username": "nobody", "password": "a wrong password"})
        assert refused.status_code == 200 and "incorrect" in refused.text
        assert _count(app, WebSession) == 0
        assert len(portal_pending.pending_for(app.state.db, visitor.binding)) == 1


def test_the_sign_in_page_keeps_its_token_once_a_passkey_challenge_begins_the_session(app):
    """The passkey button first asks for a challenge (which creates the session, new cookie), then
    posts the answer with the token of the page it is on: accepted until the sign-in completes."""
    with _fresh(app) as browser, _fresh(app) as other:
        token = csrf_in(browser.get("/login").text)
        other_token = csrf_in(other.get("/login").text)
        headers = {"X-CSRF-Token": token, "content-type": "application/json", "accept": "application/json"}
        options = browser.post("/login/passkey/options", headers=headers, content=b"{}")
        assert options.status_code == 200 and _count(app, WebSession) == 1
        session = app.state.sessions.load(browser.session_token)
        assert session is not None and session.account_id is None  # a sign-in begun, nobody signed in
        answer = browser.post("/login/passkey", headers=headers, content=b'{"id": "unknown"}')
        assert answer.status_code == 400, answer.text  # past CSRF: the unreadable passkey answer is what fails
        refused = browser.post("/login/passkey", headers={**headers, "X-CSRF-Token": other_token},
                               content=b'{"id": "unknown"}')
        assert refused.status_code == 403 and "Rechargez la page" in refused.text
