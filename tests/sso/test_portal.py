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
from bouquet.db import utcnow
from bouquet.sessions import WebSession, hash_token
from bouquet.sso import portal, totp
from bouquet.sso.oidc import acr
from bouquet.sso.oidc.models import Token
from bouquet.sso.oidc.server import provider_of
from bouquet.testing.signin import PASSWORD, audit_actions, install_clock, make_user, password_step

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
    pending = _row(app, client).data[portal.PENDING_KEY][asked["state"]]
    assert pending["next"] == "/account" and pending["verifier"] not in location  # the verifier stays here

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
    assert asked["state"] not in row.data[portal.PENDING_KEY]
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
    verifier = _row(app, client).data[portal.PENDING_KEY][one["state"]]["verifier"]
    wrong_iss = client.get(f"/auth/callback?code={one['code']}&state={one['state']}&iss=https%3A%2F%2Fevil.example",
                           headers=HTML)
    assert wrong_iss.status_code == 400 and portal.SESSION_KEY not in _row(app, client).data

    # The code itself, redeemed once by the callback, is refused the second time and its tokens revoked.
    third = client.get("/account", headers=HTML).headers["location"]
    answer = _query(client.get(third, headers=HTML).headers["location"])
    state_row = _row(app, client).data[portal.PENDING_KEY][answer["state"]]
    ok = client.get(f"/auth/callback?code={answer['code']}&state={answer['state']}&iss=http%3A%2F%2Ftestserver",
                    headers=HTML)
    assert ok.status_code == 303 and ok.headers["location"] == "/account"
    provider = provider_of(app)
    with pytest.raises(portal.CallbackRefused, match="invalid_grant"):
        portal.redeem(provider, answer["code"], CALLBACK, state_row["verifier"])
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
        from bouquet.context import get_context

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
