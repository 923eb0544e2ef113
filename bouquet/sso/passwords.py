"""Passwords, hashed with argon2id (argon2-cffi, OWASP's recommended parameters)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# RFC 9106 "second recommended option" (64 MiB, 3 passes): strong yet ~50 ms on a 2-core machine.
_hasher = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=1)
# Verified against when the account does not exist, so both cases take the same time.
_DUMMY_HASH = _hasher.hash("bouquet: no such account")

MIN_LENGTH = 12


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; with no hash (unknown account) it spends the same time and says no."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def weakness(password: str, *, names: tuple[str, ...] = ()) -> str | None:
    """Why this password is refused (in French), or None. Length first, as NIST SP 800-63B asks."""
    if len(password) < MIN_LENGTH:
        return f"Le mot de passe doit contenir au moins {MIN_LENGTH} caractères."
    if len(password) > 256:
        return "Le mot de passe ne doit pas dépasser 256 caractères."
    lowered = password.lower()
    if any(name and len(name) >= 3 and name.lower() in lowered for name in names):
        return "Le mot de passe ne doit pas contenir votre nom ou votre identifiant."
    if len(set(password)) < 5:
        return "Le mot de passe est trop répétitif."
    return None
