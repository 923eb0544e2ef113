"""The guess throttle (delays, locks, per-counter keys) and the device cookies that bypass account locks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bouquet.foundation.db import utcnow
from bouquet.sso import devices, throttle
from bouquet.sso.throttle import Attempt, GuessCounter, Policy, Refusal

POLICY = Policy()
ACCOUNT = (throttle.PASSWORD, throttle.account_key(7))
SOURCE = (throttle.PASSWORD, throttle.source_key("192.0.2.1"))


def test_policy_delays_grow_then_cap():
    assert [POLICY.delay(n).total_seconds() for n in range(0, 4)] == [0, 0, 0, 5]
    assert POLICY.delay(4) == timedelta(seconds=10)
    assert POLICY.delay(9) == POLICY.max_delay
    assert POLICY.delay(10_000) == POLICY.max_delay


def test_policy_follows_the_setting(settings):
    assert throttle.policy_for(settings).lock_for == timedelta(minutes=15)
    assert throttle.policy_for(settings.model_copy(update={"signin_lock_minutes": 40})).lock_for == timedelta(minutes=40)


def _fail(db, counters, now, policy=POLICY):
    """One wrong guess: checked (begin), then reported as failed when it was allowed."""
    with db.write() as session:
        attempt = throttle.begin(session, counters, now, policy)
        if isinstance(attempt, Attempt):
            attempt = throttle.failed(session, attempt, now, policy)
        return attempt


def test_three_free_guesses_then_a_delay_then_a_lock(app):
    db, now = app.state.db, utcnow()
    for _ in range(3):
        assert isinstance(_fail(db, [ACCOUNT, SOURCE], now), Attempt)
    refused = _fail(db, [ACCOUNT, SOURCE], now)
    assert isinstance(refused, Refusal) and not refused.locked
    assert refused.retry_at == now + timedelta(seconds=5)
    assert "Réessayez dans 5 secondes" in refused.message(now)
    # Waiting out each delay allows one guess more, up to the tenth.
    attempt = None
    for _ in range(7):
        now = refused.retry_at if isinstance(refused, Refusal) else now
        attempt = _fail(db, [ACCOUNT, SOURCE], now)
        assert isinstance(attempt, Attempt)
        refused = _fail(db, [ACCOUNT, SOURCE], now)
        assert isinstance(refused, Refusal)
    assert attempt is not None and set(attempt.locking) == {ACCOUNT, SOURCE}
    assert refused.locked and refused.retry_at == now + POLICY.lock_for
    assert "bloquée" in refused.message(now) and "15 minutes" in refused.message(now)

    with db.session() as session:
        status = throttle.lock_status(session, 7, now)
    assert status.locked and status.until == now + POLICY.lock_for
    assert status.failures == {"password": 10} and set(status.locked_until) == {"password"}

    # After the lock, one guess; wrong again, it locks again at once.
    later = now + POLICY.lock_for
    assert isinstance(_fail(db, [ACCOUNT], later), Attempt)
    assert isinstance(_fail(db, [ACCOUNT], later + timedelta(minutes=6)), Refusal)


def test_right_guess_clears_its_counters(app):
    db, now = app.state.db, utcnow()
    for _ in range(3):
        _fail(db, [ACCOUNT], now)
    with db.write() as session:
        throttle.succeeded(session, [ACCOUNT])
    assert isinstance(_fail(db, [ACCOUNT], now), Attempt)
    with db.session() as session:
        assert throttle.lock_status(session, 7, now).failures == {"password": 1}


def test_counters_are_independent(app):
    db, now = app.state.db, utcnow()
    for _ in range(3):
        _fail(db, [ACCOUNT], now)
    assert isinstance(_fail(db, [ACCOUNT], now), Refusal)
    assert isinstance(_fail(db, [(throttle.OTP, throttle.account_key(7))], now), Attempt)
    assert isinstance(_fail(db, [(throttle.PASSWORD, throttle.account_key(8))], now), Attempt)
    # A guess charged to a refusing counter is refused as a whole, and counts nowhere.
    assert isinstance(_fail(db, [ACCOUNT, SOURCE], now), Refusal)
    with db.session() as session:
        assert throttle.lock_status(session, 8, now).failures == {"password": 1}


def test_unlock_and_prune(app):
    db, now = app.state.db, utcnow()
    for _ in range(10):
        _fail(db, [ACCOUNT], now, Policy(free=100))
    with db.write() as session:
        assert throttle.lock_status(session, 7, now).locked
        assert throttle.unlock(session, 7) == 1
        assert not throttle.lock_status(session, 7, now).locked
    _fail(db, [SOURCE], now - timedelta(days=2))
    _fail(db, [(throttle.PASSWORD, throttle.username_key("nobody"))], now)
    with db.write() as session:
        assert throttle.prune(session, now) == 1


def test_username_keys_hide_what_was_typed():
    key = throttle.username_key("my secret password")
    assert "secret" not in key and key == throttle.username_key("my secret password")


def test_current_time_follows_the_app_clock(app):
    assert abs((throttle.current_time(app.state) - utcnow()).total_seconds()) < 5
    fixed = utcnow() - timedelta(days=3)
    app.state.clock = lambda: fixed
    assert throttle.current_time(app.state) == fixed


# --- device cookies ------------------------------------------------------------------------------

KEY = devices.signing_key("x" * 40)


def test_device_cookie_names_the_account_it_was_issued_for():
    now = utcnow()
    cookie = devices.issue(KEY, None, 12, now)
    nonce = devices.nonce_for(KEY, cookie, 12, now)
    assert nonce and devices.nonce_for(KEY, cookie, 13, now) is None
    assert devices.nonce_for(KEY, cookie, 12, now + devices.LIFETIME + timedelta(days=2)) is None


@pytest.mark.parametrize("tamper", [
    lambda c: c.replace("12.", "13.", 1),
    lambda c: c[:-1] + ("0" if c[-1] != "0" else "1"),
    lambda c: "garbage",
    lambda c: "",
])
def test_device_cookie_cannot_be_forged(tamper):
    now = utcnow()
    cookie = tamper(devices.issue(KEY, None, 12, now))
    assert devices.nonce_for(KEY, cookie, 12, now) is None and devices.nonce_for(KEY, cookie, 13, now) is None
    assert devices.nonce_for(devices.signing_key("y" * 40), devices.issue(KEY, None, 12, now), 12, now) is None


def test_device_cookie_keeps_several_accounts_and_renews():
    now = utcnow()
    cookie = None
    for account_id in range(1, 8):
        cookie = devices.issue(KEY, cookie, account_id, now)
    kept = [account_id for account_id in range(1, 8) if devices.nonce_for(KEY, cookie, account_id, now)]
    assert kept == [3, 4, 5, 6, 7]
    before = devices.nonce_for(KEY, cookie, 5, now)
    cookie = devices.issue(KEY, cookie, 5, now)
    assert devices.nonce_for(KEY, cookie, 5, now) not in (None, before)


# --- only failures count (issue 13, item 12) -------------------------------------------------------

NAT = "198.51.100.7"


def test_guesses_being_checked_are_not_failures(app):
    """Eight right guesses in flight at once from one address (eight colleagues behind a hospital's
    NAT) are all allowed: before, each counted as a failure until it succeeded, and the fourth got a 429."""
    db, now, policy = app.state.db, utcnow(), throttle.policy_for(app.state.settings)
    source = (throttle.PASSWORD, throttle.source_key(NAT))
    attempts = []
    for account_id in range(1, 9):
        with db.write() as session:
            attempts.append(throttle.begin(session, [(throttle.PASSWORD, throttle.account_key(account_id)), source],
                                           now, policy))
    assert all(isinstance(attempt, Attempt) for attempt in attempts)
    for attempt in attempts:
        with db.write() as session:
            throttle.succeeded(session, attempt.counters, policy)
    with db.session() as session:
        row = session.exec(select(GuessCounter).where(GuessCounter.key == throttle.source_key(NAT))).one()
    assert (row.failures, row.in_flight) == (0, 0)


def test_parallel_guesses_cannot_exceed_the_lock(app):
    """Guesses in flight are held against the lock: ten at once on one account, the eleventh waits."""
    db, now = app.state.db, utcnow()
    held = []
    for _ in range(POLICY.lock_after):
        with db.write() as session:
            held.append(throttle.begin(session, [ACCOUNT], now, POLICY))
    assert all(isinstance(attempt, Attempt) for attempt in held)
    with db.write() as session:
        refused = throttle.begin(session, [ACCOUNT], now, POLICY)
    assert isinstance(refused, Refusal) and not refused.locked
    # All ten fail: the account locks, as ten sequential failures would.
    for attempt in held:
        with db.write() as session:
            outcome = throttle.failed(session, attempt, now, POLICY)
    assert outcome.locking == (ACCOUNT,)
    with db.session() as session:
        assert throttle.lock_status(session, 7, now).locked


def test_an_abandoned_reservation_lapses(app):
    db, now = app.state.db, utcnow()
    for _ in range(POLICY.lock_after):
        with db.write() as session:
            throttle.begin(session, [ACCOUNT], now, POLICY)  # the worker died before the outcome
    with db.write() as session:
        assert isinstance(throttle.begin(session, [ACCOUNT], now, POLICY), Refusal)
    with db.write() as session:
        assert isinstance(throttle.begin(session, [ACCOUNT], now + throttle.IN_FLIGHT_TTL * 2, POLICY), Attempt)


def test_a_shared_address_is_slowed_only_after_many_failures_and_a_success_does_not_clear_it(app):
    db, now, policy = app.state.db, utcnow(), throttle.policy_for(app.state.settings)
    source = (throttle.PASSWORD, throttle.source_key(NAT))
    free = policy.source.free
    # Each failure on another account (typos spread over a hospital): the address is not slowed…
    for account_id in range(free - 1):
        assert isinstance(_fail(db, [(throttle.PASSWORD, throttle.account_key(1000 + account_id)), source], now,
                                policy), Attempt)
    # …a colleague's success does not wipe the address's count…
    with db.write() as session:
        attempt = throttle.begin(session, [(throttle.PASSWORD, throttle.account_key(1)), source], now, policy)
        assert isinstance(attempt, Attempt)
        throttle.succeeded(session, attempt.counters, policy)
    # …and once it has `free` failures, the next guess from it must wait.
    assert isinstance(_fail(db, [(throttle.PASSWORD, throttle.account_key(999)), source], now, policy), Attempt)
    refused = _fail(db, [(throttle.PASSWORD, throttle.account_key(2)), source], now, policy)
    assert isinstance(refused, Refusal) and refused.retry_at == now + policy.source.base_delay
    # Fifteen quiet minutes later the address starts again from zero.
    later = now + policy.source.window + timedelta(seconds=1)
    assert isinstance(_fail(db, [(throttle.PASSWORD, throttle.account_key(3)), source], later, policy), Attempt)
    with db.session() as session:
        assert session.exec(select(GuessCounter).where(GuessCounter.key == source[1])).one().failures == 1


def test_the_per_source_allowance_is_a_setting(settings):
    policy = throttle.policy_for(settings.model_copy(update={"signin_source_free_failures": 200}))
    assert policy.source.free == 200 and policy.source.lock_after == 4000
    assert policy.for_key(throttle.account_key(1)) is policy and policy.for_key(throttle.source_key("x")) is policy.source
