"""With the prevention plugin loaded too, the DMP's vaccination records feed its rules through
`prevention_external_acts` (implemented by name: bouquet_dmp never imports bouquet_prevention)."""

from __future__ import annotations

from datetime import date
from html import unescape

import pytest
from bouquet_dmp.testing import LEFEBVRE, MARTIN
from sqlmodel import select

from bouquet.api.audit import AuditEvent

ON = date(2026, 11, 28)   # in the 2026-2027 influenza campaign


@pytest.fixture(autouse=True)
def pinned_prevention_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    from bouquet_prevention import clock

    monkeypatch.setattr(clock, "today", lambda: ON)


def test_both_plugins_are_loaded(client):
    plugins = {plugin["name"]: plugin for plugin in client.get("/-/plugins.json").json()}
    assert {"dmp", "prevention"} <= plugins.keys()
    assert "prevention_external_acts" in plugins["dmp"]["hooks"]


def test_flu_alert_follows_the_dmp_vaccination_record(client, doctor, open_patient, app):
    client.login(doctor)
    open_patient(client, MARTIN)                 # 66, vaccination record without influenza
    martin = unescape(client.get("/patient/alerts").text)
    assert "vaccination contre la grippe" in martin.lower()
    # The first Shingrix dose of her DMP record (05/11/2024) counts: the second was due two months later,
    # at the latest six months later (05/05/2025): « schéma incomplet », overdue since the day after.
    assert "vaccination contre le zona (shingrix, 2 doses)" in martin.lower() and "en retard depuis le 06/05/2025" in martin.lower()
    assert "schéma incomplet : 2e dose à faire" in martin.lower()
    open_patient(client, LEFEBVRE)               # 84, vaccinated on 20/10/2026 according to his DMP
    lefebvre = unescape(client.get("/patient/alerts").text)
    assert "vaccination contre la grippe" not in lefebvre.lower()  # (the COVID-19 card cites a « grippe et covid » page)
    with app.state.db.session() as session:
        reads = session.exec(select(AuditEvent).where(AuditEvent.resource == "dmp/vaccinations")).all()
    assert [event.details["via"] for event in reads] == ["prevention", "prevention"]


def test_a_dmp_that_is_down_is_said_on_the_vaccination_lines_not_taken_for_no_vaccination(
        client, doctor, open_patient, monkeypatch):
    from bouquet.testing.fixtures import free_port

    monkeypatch.setenv("BOUQUET_DMP_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("BOUQUET_DMP_RETRIES", "0")
    client.login(doctor)
    open_patient(client, LEFEBVRE)
    alerts = client.get("/patient/alerts")
    assert alerts.status_code == 200 and "grippe" in unescape(alerts.text).lower()   # the DMP's vaccine is unknown now
    assert "Vaccinations du DMP non lues" in unescape(alerts.text)
    panel = client.get("/p/prevention/panel")
    assert panel.status_code == 200 and "Vaccinations du DMP non lues : statut à vérifier." in unescape(panel.text)


# --- the population view « Prévention — mes patients » (prevention_external_acts_bulk) -------------

FLU_LIST = "/p/prevention/mes-patients?rule=grippe-65-ans"


def _declare(app, doctor, patients) -> None:
    from bouquet_prevention import population

    with app.state.db.write() as session:
        population.declare(session, doctor.id, patients)


def _flu_names(text: str) -> set[str]:
    text = unescape(text)
    return {name for name in ("LEFEBVRE", "MARTIN") if f"Ouvrir le dossier de {name}" in text}


def _csv_names(body: bytes) -> set[str]:
    lines = body.decode("utf-8-sig").splitlines()[1:]
    return {line.split(";")[0] for line in lines}


def test_the_population_view_and_csv_count_the_dmp_vaccinations(client, app, doctor):
    from bouquet_dmp.models import DmpAccessEvent

    _declare(app, doctor, [MARTIN, LEFEBVRE])
    client.login(doctor)
    page = client.get(FLU_LIST)
    assert page.status_code == 200 and 'data-testid="external-notice"' not in page.text
    # LEFEBVRE's DMP has his 20/10/2026 flu vaccine, as his patient page says; MARTIN's has none.
    assert _flu_names(page.text) == {"MARTIN"}
    export = client.get("/p/prevention/mes-patients.csv?rule=grippe-65-ans")
    assert export.status_code == 200 and "X-Bouquet-Notice" not in export.headers
    assert _csv_names(export.content) == {"MARTIN"}
    with app.state.db.session() as session:
        reads = session.exec(select(AuditEvent).where(AuditEvent.resource == "dmp/vaccinations")).all()
        trail = session.exec(select(DmpAccessEvent).where(DmpAccessEvent.patient_ins == f"{LEFEBVRE.ins.oid}|{LEFEBVRE.ins.matricule}",
                                                          DmpAccessEvent.transaction == "search")).all()
    assert [(e.details["via"], e.details["patients"], e.details["with_acts"]) for e in reads] == [
        ("prevention-population", 2, 2)] * 2   # one event per bulk read (page, then CSV)
    assert len(trail) == 2 and all(e.outcome == "granted" and "liste de patients" in e.detail for e in trail)


def test_a_professional_the_patient_blocked_still_sees_the_vaccine_due(client, app, doctor):
    from bouquet_dmp import access
    from bouquet_dmp.models import DmpAccessEvent

    _declare(app, doctor, [MARTIN, LEFEBVRE])
    lefebvre = f"{LEFEBVRE.ins.oid}|{LEFEBVRE.ins.matricule}"
    access.block(app.state.db, lefebvre, doctor.idnat_ps)
    client.login(doctor)
    assert _flu_names(client.get(FLU_LIST).text) == {"MARTIN", "LEFEBVRE"}
    assert _csv_names(client.get("/p/prevention/mes-patients.csv?rule=grippe-65-ans").content) == {"MARTIN", "LEFEBVRE"}
    with app.state.db.session() as session:
        trail = session.exec(select(DmpAccessEvent).where(DmpAccessEvent.patient_ins == lefebvre)).all()
    assert trail and {e.outcome for e in trail} == {"denied"}


def test_a_profession_the_matrix_denies_vaccination_notes_gets_nothing(client, app, doctor, tmp_path, monkeypatch):
    from bouquet_dmp.testing import TEST_MATRIX

    _declare(app, doctor, [MARTIN, LEFEBVRE])
    version = TEST_MATRIX.read_text(encoding="utf-8").replace("test-matrix,10,Médecin,87273-9,yes", "test-matrix,10,Médecin,87273-9,no")
    (tmp_path / "matrix.csv").write_text(version, encoding="utf-8")
    (tmp_path / "matrix.meta.json").write_text(TEST_MATRIX.with_name("matrix-test.meta.json").read_text(encoding="utf-8"))
    monkeypatch.setenv("BOUQUET_DMP_MATRIX", str(tmp_path / "matrix.csv"))
    client.login(doctor)
    assert _flu_names(client.get(FLU_LIST).text) == {"MARTIN", "LEFEBVRE"}


def test_a_failing_bulk_read_leaves_the_portal_acts_and_a_notice(client, app, doctor, monkeypatch):
    from bouquet_dmp import vaccinations

    async def broken(ctx, patients):
        raise RuntimeError("DMP en panne")

    _declare(app, doctor, [MARTIN, LEFEBVRE])
    monkeypatch.setattr(vaccinations, "external_acts_bulk", broken)
    client.login(doctor)
    page = client.get(FLU_LIST)
    assert page.status_code == 200 and 'data-testid="external-notice"' in page.text
    assert "n'ont pas pu être lues" in unescape(page.text)
    assert _flu_names(page.text) == {"MARTIN", "LEFEBVRE"}
    export = client.get("/p/prevention/mes-patients.csv?rule=grippe-65-ans")
    assert export.status_code == 200 and export.headers["X-Bouquet-Notice"] == "dmp-acts-unavailable"
    assert _csv_names(export.content) == {"MARTIN", "LEFEBVRE"}
    with app.state.db.session() as session:
        viewed = session.exec(select(AuditEvent).where(AuditEvent.action == "prevention.population_viewed")).one()
    assert viewed.details["external_failed"] == ["dmp"]


def test_a_remote_dmp_cannot_be_read_in_bulk_and_says_so(client, app, doctor, monkeypatch):
    monkeypatch.setenv("BOUQUET_DMP_URL", "http://127.0.0.1:9/fhir")
    _declare(app, doctor, [LEFEBVRE])
    client.login(doctor)
    page = client.get(FLU_LIST)
    assert page.status_code == 200 and 'data-testid="external-notice"' in page.text
    assert _flu_names(page.text) == {"LEFEBVRE"}


def test_the_bulk_read_takes_a_few_statements_for_a_long_list(app, doctor):
    from bouquet_dmp.identity import Caller
    from bouquet_dmp.vaccinations import read_vaccinations
    from bouquet_prevention.testing import synthetic_patients
    from sqlalchemy import event

    patients = [MARTIN, LEFEBVRE, *synthetic_patients(2500)]
    callers = [Caller(sub=doctor.label, name=doctor.display_name, kind="professional",
                      patient=f"{p.ins.oid}|{p.ins.matricule}", idnat=doctor.idnat_ps, profession="10")
               for p in patients]
    statements: list[str] = []
    engine = app.state.db.engine

    def count(*args) -> None:
        if not args[2].startswith("BEGIN"):   # SQLite's transaction opening, not a query
            statements.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        with app.state.db.write() as session:
            acts, counts = read_vaccinations(session, callers)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    lefebvre = f"{LEFEBVRE.ins.oid}|{LEFEBVRE.ins.matricule}"
    assert {"code": "grippe", "performed_on": "2026-10-20"} in acts[lefebvre]
    assert counts["with_acts"] == 2
    # per 1,000 patients: blocked, bris de glace, care relationships, records, documents; one insert for the trail
    assert len(statements) <= 3 * 5 + 1, statements
