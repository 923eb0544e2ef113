"""Sign-in helpers for tests: a movable clock, accounts with factors, and reading the pages' secrets.

    clock = install_clock(app)
    account, codes = make_user(app, make_account, totp_secret=secret, with_codes=True)
    sign_in(client, account.username, secret, clock)   # password + TOTP, through the real pages
"""

from __future__ import annotations

import functools
import re
from datetime import datetime, timedelta
from html import unescape
from typing import Any

from bouquet.foundation.db import utcnow
from bouquet.sso import passwords, recovery, totp

PASSWORD = "cheval agrafe batterie correcte"


@functools.cache
def password_hash() -> str:
    """The argon2id hash of `PASSWORD` (computed once: hashing is slow on purpose)."""
    return passwords.hash_password(PASSWORD)


class Clock:
    """The time sign-in checks see (`app.state.clock`), moved by hand instead of sleeping."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def install_clock(app: Any) -> Clock:
    app.state.clock = clock = Clock()
    return clock


def make_user(app: Any, make_account: Any, *, totp_secret: str | None = None, with_codes: bool = False,
              **fields: Any) -> tuple[Any, list[str]]:
    """An account with the test password, optionally a TOTP app and recovery codes (returned)."""
    account = make_account(password_hash=password_hash(), **fields)
    codes: list[str] = []
    with app.state.db.session() as session:
        if totp_secret:
            totp.add(session, account.id, totp_secret, secret_key=app.state.settings.secret_key)
        if with_codes:
            codes = recovery.issue_codes(session, account.id)
    return account, codes


def text_by_testid(html: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</', html, re.S)
    assert match, f"no element with data-testid={testid!r}"
    return unescape(match.group(1)).strip()


def recovery_codes_in(html: str) -> list[str]:
    block = re.search(r'data-testid="recovery-codes"[^>]*>(.*?)</ul>', html, re.S)
    assert block, "no recovery codes on the page"
    return re.findall(r"<code>([^<]+)</code>", block.group(1))


def csrf_in(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def password_step(client: Any, username: str, password: str = PASSWORD, **extra: str) -> Any:
    """GET the sign-in page (as a browser does, to get its session), then POST the password."""
    client.get("/login")
    return client.submit("/login", {"username": username, "password": password, **extra})


def sign_in(client: Any, username: str, secret: str, clock: Clock) -> Any:
    """A full sign-in with password and a TOTP code of the next time step (never one used before),
    then on to the page it leads to, as a browser goes: through `/authorize` and the portal's
    `/auth/callback` (`follow`). Returns the second factor's response (the redirect)."""
    clock.advance(totp.STEP_SECONDS)
    response = password_step(client, username)
    assert response.headers["location"] == "/login/second-factor", response.text
    response = client.submit("/login/second-factor", {"code": totp.code_at(secret, clock())})
    if response.status_code == 303:
        follow(client, response)
    return response


def follow(client: Any, response: Any, *, limit: int = 10) -> Any:
    """Follow redirects as a browser viewing pages does (HTML), through the portal's sign-in
    (`/authorize`, then `/auth/callback` on the issuer's origin), and return the last response."""
    base = client.app.state.settings.base_url
    while response.status_code in (301, 302, 303, 307) and limit:
        location = response.headers["location"]
        if location.startswith(base + "/"):
            location = location[len(base):]  # the issuer's origin is this app, whatever the client's host
        response = client.get(location, headers={"accept": "text/html"})
        limit -= 1
    return response


def audit_actions(app: Any) -> list[str]:
    from sqlmodel import select

    from bouquet.foundation.audit import AuditEvent

    with app.state.db.session() as session:
        return [event.action for event in session.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()]


def age_sign_in(app: Any, client: Any, minutes: float) -> None:
    """Move the sign-in of `client`'s browser `minutes` into the past: the provider session's
    `authenticated_at` and the portal session's `auth_time` (what its ID token said) alike."""
    from sqlmodel import select

    from bouquet.sso import portal
    from bouquet.web.sessions import WebSession, hash_token

    with app.state.db.session() as session:
        row = session.exec(select(WebSession).where(WebSession.token_hash == hash_token(client.session_token))).one()
        row.authenticated_at = (row.authenticated_at or row.created_at) - timedelta(minutes=minutes)
        if portal.SESSION_KEY in row.data:
            row.data = {**row.data, portal.SESSION_KEY: {**row.data[portal.SESSION_KEY],
                                                         "auth_time": int(row.authenticated_at.timestamp())}}
        session.add(row)


def next_in(html: str) -> str:
    """The `next` a form (or a key's button) carries: on the confirmation page, the authorization
    request to resume."""
    match = re.search(r'name="next" value="([^"]*)"', html) or re.search(r'data-next="([^"]*)"', html)
    assert match, "no next field on the page"
    return unescape(match.group(1))


def confirm_identity(client: Any, response: Any, password: str, code: str) -> Any:
    """Through the step-up `response` starts (a redirect to `/authorize` with `max_age` or
    `acr_values`): the provider's confirmation page, `password` and `code`, then back through the
    portal's callback to the page. Returns the last response (the page, or a refusal)."""
    page = follow(client, response)
    assert page.url.path == "/account/confirm", (page.status_code, page.url)
    confirmed = client.submit("/account/confirm", {"password": password, "code": code, "next": next_in(page.text)})
    assert confirmed.status_code == 303, confirmed.text
    return follow(client, confirmed)
