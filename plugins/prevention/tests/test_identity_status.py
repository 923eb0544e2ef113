"""Issue 16's identity rule in this plugin: the INS leaves the portal (the CSV export, the audit
trail) only for a qualified identity (RNIV, `bouquet.api.patient`). A patient declared from a file
without `identity_status`, or with another status, is listed, evaluated and opened, but the export
says « non partagé » and the trail names them by their traits."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import date
from typing import Any

import pytest

from bouquet_prevention import population
from bouquet_prevention.patients_cli import ImportRefused, read_patients
from bouquet_prevention.population_pages import INS_WITHHELD
from bouquet_prevention.testing import MARTIN
from sqlmodel import select

from bouquet.api.audit import AuditEvent
from bouquet.api.patient import DEMO_PATIENTS

PAGE = "/p/prevention/mes-patients"
LEFEBVRE = DEMO_PATIENTS[2]  # 84, qualified in the demo
PROVISIONAL = dataclasses.replace(LEFEBVRE, identity_status="provisoire")
HEADER = "ins;oid;birth_name;given_names;birth_date;sex;birthplace"


def _line(patient: Any, status: str | None = None) -> str:
    t = patient.traits
    cells = [patient.ins.matricule, patient.ins.oid, t.birth_name, " ".join(t.given_names),
             t.birth_date.isoformat(), t.sex.value, t.birthplace or ""]
    return ";".join(cells + ([status] if status is not None else []))


def test_the_csv_export_and_the_trail_carry_the_ins_of_qualified_identities_only(
        client: Any, app: Any, doctor: Any, today: date) -> None:
    with app.state.db.write() as session:
        population.declare(session, doctor.id, [MARTIN, PROVISIONAL])
    client.login(doctor)
    response = client.get(f"{PAGE}.csv", params={"rule": "zona-65-ans"})
    assert response.status_code == 200
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    by_name = {row[0]: row for row in table[1:]}
    assert by_name["MARTIN"][4] == MARTIN.ins.matricule
    assert by_name["LEFEBVRE"][4] == INS_WITHHELD
    assert LEFEBVRE.ins.matricule not in response.content.decode("utf-8-sig")

    page = client.get(PAGE, params={"rule": "zona-65-ans"})
    assert page.status_code == 200 and "LEFEBVRE" in page.text
    with app.state.db.session() as session:
        [viewed] = session.exec(select(AuditEvent).where(AuditEvent.action == "prevention.population_viewed")).all()
    shown = viewed.details["shown"]
    assert f"{MARTIN.ins.oid}|{MARTIN.ins.matricule}" in shown
    assert not any(LEFEBVRE.ins.matricule in name for name in shown)
    assert any(name.startswith("traits|LEFEBVRE|") for name in shown), shown


def test_the_import_keeps_the_identity_status_and_without_it_the_ins_is_not_shared() -> None:
    text = "\n".join([HEADER + ";identity_status", _line(MARTIN, "qualifiee"), _line(LEFEBVRE, "")])
    martin, lefebvre = read_patients(text, date(2026, 11, 28))
    assert martin.ins_shareable and not lefebvre.ins_shareable
    without_column = read_patients("\n".join([HEADER, _line(MARTIN)]), date(2026, 11, 28))
    assert [p.ins_shareable for p in without_column] == [False]
    with pytest.raises(ImportRefused) as refused:
        read_patients("\n".join([HEADER + ";identity_status", _line(MARTIN, "certaine")]), date(2026, 11, 28))
    assert refused.value.problems[0].startswith("ligne 2, champ « identity_status »")
