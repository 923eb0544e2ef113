"""Key derivation: one key per purpose from the portal's secret, so that no two mechanisms share
key material.

    key = derive_key(settings.secret_key, "my-plugin-purpose")    # 32 bytes

New purposes get HKDF-SHA256 (RFC 5869, from `cryptography`), the purpose as HKDF's `info`.
The purposes that existed before this module keep the derivation they were sealed and signed
with (SHA-256 of ``bouquet:<purpose>:<secret>``): TOTP secrets, the provider's signing keys,
PKCE verifiers, the audit chain's MACs, device cookies and CSRF tokens made by an earlier
version must still open, and they do without a migration. `tests/test_keys.py` holds values
computed by that earlier version.
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bouquet.foundation.settings import Settings

KEY_BYTES = 32
#: Purposes derived before HKDF; their keys stay what they were (see the module's docstring).
LEGACY_PURPOSES = frozenset({
    "audit", "csrf", "totp", "oidc-signing-keys", "oidc-reauth-marker", "device-cookie",
    "portal-pkce-verifier", "dmp-identity",
})


def derive_key(secret: str, purpose: str) -> bytes:
    """A 32-byte key for `purpose` derived from `secret` (the portal's secret key)."""
    if purpose in LEGACY_PURPOSES:
        return hashlib.sha256(f"bouquet:{purpose}:{secret}".encode()).digest()
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=f"bouquet:{purpose}".encode())
    return hkdf.derive(secret.encode())


def audit_key(settings: Settings) -> bytes:
    """The key of the audit trail's chain (`BOUQUET_AUDIT_KEY`, else the secret key)."""
    return derive_key(settings.audit_key or settings.secret_key, "audit")
