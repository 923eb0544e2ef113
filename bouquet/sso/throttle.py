"""Throttling of guesses (passwords, TOTP codes, recovery codes), counted in the database.

Each guess is charged to several *counters*, a counter being a scope (what is guessed) and a
key (who guesses): the account (or, for a username that matches no account, a hash of that
username, so both behave alike), the source address, or a trusted device (see
`bouquet.sso.devices`).

Only failures count. `begin` checks every counter of a guess in one transaction *before* the
guess is verified and reserves it (`in_flight`); the caller then reports the outcome: `failed`
counts the failure (and may lock), `succeeded` clears the account's counters. A guess being
checked is therefore never a failure — eight colleagues behind one hospital NAT signing in at
the same second all get in — yet parallel guesses on several workers queue on the counters' rows
and cannot together exceed the lock threshold: failures plus guesses in flight stay below
`lock_after`. A reservation whose outcome never came (a worker killed mid-check) lapses after
`IN_FLIGHT_TTL`.

Per counter: the first `free` consecutive failures cost nothing; after that each guess must wait
a delay that doubles from `base_delay` up to `max_delay`, and is answered 429 unverified;
`lock_after` consecutive failures lock the counter for `lock_for`. When a lock expires one guess
is allowed; if it is wrong too, the counter locks again.

Source addresses have their own, much larger policy (`Policy.source`): hundreds of professionals
may share one NAT address, so a source is slowed only after many failures, forgets them after a
quiet `window`, and a success from it does not clear it (else an attacker holding one account
would clear their own address). The trade-off, documented in docs/operations.md: the account
counter is what really stops guessing, so a stranger who keeps guessing an account's password
keeps that account locked on every browser that has no trusted-device cookie for it
(`bouquet.sso.devices`) — the owner's own browsers keep signing in.

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
# A guess is verified in well under a second (argon2); a reservation older than this was abandoned.
IN_FLIGHT_TTL = timedelta(minutes=1)
# Answer to a guess refused because as many are in flight as the lock allows: come back shortly.
IN_FLIGHT_WAIT = timedelta(seconds=2)

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
    in_flight: int = Field(default=0, sa_column_kwargs={"server_default": "0"},
                           description="Guesses being verified right now (not failures until they fail)")
    in_flight_since: datetime | None = Field(default=None, sa_type=UtcDateTime)


@dataclass(frozen=True)
class Policy:
    """How many guesses are free, how the delay grows, when and how long a counter locks."""

    free: int = 3
    lock_after: int = 10
    lock_for: timedelta = timedelta(minutes=15)
    base_delay: timedelta = timedelta(seconds=5)
    max_delay: timedelta = timedelta(minutes=5)
    #: Failures older than this (since the last one) are forgotten; None: only a success clears them.
    window: timedelta | None = None
    #: The policy of source-address counters (`ip:` keys); None: this one.
    source: Policy | None = None
    #: Whether a right guess clears the counter (not for a source address shared by many people).
    cleared_by_success: bool = True

    def delay(self, failures: int) -> timedelta:
        """How long to wait after `failures` consecutive failures before the next guess."""
        if failures < self.free:
            return timedelta(0)
        return min(self.base_delay * 2 ** min(failures - self.free, _MAX_DOUBLINGS), self.max_delay)


    def for_key(self, key: str) -> Policy:
        """The policy of the counter with this key."""
        return self.source if self.source is not None and key.startswith(SOURCE_PREFIX) else self


def source_policy(lock_for: timedelta, free: int = 50) -> Policy:
    """Per-source limits sized for hundreds of professionals behind one address (a hospital's NAT):
    50 failures cost nothing, then 1 s doubling to 30 s, locked after 1,000; forgotten after 15 quiet minutes."""
    return Policy(free=free, lock_after=max(free * 20, 10), lock_for=lock_for, base_delay=timedelta(seconds=1),
                  max_delay=timedelta(seconds=30), window=timedelta(minutes=15), cleared_by_success=False)


def policy_for(settings: Any) -> Policy:
    """The policy of this deployment (the lock duration is the `signin_lock_minutes` setting, the
    failures a source address gets free `signin_source_free_failures`)."""
    lock_for = timedelta(minutes=getattr(settings, "signin_lock_minutes", 15))
    return Policy(lock_for=lock_for,
                  source=source_policy(lock_for, getattr(settings, "signin_source_free_failures", 50)))


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


SOURCE_PREFIX = "ip:"


def source_key(address: str | None) -> str:
    return f"{SOURCE_PREFIX}{(address or 'unknown')[:64]}"


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
    """A guess allowed and being verified (reserved on its counters). After `failed`, `locking`
    lists the counters its failure locked, until `locked_until`."""

    counters: tuple[Counter, ...]
    locking: tuple[Counter, ...] = field(default=())
    locked_until: datetime | None = None


def begin(session: Session, counters: Sequence[Counter], now: datetime, policy: Policy) -> Attempt | Refusal:
    """Check the counters of a guess and, when none refuses, reserve it as in flight (in the
    caller's transaction, which should be `Database.write()` and commit before verifying). The
    caller reports the outcome with `failed` or `succeeded`."""
    rows = [_locked_row(session, scope, key) for scope, key in sorted(set(counters))]
    for row in rows:
        _forget_stale(row, now, policy.for_key(row.key))
    refusals = [refusal for row in rows if (refusal := _refusal(row, now, policy.for_key(row.key)))]
    if refusals:
        for row in rows:
            session.add(row)
        return max(refusals, key=lambda refusal: refusal.retry_at)
    for row in rows:
        row.in_flight += 1
        row.in_flight_since = now
        session.add(row)
    session.flush()
    return Attempt(tuple(counters))


def failed(session: Session, attempt: Attempt, now: datetime, policy: Policy) -> Attempt:
    """The guess was wrong: count it on each of its counters, locking those that reach `lock_after`.
    Returns the attempt with what its failure locked (for the audit trail)."""
    locking: list[Counter] = []
    for scope, key in sorted(set(attempt.counters)):
        row = _locked_row(session, scope, key)
        rules = policy.for_key(key)
        _release(row)
        row.failures += 1
        row.last_attempt_at = now
        if row.failures >= rules.lock_after:
            row.locked_until = now + rules.lock_for
            locking.append((scope, key))
        session.add(row)
    session.flush()
    locked_until = max((now + policy.for_key(key).lock_for for _, key in locking), default=None)
    return Attempt(attempt.counters, tuple(locking), locked_until)


def succeeded(session: Session, counters: Sequence[Counter], policy: Policy | None = None) -> None:
    """A right guess: its counters start again from zero — except those of a policy that a success
    does not clear (a source address), which only release the guess's reservation."""
    policy = policy or Policy(source=source_policy(Policy.lock_for))
    for scope, key in sorted(set(counters)):
        if policy.for_key(key).cleared_by_success:
            session.execute(delete(GuessCounter).where(GuessCounter.scope == scope, GuessCounter.key == key))
            continue
        row = session.exec(select(GuessCounter).where(GuessCounter.scope == scope, GuessCounter.key == key)
                           .with_for_update()).first()
        if row is not None:
            _release(row)
            session.add(row)


def _release(row: GuessCounter) -> None:
    row.in_flight = max(0, row.in_flight - 1)
    if row.in_flight == 0:
        row.in_flight_since = None


def _forget_stale(row: GuessCounter, now: datetime, policy: Policy) -> None:
    """Drop reservations whose outcome never came, and failures older than the policy's window."""
    if row.in_flight and (row.in_flight_since is None or now - row.in_flight_since > IN_FLIGHT_TTL):
        row.in_flight, row.in_flight_since = 0, None
    if (policy.window is not None and row.failures and row.last_attempt_at is not None
            and now - row.last_attempt_at > policy.window
            and (row.locked_until is None or row.locked_until <= now)):
        row.failures, row.locked_until = 0, None


def _refusal(row: GuessCounter, now: datetime, policy: Policy) -> Refusal | None:
    if row.locked_until is not None and now < row.locked_until:
        return Refusal(row.locked_until, locked=True)
    if row.last_attempt_at is not None and row.failures >= policy.free:
        wait_until = row.last_attempt_at + policy.delay(row.failures)
        if now < wait_until:
            return Refusal(wait_until, locked=False)
    # Guesses in flight are held against the lock: together with the failures they stay below it
    # (after a lock has run out, exactly one guess at a time).
    if row.in_flight and (row.failures >= policy.lock_after or row.failures + row.in_flight >= policy.lock_after):
        return Refusal(now + IN_FLIGHT_WAIT, locked=False)
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
