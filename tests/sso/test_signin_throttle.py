"""Throttled sign-in over HTTP: delays, locks, and the owner who still gets in."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlmodel import select

from bouquet.foundation.audit import AuditEvent
from bouquet.sso import throttle, totp
from bouquet.testing.fixtures import BouquetClient
from bouquet.testing.signin import (
    PASSWORD,
    csrf_in,
    install_clock,
    make_user,
    password_step,
    sign_in,
)


def _wrong_code(secret, clock):
    return next(code for code in ("000000", "111111", "222222", "333333")
                if not totp.matching_steps(secret, code, clock()))


def _ten_failures(client, clock, url, data):
    """Send wrong guesses, waiting out each delay on the clock, until ten have been verified.

    Returns the statuses seen: 200 for a verified wrong guess, 429 for one refused unverified."""
    statuses = []
    while statuses.count(200) < 10:
        response = client.submit(url, data)
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert "Réessayez dans" in response.text
            clock.advance(int(response.headers["retry-after"]))
    return statuses


def _browser(app, address="testclient"):
    return BouquetClient(app, base_url="http://testserver.local", follow_redirects=False, client=(address, 50000))


def test_ten_wrong_codes_are_slowed_then_locked(app, client, make_account):
    clock = install_clock(app)
    secret = totp.new_secret()
    account, codes = make_user(app, make_account, totp_secret=secret, with_codes=True)
    password_step(client, account.username)
    statuses = _ten_failures(client, clock, "/login/second-factor", {"code": _wrong_code(secret, clock)})
    assert statuses[:3] == [200, 200, 200] and statuses[3] == 429, "slowed after three failures"

    # Locked: even the right code is not verified (and so not spent).
    right = client.submit("/login/second-factor", {"code": totp.code_at(secret, clock())})
    assert right.status_code == 429 and "bloquée" in right.text
    assert int(right.headers["retry-after"]) > 14 * 60
    with app.state.db.session() as session:
        status = throttle.lock_status(session, account.id, clock())
        locked = session.exec(select(AuditEvent).where(AuditEvent.action == "signin.locked")).all()
    assert status.locked and "otp" in status.locked_until and status.failures["otp"] == 10
    assert locked and locked[0].actor == account.label

    # Recovery codes have their own counter: the owner gets in with one.
    response = client.submit("/login/recovery", {"code": codes[0]})
    assert response.status_code == 303 and response.headers["location"] == "/"
    with app.state.db.session() as session:
        assert not throttle.lock_status(session, account.id, clock()).locked


def test_after_the_lock_period_the_right_code_gets_in(app, client, make_account):
    clock = install_clock(app)
    secret = totp.new_secret()
    account, _ = make_user(app, make_account, totp_secret=secret)
    password_step(client, account.username)
    _ten_failures(client, clock, "/login/second-factor", {"code": _wrong_code(secret, clock)})
    clock.advance(15 * 60)
    response = client.submit("/login/second-factor", {"code": totp.code_at(secret, clock())})
    assert response.status_code == 303 and response.headers["location"] == "/"


def test_a_stranger_cannot_lock_out_the_owner(app, make_account):
    clock = install_clock(app)
    secret = totp.new_secret()
    account, _ = make_user(app, make_account, totp_secret=secret)
    owner, stranger, newcomer = _browser(app), _browser(app), _browser(app)

    assert sign_in(owner, account.username, secret, clock).headers["location"] == "/"
    owner.submit("/logout")
    assert any(name == "bouquet_device" for name in owner.cookies.keys()), "the device cookie outlives sign-out"

    stranger.get("/login")
    statuses = _ten_failures(stranger, clock, "/login", {"username": account.username, "password": "wrong guess 1234"})
    assert 429 in statuses
    with app.state.db.session() as session:
        status = throttle.lock_status(session, account.id, clock())
    assert status.locked and "password" in status.locked_until
    # Even the right password from a browser the account never used is refused, unverified.
    assert password_step(stranger, account.username).status_code == 429
    assert password_step(newcomer, account.username).status_code == 429

    # The owner's browser presents its device cookie: its own counter, not the account's lock.
    assert sign_in(owner, account.username, secret, clock).headers["location"] == "/"
    assert owner.get("/").status_code == 200

    # When the lock period is over, any browser gets in with the right password.
    clock.advance(15 * 60)
    assert sign_in(newcomer, account.username, secret, clock).headers["location"] == "/"
    for browser in (owner, stranger, newcomer):
        browser.close()


def test_device_cookie_is_throttled_per_device(app, make_account):
    clock = install_clock(app)
    secret = totp.new_secret()
    account, _ = make_user(app, make_account, totp_secret=secret)
    owner = _browser(app)
    sign_in(owner, account.username, secret, clock)
    owner.submit("/logout")
    owner.get("/login")
    statuses = _ten_failures(owner, clock, "/login", {"username": account.username, "password": "not it at all"})
    assert 429 in statuses
    assert password_step(owner, account.username).status_code == 429
    # The device lock is the device's: the account-wide counter was never touched.
    with app.state.db.session() as session:
        assert "password" not in throttle.lock_status(session, account.id, clock()).failures
    owner.close()


def test_a_device_cookie_for_another_account_does_not_help(app, make_account):
    clock = install_clock(app)
    secret = totp.new_secret()
    mine, _ = make_user(app, make_account, totp_secret=secret)
    target, _ = make_user(app, make_account, totp_secret=totp.new_secret())
    browser = _browser(app)
    sign_in(browser, mine.username, secret, clock)
    browser.submit("/logout")
    browser.get("/login")
    _ten_failures(browser, clock, "/login", {"username": target.username, "password": "not it at all"})
    with app.state.db.session() as session:
        assert throttle.lock_status(session, target.id, clock()).locked
    browser.close()


def test_unknown_usernames_are_throttled_like_real_ones(app, make_account):
    clock = install_clock(app)
    account, _ = make_user(app, make_account)
    pages = []
    for username, address in ((account.username, "192.0.2.1"), ("personne", "192.0.2.2")):
        browser = _browser(app, address)
        browser.get("/login")
        for _ in range(3):
            browser.submit("/login", {"username": username, "password": "wrong password!"})
        response = browser.submit("/login", {"username": username, "password": PASSWORD})
        assert response.status_code == 429
        pages.append(response.text.replace(csrf_in(response.text), "").replace(f'value="{username}"', ""))
        browser.close()
    assert pages[0] == pages[1]


def test_throttled_guess_is_not_verified(app, client, make_account):
    clock = install_clock(app)
    secret = totp.new_secret()
    account, _ = make_user(app, make_account, totp_secret=secret)
    password_step(client, account.username)
    for _ in range(3):
        client.submit("/login/second-factor", {"code": _wrong_code(secret, clock)})
    code = totp.code_at(secret, clock())
    assert client.submit("/login/second-factor", {"code": code}).status_code == 429
    with app.state.db.session() as session:
        assert totp.credentials_of(session, account.id)[0].last_used_step is None
    clock.advance(5)
    assert client.submit("/login/second-factor", {"code": code}).headers["location"] == "/"


def test_eight_colleagues_behind_one_address_sign_in_at_the_same_moment(app, make_account):
    """A hospital behind one NAT address: eight right passwords sent at the same moment all get to
    the second step (before: a guess being checked counted as a failure, and five got a 429)."""
    install_clock(app)
    accounts = [make_user(app, make_account, totp_secret=totp.new_secret())[0] for _ in range(8)]
    browsers = [_browser(app, "203.0.113.9") for _ in accounts]
    for browser in browsers:
        browser.get("/login")
    barrier = threading.Barrier(len(browsers))

    def sign_in_now(pair):
        browser, account = pair
        barrier.wait()
        return browser.submit("/login", {"username": account.username, "password": PASSWORD})

    with ThreadPoolExecutor(len(browsers)) as pool:
        responses = list(pool.map(sign_in_now, zip(browsers, accounts)))
    assert [response.status_code for response in responses] == [303] * 8
    assert {response.headers["location"] for response in responses} == {"/login/second-factor"}
    with app.state.db.session() as session:
        source = session.exec(select(throttle.GuessCounter).where(
            throttle.GuessCounter.key == throttle.source_key("203.0.113.9"))).first()
    assert source is None or (source.failures, source.in_flight) == (0, 0)
    for browser in browsers:
        browser.close()
