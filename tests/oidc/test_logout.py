"""Logout: signing out of the portal signs out of every relying party (back-channel, from a DB outbox
any worker delivers, with retries), and RP-initiated logout asks the person first."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import select

from bouquet.foundation.db import Database, utcnow
from bouquet.sso.oidc import logout, tokens
from bouquet.sso.oidc.models import BackchannelLogout
from bouquet.sso.oidc.server import provider_of
from bouquet.testing.oidc import LogoutReceiver, Portal, logout_claims, query_of


@pytest.fixture
def receiver():
    started = LogoutReceiver().start()
    yield started
    started.stop()


def _userinfo(portal: Portal, access_token: str) -> int:
    return httpx.get(portal.endpoint("userinfo_endpoint"), headers={"Authorization": f"Bearer {access_token}"}).status_code


def test_signing_out_of_the_portal_reaches_every_relying_party(portal, browsers, make_rp, make_account, receiver):
    first = make_rp(name="Agenda", backchannel_logout_uri=receiver.uri)
    second = make_rp(name="Messagerie", backchannel_logout_uri=receiver.uri)
    silent = make_rp(name="Sans déconnexion")
    doctor = make_account()
    browser = browsers().sign_in(doctor)
    issued = [rp.sign_in(browser) for rp in (first, second, silent)]

    signed_out = browser.post("/logout", {})
    assert signed_out.status_code == 303

    received = receiver.wait_for(2)
    audiences = set()
    for logout_token in received:
        claims = logout_claims(portal, logout_token, audience=logout_token_audience(logout_token))
        assert claims["sid"] == browser.session_row.sid and claims["sub"] == doctor.idnat_ps
        audiences.add(claims["aud"])
    assert audiences == {first.client_id, second.client_id}
    assert [_userinfo(portal, token["access_token"]) for token in issued] == [401, 401, 401]
    with portal.db.session() as session:
        rows = session.exec(select(BackchannelLogout)).all()
    assert len(rows) == 2 and all(row.delivered_at is not None and row.attempts == 1 for row in rows)


def logout_token_audience(logout_token: str) -> str:
    import base64
    import json

    return json.loads(base64.urlsafe_b64decode(logout_token.split(".")[1] + "==="))["aud"]


def test_rp_initiated_logout_asks_then_returns_to_the_client(portal, browsers, make_rp, make_account, receiver):
    leaving = make_rp(post_logout_redirect_uris=["http://localhost:9/bye"])
    other = make_rp(backchannel_logout_uri=receiver.uri)
    browser = browsers().sign_in(make_account())
    token = leaving.sign_in(browser)
    other.sign_in(browser)
    query = urlencode({"id_token_hint": token["id_token"], "post_logout_redirect_uri": "http://localhost:9/bye",
                       "state": "s-42"})

    asked = browser.get(f"/end-session?{query}")
    assert asked.status_code == 200 and "Se déconnecter de Bouquet" in asked.text
    assert "form-action 'self' http://localhost:9" in asked.headers["content-security-policy"]
    still = browser.get(leaving.authorization_url(prompt="none"))
    assert "code" in query_of(still.headers["location"])  # a link alone signs nobody out

    forged = browser.http.post("/end-session/confirm", data={"query": query},
                               headers={"Cookie": f"bouquet_session={browser.token}"})
    assert forged.status_code == 403
    confirmed = browser.post("/end-session/confirm", {"query": query})
    assert confirmed.status_code == 303 and confirmed.headers["location"] == "http://localhost:9/bye?state=s-42"
    [logout_token] = receiver.wait_for(1)
    assert logout_claims(portal, logout_token, other.client_id)["sid"] == browser.session_row.sid
    gone = browser.get(leaving.authorization_url(prompt="none"))
    assert query_of(gone.headers["location"])["error"] == "login_required"


def test_rp_initiated_logout_never_redirects_where_the_client_did_not_register(portal, browsers, make_rp, make_account):
    rp = make_rp(post_logout_redirect_uris=["http://localhost:9/bye"])
    browser = browsers().sign_in(make_account())
    token = rp.sign_in(browser)
    bad_hint = browser.get(f"/end-session?{urlencode({'id_token_hint': token['id_token'][:-3] + 'xyz'})}")
    assert bad_hint.status_code == 400
    query = urlencode({"id_token_hint": token["id_token"], "post_logout_redirect_uri": "http://localhost:9/elsewhere"})
    confirmed = browser.post("/end-session/confirm", {"query": query})
    assert confirmed.status_code == 200 and "Vous êtes déconnecté" in confirmed.text


def _queue(db: Database, client_id: str, account_id: int, sid: str) -> None:
    with db.write() as session:
        tokens.save_token(session, {"access_token": tokens.new_secret(), "expires_in": 300}, client_id=client_id,
                          grant_id=tokens.new_secret(), refresh_expires_at=None, account_id=account_id, sid=sid)
    assert logout.enqueue(db, account_id, sid, "logout") == 1


def _make_due(db: Database) -> None:
    with db.write() as session:
        session.execute(update(BackchannelLogout).values(next_attempt_at=utcnow() - timedelta(seconds=1)))


def test_failed_deliveries_are_retried_then_given_up(app, make_account):
    flaky, dead = LogoutReceiver(fail_first=2).start(), LogoutReceiver().start()
    dead.stop()  # nobody listens there any more
    try:
        portal = Portal(app.state.settings.base_url, app)
        doctor = make_account()
        flaky_id, _ = portal.register(backchannel_logout_uri=flaky.uri)
        dead_id, _ = portal.register(backchannel_logout_uri=dead.uri)
        _queue(app.state.db, flaky_id, doctor.id, "sid-flaky")
        _queue(app.state.db, dead_id, doctor.id, "sid-dead")
        loop = logout.DeliveryLoop(app)

        for _ in range(len(logout.BACKOFF) + 1):
            asyncio.run(loop.run_once())
            _make_due(app.state.db)
        with app.state.db.session() as session:
            rows = {row.client_id: row for row in session.exec(select(BackchannelLogout)).all()}
        assert rows[flaky_id].delivered_at is not None and rows[flaky_id].attempts == 3
        assert rows[dead_id].abandoned_at is not None and rows[dead_id].attempts == len(logout.BACKOFF) + 1
        assert rows[dead_id].last_error and "Connect" in rows[dead_id].last_error
        assert len(flaky.tokens) == 1
    finally:
        flaky.stop()


def test_two_workers_never_claim_the_same_delivery(app, make_app, make_account):
    doctor = make_account()
    portal = Portal(app.state.settings.base_url, app)
    client_id, _ = portal.register(backchannel_logout_uri="http://localhost:9/backchannel")
    with app.state.db.write() as session:
        for n in range(40):
            session.add(BackchannelLogout(client_id=client_id, uri="http://localhost:9/backchannel", sub="s", sid=f"{n}"))
    workers = [make_app().state.db, make_app().state.db]
    claimed: list[list[int]] = [[], []]

    def work(index: int) -> None:
        while rows := logout.claim_due(workers[index], f"worker-{index}", limit=3):
            claimed[index].extend(row.id for row in rows)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    everything = claimed[0] + claimed[1]
    assert len(everything) == len(set(everything)) == 40


def test_the_hook_revokes_the_sign_in_tokens_even_without_back_channel(app, make_account):
    portal = Portal(app.state.settings.base_url, app)
    doctor = make_account()
    client_id, _ = portal.register()
    browser = app.state.sessions.create(account_id=doctor.id, amr=["pwd", "otp", "mfa"])
    with app.state.db.write() as session:
        row = tokens.save_token(session, {"access_token": "a" * 43, "expires_in": 300}, client_id=client_id,
                                grant_id="g", refresh_expires_at=None, account_id=doctor.id, sid=browser.row.sid)
    app.state.sessions.end(browser.row.id, "logout")
    with app.state.db.session() as session:
        assert session.get(type(row), row.id).revoked_reason == "signed_out"
        assert session.exec(select(BackchannelLogout)).all() == []
    assert provider_of(app).issuer == app.state.settings.base_url
