"""Server-side sessions: the cookie holds a 256-bit random token, the database its SHA-256.

A browser gets a session when a sign-in begins (a first factor verified, a passkey or second-factor
challenge stored), never for merely viewing a page: an anonymous visitor's forms get their CSRF
token from a signed cookie instead (`bouquet.web.anonymous`). Signing in replaces the session with
a new one (`rotate`), so a token seen before sign-in is worthless after.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Column, String, update
from sqlmodel import Field, SQLModel, select

from bouquet.foundation.db import Database, UtcDateTime, utcnow

# Touching last_seen_at on every request would turn every page view into a write.
TOUCH_EVERY = timedelta(seconds=30)
# The reason given when a sign-in or step-up replaces a session: the sign-in itself goes on.
ROTATED = "rotated"


class WebSession(SQLModel, table=True):
    """One browser's session. `account_id` is set once both factors are verified."""

    __tablename__ = "web_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    sid: str = Field(default_factory=lambda: secrets.token_urlsafe(16), max_length=64, index=True,
                     description="The sign-in's id, kept across step-ups (the OIDC `sid` of relying parties)")
    account_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    acting_for_id: int | None = Field(default=None, foreign_key="account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    authenticated_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    amr: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    user_agent: str | None = Field(default=None, max_length=300)
    source_ip: str | None = Field(default=None, max_length=64)
    ended_at: datetime | None = Field(default=None, sa_type=UtcDateTime, index=True)
    ended_reason: str | None = Field(default=None, max_length=100)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class Timeouts:
    idle: timedelta
    absolute: timedelta


@dataclass
class BrowserSession:
    """The session of the current request: the row, plus the raw token when it must be (re)sent."""

    row: WebSession
    new_token: str | None = None
    dirty: bool = False

    @property
    def account_id(self) -> int | None:
        return self.row.account_id

    def get(self, key: str, default: Any = None) -> Any:
        return self.row.data.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.row.data = {**self.row.data, key: value}
        self.dirty = True

    def pop(self, key: str, default: Any = None) -> Any:
        if key not in self.row.data:
            return default
        data = dict(self.row.data)
        value = data.pop(key)
        self.row.data = data
        self.dirty = True
        return value

    def flash(self, message: str, level: str = "info") -> None:
        """A message shown once on the next page (levels: info, success, warning, error)."""
        self.set("_flashes", [*self.get("_flashes", []), {"message": message, "level": level}])

    def take_flashes(self) -> list[dict[str, str]]:
        return self.pop("_flashes", [])


class SessionStore:
    """Creates, finds, rotates and ends sessions. All methods block: call them off the event loop."""

    def __init__(self, db: Database, timeouts: Timeouts, plugins: Any = None) -> None:
        self.db = db
        self.timeouts = timeouts
        self.plugins = plugins

    def create(self, *, account_id: int | None = None, amr: list[str] | None = None,
               user_agent: str | None = None, source_ip: str | None = None,
               data: dict[str, Any] | None = None, acting_for_id: int | None = None,
               sid: str | None = None) -> BrowserSession:
        token = secrets.token_urlsafe(32)
        now = utcnow()
        row = WebSession(
            token_hash=hash_token(token), sid=sid or secrets.token_urlsafe(16), account_id=account_id,
            amr=amr or [], data=data or {},
            authenticated_at=now if account_id else None, user_agent=(user_agent or "")[:300] or None,
            source_ip=source_ip, acting_for_id=acting_for_id, created_at=now, last_seen_at=now,
        )
        with self.db.session() as session:
            session.add(row)
        return BrowserSession(row, new_token=token)

    def load(self, token: str | None) -> BrowserSession | None:
        """The live session for this cookie value, or None (unknown, ended, idle or too old)."""
        if not token or len(token) > 100:
            return None
        now = utcnow()
        with self.db.session() as session:
            row = session.exec(select(WebSession).where(WebSession.token_hash == hash_token(token))).first()
        if row is None or row.ended_at is not None:
            return None
        expired = self._expiry_reason(row, now)
        if expired:
            self.end(row.id, expired)
            return None
        if now - row.last_seen_at > TOUCH_EVERY:
            # A write transaction of its own (on SQLite, BEGIN IMMEDIATE waits its turn): upgrading the
            # read above to a write fails at once with "database is locked" when another request
            # wrote meanwhile, as a page's parallel panel requests do.
            with self.db.write() as session:
                session.execute(update(WebSession).where(WebSession.id == row.id, WebSession.last_seen_at < now)
                                .values(last_seen_at=now))
            row.last_seen_at = now
        return BrowserSession(row)

    def ended_reason(self, token: str | None) -> str | None:
        """Why the session of this cookie value ended, if it did (to tell its owner on the sign-in page)."""
        if not token or len(token) > 100:
            return None
        with self.db.session() as session:
            row = session.exec(select(WebSession).where(WebSession.token_hash == hash_token(token))).first()
            return row.ended_reason if row is not None and row.ended_at is not None else None

    def _expiry_reason(self, row: WebSession, now: datetime) -> str | None:
        if now - row.last_seen_at > self.timeouts.idle:
            return "idle_timeout"
        if now - row.created_at > self.timeouts.absolute:
            return "absolute_timeout"
        return None

    def save(self, browser: BrowserSession) -> None:
        """Persist what the request changed in the session's data."""
        if not browser.dirty:
            return
        with self.db.session() as session:
            session.execute(update(WebSession).where(WebSession.id == browser.row.id).values(data=browser.row.data))
        browser.dirty = False

    def rotate(self, browser: BrowserSession, *, account_id: int | None, amr: list[str],
               acting_for_id: int | None = None, keep: tuple[str, ...] = ()) -> BrowserSession:
        """End this session and start a new one (new token) for a sign-in or a step-up.

        A step-up (same account) keeps the sign-in's `sid`, so relying parties stay signed in.
        """
        data = {key: browser.row.data[key] for key in keep if key in browser.row.data}
        same_sign_in = browser.row.account_id is not None and browser.row.account_id == account_id
        self.end(browser.row.id, ROTATED)
        return self.create(account_id=account_id, amr=amr, user_agent=browser.row.user_agent,
                           source_ip=browser.row.source_ip, data=data, acting_for_id=acting_for_id,
                           sid=browser.row.sid if same_sign_in else None)

    def set_acting_for(self, session_id: int | None, account_id: int | None) -> None:
        """Record whom a secretary's live session acts for (None: nobody). The caller checks the delegation."""
        with self.db.session() as session:
            session.execute(update(WebSession).where(WebSession.id == session_id, WebSession.ended_at.is_(None))
                            .values(acting_for_id=account_id))

    def end(self, session_id: int | None, reason: str) -> None:
        """End one session (sign-out, timeout, rotation…)."""
        self._end(WebSession.id == session_id, reason)

    def end_all(self, account_id: int, reason: str, except_id: int | None = None) -> int:
        """End every live session of an account (sign-out everywhere, admin action, factor reset)."""
        condition = WebSession.account_id == account_id
        if except_id is not None:
            condition = condition & (WebSession.id != except_id)
        return self._end(condition, reason)

    def _end(self, condition: Any, reason: str) -> int:
        with self.db.session() as session:
            ended = session.execute(
                update(WebSession).where(condition, WebSession.ended_at.is_(None))
                .values(ended_at=utcnow(), ended_reason=reason)
                .returning(WebSession.account_id, WebSession.sid)).all()
        signed_in = [(account_id, sid) for account_id, sid in ended if account_id is not None]
        if signed_in and reason != ROTATED and self.plugins is not None:
            # Relying parties signed in through these sessions are told (back-channel logout).
            for account_id, sid in signed_in:
                self.plugins.call("bouquet_session_ended", db=self.db, account_id=account_id, sid=sid, reason=reason)
        return len(ended)

    def live_for(self, account_id: int) -> list[WebSession]:
        now = utcnow()
        with self.db.session() as session:
            rows = session.exec(select(WebSession).where(WebSession.account_id == account_id,
                                                         WebSession.ended_at.is_(None))
                                .order_by(WebSession.last_seen_at.desc())).all()
        return [row for row in rows if not self._expiry_reason(row, now)]


def cookie_name(https: bool) -> str:
    # The __Host- prefix pins the cookie to this exact origin (no Domain, Path=/, Secure).
    return "__Host-bouquet" if https else "bouquet_session"
