"""The portal's pages as a relying party of its own provider (`bouquet.sso.portal`): anonymous page →
`/authorize` → sign-in → `/auth/callback` → page; state, code and redirect URI checks; `max_age` and
`acr_values` step-ups; sign-out ending the portal session."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import select
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bouquet import hookimpl
from bouquet.foundation.db import utcnow
from bouquet.sso import portal, portal_pending, totp
from bouquet.sso.oidc import acr
from bouquet.sso.oidc.models import Token
from bouquet.sso.oidc.server import provider_of
from bouquet.testing.signin import (
    PASSWORD,
    audit_actions,
    install_clock,
    make_user,
    password_step,
)
from bouquet.web import anonymous
from bouquet.web.sessions import WebSession, hash_token

HTML = {"accept": "text/html"}
CALLBACK = "http://testserver/auth/callback"


def _query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def _local(url: str) -> str:
    """The callback is an absolute URL on the issuer (http://testserver); the test client's host differs."""
    return url.removeprefix("http://testserver")


def _row(app, client) -> WebSession:
    with app.state.db.session() as session:
        return session.exec(select(WebSession).where(WebSession.token_hash == hash_token(client.session_token))).one()


def _pending(app, state: str) -> portal_pending.PortalPendingSignin | None:
    table = portal_pending.PortalPendingSignin
    with app.state.db.session() as session:
        return session.exec(select(table).where(table.state_hash == portal_pending.hash_state(state))).first()


def _verifier(app, state: str) -> str:
    row = _pending(app, state)
    assert row is not None
    verifier = portal_pending._unseal(app.state.settings.secret_key, row.state_hash, row.verifier)
    assert verifier is not None and verifier != row.verifier  # sealed at rest
    return verifier


def _provider_session(app, client, account, amr=("pwd", "otp", "mfa")):
    """This browser signed in at the provider only (as right after the sign-in pages), no portal session yet."""
    browser = app.state.sessions.create(account_id=account.id, amr=list(amr))
    client._set_session(browser.new_token)
    return browser


def _portal_tokens(app) -> list[Token]:
    with app.state.db.session() as session:
        return list(session.exec(select(Token).where(Token.client_id == portal.CLIENT_ID)).all())


def test_an_anonymous_page_view_signs_in_through_the_provider_and_comes_back(app, client, make_account):
    clock = install_clock(app)
    secret = totp.new_secret()
    account, _ = make_user(app, make_account, totp_secret=secret, given_name="Alice", family_name="MARTIN")
    assert client.get("/account", headers={"accept": "application/json"}).status_code == 401  # APIs: no redirect

    to_provider = client.get("/account", headers=HTML)
    assert to_provider.status_code == 303
    location = to_provider.headers["location"]
    assert location.startswith("/authorize?")
    asked = _query(location)
    assert asked["client_id"] == "bouquet-portal" and asked["redirect_uri"] == CALLBACK
    assert asked["response_type"] == "code" and asked["scope"].split()[0] == "openid"
    assert asked["code_challenge_method"] == "S256" and asked["state"] and asked["nonce"]
    pending = _pending(app, asked["state"])
    assert pending.next == "/account" and _verifier(app, asked["state"]) not in location  # the verifier stays here
    # No session row for an anonymous page view: the browser holds a signed anonymous cookie, which
    # carries the binding of its pending authorization (the row, not the cookie, holds the rest).
    visitor = anonymous.read(app.state.anonymous_key, client.session_token)
    assert visitor is not None and pending.binding == visitor.binding and asked["state"] not in client.session_token
    with app.state.db.session() as session:
        assert session.exec(select(WebSession)).all() == []

    to_login = client.get(location, headers=HTML)
    assert to_login.status_code == 303 and to_login.headers["location"].startswith("/login?next=%2Fauthorize%3F")
    next_url = _query(to_login.headers["location"])["next"]
    clock.advance(30)
    assert password_step(client, account.username, next=next_url).headers["location"] == "/login/second-factor"
    signed_in = client.submit("/login/second-factor", {"code": totp.code_at(secret, clock())})
    assert signed_in.status_code == 303 and signed_in.headers["location"].startswith("/authorize?")

    code_response = client.get(signed_in.headers["location"], headers=HTML)
    assert code_response.status_code == 302, "to the portal's own callback: no page in between"
    callback_url = code_response.headers["location"]
    answer = _query(callback_url)
    assert callback_url.startswith(CALLBACK + "?") and answer["state"] == asked["state"]
    assert answer["iss"] == "http://testserver" and answer["code"]

    back = client.get(_local(callback_url), headers=HTML)
    assert back.status_code == 303 and back.headers["location"] == "/account"
    page = client.get("/account", headers=HTML)
    assert page.status_code == 200 and "MARTIN" in page.text

    row = _row(app, client)
    kept = row.data[portal.SESSION_KEY]
    assert kept["sid"] == row.sid and kept["account_id"] == account.id and kept["sub"] == account.idnat_ps
    assert kept["amr"] == ["pwd", "otp", "mfa"] and kept["acr"] == acr.TWO_FACTORS
    assert abs(kept["auth_time"] - row.authenticated_at.timestamp()) < 1
    assert _pending(app, asked["state"]) is None  # consumed
    issued = _portal_tokens(app)
    assert [(token.sid, token.account_id) for token in issued] == [(row.sid, account.id)]

    # The same authorization response again: its state was used, nothing changes.
    replay = client.get(_local(callback_url), headers=HTML)
    assert replay.status_code == 400 and "a expiré" in replay.text
    assert client.get("/account", headers=HTML).status_code == 200
    assert "signin.success" in audit_actions(app) and "signin.portal_refused" in audit_actions(app)

    # Sign-out ends the provider session, and the portal session with it (same sid, same row).
    cookie = client.session_token
    assert client.submit("/logout").status_code == 303
    client._set_session(cookie)
    again = client.get("/account", headers=HTML)
    assert again.status_code == 303 and again.headers["location"].startswith("/authorize?")
    assert all(token.revoked_at is not None for token in _portal_tokens(app))


def test_tampered_state_replayed_code_and_foreign_redirect_are_refused(app, client, make_account):
    doctor = make_account()
    _provider_session(app, client, doctor)
    first = client.get("/account", headers=HTML).headers["location"]
    second = client.get("/account/sessions", headers=HTML).headers["location"]
    # Signed in at the provider already: each authorization gives a code at once.
    first_back, second_back = (client.get(url, headers=HTML).headers["location"] for url in (first, second))
    one, two = _query(first_back), _query(second_back)

    tampered = client.get(f"/auth/callback?code={one['code']}&state={one['state']}x&iss=http%3A%2F%2Ftestserver",
                          headers=HTML)
    assert tampered.status_code == 400 and portal.SESSION_KEY not in _row(app, client).data
    # A code with another authorization's state: that state's PKCE verifier does not fit the code.
    crossed = client.get(f"/auth/callback?code={one['code']}&state={two['state']}&iss=http%3A%2F%2Ftestserver",
                         headers=HTML)
    assert crossed.status_code == 400 and portal.SESSION_KEY not in _row(app, client).data
    # A forged issuer in the response.
    verifier = _verifier(app, one["state"])
    wrong_iss = client.get(f"/auth/callback?code={one['code']}&state={one['state']}&iss=https%3A%2F%2Fevil.example",
                           headers=HTML)
    assert wrong_iss.status_code == 400 and portal.SESSION_KEY not in _row(app, client).data

    # The code itself, redeemed once by the callback, is refused the second time and its tokens revoked.
    third = client.get("/account", headers=HTML).headers["location"]
    answer = _query(client.get(third, headers=HTML).headers["location"])
    third_verifier = _verifier(app, answer["state"])
    ok = client.get(f"/auth/callback?code={answer['code']}&state={answer['state']}&iss=http%3A%2F%2Ftestserver",
                    headers=HTML)
    assert ok.status_code == 303 and ok.headers["location"] == "/account"
    provider = provider_of(app)
    with pytest.raises(portal.CallbackRefused, match="invalid_grant"):
        portal.redeem(provider, answer["code"], CALLBACK, third_verifier)
    assert [token.revoked_at is not None for token in _portal_tokens(app)] == [True]
    assert verifier not in first + first_back  # the PKCE verifier never left the session

    # The provider accepts for the portal exactly its own callback, and sends nowhere else.
    for foreign in ("https://evil.example/auth/callback", "http://testserver.evil/auth/callback",
                    "/auth/callback", "http://testserver/auth/callback/../x"):
        asked = dict(_query(third), redirect_uri=foreign)
        refused = client.get("/authorize", params=asked, headers=HTML)
        assert refused.status_code == 400 and "location" not in refused.headers, foreign


def _age_sign_in(app, client, minutes: int) -> None:
    """Move this browser's sign-in `minutes` into the past (provider session and portal session alike)."""
    with app.state.db.session() as session:
        row = session.exec(select(WebSession).where(WebSession.token_hash == hash_token(client.session_token))).one()
        row.authenticated_at = row.authenticated_at - timedelta(minutes=minutes)
        row.data = {**row.data, portal.SESSION_KEY: {**row.data[portal.SESSION_KEY],
                                                     "auth_time": int(row.authenticated_at.timestamp())}}
        session.add(row)


def test_a_factor_change_asks_the_provider_for_a_recent_authentication(app, client, make_account):
    clock = install_clock(app)
    secret = totp.new_secret()
    account, _ = make_user(app, make_account, totp_secret=secret)
    client.login(account)
    _age_sign_in(app, client, 10)
    sid = _row(app, client).sid

    step_up = client.get("/account/totp/new", headers=HTML)
    assert step_up.status_code == 303 and _query(step_up.headers["location"])["max_age"] == "300"
    to_confirm = client.get(step_up.headers["location"], headers=HTML)
    assert to_confirm.status_code == 303 and to_confirm.headers["location"].startswith("/account/confirm?next=")
    next_url = _query(to_confirm.headers["location"])["next"]
    assert client.get(to_confirm.headers["location"], headers=HTML).status_code == 200
    clock.advance(30)
    confirmed = client.submit("/account/confirm", {"password": PASSWORD, "code": totp.code_at(secret, clock()),
                                                   "next": next_url})
    assert confirmed.status_code == 303 and confirmed.headers["location"].startswith("/authorize?")
    code_response = client.get(confirmed.headers["location"], headers=HTML)
    assert code_response.status_code == 302 and code_response.headers["location"].startswith(CALLBACK)
    back = client.get(_local(code_response.headers["location"]), headers=HTML)
    assert back.status_code == 303 and back.headers["location"] == "/account/totp/new"
    assert client.get("/account/totp/new", headers=HTML).status_code == 200

    row = _row(app, client)
    assert row.sid == sid, "a step-up keeps the sign-in"
    assert utcnow().timestamp() - row.data[portal.SESSION_KEY]["auth_time"] < 60


class _KeyOnly:
    """A plugin page that needs a security key (the phishing-resistant level)."""

    @hookimpl
    def bouquet_routes(self):
        from bouquet.web.context import get_context

        async def vault(request):
            redirect = portal.acr_step_up(get_context(request), acr.PHISHING_RESISTANT, "/p/keyonly/vault")
            return redirect or PlainTextResponse("coffre ouvert")

        return [Route("/vault", vault)]


def test_a_page_needing_a_security_key_asks_for_the_phishing_resistant_level(make_app, make_account):
    from bouquet.testing.fixtures import BouquetClient

    app = make_app(extra_plugins=[("keyonly", _KeyOnly())])
    clock = install_clock(app)
    secret = totp.new_secret()
    account, _ = make_user(app, make_account, totp_secret=secret)
    with BouquetClient(app, base_url="http://testserver.local", follow_redirects=False) as client:
        # Signed in with a security key: the ID token's acr already says so.
        client.login(account, amr=("hwk", "user", "mfa"))
        assert client.get("/p/keyonly/vault", headers=HTML).text == "coffre ouvert"

        # Password and app: the provider is asked for the level, and confirms the person again.
        client.login(account)
        step_up = client.get("/p/keyonly/vault", headers=HTML)
        assert _query(step_up.headers["location"])["acr_values"] == acr.PHISHING_RESISTANT
        to_confirm = client.get(step_up.headers["location"], headers=HTML)
        assert to_confirm.headers["location"].startswith("/account/confirm?next=")
        clock.advance(30)
        confirmed = client.submit("/account/confirm", {
            "password": PASSWORD, "code": totp.code_at(secret, clock()),
            "next": _query(to_confirm.headers["location"])["next"]})
        # Confirmed with the app again: still no key, the provider answers so and the portal says it.
        refusal = client.get(confirmed.headers["location"], headers=HTML)
        assert _query(refusal.headers["location"])["error"] == "unmet_authentication_requirements"
        page = client.get(_local(refusal.headers["location"]), headers=HTML)
        assert page.status_code == 403 and "clé de sécurité" in page.text

        # Confirmed with a key (what the WebAuthn confirmation leaves in the session): the level is met.
        with app.state.db.session() as session:
            row = session.exec(select(WebSession).where(WebSession.token_hash == hash_token(client.session_token))).one()
            row.amr = ["pwd", "otp", "hwk", "user", "mfa"]
            session.add(row)
        step_up = client.get("/p/keyonly/vault", headers=HTML)
        code_response = client.get(step_up.headers["location"], headers=HTML)
        assert code_response.status_code == 302 and "code=" in code_response.headers["location"]
        assert client.get(_local(code_response.headers["location"]), headers=HTML).headers["location"] == "/p/keyonly/vault"
        assert client.get("/p/keyonly/vault", headers=HTML).text == "coffre ouvert"
        assert _row(app, client).data[portal.SESSION_KEY]["acr"] == acr.PHISHING_RESISTANT


def test_the_portals_client_cannot_be_disabled(client, make_account):
    client.login(make_account(kind="admin"))
    listed = client.get("/admin/clients")
    assert listed.status_code == 200 and "Bouquet (le portail)" in listed.text
    refused = client.submit("/admin/clients/bouquet-portal/disable")
    assert refused.status_code == 400 and "ne peut pas être désactivée" in refused.text
    assert client.get("/account", headers=HTML).status_code == 200


def test_a_secretary_comes_back_acting_for_their_principal(app, client, make_account):
    from bouquet.sso.delegation import ensure

    doctor, secretary = make_account(), make_account(kind="secretary")
    with app.state.db.write() as session:
        ensure(session, doctor, secretary)
    browser = app.state.sessions.create(account_id=secretary.id, amr=["pwd", "otp", "mfa"], acting_for_id=doctor.id)
    client._set_session(browser.new_token)
    to_provider = client.get("/account", headers=HTML)
    code_response = client.get(to_provider.headers["location"], headers=HTML)
    assert client.get(_local(code_response.headers["location"]), headers=HTML).headers["location"] == "/account"
    kept = _row(app, client).data[portal.SESSION_KEY]
    assert kept["sub"] == f"bouquet:account:{secretary.id}" and kept["acting_for_id"] == doctor.id
    assert client.get("/account", headers=HTML).status_code == 200


# --- pending authorizations: one row each, bound to the browser, used once ---------------------

def _sign_in_from(client, authorize_url: str, account, secret: str, clock) -> str:
    """Follow one tab's authorization request through the sign-in pages; the callback URL it ends on."""
    to_login = client.get(authorize_url, headers=HTML)
    assert to_login.status_code == 303 and to_login.headers["location"].startswith("/login?next=")
    clock.advance(30)
    assert password_step(client, account.username, next=_query(to_login.headers["location"])["next"]
                         ).headers["location"] == "/login/second-factor"
    signed_in = client.submit("/login/second-factor", {"code": totp.code_at(secret, clock())})
    assert signed_in.status_code == 303 and signed_in.headers["location"].startswith(authorize_url)
    return _callback_of(client, signed_in.headers["location"])


def _callback_of(client, authorize_url: str) -> str:
    """A browser signed in at the provider: its authorization request gives a code at once."""
    code_response = client.get(authorize_url, headers=HTML)
    assert code_response.status_code == 302 and code_response.headers["location"].startswith(CALLBACK + "?")
    return _local(code_response.headers["location"])


def test_tabs_reloaded_together_each_finish_their_sign_in(app, client, make_account, monkeypatch):
    import threading

    clock = install_clock(app)
    secret = totp.new_secret()
    account, _ = make_user(app, make_account, totp_secret=secret)

    # Two tabs of one anonymous browser reload at the same instant: both requests have read the
    # session before either writes it (the barrier holds each save until both got there).
    client.anonymous_session()
    barrier = threading.Barrier(2, timeout=20)
    save = app.state.sessions.save
    monkeypatch.setattr(app.state.sessions, "save",
                        lambda browser: (barrier.wait() if browser.dirty else None, save(browser))[1])
    tabs = ["/account", "/account/sessions"]
    answers: dict[str, str] = {}
    threads = [threading.Thread(target=lambda path=path: answers.__setitem__(
        path, client.get(path, headers=HTML).headers["location"])) for path in tabs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    monkeypatch.setattr(app.state.sessions, "save", save)
    assert all(answers[path].startswith("/authorize?") for path in tabs)
    binding = _row(app, client).data[portal.PENDING_KEY]
    assert sorted(row.next for row in portal_pending.pending_for(app.state.db, binding)) == sorted(tabs)

    # The person signs in in the first tab; the second tab's request then gets its code at once.
    first_back = _sign_in_from(client, answers[tabs[0]], account, secret, clock)
    second_back = _callback_of(client, answers[tabs[1]])
    assert client.get(second_back, headers=HTML).headers["location"] == tabs[1]
    assert client.get(first_back, headers=HTML).headers["location"] == tabs[0]
    assert client.get("/account", headers=HTML).status_code == 200
    assert portal_pending.pending_for(app.state.db, binding) == []
    signed_in_token = client.session_token

    # The session expires; two tabs reloaded with the dead cookie each get a new anonymous session,
    # and the browser keeps only the cookie it received last. Both sign-ins still finish.
    with app.state.db.session() as session:
        row = session.exec(select(WebSession).where(WebSession.token_hash == hash_token(signed_in_token))).one()
        row.last_seen_at = row.last_seen_at - timedelta(hours=2)
        session.add(row)
    requests = []
    for path in tabs:
        client._set_session(signed_in_token)
        to_provider = client.get(path, headers=HTML)
        assert to_provider.status_code == 303 and client.session_token != signed_in_token
        requests.append(to_provider.headers["location"])
    first_back = _sign_in_from(client, requests[0], account, secret, clock)
    second_back = _callback_of(client, requests[1])
    assert client.get(first_back, headers=HTML).headers["location"] == tabs[0]
    assert client.get(second_back, headers=HTML).headers["location"] == tabs[1]
    assert client.get("/account/sessions", headers=HTML).status_code == 200


def test_a_pending_sign_in_serves_once_in_its_own_browser_within_ten_minutes(app, client, make_account):
    doctor = make_account()
    _provider_session(app, client, doctor)
    first = _callback_of(client, client.get("/account", headers=HTML).headers["location"])
    state = _query(first)["state"]

    # Another browser (signed in at the provider too, with a pending sign-in of its own) can neither
    # use this browser's state nor spend it.
    mine = client.session_token
    _provider_session(app, client, make_account())
    assert client.get("/account", headers=HTML).status_code == 303
    foreign = client.get(first, headers=HTML)
    assert foreign.status_code == 400 and "a expiré" in foreign.text
    assert portal.SESSION_KEY not in _row(app, client).data
    assert _pending(app, state) is not None
    client._set_session(mine)

    back = client.get(first, headers=HTML)
    assert back.status_code == 303 and back.headers["location"] == "/account"
    replayed = client.get(first, headers=HTML)
    assert replayed.status_code == 400 and "a expiré" in replayed.text

    # Expired: refused, and the row goes all the same.
    _provider_session(app, client, doctor)
    late = _callback_of(client, client.get("/account/sessions", headers=HTML).headers["location"])
    late_state = _query(late)["state"]
    with app.state.db.session() as session:
        row = _pending(app, late_state)
        row.expires_at = utcnow() - timedelta(seconds=1)
        session.add(row)
    expired = client.get(late, headers=HTML)
    assert expired.status_code == 400 and "a expiré" in expired.text
    assert _pending(app, late_state) is None

    from bouquet.foundation.audit import AuditEvent

    with app.state.db.session() as session:
        reasons = [event.details["reason"] for event in session.exec(
            select(AuditEvent).where(AuditEvent.action == "signin.portal_refused").order_by(AuditEvent.seq)).all()]
    assert reasons == ["unknown state", "unknown state", "expired state"]


def test_pending_rows_are_taken_once_capped_per_browser_and_purged(app):
    db, key = app.state.db, app.state.settings.secret_key
    now = utcnow()
    common = {"nonce": "n", "next_url": "/account", "max_age": None, "acr_values": portal.ACR_VALUES}
    portal_pending.store(db, key, binding="b" * 64, state="old", verifier="v-old", now=now - timedelta(minutes=11),
                         **common)
    for number in range(portal_pending.MAX_PER_BROWSER + 3):
        portal_pending.store(db, key, binding="a" * 64, state=f"s{number}", verifier=f"v{number}",
                             now=now + timedelta(milliseconds=number), **common)
    kept = [row.state_hash for row in portal_pending.pending_for(db, "a" * 64)]
    assert kept == [portal_pending.hash_state(f"s{number}") for number in range(3, portal_pending.MAX_PER_BROWSER + 3)]
    assert portal_pending.pending_for(db, "b" * 64) == []  # expired rows go as new ones come

    newest = f"s{portal_pending.MAX_PER_BROWSER + 2}"
    assert portal_pending.consume(db, key, binding="b" * 64, state=newest)[0] is None  # another browser's
    taken, _ = portal_pending.consume(db, key, binding="a" * 64, state=newest)
    assert taken is not None and taken.verifier == f"v{portal_pending.MAX_PER_BROWSER + 2}" and taken.next == "/account"
    assert portal_pending.consume(db, key, binding="a" * 64, state=newest) == (None, "unknown state")
    # Sealed under the secret key: another key cannot read the verifier.
    assert portal_pending.consume(db, "another secret", binding="a" * 64, state="s3") == (None, "unreadable verifier")
