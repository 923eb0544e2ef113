"""Server-side sessions: hashed tokens, timeouts, rotation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sqlalchemy import update

from bouquet.foundation.db import utcnow
from bouquet.web.sessions import WebSession, hash_token


def _age(app, browser, **delta):
    with app.state.db.session() as session:
        session.execute(update(WebSession).where(WebSession.id == browser.row.id).values(
            created_at=browser.row.created_at - timedelta(**delta.get("created", {})),
            last_seen_at=browser.row.last_seen_at - timedelta(**delta.get("seen", {}))))


def test_only_the_hash_of_the_token_is_stored(app, make_account):
    browser = app.state.sessions.create(account_id=make_account().id, amr=["pwd", "otp"])
    assert len(browser.new_token) >= 43  # 256 bits, URL-safe base64
    with app.state.db.session() as session:
        row = session.get(WebSession, browser.row.id)
    assert row.token_hash == hash_token(browser.new_token) and browser.new_token not in row.token_hash


def test_idle_timeout(app, make_account):
    browser = app.state.sessions.create(account_id=make_account().id)
    _age(app, browser, seen={"minutes": 31}, created={"minutes": 31})
    assert app.state.sessions.load(browser.new_token) is None
    with app.state.db.session() as session:
        assert session.get(WebSession, browser.row.id).ended_reason == "idle_timeout"


def test_absolute_timeout_even_when_active(app, make_account):
    browser = app.state.sessions.create(account_id=make_account().id)
    _age(app, browser, created={"hours": 12, "minutes": 1})
    assert app.state.sessions.load(browser.new_token) is None


def test_timeouts_are_configurable(make_app, make_account):
    app = make_app(session_idle_minutes=5)
    browser = app.state.sessions.create(account_id=make_account().id)
    _age(app, browser, seen={"minutes": 6}, created={"minutes": 6})
    assert app.state.sessions.load(browser.new_token) is None


def test_live_session_loads(app, make_account):
    browser = app.state.sessions.create(account_id=make_account().id)
    assert app.state.sessions.load(browser.new_token).row.id == browser.row.id
    assert app.state.sessions.load("not-a-token") is None
    assert app.state.sessions.load("x" * 500) is None


def test_rotation_ends_the_old_session(app, make_account):
    doctor = make_account()
    anonymous = app.state.sessions.create()
    signed_in = app.state.sessions.rotate(anonymous, account_id=doctor.id, amr=["pwd", "otp"])
    assert signed_in.new_token != anonymous.new_token
    assert app.state.sessions.load(anonymous.new_token) is None
    assert app.state.sessions.load(signed_in.new_token).account_id == doctor.id
    assert signed_in.row.sid != anonymous.row.sid  # a new sign-in is a new sid


def test_end_all_spares_the_current_one(app, make_account):
    doctor = make_account()
    current, other = (app.state.sessions.create(account_id=doctor.id) for _ in range(2))
    assert app.state.sessions.end_all(doctor.id, "signed_out_elsewhere", except_id=current.row.id) == 1
    assert app.state.sessions.load(other.new_token) is None
    assert app.state.sessions.load(current.new_token) is not None


def test_session_data_round_trips_through_the_database(client, make_account):
    client.login(make_account())
    browser = client.app.state.sessions.load(client.session_token)
    browser.flash("Enregistré", "success")
    client.app.state.sessions.save(browser)
    assert "Enregistré" in client.get("/").text
    assert "Enregistré" not in client.get("/").text  # shown once


@pytest.mark.backends("sqlite")
def test_parallel_requests_of_one_page_never_hit_a_locked_database(app, make_account):
    # A page's panels arrive as parallel requests of one session while other requests write: the
    # session's "last seen" touch must wait its turn, not fail with "database is locked".
    import threading

    from bouquet.web.sessions import TOUCH_EVERY

    account = make_account()
    store = app.state.sessions
    browsers = [store.create(account_id=account.id, amr=["pwd", "otp"]) for _ in range(6)]
    errors: list[BaseException] = []
    stop = threading.Event()

    def age() -> None:
        with app.state.db.write() as session:
            session.execute(update(WebSession).values(last_seen_at=utcnow() - TOUCH_EVERY - timedelta(seconds=1)))

    def reader(token: str) -> None:
        try:
            for _ in range(25):
                assert store.load(token) is not None
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def writer() -> None:
        try:
            while not stop.is_set():
                age()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    age()
    writers = [threading.Thread(target=writer) for _ in range(2)]
    readers = [threading.Thread(target=reader, args=(browser.new_token,)) for browser in browsers]
    for thread in writers + readers:
        thread.start()
    for thread in readers:
        thread.join()
    stop.set()
    for thread in writers:
        thread.join()
    assert errors == []
