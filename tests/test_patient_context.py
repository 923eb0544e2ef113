"""Where the patient context lives: establish, load, close (audited), and what a browser session sees."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import replace

import pytest
from sqlalchemy import event
from sqlmodel import select

from bouquet.foundation.audit import AuditEvent, Auditor
from bouquet.foundation.db import utcnow
from bouquet.patient.context import (
    CURRENT_KEY,
    RECENT_KEY,
    PatientContextRecord,
    audit_ins,
    close,
    establish,
    for_session,
    load,
    load_for,
)
from bouquet.patient.demo import DEMO_PATIENTS
from bouquet.patient.model import PatientContextError

MARTIN, CHILD, ELDER = DEMO_PATIENTS[0], DEMO_PATIENTS[1], DEMO_PATIENTS[2]


@pytest.fixture
def db(app):
    return app.state.db


def _auditor(app, account, acting_for=None):
    return Auditor(app.state.db, app.state.audit_key, actor=account.label,
                   acting_for=acting_for.label if acting_for else None)


@contextmanager
def _statements(db):
    """The SQL statements run on `db` inside the block (the transaction's own BEGIN excepted)."""
    statements = []

    def record(_connection, _cursor, statement, *_args):
        if not statement.startswith("BEGIN"):  # SQLite's explicit BEGIN (see bouquet.foundation.db)
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def _events(db, action):
    with db.session() as session:
        return session.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).all()


def test_establish_stores_the_context_and_audits_it(app, db, make_account):
    doctor = make_account()
    context_id = establish(db, _auditor(app, doctor), doctor, None, MARTIN, "Logiciel Médical 3000")

    assert len(context_id) >= 32  # random and opaque
    loaded = load(db, context_id)
    assert loaded is not None
    assert (loaded.ins, loaded.traits) == (MARTIN.ins, MARTIN.traits)
    assert loaded.source == "Logiciel Médical 3000"
    assert loaded.established_at is not None and abs((utcnow() - loaded.established_at).total_seconds()) < 60
    with db.session() as session:
        record = session.get(PatientContextRecord, context_id)
    assert record.established_by_id == doctor.id and record.acting_for_id is None and record.ended_at is None
    assert record.patient_ins == f"1.2.250.1.213.1.4.10|{MARTIN.ins.matricule}"

    [event] = _events(db, "patient.context_established")
    assert event.actor == doctor.label
    assert event.patient_ins == audit_ins(MARTIN)
    assert event.details == {"source": "Logiciel Médical 3000"}
    assert event.resource == f"patient_context/{context_id}"


def test_a_secretary_establishes_for_their_principal(app, db, make_account):
    doctor, secretary = make_account(), make_account(kind="secretary")
    context_id = establish(db, _auditor(app, secretary, doctor), secretary, doctor, CHILD, "manual")

    assert load_for(db, context_id, secretary, doctor) is not None
    assert load_for(db, context_id, secretary, None) is None  # not while acting for nobody
    assert load_for(db, context_id, doctor, None) is None  # nor for the principal's own session
    [event] = _events(db, "patient.context_established")
    assert event.acting_for == doctor.label


def test_a_bad_source_is_refused_and_nothing_is_stored(app, db, make_account):
    doctor = make_account()
    with pytest.raises(PatientContextError) as caught:
        establish(db, _auditor(app, doctor), doctor, None, MARTIN, "ligne\nbrisée")
    assert caught.value.field == "source"
    with db.session() as session:
        assert session.exec(select(PatientContextRecord)).all() == []
    assert _events(db, "patient.context_established") == []


def test_close_ends_the_context_once_and_audits_it(app, db, make_account):
    doctor, other = make_account(), make_account()
    context_id = establish(db, _auditor(app, doctor), doctor, None, MARTIN, "manual")

    assert close(db, _auditor(app, other), context_id, other, None) is False  # not theirs
    assert load(db, context_id) is not None
    assert close(db, _auditor(app, doctor), context_id, doctor, None) is True
    assert load(db, context_id) is None
    assert close(db, _auditor(app, doctor), context_id, doctor, None) is False  # already closed

    [event] = _events(db, "patient.context_closed")
    assert event.actor == doctor.label and event.patient_ins == audit_ins(MARTIN)


def test_load_of_an_unknown_id_is_none(db):
    assert load(db, "nope") is None


def test_for_session_gives_the_current_and_recent_contexts_in_one_query(app, db, make_account):
    doctor = make_account()
    auditor = _auditor(app, doctor)
    first, second, third = (establish(db, auditor, doctor, None, p, "manual") for p in (MARTIN, CHILD, ELDER))
    browser = app.state.sessions.create(account_id=doctor.id, data={CURRENT_KEY: third, RECENT_KEY: [second, first]})

    with _statements(db) as statements:
        patients = for_session(db, browser, doctor, None)
    assert len(statements) == 1
    assert patients.current_id == third and patients.current.ins == ELDER.ins
    assert [(r.context_id, r.patient.ins) for r in patients.recent] == [(second, CHILD.ins), (first, MARTIN.ins)]
    assert not browser.dirty


def test_for_session_ignores_another_accounts_context(app, db, make_account):
    doctor, intruder = make_account(), make_account()
    context_id = establish(db, _auditor(app, doctor), doctor, None, MARTIN, "manual")
    browser = app.state.sessions.create(account_id=intruder.id, data={CURRENT_KEY: context_id})

    patients = for_session(db, browser, intruder, None)
    assert patients.current is None and patients.current_id is None and patients.recent == ()
    assert browser.get(CURRENT_KEY) == context_id  # ignored, not erased: the rightful session is elsewhere


def test_for_session_drops_closed_and_unknown_contexts_from_the_session(app, db, make_account):
    doctor = make_account()
    auditor = _auditor(app, doctor)
    closed, kept = establish(db, auditor, doctor, None, MARTIN, "manual"), establish(db, auditor, doctor, None, CHILD, "manual")
    close(db, auditor, closed, doctor, None)
    browser = app.state.sessions.create(account_id=doctor.id,
                                        data={CURRENT_KEY: closed, RECENT_KEY: ["unknown", kept, 12]})

    patients = for_session(db, browser, doctor, None)
    assert patients.current is None
    assert [r.context_id for r in patients.recent] == [kept]
    assert CURRENT_KEY not in browser.row.data and browser.get(RECENT_KEY) == [kept] and browser.dirty


def test_a_stored_context_that_no_longer_validates_is_ignored(app, db, make_account, caplog):
    doctor = make_account()
    context_id = establish(db, _auditor(app, doctor), doctor, None, MARTIN, "manual")
    with db.session() as session:
        record = session.get(PatientContextRecord, context_id)
        record.patient = {**record.patient, "ins": "260106912304500"}  # wrong key
        session.add(record)
    browser = app.state.sessions.create(account_id=doctor.id, data={CURRENT_KEY: context_id})

    assert load(db, context_id) is None
    assert for_session(db, browser, doctor, None).current is None
    assert MARTIN.traits.birth_name not in caplog.text  # the log names the row, never the patient


def test_an_empty_session_costs_no_query(app, db, make_account):
    doctor = make_account()
    browser = app.state.sessions.create(account_id=doctor.id)
    with _statements(db) as statements:
        assert for_session(db, browser, doctor, None).current is None
    assert statements == []


def test_the_stored_json_round_trips(app, db, make_account):
    doctor = make_account()
    with_refs = replace(MARTIN, encounter="venue-42", document="doc-7")
    context_id = establish(db, _auditor(app, doctor), doctor, None, with_refs, "manual")
    loaded = load(db, context_id)
    assert (loaded.encounter, loaded.document) == ("venue-42", "doc-7")
