"""Key derivation (`bouquet.foundation.keys`): what an earlier Bouquet sealed and signed still opens.

The expected values below were computed by Bouquet before key derivation had its own module
(`bouquet.app.derive_key`: SHA-256 of ``bouquet:<purpose>:<secret>``); they are frozen here.
"""

from __future__ import annotations

import base64
import hashlib
import os

import pyotp
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bouquet.foundation import audit
from bouquet.foundation.db import utcnow
from bouquet.foundation.keys import LEGACY_PURPOSES, audit_key, derive_key
from bouquet.sso import totp
from bouquet.testing.fixtures import TEST_SECRET

#: derive_key(TEST_SECRET, purpose) as the previous main computed it.
FROZEN = {
    "audit": "d979f495c323a88201794eae1331884a5fa6bc5a716d097fc6346446cb8e5886",
    "csrf": "ce06754da7be047340cd13a57cb744e53c7b38538d6f51c5d981fe888de56d83",
    "totp": "5f20bf81a3a7589fd7083acf9576e0f24f372eba65a276229988f21c5cd78cb3",
}


def _previous_main_key(secret: str, purpose: str) -> bytes:
    return hashlib.sha256(f"bouquet:{purpose}:{secret}".encode()).digest()


def test_existing_purposes_keep_their_keys() -> None:
    for purpose, expected in FROZEN.items():
        assert derive_key(TEST_SECRET, purpose).hex() == expected
    for purpose in LEGACY_PURPOSES:
        assert derive_key(TEST_SECRET, purpose) == _previous_main_key(TEST_SECRET, purpose)


def test_new_purposes_use_hkdf_and_never_collide() -> None:
    first, second = derive_key(TEST_SECRET, "a-new-purpose"), derive_key(TEST_SECRET, "another-purpose")
    assert len(first) == len(second) == 32 and first != second
    assert first != _previous_main_key(TEST_SECRET, "a-new-purpose")
    assert derive_key(TEST_SECRET + "x", "a-new-purpose") != first


def test_a_totp_secret_sealed_by_the_previous_main_still_verifies(app, make_account) -> None:
    account = make_account()
    secret = pyotp.random_base32()
    # Sealed exactly as the previous main did: AES-GCM under its key, account id as associated data.
    nonce = os.urandom(12)
    sealed = AESGCM(_previous_main_key(app.state.settings.secret_key, "totp")).encrypt(
        nonce, secret.encode("ascii"), f"totp_credential:account:{account.id}".encode())
    stored = "v1:" + base64.b64encode(nonce + sealed).decode("ascii")
    with app.state.db.session() as session:
        session.add(totp.TotpCredential(account_id=account.id, secret=stored))
    now = utcnow()
    with app.state.db.write() as session:
        outcome = totp.verify(session, account.id, totp.code_at(secret, now), now,
                              secret_key=app.state.settings.secret_key)
    assert outcome == totp.Check.accepted


def test_an_audit_trail_chained_by_the_previous_main_still_verifies(app) -> None:
    key = _previous_main_key(app.state.settings.audit_key or app.state.settings.secret_key, "audit")
    assert audit_key(app.state.settings) == key == app.state.audit_key
    with app.state.db.write() as session:
        for n in range(3):
            audit.append(session, key, audit.AuditRecord(actor="test", action=f"test.event{n}"))
    with app.state.db.session() as session:
        assert audit.verify(session, audit_key(app.state.settings)).ok
