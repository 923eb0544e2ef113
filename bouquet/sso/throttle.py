"""Throttling of guesses (passwords, TOTP codes, recovery codes), counted in the database.

Each guess is charged to several *counters*, a counter being a scope (what is guessed) and a
key (who guesses): the account (or, for a username that matches no account, a hash of that
username, so both behave alike), the source address, or a trusted device (see
`bouquet.sso.devices`). `begin` checks and increments every counter of a guess in one
transaction *before* the guess is verified, so parallel guesses on several workers queue on the
counters' rows instead of slipping between the check and the count; a right guess then clears
its counters (`succeeded`).

Per counter: the first `free` consecutive failures cost nothing; after that each guess must wait
a delay that doubles from `base_delay` up to `max_delay`, and is answered 429 unverified;
`lock_after` consecutive failures lock the counter for `lock_for`. When a lock expires one guess
is allowed; if it is wrong too, the counter locks again.

Time is passed in (`now`) so that tests move a clock instead of sleeping; the web endpoints take
it from `current_time(app.state)`.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, String, UniqueConstraint, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel, select

from bouquet.foundation.db import UtcDateTime, utcnow

PASSWORD, OTP, RECOVERY, CONFIRM = "password", "otp", "recovery", "confirm"
# Which counters `lock_status` reports: the account-wide ones a stranger or a thief may trip.
ACCOUNT_SCOPES = (PASSWORD, OTP, RECOVERY, CONFIRM)
# Exponent cap: the delay reaches max_delay long before, and 2**large would overflow timedelta.
_MAX_DOUBLINGS = 20

Counter = tuple[str, str]


class GuessCounter(SQLModel, table=True):
    """Consecutive failed guesses of one kind (`scope`) by one guesser (`key`)."""

    __tablename__ = "guess_counter"
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_guess_counter_scope_key"),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(sa_column=Column(String(20), nullable=False))
    key: str = Field(sa_column=Column(String(100), nullable=False))
    failures: int = 0
    last_attempt_at: datetime | None = Field(default=None, sa_type=UtcDateTime, index=True)
    locked_until: datetime | None = Field(default=None, sa_type=UtcDateTime)


@dataclass(frozen=True)
class Policy:
    """How many guesses are free, how the delay grows, when and how long a counter locks."""

    free: int = 3
    lock_after: int = 10
    lock_for: timedelta = timedelta(minutes=15)
    base_delay: timedelta = timedelta(seconds=5)
    max_delay: timedelta = timedelta(minutes=5)

    def delay(self, failures: int) -> timedelta:
        """How long to wait after `failures` consecutive failures before the next guess."""
        if failures < self.free:
            return timedelta(0)
        return min(self.base_delay * 2 ** min(failures - self.free, _MAX_DOUBLINGS), self.max_delay)


def policy_for(settings: Any) -> Policy:
    """The policy of this deployment (the lock duration is the `signin_lock_minutes` setting)."""
    return Policy(lock_for=timedelta(minutes=getattr(settings, "signin_lock_minutes", 15)))


def current_time(app_state: Any) -> datetime:
    """The time sign-in checks use: `app.state.clock()` when set (tests move it), else now."""
    clock = getattr(app_state, "clock", None)
    return clock() if clock is not None else utcnow()


# --- counter keys ------------------------------------------------------------------------------

def account_key(account_id: int) -> str:
    return f"account:{account_id}"


def username_key(username: str) -> str:
    """The key of a username that matches no account (hashed: people type passwords there too)."""
    return "name:" + hashlib.sha256(username.encode()).hexdigest()[:40]


def source_key(address: str | None) -> str:
    return f"ip:{(address or 'unknown')[:64]}"


def device_key(nonce: str) -> str:
    return f"device:{nonce[:64]}"


# --- attempts ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Refusal:
    """A guess refused before verification: when the next one may come, and whether it is a lock."""

    retry_at: datetime
    locked: bool

    def retry_after(self, now: datetime) -> int:
        """Seconds until the next guess is allowed (for the Retry-After header)."""
        return max(1, math.ceil((self.retry_at - now).total_seconds()))

    def message(self, now: datetime) -> str:
        wait = _french_duration(self.retry_after(now))
        if self.locked:
            return (f"Trop de tentatives incorrectes : la vérification est bloquée par sécurité. "
                    f"Réessayez dans {wait}.")
        return f"Trop de tentatives en peu de temps. Réessayez dans {wait}."


@dataclass(frozen=True)
class Attempt:
    """A guess allowed and already counted as a failure; `locking` lists the counters it locks
    (until `locked_until`) unless it turns out right."""

    counters: tuple[Counter, ...]
    locking: tuple[Counter, ...] = field(default=())
    locked_until: datetime | None = None


def begin(session: Session, counters: Sequence[Counter], now: datetime, policy: Policy) -> Attempt | Refusal:
    """Check the counters of a guess and, when none refuses, count the guess as failed (in the
    caller's transaction, which should be `Database.write()` and commit before verifying)."""
    rows = [_locked_row(session, scope, key) for scope, key in sorted(set(counters))]
    refusals = [refusal for row in rows if (refusal := _refusal(row, now, policy))]
    if refusals:
        return max(refusals, key=lambda refusal: refusal.retry_at)
    locking: list[Counter] = []
    for row in rows:
        row.failures += 1
        row.last_attempt_at = now
        if row.failures >= policy.lock_after:
            # Locked in advance: parallel guesses are refused while this one is being verified.
            row.locked_until = now + policy.lock_for
            locking.append((row.scope, row.key))
        session.add(row)
    session.flush()
    return Attempt(tuple(counters), tuple(locking), now + policy.lock_for if locking else None)


def succeeded(session: Session, counters: Sequence[Counter]) -> None:
    """A right guess: its counters start again from zero."""
    for scope, key in set(counters):
        session.execute(delete(GuessCounter).where(GuessCounter.scope == scope, GuessCounter.key == key))


def _refusal(row: GuessCounter, now: datetime, policy: Policy) -> Refusal | None:
    if row.locked_until is not None and now < row.locked_until:
        return Refusal(row.locked_until, locked=True)
    if row.last_attempt_at is not None and row.failures >= policy.free:
        wait_until = row.last_attempt_at + policy.delay(row.failures)
        if now < wait_until:
            return Refusal(wait_until, locked=False)
    return None


def _locked_row(session: Session, scope: str, key: str) -> GuessCounter:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # Insert-if-missing then lock: two workers creating the same counter cannot both insert it.
    session.execute(insert(GuessCounter).values(scope=scope, key=key, failures=0)
                    .on_conflict_do_nothing(index_elements=["scope", "key"]))
    return session.exec(select(GuessCounter).where(GuessCounter.scope == scope, GuessCounter.key == key)
                        .with_for_update()).one()


# --- what administrators see -----------------------------------------------------------------

@dataclass(frozen=True)
class LockStatus:
    """An account's throttling state: consecutive failures and running lock, per scope."""

    failures: dict[str, int]
    locked_until: dict[str, datetime]

    @property
    def locked(self) -> bool:
        return bool(self.locked_until)

    @property
    def until(self) -> datetime | None:
        """When the last running lock ends."""
        return max(self.locked_until.values()) if self.locked_until else None


def lock_status(session: Session, account_id: int, now: datetime | None = None) -> LockStatus:
    """Whether guesses on the account are locked, and its consecutive failures per scope
    (password, otp, recovery, confirm). A trusted device's own counter is not included."""
    now = now or utcnow()
    rows = session.exec(select(GuessCounter).where(GuessCounter.key == account_key(account_id),
                                                   GuessCounter.scope.in_(ACCOUNT_SCOPES))).all()
    return LockStatus(
        failures={row.scope: row.failures for row in rows if row.failures},
        locked_until={row.scope: row.locked_until for row in rows
                      if row.locked_until is not None and now < row.locked_until},
    )


def unlock(session: Session, account_id: int) -> int:
    """Clear the account's counters (an administrator's decision); returns how many were cleared."""
    return session.execute(delete(GuessCounter).where(GuessCounter.key == account_key(account_id))).rowcount


def prune(session: Session, now: datetime, idle: timedelta = timedelta(days=1)) -> int:
    """Delete counters untouched for `idle` and not locked (guesses at random usernames leave many)."""
    cutoff = now - idle
    return session.execute(delete(GuessCounter).where(
        GuessCounter.last_attempt_at < cutoff,
        (GuessCounter.locked_until.is_(None)) | (GuessCounter.locked_until < now),
    )).rowcount


def _french_duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} seconde{'s' if seconds > 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes > 1 else ''}"
