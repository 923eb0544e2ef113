"""The audit trail: an append-only, hash-chained record of every access to patient data.

Appending never waits on other writers. An event is inserted with a MAC over its fields
(`mac`: HMAC-SHA256 under the audit key), in the caller's transaction, and nothing else: no
shared row is locked, so audited requests in every worker on every host run side by side.
Committed events are then chained by one **sealer** at a time, in the order it finds them (as a
transparency log sequences its entries): each gets its position (`chain_seq`, 1, 2, 3… without
gaps) and a link `hash = HMAC(key, prev_hash:chain_seq:mac)` to the event before it. The sealer
runs in every worker every second (`AuditSealer`); on PostgreSQL a sealer that finds the chain
head locked by another skips its turn (`SKIP LOCKED`), on SQLite the write lock serialises them.

`bouquet audit verify` seals what is pending, then walks the chain: an edited event (its MAC or
its link no longer matches), a deleted one (a gap), an inserted one (no MAC without the key, or a
broken link) and reordered ones (broken links) are named. Events still pending when `verify`
reads them are checked by their MAC: until sealed (about a second), deleting one goes unnoticed —
the price of never serialising requests, like a transparency log's merge delay.

Events chained before this design (migration 0013) keep their seal (`mac` empty, `hash` over the
fields and the previous hash) and stay verifiable; new events chain after them.
"""

from __future__ import annotations

import asyncio
import getpass
import hashlib
import hmac
import json
import logging
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Integer, String, Text, create_engine, func, type_coerce, update
from sqlalchemy import select as sa_select
from sqlmodel import Field, Session, SQLModel, select

from bouquet.foundation.db import Database, UtcDateTime, utcnow

GENESIS = "0" * 64
#: How often each worker's sealer looks for events to chain, and how many it chains at once.
SEAL_EVERY_SECONDS = 1.0
SEAL_BATCH = 5_000

log = logging.getLogger("bouquet.audit")
#: Outcomes that record a refusal (`bouquet.web.refusals` audits any 401/403 that wrote none).
REFUSAL_OUTCOMES = frozenset({"denied"})
# The refusals audited during the current request (a list shared with the worker threads it uses).
_refusals_written: ContextVar[list[str] | None] = ContextVar("bouquet_refusals_written", default=None)


def watch_refusals() -> list[str]:
    """Start noting, for the current request, the refusals written to the trail (their actions)."""
    written: list[str] = []
    _refusals_written.set(written)
    return written


class AuditEvent(SQLModel, table=True):
    """One thing that happened: who (for whom) did what to which patient's data, and how it ended."""

    __tablename__ = "audit_event"

    seq: int | None = Field(default=None, primary_key=True,
                            description="Insertion order (a rolled-back transaction leaves a gap: its event never existed)")
    at: datetime = Field(sa_type=UtcDateTime)
    actor: str = Field(max_length=200, description="Account that acted, e.g. 'account:12 (Dr Martin)'")
    acting_for: str | None = Field(default=None, max_length=200, description="Principal of a secretary")
    patient_ins: str | None = Field(default=None, max_length=80, index=True, description="'<oid>|<matricule>'")
    action: str = Field(max_length=100, index=True)
    resource: str | None = Field(default=None, max_length=300)
    outcome: str = Field(max_length=40, description="success, denied, failure, …")
    source_ip: str | None = Field(default=None, max_length=64)
    request_id: str | None = Field(default=None, max_length=64)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    mac: str | None = Field(default=None, sa_column=Column(String(64), nullable=True),
                            description="HMAC of the fields, set at insertion (empty for events sealed before 0013)")
    chain_seq: int | None = Field(default=None, sa_column=Column(Integer, nullable=True, unique=True, index=True),
                                  description="Position in the chain, 1, 2, 3… without gaps; empty until sealed")
    prev_hash: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    hash: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))


class AuditChain(SQLModel, table=True):
    """The head of the chain: the last position and link. The sealer locks its one row."""

    __tablename__ = "audit_chain"

    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    last_hash: str = Field(default=GENESIS, sa_column=Column(Text, nullable=False))


@dataclass(frozen=True)
class AuditRecord:
    """What a caller says about an event; the trail adds the time, the MAC and, later, the link."""

    actor: str
    action: str
    outcome: str = "success"
    acting_for: str | None = None
    patient_ins: str | None = None
    resource: str | None = None
    source_ip: str | None = None
    request_id: str | None = None
    details: dict[str, Any] | None = None


_FIELDS = ("at", "actor", "acting_for", "patient_ins", "action", "resource", "outcome", "source_ip", "request_id",
           "details")


def _payload(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def _field_values(row: Any) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in _FIELDS}
    values["at"] = row.at.isoformat(timespec="microseconds")
    values["details"] = row.details or {}
    return values


def _mac(key: bytes, row: Any) -> str:
    """HMAC-SHA256 of the event's fields: a JSON array in a fixed order (unambiguous field boundaries)."""
    values = ["v1", row.at.isoformat(timespec="microseconds"), *(getattr(row, name) for name in _FIELDS[1:-1]),
              row.details or {}]
    payload = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hmac.digest(key, payload.encode(), "sha256").hex()


def _link(key: bytes, prev_hash: str, position: int, mac: str) -> str:
    return hmac.digest(key, f"{prev_hash}:{position}:{mac}".encode(), "sha256").hex()


def _legacy_seal(key: bytes, prev_hash: str, row: Any) -> str:
    """The seal of an event chained before migration 0013 (its fields with its seq, after the previous hash)."""
    fields = {**_field_values(row), "seq": row.seq}
    return hmac.new(key, prev_hash.encode() + _payload(fields), hashlib.sha256).hexdigest()


def append(session: Session, key: bytes, record: AuditRecord) -> AuditEvent:
    """Add `record` to the trail inside the caller's transaction (it is kept only if that commits).

    Takes no lock: the event is chained after the commit, by the sealer (`seal`).
    """
    event = AuditEvent(
        at=utcnow(), actor=record.actor, acting_for=record.acting_for, patient_ins=record.patient_ins,
        action=record.action, resource=record.resource, outcome=record.outcome, source_ip=record.source_ip,
        request_id=record.request_id, details=record.details or {},
    )
    event.mac = _mac(key, event)
    session.add(event)
    session.flush()
    if record.outcome in REFUSAL_OUTCOMES and (written := _refusals_written.get()) is not None:
        written.append(record.action)
    return event


def seal(db: Database, key: bytes, limit: int = SEAL_BATCH) -> int:
    """Chain the committed events not chained yet, oldest insertion first; returns how many.

    One sealer at a time: on PostgreSQL, a sealer that finds the head locked returns 0 at once.
    """
    with db.session() as session:
        if session.exec(select(AuditEvent.seq).where(AuditEvent.chain_seq.is_(None)).limit(1)).first() is None:
            return 0
    with db.write() as session:
        head = session.exec(select(AuditChain).where(AuditChain.id == 1).with_for_update(skip_locked=True)).first()
        if head is None:
            return 0
        if not _holds_the_key(session, key, head):
            log.error("audit sealer: this key does not match the audit chain (BOUQUET_AUDIT_KEY or "
                      "BOUQUET_SECRET_KEY differs from the one that chained it): nothing chained")
            return 0
        rows = session.exec(select(AuditEvent.seq, AuditEvent.mac).where(AuditEvent.chain_seq.is_(None))
                            .order_by(AuditEvent.seq).limit(limit)).all()
        position, last, links = head.seq, head.last_hash, []
        for seq, mac in rows:
            position += 1
            link = _link(key, last, position, mac or "")
            links.append({"seq": seq, "chain_seq": position, "prev_hash": last, "hash": link})
            last = link
        if links:
            session.execute(update(AuditEvent), links)
            head.seq, head.last_hash = position, last
            session.add(head)
        return len(links)


def _holds_the_key(session: Session, key: bytes, head: AuditChain) -> bool:
    """Whether `key` is the chain's: the last link recomputes (or, on an empty chain, the first pending
    event's MAC does). A sealer with another key would otherwise chain events under a wrong key."""
    if head.seq:
        last = session.connection().execute(sa_select(*_COLUMNS).where(_TABLE.c.chain_seq == head.seq)).first()
        if last is None or last.prev_hash is None:
            return False
        expected = _legacy_seal(key, last.prev_hash, last) if last.mac is None else _link(key, last.prev_hash, head.seq, last.mac)
        return hmac.compare_digest(expected, head.last_hash)
    first = session.connection().execute(sa_select(*_COLUMNS).where(_TABLE.c.chain_seq.is_(None))
                                         .order_by(_TABLE.c.seq).limit(1)).first()
    return first is None or (first.mac is not None and hmac.compare_digest(first.mac, _mac(key, first)))


def seal_all(db: Database, key: bytes) -> int:
    """Chain every pending event (a command's `audit verify`, tests); returns how many."""
    total = 0
    while count := seal(db, key):
        total += count
    return total


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of `verify`: how many events were checked, and the first broken one if any."""

    checked: int
    broken_seq: int | None = None
    reason: str | None = None
    pending: int = 0

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


_TABLE = AuditEvent.__table__  # type: ignore[attr-defined]
# Core columns: `verify` reads plain rows through the connection, without the ORM's per-row work.
_COLUMNS = tuple(_TABLE.c[name] for name in ("seq", "chain_seq", "mac", "prev_hash", "hash", *_FIELDS))
# The same for the chain walk, the time as stored (naive UTC): `_walk` adds the zone itself.
_WALK_COLUMNS = tuple(type_coerce(column, DateTime()).label("at") if column.name == "at" else column
                      for column in _COLUMNS)
#: `_mac`'s JSON encoding, built once.
_MAC_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
_HEAD = AuditChain.__table__  # type: ignore[attr-defined]


#: From how many chained events `verify` spreads the walk over processes (below, one is faster).
PARALLEL_FROM = 200_000
#: Chained events per parallel task (each task reads its range in `batch`-sized pages).
TASK_EVENTS = 250_000


def verify(session: Session, key: bytes, batch: int = 20_000, *, processes: int | None = None,
           task_events: int | None = None) -> VerifyResult:
    """Walk the chain and report the first event whose content, position or link is wrong; then check
    the MAC of every event not chained yet. Reads plain rows, never ORM objects.

    With `processes` > 1 (by default: every CPU once the chain holds `PARALLEL_FROM` events, on a
    database other processes can open), the chain is cut into ranges of `task_events` positions that
    worker processes verify side by side: each range starts from the stored link of the event just
    before it (whose own seal the previous range checks), so every event's position, MAC and link
    are checked exactly as by a single walk, and the first broken event is the one reported.
    """
    connection = session.connection()
    head = connection.execute(sa_select(_HEAD.c.seq, _HEAD.c.last_hash).where(_HEAD.c.id == 1)).first()
    if head is None:
        return VerifyResult(0, 0, "the chain head row is missing")
    url, task_events = _shareable_url(connection), task_events or TASK_EVENTS
    if processes is None:
        processes = (os.cpu_count() or 1) if head.seq >= PARALLEL_FROM else 1
    if processes > 1 and url is not None and head.seq > task_events:
        walked = _walk_in_parallel(connection, url, key, head.seq, batch, processes, task_events)
        if walked.failure is not None:
            return walked.failure
        # Events chained since the head was read (a live sealer) are walked here, after the ranges.
        walked = _walk(_rows(connection, batch, chained=True, after=head.seq), key, head.seq + 1,
                       walked.prev_hash, checked=walked.checked)
    else:
        walked = _walk(_rows(connection, batch, chained=True), key, 1, GENESIS)
    if walked.failure is not None:
        return walked.failure
    checked, prev_hash = walked.checked, walked.prev_hash
    head = connection.execute(sa_select(_HEAD.c.seq, _HEAD.c.last_hash).where(_HEAD.c.id == 1)).first()
    if head is None:
        return VerifyResult(checked, 0, "the chain head row is missing")
    if head.seq != checked or head.last_hash != prev_hash:
        return VerifyResult(checked, checked + 1, f"event #{checked + 1} onwards were removed (the head records #{head.seq})")
    pending = 0
    for row in _rows(connection, batch, chained=False):
        if row.mac is None or not hmac.compare_digest(row.mac, _mac(key, row)):
            return VerifyResult(checked, checked + 1, f"an event not chained yet (insertion #{row.seq}) was altered "
                                                      "or forged (its MAC does not match its content)", pending)
        pending += 1
    return VerifyResult(checked, pending=pending)


@dataclass(frozen=True)
class _Walked:
    """How far a walk got: the events checked, the last link, or the first broken event."""

    checked: int
    prev_hash: str
    failure: VerifyResult | None = None
    last_position: int = 0


def _walk(rows: Iterator[Any], key: bytes, expected: int, prev_hash: str, *, checked: int = 0,
          until: int | None = None) -> _Walked:
    """Check `rows` (`_rows(chained=True)`, in chain order) from position `expected`, the previous link
    being `prev_hash`; stop after position `until` if given. Each event's position, link and seal.

    The hot loop of `verify`: the MAC is `_mac`'s, computed from the row's plain values (its time read
    without the time-zone conversion, the JSON encoder built once)."""
    encode, digest, same = _MAC_ENCODER.encode, hmac.digest, hmac.compare_digest
    for (_seq, chain_seq, mac, row_prev, row_hash, at, actor, acting_for, patient_ins, action, resource, outcome,
         source_ip, request_id, details) in rows:
        if until is not None and chain_seq > until:
            break
        if chain_seq != expected:
            missing = "missing" if chain_seq > expected else "duplicated"
            return _Walked(checked, prev_hash, VerifyResult(checked, expected, f"event #{expected} is {missing} "
                                                                              f"(found #{chain_seq} next)"))
        if row_prev != prev_hash:
            return _Walked(checked, prev_hash, VerifyResult(checked, expected, f"event #{expected} does not link to "
                                                                              f"event #{expected - 1}"))
        if mac is None:
            legacy = SimpleNamespace(seq=_seq, at=at.replace(tzinfo=UTC), actor=actor, acting_for=acting_for,
                                     patient_ins=patient_ins, action=action, resource=resource, outcome=outcome,
                                     source_ip=source_ip, request_id=request_id, details=details)
            intact = same(row_hash or "", _legacy_seal(key, prev_hash, legacy))
        else:
            # `_mac`: the time as an aware UTC datetime's isoformat (the column holds naive UTC).
            payload = encode(["v1", at.isoformat(timespec="microseconds") + "+00:00", actor, acting_for, patient_ins,
                              action, resource, outcome, source_ip, request_id, details or {}])
            intact = (same(mac, digest(key, payload.encode(), "sha256").hex())
                      and same(row_hash or "", digest(key, f"{prev_hash}:{expected}:{mac}".encode(), "sha256").hex()))
        if not intact:
            return _Walked(checked, prev_hash, VerifyResult(checked, expected, f"event #{expected} was altered (its seal "
                                                                              "does not match its content)"))
        prev_hash, expected, checked = row_hash, expected + 1, checked + 1
    return _Walked(checked, prev_hash, last_position=expected - 1)


def _shareable_url(connection: Any) -> str | None:
    """The database's URL if other processes can open it (not an in-memory SQLite)."""
    url = connection.engine.url
    if url.get_backend_name() == "sqlite" and (not url.database or url.database == ":memory:"
                                               or "mode=memory" in str(url)):
        return None
    return url.render_as_string(hide_password=False)


def _walk_in_parallel(connection: Any, url: str, key: bytes, last: int, batch: int, processes: int, task_events: int) -> _Walked:
    """Positions 1..`last` in ranges of `task_events`, verified by `processes` worker processes; the
    ranges' results are read in chain order, so the first broken event found is the earliest."""
    ranges = [(first, min(first + task_events - 1, last)) for first in range(1, last + 1, task_events)]
    # Forked workers start at once (a spawned one re-imports the app: seconds each). A child never uses
    # the connections it inherits: it opens its own, and leaves with os._exit (nothing of the parent's
    # is closed or sent on its behalf).
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    checked, prev_hash = 0, GENESIS
    with ProcessPoolExecutor(max_workers=min(processes, len(ranges)), mp_context=context) as pool:
        futures = [pool.submit(_verify_range, url, key, first, end, batch) for first, end in ranges]
        try:
            for (first, end), future in zip(ranges, futures, strict=True):
                walked = future.result()
                if walked.failure is not None:
                    return _Walked(checked + walked.checked, prev_hash,
                                   replace(walked.failure, checked=checked + walked.checked))
                if walked.last_position != end:  # the range stopped short: its last events are gone
                    position = walked.last_position + 1
                    following = connection.execute(sa_select(func.min(_TABLE.c.chain_seq))
                                                   .where(_TABLE.c.chain_seq > position)).scalar()
                    reason = (f"event #{position} is missing (found #{following} next)" if following is not None
                              else f"event #{position} onwards were removed (the head records #{last})")
                    return _Walked(checked + walked.checked, walked.prev_hash,
                                   VerifyResult(checked + walked.checked, position, reason))
                checked, prev_hash = checked + walked.checked, walked.prev_hash
        finally:
            for future in futures:
                future.cancel()
    return _Walked(checked, prev_hash, last_position=last)


# One engine per worker process and database (keyed by process id too: a forked child must never
# use an engine it inherited, whose connections are its parent's).
_engines: dict[tuple[int, str], Any] = {}


def _verify_range(url: str, key: bytes, first: int, last: int, batch: int) -> _Walked:
    """In a worker process: verify positions `first`..`last`, starting from the stored link of event
    `first - 1` (the range before checks that event's own seal)."""
    engine = _engines.get((os.getpid(), url))
    if engine is None:
        engine = _engines[os.getpid(), url] = create_engine(url, pool_size=1)
    with engine.connect() as connection:
        prev_hash = GENESIS
        if first > 1:
            before = connection.execute(sa_select(_TABLE.c.hash).where(_TABLE.c.chain_seq == first - 1)).first()
            prev_hash = before.hash if before is not None and before.hash is not None else ""
        return _walk(_rows(connection, batch, chained=True, after=first - 1), key, first, prev_hash, until=last)


def _rows(connection: Any, batch: int, *, chained: bool, after: int | None = None) -> Iterator[Any]:
    """The events in chain order (or, not chained yet, in insertion order), `batch` rows per query,
    from after position `after`; plain rows through the connection, without the ORM's per-row work."""
    order = _TABLE.c.chain_seq if chained else _TABLE.c.seq
    where = _TABLE.c.chain_seq.is_not(None) if chained else _TABLE.c.chain_seq.is_(None)
    last = after
    while True:
        query = sa_select(*(_WALK_COLUMNS if chained else _COLUMNS)).where(where).order_by(order).limit(batch)
        if last is not None:
            query = query.where(order > last)
        rows = connection.execute(query).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].chain_seq if chained else rows[-1].seq


class AuditSealer:
    """Chains pending events every `SEAL_EVERY_SECONDS` in the background of one worker (started and
    stopped with the app). Any number of workers may run one; they never wait on each other."""

    def __init__(self, db: Database, key: bytes, every: float = SEAL_EVERY_SECONDS) -> None:
        self.db, self.key, self.every = db, key, every
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        self._stopping = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop after the round in progress: a round is never cut off while it holds a connection
        (the app disposes of its database right after)."""
        if self._task is not None:
            self._stopping.set()
            await self._task
            self._task = None

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                while await self.db.run(seal, self.db, self.key) == SEAL_BATCH and not self._stopping.is_set():
                    pass
            except Exception:  # the database is away: try again next turn, never stop sealing
                log.exception("audit sealer: chaining pending events failed; retrying")
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=self.every)
            except TimeoutError:
                pass


class Auditor:
    """Writes audit events for one actor in one request; handed to plugins as `ctx.audit`."""

    def __init__(self, db: Database, key: bytes, *, actor: str, acting_for: str | None = None,
                 source_ip: str | None = None, request_id: str | None = None) -> None:
        self.db, self.key = db, key
        self.actor, self.acting_for = actor, acting_for
        self.source_ip, self.request_id = source_ip, request_id

    def record(self, action: str, *, outcome: str = "success", patient_ins: str | None = None,
               resource: str | None = None, details: dict[str, Any] | None = None) -> AuditRecord:
        return AuditRecord(
            actor=self.actor, acting_for=self.acting_for, action=action, outcome=outcome,
            patient_ins=patient_ins, resource=resource, source_ip=self.source_ip,
            request_id=self.request_id, details=details,
        )

    def write_in(self, session: Session, action: str, **fields: Any) -> AuditEvent:
        """Append inside the caller's transaction: the event exists only if the change does."""
        return append(session, self.key, self.record(action, **fields))

    def write(self, action: str, **fields: Any) -> AuditEvent:
        """Append in a transaction of its own (blocking: from async code, use `log`)."""
        with self.db.write() as session:
            return append(session, self.key, self.record(action, **fields))

    async def log(self, action: str, **fields: Any) -> AuditEvent:
        """Append in a transaction of its own, off the event loop."""
        return await self.db.run(self.write, action, **fields)


def cli_actor() -> str:
    """How the audit trail names an operator at the command line."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in a bare container
        return "cli"
