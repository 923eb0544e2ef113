"""The audit trail: sealed, chained, verifiable, and correct under concurrent writers."""

from __future__ import annotations

import asyncio
import threading

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from bouquet.foundation import audit
from bouquet.foundation.audit import AuditRecord
from bouquet.foundation.db import Database

KEY = b"k" * 32


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    yield database
    database.dispose()


def _append(db, n, actor="account:1 (Dr Test)"):
    for i in range(n):
        with db.write() as session:
            audit.append(session, KEY, AuditRecord(actor=actor, action="dmp.read", patient_ins=f"ins{i}",
                                                   acting_for="account:2 (Dr Principal)", source_ip="127.0.0.1",
                                                   request_id=f"r{i}", details={"document": i}))


def _verify(db):
    audit.seal_all(db, KEY)
    with db.session() as session:
        return audit.verify(session, KEY)


def test_intact_chain_verifies(db):
    _append(db, 5)
    result = _verify(db)
    assert result.ok and result.checked == 5


def test_empty_chain_verifies(db):
    assert _verify(db).ok


def test_event_keeps_every_field(db):
    _append(db, 1)
    with db.session() as session:
        event = session.get(audit.AuditEvent, 1)
    assert (event.actor, event.acting_for, event.patient_ins, event.action, event.outcome, event.source_ip,
            event.request_id, event.details) == ("account:1 (Dr Test)", "account:2 (Dr Principal)", "ins0",
                                                 "dmp.read", "success", "127.0.0.1", "r0", {"document": 0})
    assert event.at.tzinfo is not None


@pytest.mark.parametrize("column, value", [("actor", "'someone else'"), ("outcome", "'denied'"),
                                           ("patient_ins", "NULL"), ("at", "'2020-01-01 00:00:00'")])
def test_edited_event_is_named(db, column, value):
    _append(db, 5)
    audit.seal_all(db, KEY)
    with db.session() as session:
        session.execute(text(f"UPDATE audit_event SET {column} = {value} WHERE seq = 3"))
    result = _verify(db)
    assert (result.ok, result.broken_seq) == (False, 3)
    assert "altered" in result.reason


def test_deleted_event_is_named(db):
    _append(db, 5)
    audit.seal_all(db, KEY)
    with db.session() as session:
        session.execute(text("DELETE FROM audit_event WHERE seq = 2"))
    result = _verify(db)
    assert (result.ok, result.broken_seq) == (False, 2)
    assert "missing" in result.reason


def test_deleted_last_events_are_detected(db):
    _append(db, 5)
    audit.seal_all(db, KEY)
    with db.session() as session:
        session.execute(text("DELETE FROM audit_event WHERE seq >= 4"))
    result = _verify(db)
    assert (result.ok, result.broken_seq) == (False, 4)


def test_inserted_event_is_named(db):
    _append(db, 3)
    audit.seal_all(db, KEY)
    with db.session() as session:
        row = session.execute(text("SELECT * FROM audit_event WHERE seq = 3")).mappings().one()
        forged = {**row, "seq": 4, "chain_seq": 4, "actor": "intruder", "prev_hash": row["hash"], "details": "{}"}
        columns = ", ".join(forged)
        session.execute(text(f"INSERT INTO audit_event ({columns}) VALUES ({', '.join(':' + c for c in forged)})"),
                        forged)
    result = _verify(db)
    assert (result.ok, result.broken_seq) == (False, 4)


def test_renumbered_chain_is_detected(db):
    # Deleting an event and shifting the later ones down breaks the links and seals.
    _append(db, 4)
    audit.seal_all(db, KEY)
    with db.session() as session:
        session.execute(text("DELETE FROM audit_event WHERE chain_seq = 2"))
        for seq in (3, 4):
            session.execute(text("UPDATE audit_event SET chain_seq = :new WHERE chain_seq = :old"),
                            {"new": seq - 1, "old": seq})
        session.execute(text("UPDATE audit_chain SET seq = 3"))
    result = _verify(db)
    assert (result.ok, result.broken_seq) == (False, 2)


def test_concurrent_writers_keep_one_unbroken_chain(db):
    errors = []

    def writer(n):
        try:
            _append(db, 25, actor=f"account:{n}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    result = _verify(db)
    assert result.ok and result.checked == 150


def test_event_is_kept_only_if_the_change_commits(db):
    with pytest.raises(RuntimeError):
        with db.write() as session:
            audit.append(session, KEY, AuditRecord(actor="a", action="x"))
            raise RuntimeError("the change failed")
    assert _verify(db).checked == 0
    _append(db, 1)
    assert _verify(db).ok


def test_cli_verify_passes_then_fails_naming_the_event(app, database_url, monkeypatch):
    monkeypatch.setenv("BOUQUET_DATABASE_URL", database_url)
    monkeypatch.setenv("BOUQUET_SECRET_KEY", app.state.settings.secret_key)
    from bouquet.cli import cli

    auditor = audit.Auditor(app.state.db, app.state.audit_key, actor="account:1")
    for _ in range(3):
        auditor.write("dmp.read", patient_ins="x")
    ok = CliRunner().invoke(cli, ["audit", "verify"])
    assert ok.exit_code == 0 and "3 events verified" in ok.output
    with app.state.db.session() as session:
        session.execute(text("UPDATE audit_event SET action = 'dmp.nothing' WHERE seq = 2"))
    broken = CliRunner().invoke(cli, ["audit", "verify"])
    assert broken.exit_code == 1
    assert "event #2" in broken.output


def test_cli_verify_with_another_key_fails(app, database_url, monkeypatch):
    audit.Auditor(app.state.db, app.state.audit_key, actor="account:1").write("dmp.read")
    monkeypatch.setenv("BOUQUET_DATABASE_URL", database_url)
    monkeypatch.setenv("BOUQUET_SECRET_KEY", "another-secret-key-that-is-long-enough-0000")
    from bouquet.cli import cli

    assert CliRunner().invoke(cli, ["audit", "verify"]).exit_code == 1


# --- appends without a global lock, chained by the sealer ----------------------------------------

def test_appending_takes_no_lock_on_the_chain_head(db):
    # Another transaction holds the chain head (a sealer at work): appends still go through.
    with db.write() as holder:
        holder.execute(text("UPDATE audit_chain SET last_hash = last_hash WHERE id = 1"))
        if db.engine.dialect.name == "postgresql":
            _append(db, 3)  # would wait forever on the head row before this design
    if db.engine.dialect.name != "postgresql":
        _append(db, 3)
    with db.session() as session:
        assert session.execute(text("SELECT COUNT(*) FROM audit_event WHERE chain_seq IS NULL")).scalar() == 3
    assert _verify(db).checked == 3


def test_pending_events_are_checked_by_their_mac(db):
    _append(db, 3)
    with db.session() as session:
        result = audit.verify(session, KEY)
    assert result.ok and (result.checked, result.pending) == (0, 3)
    with db.session() as session:
        session.execute(text("UPDATE audit_event SET actor = 'someone else' WHERE seq = 2"))
        result = audit.verify(session, KEY)
    assert not result.ok and "insertion #2" in result.reason


def test_a_rolled_back_event_leaves_no_gap_in_the_chain(db):
    _append(db, 2)
    with pytest.raises(RuntimeError):
        with db.write() as session:
            audit.append(session, KEY, AuditRecord(actor="a", action="x"))
            raise RuntimeError("the change failed")
    _append(db, 2)
    result = _verify(db)
    assert result.ok and result.checked == 4


def test_the_sealer_refuses_another_key(db):
    _append(db, 2)
    assert audit.seal_all(db, b"x" * 32) == 0
    assert audit.seal_all(db, KEY) == 2
    _append(db, 1)
    assert audit.seal(db, b"x" * 32) == 0
    assert _verify(db).ok


def test_events_chained_before_the_sealer_still_verify(db):
    # An event sealed as the previous main did (seq = position, hash over its fields), then new ones.
    from datetime import UTC, datetime

    at = datetime(2026, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)
    legacy = audit.AuditEvent(seq=1, chain_seq=1, at=at, actor="account:1 (Dr Test)", action="dmp.read",
                              outcome="success", details={"document": 1}, prev_hash=audit.GENESIS)
    legacy.hash = audit._legacy_seal(KEY, audit.GENESIS, legacy)
    with db.write() as session:
        session.add(legacy)
        session.execute(text("UPDATE audit_chain SET seq = 1, last_hash = :h WHERE id = 1"), {"h": legacy.hash})
    if db.engine.dialect.name == "postgresql":
        with db.session() as session:  # as migration 0013 does
            session.execute(text("SELECT setval(pg_get_serial_sequence('audit_event', 'seq'), 1)"))
    _append(db, 2)
    result = _verify(db)
    assert result.ok and result.checked == 3
    with db.session() as session:
        session.execute(text("UPDATE audit_event SET actor = 'x' WHERE seq = 1"))
    assert _verify(db).broken_seq == 1


@pytest.mark.anyio
async def test_each_worker_chains_in_the_background(app):
    from bouquet.foundation.audit import AuditSealer

    sealer = AuditSealer(app.state.db, app.state.audit_key, every=0.05)
    audit.Auditor(app.state.db, app.state.audit_key, actor="account:1").write("dmp.read")
    sealer.start()
    try:
        for _ in range(200):
            with app.state.db.session() as session:
                if session.execute(text("SELECT COUNT(*) FROM audit_event WHERE chain_seq IS NULL")).scalar() == 0:
                    break
            await asyncio.sleep(0.05)
    finally:
        await sealer.stop()
    with app.state.db.session() as session:
        assert session.execute(text("SELECT COUNT(*) FROM audit_event WHERE chain_seq IS NULL")).scalar() == 0


# --- verification in parallel: ranges walked by worker processes, the same findings ----------------

def _swap_positions(session, a, b):
    session.execute(text("UPDATE audit_event SET chain_seq = -1 WHERE chain_seq = :a"), {"a": a})
    session.execute(text("UPDATE audit_event SET chain_seq = :a WHERE chain_seq = :b"), {"a": a, "b": b})
    session.execute(text("UPDATE audit_event SET chain_seq = :b WHERE chain_seq = -1"), {"b": b})


def _forge_after(session, position):
    row = session.execute(text("SELECT * FROM audit_event WHERE chain_seq = :p"), {"p": position}).mappings().one()
    session.execute(text("UPDATE audit_event SET chain_seq = chain_seq + 1000 WHERE chain_seq > :p"), {"p": position})
    forged = {**row, "seq": 1000, "chain_seq": position + 1, "actor": "intruder", "prev_hash": row["hash"],
              "details": "{}"}
    columns = ", ".join(forged)
    session.execute(text(f"INSERT INTO audit_event ({columns}) VALUES ({', '.join(':' + c for c in forged)})"), forged)
    session.execute(text("UPDATE audit_event SET chain_seq = chain_seq - 999 WHERE chain_seq > 1000"))
    session.execute(text("UPDATE audit_chain SET seq = seq + 1"))


# Ten events in ranges of three (1-3, 4-6, 7-9, 10): tamperings inside a range and on its edges.
TAMPERINGS = {
    "edited inside a range": (lambda s: s.execute(text("UPDATE audit_event SET actor = 'x' WHERE chain_seq = 5")), 5),
    "edited first of a range": (lambda s: s.execute(text("UPDATE audit_event SET details = '{\"document\": 99}' "
                                                         "WHERE chain_seq = 4")), 4),
    "edited link, last of a range": (lambda s: s.execute(text("UPDATE audit_event SET hash = :h WHERE chain_seq = 3"),
                                                         {"h": "f" * 64}), 3),
    "deleted first of a range": (lambda s: s.execute(text("DELETE FROM audit_event WHERE chain_seq = 7")), 7),
    "deleted last of a range": (lambda s: s.execute(text("DELETE FROM audit_event WHERE chain_seq = 6")), 6),
    "deleted last events": (lambda s: s.execute(text("DELETE FROM audit_event WHERE chain_seq >= 9")), 9),
    "inserted across a range edge": (lambda s: _forge_after(s, 3), 4),
    "reordered inside a range": (lambda s: _swap_positions(s, 7, 8), 7),
    "reordered across ranges": (lambda s: _swap_positions(s, 2, 8), 2),
}


@pytest.mark.parametrize("tampering", list(TAMPERINGS))
def test_each_tampering_is_named_alike_by_one_walk_and_by_parallel_ranges(db, tampering):
    _append(db, 10)
    audit.seal_all(db, KEY)
    assert _verify(db).checked == 10
    tamper, position = TAMPERINGS[tampering]
    with db.write() as session:
        tamper(session)
    with db.session() as session:
        one_walk = audit.verify(session, KEY, processes=1)
        parallel = audit.verify(session, KEY, processes=2, task_events=3)
    assert (one_walk.ok, one_walk.broken_seq) == (False, position)
    assert parallel == one_walk


def test_reordered_events_are_named(db):
    _append(db, 4)
    audit.seal_all(db, KEY)
    with db.write() as session:
        _swap_positions(session, 2, 3)
    result = _verify(db)
    assert (result.ok, result.broken_seq) == (False, 2)
    assert "does not link" in result.reason


def test_parallel_verify_then_checks_events_chained_meanwhile_and_pending_ones(db):
    _append(db, 7)
    audit.seal_all(db, KEY)
    _append(db, 2)  # pending: checked by their MAC
    with db.session() as session:
        result = audit.verify(session, KEY, processes=2, task_events=2)
    assert (result.ok, result.checked, result.pending) == (True, 7, 2)
    with db.session() as session:
        session.execute(text("UPDATE audit_event SET actor = 'x' WHERE chain_seq IS NULL"))
        forged = audit.verify(session, KEY, processes=2, task_events=2)
    assert not forged.ok and "not chained yet" in forged.reason


def test_cli_verify_in_parallel_names_the_event(app, database_url, monkeypatch):
    monkeypatch.setenv("BOUQUET_DATABASE_URL", database_url)
    monkeypatch.setenv("BOUQUET_SECRET_KEY", app.state.settings.secret_key)
    monkeypatch.setattr(audit, "TASK_EVENTS", 2)
    from bouquet.cli import cli

    auditor = audit.Auditor(app.state.db, app.state.audit_key, actor="account:1")
    for _ in range(5):
        auditor.write("dmp.read", patient_ins="x")
    ok = CliRunner().invoke(cli, ["audit", "verify", "--processes", "2"])
    assert ok.exit_code == 0 and "5 events verified" in ok.output
    with app.state.db.session() as session:
        session.execute(text("UPDATE audit_event SET action = 'dmp.nothing' WHERE chain_seq = 3"))
    broken = CliRunner().invoke(cli, ["audit", "verify", "--processes", "2"])
    assert broken.exit_code == 1 and "event #3" in broken.output
    refused = CliRunner().invoke(cli, ["audit", "verify", "--processes", "0"])
    assert refused.exit_code == 2


def test_parallel_verify_never_reuses_a_connection_of_its_parent(db, database_url):
    # A verify already run in this process leaves an engine behind; forked workers must open their own
    # (sharing the parent's PostgreSQL connection garbled both: "received 2 results from command 'BEGIN'").
    _append(db, 6)
    audit.seal_all(db, KEY)
    url = db.engine.url.render_as_string(hide_password=False)
    assert audit._verify_range(url, KEY, 1, 6, 100).checked == 6
    with db.session() as session:
        result = audit.verify(session, KEY, processes=2, task_events=2)
    assert (result.ok, result.checked) == (True, 6)
