"""TOTP: code format, the ±1 step window, single use of each code, QR codes."""

from __future__ import annotations

import base64
from datetime import timedelta
from urllib.parse import unquote

import pyotp
import pytest
from sqlalchemy import text

from bouquet.foundation.db import utcnow
from bouquet.sso import factors, totp
from bouquet.sso.totp import Check, TotpCredential


def key(app) -> str:
    return app.state.settings.secret_key


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
        totp.add(session, account.id, secret, secret_key=key(app))
    code = totp.code_at(secret, now)
    with app.state.db.write() as session:
        assert totp.verify(session, account.id, code, now, secret_key=key(app)) == Check.accepted
    with app.state.db.write() as session:
        assert totp.verify(session, account.id, code, now, secret_key=key(app)) == Check.replayed
        # An older code, still inside the window, is refused too: its step is not after the last used.
        earlier, later = (totp.code_at(secret, now + timedelta(seconds=s)) for s in (-30, 30))
        assert totp.verify(session, account.id, earlier, now, secret_key=key(app)) == Check.replayed
        assert totp.verify(session, account.id, later, now, secret_key=key(app)) == Check.accepted
        wrong = next(c for c in ("000000", "111111", "222222") if not totp.matching_steps(secret, c, now))
        assert totp.verify(session, account.id, wrong, now, secret_key=key(app)) == Check.wrong
        credential = totp.credentials_of(session, account.id)[0]
    assert credential.last_used_step == totp.step_at(now) + 1


def test_confirmation_code_cannot_sign_in(app, make_account):
    account, secret, now = make_account(), totp.new_secret(), utcnow()
    with app.state.db.write() as session:
        totp.add(session, account.id, secret, secret_key=key(app), used_step=totp.step_at(now))
        assert totp.verify(session, account.id, totp.code_at(secret, now), now, secret_key=key(app)) == Check.replayed


def test_each_of_several_apps_works(app, make_account):
    account, now = make_account(), utcnow()
    first, second = totp.new_secret(), totp.new_secret()
    with app.state.db.write() as session:
        totp.add(session, account.id, first, secret_key=key(app))
        totp.add(session, account.id, second, secret_key=key(app))
        assert totp.verify(session, account.id, totp.code_at(second, now), now, secret_key=key(app)) == Check.accepted
        assert totp.verify(session, account.id, totp.code_at(first, now), now, secret_key=key(app)) == Check.accepted
        assert totp.count(session, account.id) == 2
        assert factors.counts(session, account.id)["totp"] == 2


def test_remove_only_the_accounts_own(app, make_account):
    mine, theirs = make_account(), make_account()
    with app.state.db.write() as session:
        credential = totp.add(session, theirs.id, totp.new_secret(), secret_key=key(app))
        assert not totp.remove(session, mine.id, credential.id)
        assert totp.remove(session, theirs.id, credential.id)
        assert totp.count(session, theirs.id) == 0


def test_factor_registry_guards_the_last_factor(app, make_account):
    account = make_account()
    with app.state.db.write() as session:
        assert not factors.has_second_factor(session, account.id)
        totp.add(session, account.id, totp.new_secret(), secret_key=key(app))
        assert factors.has_second_factor(session, account.id)
        assert not factors.may_remove_one(session, account.id)
        totp.add(session, account.id, totp.new_secret(), secret_key=key(app))
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
        totp.add(session, account.id, secret, secret_key=key(app))
    code, barrier = totp.code_at(secret, now), Barrier(4)

    def attempt(_):
        barrier.wait()
        with app.state.db.write() as session:
            return totp.verify(session, account.id, code, now, secret_key=key(app))

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(attempt, range(4)))
    assert sorted(outcomes) == sorted([Check.accepted, Check.replayed, Check.replayed, Check.replayed])


# --- secrets sealed at rest ---------------------------------------------------------------------

def _stored(app, credential_id: int) -> str:
    with app.state.db.session() as session:
        return session.execute(text("SELECT secret FROM totp_credential WHERE id = :id"),
                               {"id": credential_id}).scalar_one()


def _insert_raw(app, account_id: int, value: str) -> int:
    """A row written as the code before sealing did (or copied by hand between accounts)."""
    with app.state.db.write() as session:
        credential = TotpCredential(account_id=account_id, secret=value)
        session.add(credential)
        session.flush()
        return credential.id


def test_the_stored_secret_is_sealed_and_still_verifies(app, make_account):
    account, secret, now = make_account(), totp.new_secret(), utcnow()
    with app.state.db.write() as session:
        credential = totp.add(session, account.id, secret, secret_key=key(app))
    stored = _stored(app, credential.id)
    assert stored.startswith("v1:") and secret not in stored and secret.lower() not in stored.lower()
    assert base64.b32decode(secret) not in base64.b64decode(stored.removeprefix("v1:"))
    assert totp.unseal(key(app), account.id, stored) == secret
    with app.state.db.write() as session:
        assert totp.verify(session, account.id, totp.code_at(secret, now), now, secret_key=key(app)) == Check.accepted
    with app.state.db.write() as session:
        assert totp.verify(session, account.id, totp.code_at(secret, now), now, secret_key=key(app)) == Check.replayed
        assert totp.has_secret(session, account.id, secret, secret_key=key(app))
        assert not totp.has_secret(session, account.id, totp.new_secret(), secret_key=key(app))
    # Two seals of the same secret differ (fresh nonce): equal stored values say nothing.
    assert totp.seal(key(app), account.id, secret) != totp.seal(key(app), account.id, secret)


def test_a_row_copied_to_another_account_does_not_verify(app, make_account):
    alice, mallory, secret, now = make_account(), make_account(), totp.new_secret(), utcnow()
    with app.state.db.write() as session:
        credential = totp.add(session, alice.id, secret, secret_key=key(app))
    sealed_for_alice = _stored(app, credential.id)
    _insert_raw(app, mallory.id, sealed_for_alice)
    with app.state.db.write() as session:
        outcome = totp.verify(session, mallory.id, totp.code_at(secret, now), now, secret_key=key(app))
        assert not totp.has_secret(session, mallory.id, secret, secret_key=key(app))
    assert outcome == Check.unreadable
    with pytest.raises(totp.UnreadableSecret):
        totp.unseal(key(app), mallory.id, sealed_for_alice)


def test_a_legacy_clear_secret_verifies_and_is_sealed_on_first_use(app, make_account):
    account, secret, now = make_account(), totp.new_secret(), utcnow()
    credential_id = _insert_raw(app, account.id, secret)
    with app.state.db.write() as session:
        assert totp.has_secret(session, account.id, secret, secret_key=key(app))
        assert totp.verify(session, account.id, totp.code_at(secret, now), now, secret_key=key(app)) == Check.accepted
    stored = _stored(app, credential_id)
    assert stored.startswith("v1:") and secret not in stored
    assert totp.unseal(key(app), account.id, stored) == secret
    with app.state.db.write() as session:
        assert totp.verify(session, account.id, totp.code_at(secret, now), now, secret_key=key(app)) == Check.replayed
        later = now + timedelta(seconds=30)
        assert totp.verify(session, account.id, totp.code_at(secret, later), later, secret_key=key(app)) == Check.accepted


def test_a_legacy_secret_is_sealed_even_by_a_wrong_code(app, make_account):
    account, secret, now = make_account(), totp.new_secret(), utcnow()
    credential_id = _insert_raw(app, account.id, secret)
    wrong = next(c for c in ("000000", "111111", "222222") if not totp.matching_steps(secret, c, now))
    with app.state.db.write() as session:
        assert totp.verify(session, account.id, wrong, now, secret_key=key(app)) == Check.wrong
    assert totp.unseal(key(app), account.id, _stored(app, credential_id)) == secret


def test_another_secret_key_cannot_read_the_secret(app, make_account):
    account, secret, now = make_account(), totp.new_secret(), utcnow()
    with app.state.db.write() as session:
        totp.add(session, account.id, secret, secret_key=key(app))
    rotated = "another-portal-secret-key-0123456789abcdef"
    with app.state.db.write() as session:
        assert totp.verify(session, account.id, totp.code_at(secret, now), now, secret_key=rotated) == Check.unreadable
        # A second, readable app still works beside the unreadable one.
        other = totp.new_secret()
        totp.add(session, account.id, other, secret_key=rotated)
        assert totp.verify(session, account.id, totp.code_at(other, now), now, secret_key=rotated) == Check.accepted


# --- migration 0012 seals the secrets stored in clear -------------------------------------------

def _back_to_0011_with_clear_secret(app, account_id: int, secret: str) -> int:
    from alembic import command

    from bouquet.migrations import alembic_config

    command.downgrade(alembic_config(app.state.db.engine, app.state.plugins), "0011")
    with app.state.db.write() as session:
        return session.execute(text("INSERT INTO totp_credential (account_id, secret, created_at) "
                                    "VALUES (:account, :secret, :now) RETURNING id"),
                               {"account": account_id, "secret": secret, "now": utcnow()}).scalar_one()


def _upgrade(app) -> None:
    from bouquet.migrations import upgrade

    upgrade(app.state.db.engine, app.state.plugins)


def test_migration_seals_clear_secrets_with_the_portals_key(app, make_account, monkeypatch, tmp_path):
    from bouquet.sso.oidc import keys

    account, secret, now = make_account(), totp.new_secret(), utcnow()
    with app.state.db.write() as session:
        keys.ensure_keys(session, key(app))  # the check that the migration has the portal's key
    credential_id = _back_to_0011_with_clear_secret(app, account.id, secret)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BOUQUET_SECRET_KEY", key(app))
    _upgrade(app)
    stored = _stored(app, credential_id)
    assert stored.startswith("v1:") and secret not in stored
    assert totp.unseal(key(app), account.id, stored) == secret
    with app.state.db.write() as session:
        assert totp.verify(session, account.id, totp.code_at(secret, now), now, secret_key=key(app)) == Check.accepted
    assert not (tmp_path / "var").exists()  # never makes up a key of its own

    from alembic import command

    from bouquet.migrations import alembic_config

    command.downgrade(alembic_config(app.state.db.engine, app.state.plugins), "0011")  # unseals again
    assert _stored(app, credential_id) == secret


@pytest.mark.parametrize("found", ["none", "another"])
def test_migration_without_the_portals_key_leaves_them_to_lazy_sealing(app, make_account, monkeypatch, tmp_path,
                                                                       found):
    from bouquet.sso.oidc import keys

    account, secret, now = make_account(), totp.new_secret(), utcnow()
    with app.state.db.write() as session:
        keys.ensure_keys(session, key(app))
    credential_id = _back_to_0011_with_clear_secret(app, account.id, secret)
    monkeypatch.chdir(tmp_path)
    if found == "another":
        monkeypatch.setenv("BOUQUET_SECRET_KEY", "not-the-portals-secret-key-0123456789abcdef")
    else:
        monkeypatch.delenv("BOUQUET_SECRET_KEY", raising=False)
    _upgrade(app)
    assert _stored(app, credential_id) == secret
    with app.state.db.write() as session:
        assert totp.verify(session, account.id, totp.code_at(secret, now), now, secret_key=key(app)) == Check.accepted
    assert totp.unseal(key(app), account.id, _stored(app, credential_id)) == secret
    assert _stored(app, credential_id).startswith("v1:")


def test_signing_in_with_an_app_sealed_under_another_key_says_so(app, client, make_account):
    from bouquet.testing.signin import install_clock, make_user, password_step

    clock, secret = install_clock(app), totp.new_secret()
    account, _ = make_user(app, make_account)
    with app.state.db.write() as session:
        totp.add(session, account.id, secret, secret_key="the-secret-key-before-rotation-0123456789")
    assert password_step(client, account.username).headers["location"] == "/login/second-factor"
    response = client.submit("/login/second-factor", {"code": totp.code_at(secret, clock())})
    assert response.status_code == 200 and "la clé secrète du portail a changé" in response.text
    assert "code de secours" in response.text
