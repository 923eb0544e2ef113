"""Device cookies (OWASP "Slow Down Online Guessing Attacks with Device Cookies").

After a complete sign-in, the browser receives a signed cookie naming the account and a random
nonce. Later password guesses for that account from a browser that presents it are throttled
by that device's own counter, not by the account-wide lock: a stranger who knows a username can
lock out every other browser, but not the ones where its owner signed in before.

The cookie holds up to `MAX_ENTRIES` accounts (a shared workstation in a practice), each entry
`<account id>.<nonce>.<issued day>.<signature>`, and expires after `LIFETIME`. Nothing is stored
server-side: the signature is the proof.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bouquet.foundation.keys import derive_key

LIFETIME = timedelta(days=180)
MAX_ENTRIES = 5
_SEPARATOR = "-"
_DAY = 86400


def cookie_name(https: bool) -> str:
    # Like the session cookie: the __Host- prefix pins it to this exact origin.
    return "__Host-bouquet_device" if https else "bouquet_device"


def signing_key(secret_key: str) -> bytes:
    """The device cookies' own key, derived from the deployment's secret key."""

    return derive_key(secret_key, "device-cookie")


@dataclass(frozen=True)
class _Entry:
    account_id: int
    nonce: str
    day: int

    def encode(self, key: bytes) -> str:
        body = f"{self.account_id}.{self.nonce}.{self.day}"
        return f"{body}.{_sign(key, body)}"


def _sign(key: bytes, body: str) -> str:
    return hmac.new(key, b"device:" + body.encode(), hashlib.sha256).hexdigest()[:32]


def _entries(key: bytes, cookie: str | None, now: datetime) -> list[_Entry]:
    """The entries of a cookie whose signature holds and that are not expired, in order."""
    entries: list[_Entry] = []
    for raw in (cookie or "")[:2000].split(_SEPARATOR)[:MAX_ENTRIES]:
        parts = raw.split(".")
        if len(parts) != 4 or not parts[0].isdigit() or not parts[2].isdigit():
            continue
        body = ".".join(parts[:3])
        if not hmac.compare_digest(parts[3], _sign(key, body)):
            continue
        entry = _Entry(int(parts[0]), parts[1], int(parts[2]))
        if now.timestamp() // _DAY - entry.day <= LIFETIME.days:
            entries.append(entry)
    return entries


def nonce_for(key: bytes, cookie: str | None, account_id: int, now: datetime) -> str | None:
    """The nonce of this browser's device entry for the account, if it has a valid one."""
    return next((entry.nonce for entry in _entries(key, cookie, now) if entry.account_id == account_id), None)


def issue(key: bytes, cookie: str | None, account_id: int, now: datetime) -> str:
    """The cookie value after a complete sign-in of `account_id`: a fresh entry for it first,
    the other accounts' valid entries after, the oldest dropped beyond `MAX_ENTRIES`."""
    fresh = _Entry(account_id, secrets.token_hex(12), int(now.timestamp() // _DAY))
    others = [entry for entry in _entries(key, cookie, now) if entry.account_id != account_id]
    return _SEPARATOR.join(entry.encode(key) for entry in [fresh, *others][:MAX_ENTRIES])
