"""`bouquet prevention patients import`: a CSV of patients declared for a professional, all or nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pytest
from bouquet_prevention import bouquet_cli, population
from bouquet_prevention.models import DeclaredPatient
from click.testing import CliRunner
from sqlmodel import select

from bouquet.api.audit import AuditEvent
from bouquet.api.patient import DEMO_PATIENTS

HEADER = "ins;oid;birth_name;given_names;birth_date;sex;birthplace"


def line(patient: Any) -> str:
    t = patient.traits
    return ";".join([patient.ins.matricule, patient.ins.oid, t.birth_name, " ".join(t.given_names),
                     t.birth_date.isoformat(), t.sex.value, t.birthplace or ""])


@pytest.fixture
def run(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("BOUQUET_DATABASE_URL", database_url)
    monkeypatch.setenv("BOUQUET_SECRET_KEY", "x" * 40)
    group = click.Group()
    bouquet_cli(group)

    def invoke(*args: str) -> Any:
        return CliRunner().invoke(group, ["prevention", "patients", "import", *args])

    return invoke


def test_a_csv_declares_the_patients_and_a_bad_row_refuses_the_whole_file(app: Any, doctor: Any, run: Any,
                                                                          tmp_path: Path) -> None:
    good = tmp_path / "patientele.csv"
    good.write_text("\ufeff" + "\n".join([HEADER, *(line(p) for p in DEMO_PATIENTS[:3])]) + "\n", encoding="utf-8")
    done = run(str(good), "--professional", doctor.username)
    assert done.exit_code == 0, done.output
    assert f"3 patients declared for {doctor.username}: 3 added, 0 refreshed." in done.output
    again = run(str(good), "--professional", doctor.idnat_ps)  # by RPPS number too; nothing duplicated
    assert "0 added, 3 refreshed" in again.output

    bad = tmp_path / "erreurs.csv"
    wrong_key = line(DEMO_PATIENTS[3]).replace(DEMO_PATIENTS[3].ins.matricule,
                                               DEMO_PATIENTS[3].ins.matricule[:13] + "00")
    wrong_sex = line(DEMO_PATIENTS[4]).replace(";F;", ";M;")
    bad.write_text("\n".join([HEADER.replace(";", ","), *(row.replace(";", ",") for row in
                                                        (line(DEMO_PATIENTS[1]), wrong_key, wrong_sex))]),
                   encoding="utf-8")
    refused = run(str(bad), "--professional", doctor.username)
    assert refused.exit_code == 1
    assert "rien n'a été importé" in refused.output
    assert "ligne 3, champ « ins »" in refused.output and "ligne 4, champ « ins »" in refused.output

    missing = tmp_path / "colonnes.csv"
    missing.write_text("ins;oid\n" + DEMO_PATIENTS[0].ins.matricule + ";x\n", encoding="utf-8")
    assert "colonnes manquantes : birth_name, given_names, birth_date, sex" in run(
        str(missing), "--professional", doctor.username).output
    nobody = run(str(good), "--professional", "inconnu")
    assert nobody.exit_code == 1 and "aucun professionnel « inconnu »" in nobody.output

    with app.state.db.session() as session:
        assert len(session.exec(select(DeclaredPatient)).all()) == 3
        listed = population.patients_of(session, doctor.id)
        imported = session.exec(select(AuditEvent).where(AuditEvent.action == "prevention.patients_imported")).all()
    assert [p.birth_name for p in listed] == ["LEFEBVRE", "MARTIN", "MOREAU-LEROY"]
    assert [event.details["added"] for event in imported] == [3, 0] and imported[0].actor.startswith("cli")
