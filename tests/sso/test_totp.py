"""TOTP: code format, the ±1 step window, single use of each code, QR codes."""

from __future__ import annotations

import base64
from datetime import timedelta
from urllib.parse import unquote

import pyotp

from bouquet.db import utcnow
from bouquet.sso import factors, totp
from bouquet.sso.totp import Check


def test_normalise_code():
    assert totp.normalise_code(" 123 456 ") == "123456"
    for bad in ("12345", "1234567", "12a456", "", "１２３４５６"):
        assert totp.normalise_code(bad) is None


def test_window_is_one_step_either_side():
    secret, now = totp.new_secret(), utcnow()
    assert len(secret) == 32 and base64.b32decode(secret)
    for offset, accepted in ((-60, False), (-30, True), (0, True), (30, True), (60, False)):
        code = totp.code_at(secret, now + timedelta(seconds=offset))
        assert bool(totp.matching_steps(secret, code, now)) is accepted, offset
    assert totp.code_at(secret, now) == pyotp.TOTP(secret).at(now)


def test_a_code_is_accepted_once(app, make_account):
    account, secret, now = make_account(), totp.new_secret(), utcnow()
    with app.state.db.write() as session:
        totp.add(session, account.id, secret)
    code = totp.code_at(secret, now)
    with app.state.db.write() as session:
        assert totp.verify(session, account.id, code, now) == Check.accepted
    with app.state.db.write() as session:
        assert totp.verify(session, account.id, code, now) == Check.replayed
        # An older code, still inside the window, is refused too: its step is not after the last used.
        assert totp.verify(session, account.id, totp.code_at(secret, now - timedelta(seconds=30)), now) == Check.replayed
        assert totp.verify(session, account.id, totp.code_at(secret, now + timedelta(seconds=30)), now) == Check.accepted
        wrong = next(c for c in ("000000", "111111", "222222") if not totp.matching_steps(secret, c, now))
        assert totp.verify(session, account.id, wrong, now) == Check.wrong
        credential = totp.credentials_of(session, account.id)[0]
    assert credential.last_used_step == totp.step_at(now) + 1


def test_confirmation_code_cannot_sign_in(app, make_account):
    account, secret, now = make_account(), totp.new_secret(), utcnow()
    with app.state.db.write() as session:
        totp.add(session, account.id, secret, used_step=totp.step_at(now))
        assert totp.verify(session, account.id, totp.code_at(secret, now), now) == Check.replayed


def test_each_of_several_apps_works(app, make_account):
    account, now = make_account(), utcnow()
    first, second = totp.new_secret(), totp.new_secret()
    with app.state.db.write() as session:
        totp.add(session, account.id, first)
        totp.add(session, account.id, second)
        assert totp.verify(session, account.id, totp.code_at(second, now), now) == Check.accepted
        assert totp.verify(session, account.id, totp.code_at(first, now), now) == Check.accepted
        assert totp.count(session, account.id) == 2
        assert factors.counts(session, account.id)["totp"] == 2


def test_remove_only_the_accounts_own(app, make_account):
    mine, theirs = make_account(), make_account()
    with app.state.db.write() as session:
        credential = totp.add(session, theirs.id, totp.new_secret())
        assert not totp.remove(session, mine.id, credential.id)
        assert totp.remove(session, theirs.id, credential.id)
        assert totp.count(session, theirs.id) == 0


def test_factor_registry_guards_the_last_factor(app, make_account):
    account = make_account()
    with app.state.db.write() as session:
        assert not factors.has_second_factor(session, account.id)
        totp.add(session, account.id, totp.new_secret())
        assert factors.has_second_factor(session, account.id)
        assert not factors.may_remove_one(session, account.id)
        totp.add(session, account.id, totp.new_secret())
        assert factors.may_remove_one(session, account.id)


def test_qr_code_is_an_svg_data_uri_of_the_otpauth_uri():
    secret = totp.new_secret()
    uri = totp.provisioning_uri(secret, "alice")
    assert uri.startswith("otpauth://totp/Bouquet:alice?") and f"secret={secret}" in uri and "issuer=Bouquet" in uri
    image = totp.qr_code_data_uri(uri)
    assert image.startswith("data:image/svg+xml")
    assert "<svg" in unquote(image)


def test_the_same_code_sent_twice_at_once_is_accepted_once(app, make_account):
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    account, secret, now = make_account(), totp.new_secret(), utcnow()
    with app.state.db.write() as session:
        totp.add(session, account.id, secret)
    code, barrier = totp.code_at(secret, now), Barrier(4)

    def attempt(_):
        barrier.wait()
        with app.state.db.write() as session:
            return totp.verify(session, account.id, code, now)

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(attempt, range(4)))
    assert sorted(outcomes) == sorted([Check.accepted, Check.replayed, Check.replayed, Check.replayed])
