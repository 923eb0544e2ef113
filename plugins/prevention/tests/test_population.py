"""« Prévention — mes patients »: whose list it is (declared, opened, a secretary's principal), what it
shows, its filters, pagination and CSV export, the audit trail, and bulk reads for a long list."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from datetime import date
from html import unescape
from typing import Any

from bouquet_prevention import demo, population
from bouquet_prevention.hooks import engine_for
from bouquet_prevention.population_pages import PAGE_SIZE
from bouquet_prevention.testing import (
    MARTIN,
    MARTIN_INS,
    ON,
    open_patient,
    synthetic_patients,
)
from sqlalchemy import event
from sqlmodel import select

from bouquet.api.audit import AuditEvent
from bouquet.api.patient import DEMO_PATIENTS

PAGE = "/p/prevention/mes-patients"
LEFEBVRE = DEMO_PATIENTS[2]  # 84


def declare(app: Any, doctor: Any, patients: Any) -> None:
    with app.state.db.write() as session:
        population.declare(session, doctor.id, patients)


def events(app: Any, action: str) -> list[AuditEvent]:
    with app.state.db.session() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).all())


def rows_of(html: str) -> list[tuple[str, str]]:
    """(rule, patient name) of each row of the table."""
    text = unescape(html)
    return [(rule, name) for rule, name in re.findall(
        r'<tr data-rule="([^"]+)">\s*<td>.*?title="Ouvrir le dossier de ([^"]+)"', text, re.S)]


def test_the_list_joins_declared_and_opened_patients_and_a_secretary_sees_her_principals(
        client: Any, app: Any, doctor: Any, make_account: Any, today: date) -> None:
    declare(app, doctor, [MARTIN])
    client.login(doctor)
    open_patient(client, MARTIN)  # declared and opened: listed once, with both relations
    open_patient(client, LEFEBVRE)  # opened only
    other = make_account(given_name="Paul", family_name="DURAND")
    client.login(other)
    open_patient(client, DEMO_PATIENTS[3])  # another doctor's patient: never in Alice's list

    secretary = make_account(kind="secretary")
    client.login(secretary, acting_for=doctor)
    open_patient(client, DEMO_PATIENTS[4])  # opened by the secretary for Alice: Alice's patient

    with app.state.db.session() as session:
        listed = population.patients_of(session, doctor.id)
    assert [(p.birth_name, sorted(p.relations)) for p in listed] == [
        ("LEFEBVRE", ["ouvert"]), ("MARTIN", ["medecin-traitant", "ouvert"]), ("N'DIAYE", ["ouvert"])]

    page = client.get(PAGE)  # the secretary, acting for Alice
    assert page.status_code == 200
    assert "pour 3 patients" in unescape(page.text)
    names = {name for _, name in rows_of(page.text)}
    assert names == {"LEFEBVRE Jean Pierre Andre", "MARTIN Marie Claire", "N'DIAYE Aminata Fatou"}
    assert ("depistage-col-uterus-test-hpv", "N'DIAYE Aminata Fatou") in rows_of(page.text)
    client.login(other)
    assert "pour 1 patient<" in unescape(client.get(PAGE).text)


def test_filters_pagination_and_bad_filters(client: Any, app: Any, doctor: Any, today: date) -> None:
    many = synthetic_patients(70, first_year=1946, years=10)  # 70 to 80 on the pinned day: influenza is due for all
    declare(app, doctor, many)
    client.login(doctor)

    flu = client.get(PAGE, params={"rule": "grippe-65-ans"})
    assert flu.status_code == 200
    text = unescape(flu.text)
    assert "70 actions de prévention pour 70 patients — page 1 sur 2" in text
    assert len(rows_of(flu.text)) == PAGE_SIZE and {rule for rule, _ in rows_of(flu.text)} == {"grippe-65-ans"}
    assert "À faire depuis le 15/10/2026" in text
    second = client.get(PAGE, params={"rule": "grippe-65-ans", "page": "2"})
    assert len(rows_of(second.text)) == 70 - PAGE_SIZE
    beyond = client.get(PAGE, params={"rule": "grippe-65-ans", "page": "9"})
    assert "page 2 sur 2" in unescape(beyond.text)  # past the end: the last page

    overdue = rows_of(client.get(PAGE, params={"status": "overdue"}).text)
    assert overdue and all(rule != "grippe-65-ans" for rule, _ in overdue)
    everything = client.get(PAGE, params={"page": "1"})
    statuses = re.findall(r'fr-badge--(warning|info|new)">', everything.text)
    assert statuses == sorted(statuses, key=lambda s: s != "warning")  # overdue first

    for params, field in (({"rule": "vaccin-inconnu"}, "rule"), ({"status": "perdu"}, "status"),
                          ({"page": "deux"}, "page"), ({"page": "0"}, "page")):
        refused = client.get(PAGE, params=params)
        assert refused.status_code == 400, params
        assert 'data-testid="refusal"' in refused.text
        if field != "page":
            assert f'id="{field}-error"' in refused.text and 'aria-invalid="true"' in refused.text
    assert "Statut inconnu" in unescape(client.get(PAGE, params={"status": "perdu"}).text)

    [viewed, *_] = events(app, "prevention.population_viewed")
    assert viewed.details["rule"] == "grippe-65-ans" and viewed.details["rows"] == 70
    assert len(viewed.details["shown"]) == PAGE_SIZE and viewed.patient_ins is None
    assert viewed.actor.startswith(f"account:{doctor.id}")


def test_the_csv_export_has_every_row_a_bom_and_the_same_filters(client: Any, app: Any, doctor: Any,
                                                                   make_account: Any, today: date) -> None:
    declare(app, doctor, [MARTIN, LEFEBVRE, *synthetic_patients(60, first_year=1950, years=5)])
    secretary = make_account(kind="secretary")
    client.login(secretary, acting_for=doctor)
    response = client.get(f"{PAGE}.csv", params={"rule": "zona-65-ans"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="prevention-mes-patients-2026-11-28.csv"'
    assert response.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert table[0][:3] == ["Nom de naissance", "Prénoms", "Date de naissance"]
    body = table[1:]
    assert len(body) == 62  # everyone is 65 or more, no shingles vaccine recorded
    martin = next(row for row in body if row[0] == "MARTIN")
    assert martin[1:6] == ["MARIE CLAIRE", "02/10/1960", "F", MARTIN.ins.matricule, "Médecin traitant"]
    assert martin[6] == "Vaccination contre le zona à partir de 65 ans"
    # Never done, and the secretary cannot read the DMP's vaccinations: each such line says so.
    assert martin[7] == "Jamais réalisé — à faire — sans les vaccinations du DMP (non lisibles par votre compte)"
    [exported] = events(app, "prevention.population_exported")
    assert exported.details == {"rule": "zona-65-ans", "status": "", "patients": 62, "rows": 62, "external_failed": []}
    assert exported.acting_for is not None and exported.actor.startswith(f"account:{secretary.id}")
    refused = client.get(f"{PAGE}.csv", params={"status": "n'importe"})
    assert refused.status_code == 400 and "« status »" in refused.text


def test_who_may_see_a_list(client: Any, app: Any, doctor: Any, make_account: Any, today: date) -> None:
    client.login(make_account(kind="secretary"))  # acting for nobody yet
    refused = client.get(PAGE)
    assert refused.status_code == 403 and "Choisissez d'abord le professionnel" in unescape(refused.text)
    assert client.get(f"{PAGE}.csv").status_code == 403
    client.login(make_account(kind="vendor", organisation="Éditeur", siren="999000003"))
    assert client.get(PAGE).status_code == 403
    client.login(doctor)
    home = client.get("/")
    assert 'href="/p/prevention/mes-patients"' in home.text and "Prévention — mes patients" in unescape(home.text)


def test_a_patient_of_the_list_opens_in_one_click(client: Any, app: Any, doctor: Any, today: date) -> None:
    declare(app, doctor, [MARTIN])
    client.login(doctor)
    opened = client.submit(f"{PAGE}/open", {"ins": MARTIN_INS})
    assert opened.status_code == 303 and opened.headers["location"] == "/patient"
    assert "MARTIN" in client.get("/patient").text
    stranger = client.submit(f"{PAGE}/open", {"ins": f"{LEFEBVRE.ins.oid}|{LEFEBVRE.ins.matricule}"})
    assert stranger.status_code == 303 and stranger.headers["location"] == PAGE
    assert "ne fait pas partie de votre liste" in unescape(client.get(PAGE).text)


def test_a_long_list_is_read_in_a_few_queries(app: Any, doctor: Any) -> None:
    many = synthetic_patients(2500)
    declare(app, doctor, many)
    with app.state.db.write() as session:  # declaring again refreshes, never duplicates
        assert population.declare(session, doctor.id, many[:10]) == (0, 10)
    statements: list[str] = []
    engine = app.state.db.engine

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        with app.state.db.session() as session:
            patients = population.patients_of(session, doctor.id)
            rows = population.evaluate(session, engine_for(app.state.plugins), patients, ON,
                                       population.STATUS_FILTERS[""])
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(patients) == 2500 and rows
    # 2 for the list, 1 per 1,000 patients for the acts and 1 per 1,000 for the declared conditions
    assert len(statements) <= 9, statements


def test_the_demo_makes_dr_martin_the_doctor_of_the_demo_patients(app: Any, make_account: Any) -> None:
    assert demo.load(app.state.db) == ["Prevention: no account dr.martin, no declared patients loaded."]
    account = make_account(username="dr.martin")
    demo.load(app.state.db)
    lines = demo.load(app.state.db)  # safe to run twice
    assert "(0 added, 5 refreshed)" in lines[0]
    with app.state.db.session() as session:
        assert len(population.patients_of(session, account.id)) == len(DEMO_PATIENTS)


def test_every_status_filter_keeps_only_its_statuses(app: Any, doctor: Any) -> None:
    declare(app, doctor, synthetic_patients(40, first_year=1940, years=80))
    with app.state.db.session() as session:
        patients = population.patients_of(session, doctor.id)
        for status, wanted in population.STATUS_FILTERS.items():
            rows = population.evaluate(session, engine_for(app.state.plugins), patients, ON, wanted)
            assert rows and {row.outcome.status for row in rows} <= wanted, status


def test_the_csv_export_never_hands_a_spreadsheet_a_formula(client: Any, app: Any, doctor: Any, today: date) -> None:
    # Issue 13, item 7: a cell starting with = + - @ (or a tab, a CR) is a formula in Excel and LibreOffice.
    # A birth name may start with a hyphen (the INS traits allow it): "-2+3" style cells must stay text.
    [patient] = synthetic_patients(1, first_year=1950, years=5)
    hostile = dataclasses.replace(patient, traits=dataclasses.replace(patient.traits, birth_name="-DUPONT"))
    declare(app, doctor, [hostile])
    client.login(doctor)
    response = client.get(f"{PAGE}.csv", params={"rule": "zona-65-ans"})
    assert response.status_code == 200
    [header, row] = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert row[0] == "'-DUPONT"
    assert response.headers["cache-control"] == "no-store"  # patient data (issue 13, item 10)
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in header + row)
