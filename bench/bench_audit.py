"""The audit trail: appends/s from two worker processes, and `audit verify` over millions of events.

Appends: two processes (as two uvicorn workers would be), each with `--concurrency` threads, append one
event per transaction for `--seconds`, on PostgreSQL and SQLite. The peer, measured in the same run, is
the previous design (every append locks the single chain-head row until its commit), reproduced here
as `serialised_append`. After each run the events are chained and verified: none may be lost.

Verify: `--events` chained events are written directly (MACs and links computed as the sealer does),
then `bouquet.foundation.audit.verify` walks them; the figure is events per second and the time.

    python bench/bench_audit.py [--seconds 10] [--concurrency 8] [--events=10000000] [--backends …]
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import insert, text, update  # noqa: E402
from sqlmodel import select  # noqa: E402

from _common import arguments, backend_name, database, machine, markdown_table, report, write_section  # noqa: E402
from bouquet.foundation import audit  # noqa: E402
from bouquet.foundation.db import Database, utcnow  # noqa: E402
from bouquet.migrations import upgrade  # noqa: E402
from bouquet.plugins import Plugins  # noqa: E402

KEY = b"bench-audit-key-0123456789abcdef"


def serialised_append(session, key: bytes, record: audit.AuditRecord) -> None:  # noqa: ANN001
    """The previous main's append: lock and bump the chain head, insert the event sealed after it."""
    session.execute(update(audit.AuditChain).where(audit.AuditChain.id == 1).values(seq=audit.AuditChain.seq + 1))
    head = session.execute(select(audit.AuditChain.seq, audit.AuditChain.last_hash)
                           .where(audit.AuditChain.id == 1)).one()
    event = audit.AuditEvent(seq=head.seq, chain_seq=head.seq, at=utcnow(), actor=record.actor, action=record.action,
                             outcome=record.outcome, patient_ins=record.patient_ins, details=record.details or {},
                             prev_hash=head.last_hash)
    event.hash = audit._legacy_seal(key, head.last_hash, event)
    session.add(event)
    session.flush()
    session.execute(update(audit.AuditChain).where(audit.AuditChain.id == 1).values(last_hash=event.hash))


def _worker(url: str, mode: str, threads: int, seconds: float, counts: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    db = Database(url)
    append = audit.append if mode == "unserialised" else serialised_append
    done = [0] * threads
    deadline = time.monotonic() + seconds

    def loop(n: int) -> None:
        while time.monotonic() < deadline:
            with db.write() as session:
                append(session, KEY, audit.AuditRecord(actor=f"account:{n}", action="dmp.read",
                                                       patient_ins="1.2.250.1.213.1.4.10|1234567890123",
                                                       details={"document": done[n]}))
            done[n] += 1

    workers = [threading.Thread(target=loop, args=(n,)) for n in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    db.dispose()
    counts.put(sum(done))


def appends(url: str, mode: str, threads: int, seconds: float) -> tuple[float, int]:
    """Appends per second from two processes; and how many events verify finds afterwards."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    processes = [context.Process(target=_worker, args=(url, mode, threads, seconds, queue)) for _ in range(2)]
    started = time.monotonic()
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    elapsed = time.monotonic() - started
    total = sum(queue.get() for _ in processes)
    db = Database(url)
    audit.seal_all(db, KEY)
    with db.session() as session:
        result = audit.verify(session, KEY)
    db.dispose()
    assert result.ok, result.reason
    return total / max(elapsed, seconds), result.checked


def reset(url: str) -> None:
    db = Database(url)
    with db.write() as session:
        session.execute(text("DELETE FROM audit_event"))
        session.execute(text(f"UPDATE audit_chain SET seq = 0, last_hash = '{audit.GENESIS}'"))
    db.dispose()


def write_chained(url: str, events: int, batch: int = 20_000) -> float:
    """Write `events` chained events as the sealer would leave them; returns the seconds it took."""
    db = Database(url)
    started, prev, at = time.monotonic(), audit.GENESIS, datetime(2026, 1, 1, tzinfo=UTC)
    rows: list[dict] = []  # type: ignore[type-arg]
    with db.write() as session:
        for position in range(1, events + 1):
            event = audit.AuditEvent(at=at + timedelta(milliseconds=position), actor="account:12 (Dr Martin)",
                                     action="dmp.read", outcome="success", patient_ins=f"1.2.250.1.213.1.4.10|{position}",
                                     resource=f"document:{position}", source_ip="10.0.0.1", request_id=f"r{position}",
                                     details={"document": position})
            mac = audit._mac(KEY, event)
            link = audit._link(KEY, prev, position, mac)
            rows.append({"seq": position, "at": event.at, "actor": event.actor, "acting_for": None,
                         "patient_ins": event.patient_ins, "action": event.action, "resource": event.resource,
                         "outcome": event.outcome, "source_ip": event.source_ip, "request_id": event.request_id,
                         "details": event.details, "mac": mac, "chain_seq": position, "prev_hash": prev, "hash": link})
            prev = link
            if len(rows) == batch:
                session.execute(insert(audit.AuditEvent), rows)
                rows = []
        if rows:
            session.execute(insert(audit.AuditEvent), rows)
        session.execute(text("UPDATE audit_chain SET seq = :seq, last_hash = :hash WHERE id = 1"),
                        {"seq": events, "hash": prev})
        if db.engine.dialect.name == "postgresql":
            session.execute(text("SELECT setval(pg_get_serial_sequence('audit_event', 'seq'), :n)"), {"n": events})
    db.dispose()
    return time.monotonic() - started


def verify_time(url: str) -> tuple[float, int]:
    db = Database(url)
    started = time.monotonic()
    with db.session() as session:
        result = audit.verify(session, KEY)
    elapsed = time.monotonic() - started
    db.dispose()
    assert result.ok, result.reason
    return elapsed, result.checked


def main() -> None:
    events = int(next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--events=")), "200000"))
    sys.argv = [a for a in sys.argv if not a.startswith("--events=")]
    parser_args = arguments(__doc__, workers="2")
    lines_appends, lines_verify = [], []
    for backend in parser_args.backends.split(","):
        with database(backend) as url:
            migrated = Database(url)
            upgrade(migrated.engine, Plugins(""))
            migrated.dispose()
            results = {}
            for mode in ("serialised", "unserialised", "serialised", "unserialised"):  # interleaved, twice
                reset(url)
                rate, verified = appends(url, mode, parser_args.concurrency, parser_args.seconds)
                results.setdefault(mode, []).append((rate, verified))
            old = max(rate for rate, _ in results["serialised"])
            new = max(rate for rate, _ in results["unserialised"])
            lines_appends.append(f"| {backend_name(backend)} | {old:,.0f} | {new:,.0f} | {new / old:.2f} |")
            reset(url)
            written = write_chained(url, events)
            seconds, checked = verify_time(url)
            lines_verify.append(f"| {backend_name(backend)} | {checked:,} | {seconds:.1f} s | "
                                f"{checked / seconds:,.0f} | {written:.0f} s |")
    table = (markdown_table(["appends, 2 processes × " + str(parser_args.concurrency) + " threads",
                             "previous design (events/s)", "sealer design (events/s)", "ratio"], lines_appends)
             + "\n\n" + markdown_table(["audit verify", "events", "time", "events/s", "(writing them took)"],
                                       lines_verify))

    def write_docs(table: str, args) -> None:  # noqa: ANN001
        write_section("## Audit trail", "## Audit trail\n\n`python bench/bench_audit.py --seconds "
                      f"{args.seconds:g} --concurrency {args.concurrency} --events={events}` on {machine()} "
                      f"(load average {args.load_before:.1f} before, {args.load_after:.1f} after).\n\n"
                      "Appends: two processes append one event per transaction; the previous design "
                      "(lock the chain head until commit) is reproduced in the same run, interleaved, the "
                      "best of two runs each. After every run all events are chained and verified.\n\n"
                      f"{table}\n")

    report(table, parser_args, write_docs)


if __name__ == "__main__":
    main()
