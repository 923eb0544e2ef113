"""Sessions that time out are announced to relying parties by the delivery loop's sweep, without
waiting for their cookie to come back; of several workers sweeping, one announces each session."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import select

from bouquet.foundation.db import utcnow
from bouquet.sso.oidc import logout
from bouquet.sso.oidc.models import BackchannelLogout
from bouquet.testing.oidc import LogoutReceiver, Portal, logout_claims
from bouquet.web.sessions import WebSession


@pytest.fixture
def receiver():
    started = LogoutReceiver().start()
    yield started
    started.stop()


def _age(portal: Portal, session_id: int, **ago: timedelta) -> None:
    with portal.db.session() as session:
        session.execute(update(WebSession).where(WebSession.id == session_id)
                        .values(**{column: utcnow() - delta for column, delta in ago.items()}))


def test_an_idle_session_is_announced_by_the_delivery_loop(portal, browsers, make_rp, make_account, receiver):
    rp = make_rp(backchannel_logout_uri=receiver.uri)
    browser = browsers().sign_in(make_account())
    token = rp.sign_in(browser)
    fresh = browsers().sign_in(make_account())
    rp.sign_in(fresh)
    _age(portal, browser.session_row.id, last_seen_at=timedelta(minutes=31))

    # The worker's loop sweeps on its own (made due now rather than in 30 s); the cookie never returns.
    portal.app.state.oidc_delivery._swept_at = time.monotonic() - logout.SWEEP_EVERY_SECONDS
    portal.app.state.oidc_delivery.wake()
    claims = logout_claims(portal, receiver.wait_for(1)[0], audience=rp.client_id)
    assert claims["sid"] == browser.session_row.sid
    with portal.db.session() as session:
        idle = session.get(WebSession, browser.session_row.id)
        live = session.get(WebSession, fresh.session_row.id)
    assert idle.ended_reason == "idle_timeout" and live.ended_at is None
    assert httpx.get(f"{portal.url}/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"}).status_code == 401


def test_two_workers_sweeping_announce_each_session_once(make_live_server, make_account, receiver):
    workers = [make_live_server(), make_live_server()]
    portal = Portal(workers[0].url, workers[0].app)
    from bouquet.testing.oidc import Browser, make_relying_party

    rp = make_relying_party(portal, backchannel_logout_uri=receiver.uri)
    browsers = [Browser(portal).sign_in(make_account()) for _ in range(3)]
    for browser in browsers:
        rp.sign_in(browser)
    _age(portal, browsers[0].session_row.id, last_seen_at=timedelta(minutes=31))
    _age(portal, browsers[1].session_row.id, created_at=timedelta(hours=13))

    # Both workers sweep at the same moment: both may find the two sessions, one ends each.
    barrier = threading.Barrier(2)

    def sweep(worker) -> int:
        barrier.wait()
        return logout.sweep_expired_sessions(worker.app.state)

    with ThreadPoolExecutor(2) as pool:
        found = list(pool.map(sweep, workers))
    assert all(count <= 2 for count in found)
    assert logout.sweep_expired_sessions(workers[1].app.state) == 0
    receiver.wait_for(2)
    with portal.db.session() as session:
        rows = session.exec(select(BackchannelLogout).order_by(BackchannelLogout.id)).all()
        reasons = [session.get(WebSession, browser.session_row.id).ended_reason for browser in browsers]
    # One delivery per ended session: a second announcement would be a second outbox row.
    assert sorted(row.sid for row in rows) == sorted(browser.session_row.sid for browser in browsers[:2])
    assert reasons == ["idle_timeout", "absolute_timeout", None]
    for browser in browsers:
        browser.close()
    rp.oauth.close()
