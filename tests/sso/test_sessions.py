"""Sessions: cookie flags, timeouts, sign-out everywhere, and the account's sessions page."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import select

from bouquet.foundation.audit import AuditEvent
from bouquet.foundation.db import utcnow
from bouquet.sso import totp
from bouquet.testing.fixtures import BouquetClient
from bouquet.testing.signin import install_clock, make_user, sign_in
from bouquet.web.sessions import WebSession, hash_token


def _set_cookie_headers(response):
    return [value for name, value in response.headers.multi_items() if name == "set-cookie"]


def test_session_cookie_flags_on_http(client):
    cookie = next(h for h in _set_cookie_headers(client.get("/login")) if h.startswith("bouquet_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie


def test_cookies_on_https_are_secure_and_host_prefixed(make_app, make_account):
    app = make_app(base_url="https://testserver.local")
    clock = install_clock(app)
    secret = totp.new_secret()
    account, _ = make_user(app, make_account, totp_secret=secret)
    with BouquetClient(app, base_url="https://testserver.local", follow_redirects=False) as client:
        cookie = next(h for h in _set_cookie_headers(client.get("/login")) if h.startswith("__Host-bouquet="))
        assert all(flag in cookie for flag in ("HttpOnly", "SameSite=Lax", "Secure", "Path=/"))
        assert "Domain" not in cookie
        response = sign_in(client, account.username, secret, clock)
        assert response.headers["location"] == "/"
        headers = _set_cookie_headers(response)
        device = next(h for h in headers if h.startswith("__Host-bouquet_device="))
        assert all(flag in device.lower() for flag in ("httponly", "samesite=lax", "secure", "path=/"))
        session = next(h for h in headers if h.startswith("__Host-bouquet="))
        assert "Secure" in session
        assert client.get("/").status_code == 200


def _age(app, token, **changes):
    with app.state.db.session() as session:
        session.execute(update(WebSession).where(WebSession.token_hash == hash_token(token)).values(**changes))


def test_idle_timeout(app, client, make_account):
    client.login(make_account())
    assert client.get("/").status_code == 200
    idle = client.session_token
    _age(app, idle, last_seen_at=utcnow() - timedelta(minutes=app.state.settings.session_idle_minutes + 1))
    response = client.get("/", headers={"accept": "text/html"})
    assert response.status_code == 303 and response.headers["location"].startswith("/authorize?")
    assert client.session_token != idle, "the new authorization is kept in a new anonymous session"
    with app.state.db.session() as session:
        row = session.exec(select(WebSession).where(WebSession.token_hash == hash_token(idle))).one()
    assert row.ended_reason == "idle_timeout"


def test_absolute_timeout_even_when_active(app, client, make_account):
    client.login(make_account())
    _age(app, client.session_token, created_at=utcnow() - timedelta(hours=app.state.settings.session_absolute_hours, minutes=1),
         last_seen_at=utcnow())
    assert client.get("/", headers={"accept": "text/html"}).status_code == 303


def test_sign_out_ends_the_session_server_side_and_clears_the_cookie(app, client, make_account):
    account = make_account()
    client.login(account)
    token = client.session_token
    response = client.submit("/logout")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    cleared = next(h for h in _set_cookie_headers(response) if h.startswith("bouquet_session="))
    assert "Max-Age=0" in cleared or "expires=Thu, 01 Jan 1970" in cleared.lower()
    with app.state.db.session() as session:
        row = session.exec(select(WebSession).where(WebSession.token_hash == hash_token(token))).one()
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "session.ended")).one()
    assert row.ended_reason == "logout"
    assert event.actor == account.label and event.details["reason"] == "logout"
    assert "Vous êtes déconnecté" in client.get(response.headers["location"]).text


def test_sign_out_on_one_worker_is_refused_by_another(make_app, make_account):
    first, second = make_app(), make_app()
    account = make_account()
    with BouquetClient(first, base_url="http://testserver.local", follow_redirects=False) as one, \
            BouquetClient(second, base_url="http://testserver.local", follow_redirects=False) as other:
        one.login(account)
        other.cookies.set("bouquet_session", one.session_token, domain="testserver.local", path="/")
        assert other.get("/").status_code == 200
        assert one.submit("/logout").status_code == 303
        assert other.get("/", headers={"accept": "text/html"}).status_code == 303


def test_sessions_page_lists_and_ends_sessions(app, make_account):
    account = make_account()
    clients = [BouquetClient(app, base_url="http://testserver.local", follow_redirects=False,
                             headers={"user-agent": agent})
               for agent in ("Mozilla/5.0 (Windows NT 10.0) Firefox/128.0",
                             "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0", "Mozilla/5.0 (iPhone) Safari/604.1")]
    for browser in clients:
        browser.login(account)
        # client.login makes the row directly: give it the browser's user agent as a real sign-in would.
        _age(app, browser.session_token, user_agent=browser.headers["user-agent"])
    me, second, third = clients
    page = me.get("/account/sessions")
    assert page.status_code == 200
    assert page.text.count('data-testid="session-row"') == 3
    assert "Firefox sur Windows" in page.text and "Chrome sur Linux" in page.text and "Cette session" in page.text

    with app.state.db.session() as session:
        second_id = session.exec(select(WebSession.id).where(
            WebSession.token_hash == hash_token(second.session_token))).one()
    assert me.submit(f"/account/sessions/{second_id}/end").status_code == 303
    assert second.get("/", headers={"accept": "text/html"}).status_code == 303
    assert me.submit(f"/account/sessions/{second_id}/end").status_code == 404

    assert me.submit("/account/sessions/end-others").status_code == 303
    assert third.get("/", headers={"accept": "text/html"}).status_code == 303
    assert me.get("/").status_code == 200
    assert me.get("/account/sessions").text.count('data-testid="session-row"') == 1
    for browser in clients:
        browser.close()


def test_cannot_end_someone_elses_session(app, client, make_account):
    stranger = BouquetClient(app, base_url="http://testserver.local", follow_redirects=False)
    stranger.login(make_account())
    with app.state.db.session() as session:
        their_id = session.exec(select(WebSession.id).where(
            WebSession.token_hash == hash_token(stranger.session_token))).one()
    client.login(make_account())
    assert client.submit(f"/account/sessions/{their_id}/end").status_code == 404
    assert stranger.get("/").status_code == 200
    stranger.close()


def test_ending_the_current_session_signs_out(app, client, make_account):
    client.login(make_account())
    with app.state.db.session() as session:
        mine = session.exec(select(WebSession.id).where(WebSession.token_hash == hash_token(client.session_token))).one()
    response = client.submit(f"/account/sessions/{mine}/end")
    assert response.headers["location"].startswith("/login")
    assert client.get("/", headers={"accept": "text/html"}).status_code == 303
