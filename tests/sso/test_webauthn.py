"""The WebAuthn ceremonies (bouquet.sso.webauthn), checked with a software authenticator."""

from __future__ import annotations

from datetime import timedelta

import pytest
from webauthn.helpers import base64url_to_bytes

from bouquet.foundation.db import utcnow
from bouquet.sso import factors
from bouquet.sso.webauthn import (
    CHALLENGE_KEY,
    ENROL,
    PASSKEY,
    SECOND_FACTOR,
    CeremonyError,
    Challenge,
    CounterRegression,
    RelyingParty,
    WebAuthnCredential,
    authentication_options,
    clean_name,
    consume_challenge,
    counter_regressed,
    credentials_of,
    parse_assertion,
    registration_options,
    store_credential,
    use_credential,
    verify_registration,
)
from bouquet.testing.webauthn import SoftAuthenticator

ORIGIN = "http://testserver"
RP = RelyingParty(id="testserver", origin=ORIGIN)


@pytest.fixture
def browser(app):
    return app.state.sessions.create()


def register(app, account, key, name="Clé de test"):
    """Run a registration ceremony for `key` and store the credential."""
    browser = app.state.sessions.create()
    with app.state.db.session() as session:
        existing = credentials_of(session, account.id)
    options = registration_options(RP, browser, ENROL, account, existing)
    challenge = Challenge(ENROL, base64url_to_bytes(options["challenge"]), account.id, options["user"]["id"])
    new = verify_registration(RP, challenge, key.register(options))
    with app.state.db.write() as session:
        return store_credential(session, account.id, new, name)


def sign_in(app, key, *, purpose=PASSKEY, account_id=None, allowed=(), **assertion):
    browser = app.state.sessions.create()
    options = authentication_options(RP, browser, purpose, list(allowed), account_id)
    challenge = Challenge(purpose, base64url_to_bytes(options["challenge"]), account_id)
    return use_credential(app.state.db, RP, challenge, parse_assertion(key.assertion(options, **assertion)),
                          account_id=account_id)


def stored(app, credential_id):
    with app.state.db.session() as session:
        return session.get(WebAuthnCredential, credential_id)


# --- options ---------------------------------------------------------------------------------

def test_registration_options_require_user_verification_and_exclude_known_keys(app, make_account, browser):
    doctor = make_account(username="alice")
    first = register(app, doctor, SoftAuthenticator(ORIGIN))
    options = registration_options(RP, browser, ENROL, doctor, [first])
    assert options["rp"] == {"id": "testserver", "name": "Bouquet"}
    assert options["user"]["name"] == "alice"
    assert options["user"]["id"] == first.user_handle  # one user handle per account
    assert options["authenticatorSelection"] == {"residentKey": "preferred", "requireResidentKey": False,
                                                 "userVerification": "required"}
    assert options["excludeCredentials"] == [{"id": first.credential_id, "type": "public-key", "transports": ["usb"]}]
    assert options["extensions"] == {"credProps": True}
    assert options["attestation"] == "none"
    remembered = browser.get(CHALLENGE_KEY)
    assert remembered["challenge"] == options["challenge"] and remembered["purpose"] == ENROL
    assert remembered["account_id"] == doctor.id


def test_authentication_options_require_user_verification(browser):
    options = authentication_options(RP, browser, PASSKEY, [])
    assert options["userVerification"] == "required"
    assert options["rpId"] == "testserver"
    assert options["allowCredentials"] == []
    assert options["timeout"] == 300_000


# --- challenges ------------------------------------------------------------------------------

def test_a_challenge_is_consumed_once_even_from_another_worker(app, make_app, browser):
    authentication_options(RP, browser, PASSKEY, [])
    app.state.sessions.save(browser)
    other_worker = make_app()  # same database, another process in production
    loaded = other_worker.state.sessions.load(browser.new_token)
    assert consume_challenge(other_worker.state.db, loaded, PASSKEY).purpose == PASSKEY
    with pytest.raises(CeremonyError) as replay:
        consume_challenge(app.state.db, browser, PASSKEY)
    assert replay.value.status == 409 and replay.value.code == "challenge_used"
    assert CHALLENGE_KEY not in browser.row.data  # a later save of this request cannot bring it back


def test_a_challenge_for_another_purpose_is_refused_and_spent(app, browser):
    authentication_options(RP, browser, PASSKEY, [])
    app.state.sessions.save(browser)
    with pytest.raises(CeremonyError) as wrong:
        consume_challenge(app.state.db, browser, SECOND_FACTOR)
    assert wrong.value.status == 409
    with pytest.raises(CeremonyError):
        consume_challenge(app.state.db, browser, PASSKEY)


def test_a_challenge_expires_after_five_minutes(app, browser):
    authentication_options(RP, browser, PASSKEY, [])
    browser.set(CHALLENGE_KEY, {**browser.get(CHALLENGE_KEY), "expires": (utcnow() - timedelta(seconds=1)).isoformat()})
    app.state.sessions.save(browser)
    with pytest.raises(CeremonyError) as expired:
        consume_challenge(app.state.db, browser, PASSKEY)
    assert (expired.value.status, expired.value.code) == (409, "challenge_expired")


# --- registration ----------------------------------------------------------------------------

def test_a_device_bound_key_is_a_hardware_key(app, make_account):
    credential = register(app, make_account(), SoftAuthenticator(ORIGIN))
    assert credential.amr == "hwk"
    assert (credential.backup_eligible, credential.discoverable) == (False, True)
    assert credential.transports == ["usb"]
    assert credential.aaguid == "b0757e7e-0000-0000-0000-000000b0c0e7"
    assert credential.kind_label == "Clé d'accès"
    assert credential.sign_count == 0 and credential.last_used_at is None


def test_a_synced_passkey_is_a_software_key(app, make_account):
    credential = register(app, make_account(), SoftAuthenticator(ORIGIN, backup_eligible=True, discoverable=False))
    assert credential.amr == "swk"
    assert credential.backed_up is True
    assert credential.kind_label == "Clé de sécurité"


@pytest.mark.parametrize("wrong", [
    {"origin": "http://evil.example"},
    {"rp_id": "evil.example"},
    {"user_verified": False},
    {"challenge": "AAAAAAAAAAAAAAAAAAAAAA"},
])
def test_registration_refuses_a_wrong_origin_rp_id_challenge_or_missing_verification(make_account, browser, wrong):
    account = make_account()
    options = registration_options(RP, browser, ENROL, account, [])
    challenge = Challenge(ENROL, base64url_to_bytes(options["challenge"]), account.id, options["user"]["id"])
    with pytest.raises(CeremonyError) as refused:
        verify_registration(RP, challenge, SoftAuthenticator(ORIGIN).register(options, **wrong))
    assert refused.value.status == 403


@pytest.mark.parametrize("payload", [None, "text", {"id": "x"}, {"id": "x", "rawId": "x", "response": {}}])
def test_an_unreadable_registration_is_bad_input(payload):
    with pytest.raises(CeremonyError) as bad:
        verify_registration(RP, Challenge(ENROL, b"0" * 32), payload)
    assert bad.value.status == 400


def test_an_authenticator_is_registered_once(app, make_account):
    doctor, key = make_account(), SoftAuthenticator(ORIGIN)
    register(app, doctor, key)
    with pytest.raises(CeremonyError) as twice:
        register(app, doctor, key)
    assert twice.value.status == 409


def test_credentials_count_as_second_factors(app, make_account):
    doctor = make_account()
    register(app, doctor, SoftAuthenticator(ORIGIN), name="")
    register(app, doctor, SoftAuthenticator(ORIGIN), name="")
    with app.state.db.session() as session:
        assert factors.counts(session, doctor.id)["webauthn"] == 2
        assert [credential.name for credential in credentials_of(session, doctor.id)] == ["Clé 1", "Clé 2"]


def test_names_are_tidied_and_bounded():
    assert clean_name("  Clé   USB  ") == "Clé USB"
    assert clean_name(None) == ""
    with pytest.raises(CeremonyError):
        clean_name("x" * 61)
    with pytest.raises(CeremonyError):
        clean_name(42)


# --- authentication --------------------------------------------------------------------------

def test_an_assertion_signs_in_and_records_the_use(app, make_account):
    doctor, key = make_account(), SoftAuthenticator(ORIGIN)
    credential = register(app, doctor, key)
    use = sign_in(app, key)
    assert use.account.id == doctor.id
    assert use.amr == ["hwk", "user"]
    after = stored(app, credential.id)
    assert after.sign_count == 1 and after.last_used_at is not None


def test_a_counter_that_does_not_move_forward_is_a_clone(app, make_account):
    doctor, key = make_account(), SoftAuthenticator(ORIGIN)
    credential = register(app, doctor, key)
    sign_in(app, key, sign_count=7)
    with pytest.raises(CounterRegression) as clone:
        sign_in(app, key, sign_count=7)
    assert clone.value.status == 403 and (clone.value.stored, clone.value.reported) == (7, 7)
    with pytest.raises(CounterRegression):
        sign_in(app, key, sign_count=3)
    assert stored(app, credential.id).sign_count == 7
    assert sign_in(app, key, sign_count=8).credential.sign_count == 8


def test_an_authenticator_without_a_counter_keeps_working(app, make_account):
    doctor, key = make_account(), SoftAuthenticator(ORIGIN, counter_step=0)
    register(app, doctor, key)
    sign_in(app, key)
    assert sign_in(app, key).credential.sign_count == 0


@pytest.mark.parametrize(("stored_count", "reported", "regressed"), [
    (0, 0, False), (0, 1, False), (5, 6, False), (5, 5, True), (5, 4, True), (5, 0, True),
])
def test_counter_rule(stored_count, reported, regressed):
    assert counter_regressed(stored_count, reported) is regressed


@pytest.mark.parametrize("wrong", [
    {"origin": "http://evil.example"},
    {"rp_id": "evil.example"},
    {"user_verified": False},
    {"user_handle": False},
])
def test_an_assertion_with_a_wrong_origin_rp_id_or_flags_is_refused(app, make_account, wrong):
    key = SoftAuthenticator(ORIGIN)
    register(app, make_account(), key)
    with pytest.raises(CeremonyError) as refused:
        sign_in(app, key, **wrong)
    assert refused.value.status == 403 and refused.value.code == "refused"


def test_unknown_foreign_and_disabled_all_get_the_same_refusal(app, make_account):
    unknown = SoftAuthenticator(ORIGIN)
    unknown.user_handle = b"x" * 32
    with pytest.raises(CeremonyError) as first:
        sign_in(app, unknown)

    alice, bob = make_account(), make_account()
    bobs_key = SoftAuthenticator(ORIGIN)
    register(app, bob, bobs_key)
    with pytest.raises(CeremonyError) as foreign:
        sign_in(app, bobs_key, purpose=SECOND_FACTOR, account_id=alice.id)

    with app.state.db.write() as session:
        row = session.get(type(bob), bob.id)
        row.disabled_at = utcnow()
        session.add(row)
    with pytest.raises(CeremonyError) as disabled:
        sign_in(app, bobs_key)
    messages = {(error.value.status, error.value.code, error.value.message) for error in (first, foreign, disabled)}
    assert len(messages) == 1
