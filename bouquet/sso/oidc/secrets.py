"""The provider's random secrets: codes, tokens, client secrets and launch handles.

They are 256-bit random values; only their SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_secret() -> str:
    """A fresh code, token or client secret: 256 bits, URL-safe."""
    return secrets.token_urlsafe(32)


def hash_secret(value: str) -> str:
    # The values are 256-bit random: a fast hash is enough, there is no dictionary to try.
    return hashlib.sha256(value.encode()).hexdigest()


def secret_matches(stored_hash: str, value: str) -> bool:
    return hmac.compare_digest(stored_hash, hash_secret(value))
