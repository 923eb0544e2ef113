"""Every authorization refusal in the audit trail, with floods aggregated.

Pages that guard patient data (DMP, e-parcours, FHIR, prevention) and the sign-in write their own
refusal events (outcome `denied`). Every other 401 or 403 — an administration page asked by a
professional, another vendor's solution, a CSRF failure, a bad or missing bearer token, a
non-public page without a sign-in, and a 404 a page marked as a refusal (`note_refusal`: another
vendor's solution, answered "not found" so as not to reveal it exists) — is audited here, by `RefusalAuditMiddleware`, as
`access.refused` (who, from where, `METHOD route-template`, the status, and why when known).

An attacker must not be able to fill the trail: refusals are tallied per actor, source address and
refusal (method, route template, status) per minute (`refusal_tally`, in the database so that every
worker shares it). The first refusal of a minute is written at once; the others of that minute are
counted, and written as one `access.refused.repeated` event with their `count` when the minute has
passed — at the next refusal of anyone, which also purges the tallies of past minutes. So a flood
costs at most two events per actor, source and route per minute.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import datetime
from typing import Any

from sqlalchemy import Column, String, UniqueConstraint, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, SQLModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bouquet.foundation import audit
from bouquet.foundation.db import Database, UtcDateTime, utcnow
from bouquet.web.routing import resolved

log = logging.getLogger(__name__)

REFUSED, REPEATED = "access.refused", "access.refused.repeated"
#: The statuses that are authorization refusals.
STATUSES = (401, 403)
_ERROR = re.compile(r'error="([a-z_]{1,40})"')


class RefusalTally(SQLModel, table=True):
    """Refusals of one actor, from one address, of one kind, in one minute (see the module)."""

    __tablename__ = "refusal_tally"
    __table_args__ = (UniqueConstraint("key_hash", "window_start", name="uq_refusal_tally_key_window"),)

    id: int | None = Field(default=None, primary_key=True)
    key_hash: str = Field(sa_column=Column(String(64), nullable=False))
    window_start: datetime = Field(sa_type=UtcDateTime, index=True)
    actor: str = Field(max_length=200)
    acting_for: str | None = Field(default=None, max_length=200)
    source_ip: str | None = Field(default=None, max_length=64)
    refusal: str = Field(max_length=300, description="'METHOD route-template status'")
    reason: str | None = Field(default=None, max_length=100)
    count: int = 1


def window_of(now: datetime) -> datetime:
    """The minute `now` falls in: refusals are aggregated per minute."""
    return now.replace(second=0, microsecond=0)


def record(db: Database, key: bytes, *, actor: str, acting_for: str | None, source_ip: str | None, method: str,
           route: str, status: int, reason: str | None, request_id: str | None, now: datetime | None = None) -> bool:
    """Tally one refusal (blocking); write `access.refused` if it is the first of its minute, and the
    `access.refused.repeated` counts of past minutes. Returns whether an event was written for it."""
    now = now or utcnow()
    window = window_of(now)
    refusal = f"{method} {route} {status}"[:300]
    key_hash = hashlib.sha256("\x1f".join([actor, acting_for or "", source_ip or "", refusal]).encode()).hexdigest()
    table = RefusalTally
    with db.write() as session:
        closed = session.execute(
            delete(table).where(table.window_start < window)
            .returning(table.actor, table.acting_for, table.source_ip, table.refusal, table.reason, table.count,
                       table.window_start)
            .execution_options(synchronize_session=False)).all()
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        statement = insert(table).values(key_hash=key_hash, window_start=window, actor=actor[:200],
                                         acting_for=acting_for, source_ip=source_ip, refusal=refusal,
                                         reason=reason, count=1)
        count = session.execute(statement.on_conflict_do_update(
            index_elements=["key_hash", "window_start"], set_={"count": table.count + 1})
            .returning(table.count)).scalar_one()
        # The chain lock is taken last, and only when there is something to write.
        for row in closed:
            if row.count > 1:
                _append(session, key, REPEATED, actor=row.actor, acting_for=row.acting_for, source_ip=row.source_ip,
                        refusal=row.refusal, reason=row.reason, request_id=None,
                        extra={"count": row.count - 1, "minute": row.window_start.isoformat()})
        if count == 1:
            _append(session, key, REFUSED, actor=actor, acting_for=acting_for, source_ip=source_ip, refusal=refusal,
                    reason=reason, request_id=request_id, extra={"minute": window.isoformat()})
    return count == 1


def _append(session: Any, key: bytes, action: str, *, actor: str, acting_for: str | None, source_ip: str | None,
            refusal: str, reason: str | None, request_id: str | None, extra: dict[str, Any]) -> None:
    method, _, rest = refusal.partition(" ")
    route, _, status = rest.rpartition(" ")
    details: dict[str, Any] = {"method": method, "status": int(status) if status.isdigit() else status, **extra}
    if reason:
        details["reason"] = reason
    audit.append(session, key, audit.AuditRecord(
        actor=actor, acting_for=acting_for, action=action, outcome="denied", resource=route,
        source_ip=source_ip, request_id=request_id, details=details))


def mark(scope: Scope, reason: str) -> None:
    """Say why this request is being refused (e.g. `csrf`), for its `access.refused` event."""
    scope.setdefault("state", {})["refusal_reason"] = reason


def note_refusal(request: Any, reason: str) -> None:
    """Audit this request as a refusal even though it answers 404 — a page that hides whether a
    thing exists from whom may not see it (another vendor's solution) calls it before answering."""
    mark(request.scope, reason)


class RefusalAuditMiddleware:
    """Audits every 401/403 answer that did not write its own refusal event (see the module)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        written = audit.watch_refusals()
        answer: dict[str, Any] = {}

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                challenge = dict(message.get("headers") or []).get(b"www-authenticate", b"").decode("latin-1")
                if found := _ERROR.search(challenge):
                    answer["reason"] = found.group(1)
            await send(message)

        await self.app(scope, receive, watch)
        status = answer.get("status")
        noted = status == 404 and scope.get("state", {}).get("refusal_reason")
        if (status in STATUSES or noted) and not written:
            await self._audit(scope, answer)

    async def _audit(self, scope: Scope, answer: dict[str, Any]) -> None:
        app = scope["app"]
        state = scope.get("state", {})
        ctx = state.get("ctx")
        account, acting_for = getattr(ctx, "account", None), getattr(ctx, "acting_for", None)
        client = scope.get("client")
        found = resolved(app.router.routes, scope)
        clock = getattr(app.state, "clock", None)
        try:
            await app.state.db.run(
                record, app.state.db, app.state.audit_key,
                actor=account.label if account is not None else "anonymous",
                acting_for=acting_for.label if acting_for is not None else None,
                source_ip=client[0] if client else None, method=scope["method"],
                route=found[0] if found else "unmatched", status=answer["status"],
                reason=state.get("refusal_reason") or answer.get("reason"), request_id=state.get("request_id"),
                now=clock() if clock is not None else None)
        except Exception:
            # The refusal is answered already; a trail that cannot be written must at least be seen in the logs.
            log.exception("could not audit the refusal of %s %s", scope["method"], scope["path"])
