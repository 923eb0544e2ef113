"""Importing professionals from the RPPS extract (`bouquet accounts import`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import select

from bouquet.foundation.audit import AuditEvent
from bouquet.foundation.db import Database
from bouquet.sso import rpps
from bouquet.sso.accounts import Account, is_idnat_ps
from bouquet.testing.fixtures import TEST_SECRET

HEADER = rpps.PUBLISHED_HEADER
COLUMNS = HEADER.rstrip("|").split("|")

DOCTOR, NURSE, PHARMACIST, BAD_KEY, HALF_BAD, NO_SITE = (
    "810001000016", "810001000024", "810001000032", "810001000041", "810001000057", "810001000065")
assert not is_idnat_ps(BAD_KEY)


def row(idnat: str, family: str, given: str, profession: tuple[str, str], *, id_type: str = "8",
        specialty: tuple[str, str, str] = ("", "", ""), site: dict[str, str] | None = None) -> str:
    values = dict.fromkeys(COLUMNS, "")
    values.update({
        "Type d'identifiant PP": id_type, "Identifiant PP": idnat[1:], "Identification nationale PP": idnat,
        "Code civilité": "M", "Libellé civilité": "Monsieur", "Nom d'exercice": family, "Prénom d'exercice": given,
        "Code profession": profession[0], "Libellé profession": profession[1],
        "Code catégorie professionnelle": "C", "Libellé catégorie professionnelle": "Civil",
        "Code type savoir-faire": specialty[0], "Code savoir-faire": specialty[1], "Libellé savoir-faire": specialty[2],
    })
    values.update(site or {})
    return "|".join(values[column] for column in COLUMNS) + "|"


def site(structure: str, name: str, *, siret: str = "", mode: tuple[str, str] = ("L", "Libéral"),
         street: tuple[str, str, str] = ("", "", ""), postal: str = "", commune: tuple[str, str] = ("", ""),
         cedex: str = "", role: tuple[str, str] = ("", "")) -> dict[str, str]:
    return {
        "Identifiant technique de la structure": structure, "Raison sociale site": name, "Numéro SIRET site": siret,
        "Code mode exercice": mode[0], "Libellé mode exercice": mode[1], "Numéro Voie (coord. structure)": street[0],
        "Libellé type de voie (coord. structure)": street[1], "Libellé Voie (coord. structure)": street[2],
        "Code postal (coord. structure)": postal, "Code commune (coord. structure)": commune[0],
        "Libellé commune (coord. structure)": commune[1], "Bureau cedex (coord. structure)": cedex,
        "Code rôle": role[0], "Libellé rôle": role[1], "Libellé secteur d'activité": "Cabinet individuel",
    }


MEDECIN, INFIRMIER, PHARMACIEN = ("10", "Médecin"), ("60", "Infirmier"), ("21", "Pharmacien")
GENERALISTE = ("S", "SM54", "Médecine Générale")
CABINET = site("R10100000012345", "CABINET DU DR DUPONT", siret="99900012000017", street=("12", "Rue", "DE LA PAIX"),
               postal="69002", commune=("69382", "Lyon 2e Arrondissement"), role=("FON-01", "Titulaire de cabinet"))
HOPITAL = site("F690781810", "HOSPICES CIVILS DE LYON", mode=("S", "Salarié"), postal="69003", cedex="69003 LYON",
               street=("3", "Quai", "DES CELESTINS"))


def sample_lines() -> list[str]:
    """Seven people: two activities each for some, one person's rows split apart, three bad people."""
    return [
        HEADER,
        row(PHARMACIST, "BLANC", "CLAIRE", PHARMACIEN, site=site("C99900023000014", "PHARMACIE DU CENTRE")),
        row(DOCTOR, "DUPONT", "MARIE", MEDECIN, specialty=GENERALISTE, site=CABINET),
        row(DOCTOR, "DUPONT", "MARIE", MEDECIN, specialty=GENERALISTE, site=HOPITAL),
        row(NURSE, "LEROY", "PAUL", INFIRMIER, site=site("C99900031000018", "CABINET INFIRMIER LEROY")),
        row(BAD_KEY, "MOREAU", "LUC", MEDECIN, site=CABINET),
        row(HALF_BAD, "PETIT", "ANNE", MEDECIN, site=CABINET),
        row(HALF_BAD, "", "ANNE", MEDECIN, site=HOPITAL),
        row("0691234567", "GARCIA", "INES", ("91", "Orthophoniste"), id_type="0"),
        row(NO_SITE, "ROUX", "JULES", MEDECIN),
        row(PHARMACIST, "BLANC", "CLAIRE", PHARMACIEN, site=HOPITAL),
    ]


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def db(app) -> Database:  # noqa: ANN001 - the app fixture migrates a fresh database
    return app.state.db


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    return write(tmp_path / "PS_LibreAcces_Personne_activite_202601010000.txt", sample_lines())


def accounts(db: Database) -> dict[str, Account]:
    with db.session() as session:
        return {account.username: account for account in session.exec(select(Account)).all()}


def snapshot(db: Database) -> dict[str, dict]:
    return {name: {column: getattr(account, column) for column in Account.__table__.columns.keys()}
            for name, account in accounts(db).items()}


def test_import_creates_professionals_with_their_practice_sites(db: Database, sample: Path) -> None:
    report = rpps.import_file(db, sample)

    assert (report.rows, report.created, report.updated, report.unchanged) == (10, 4, 0, 0)
    found = accounts(db)
    assert set(found) == {DOCTOR, NURSE, PHARMACIST, NO_SITE}
    doctor = found[DOCTOR]
    assert (doctor.kind, doctor.idnat_ps, doctor.family_name, doctor.given_name) == (
        "professional", DOCTOR, "DUPONT", "MARIE")
    assert (doctor.profession_code, doctor.profession_label, doctor.profession_category) == ("10", "Médecin", "C")
    assert (doctor.specialty_code, doctor.specialty_label) == ("SM54", "Médecine Générale")
    assert doctor.password_hash is None
    assert doctor.practice_sites == [
        {"structure_id": "R10100000012345", "name": "CABINET DU DR DUPONT", "siret": "99900012000017",
         "address": "12 Rue DE LA PAIX", "postal_code": "69002", "commune_code": "69382",
         "commune": "Lyon 2e Arrondissement", "mode_code": "L", "mode": "Libéral", "role_code": "FON-01",
         "role": "Titulaire de cabinet", "sector": "Cabinet individuel"},
        {"structure_id": "F690781810", "name": "HOSPICES CIVILS DE LYON", "address": "3 Quai DES CELESTINS",
         "postal_code": "69003", "commune": "LYON", "mode_code": "S", "mode": "Salarié",
         "sector": "Cabinet individuel"},
    ]
    # Rows of one person need not be next to each other.
    assert [s["name"] for s in found[PHARMACIST].practice_sites] == ["PHARMACIE DU CENTRE", "HOSPICES CIVILS DE LYON"]
    assert found[NO_SITE].practice_sites == []


def test_rejected_rows_say_which_line_and_why(db: Database, sample: Path) -> None:
    report = rpps.import_file(db, sample)

    assert report.rejected_people == 3
    reasons = {(r.line, r.idnat): r.reason for r in report.rejections}
    assert reasons[(6, BAD_KEY)] == "bad Luhn key in RPPS number 10001000041"
    assert reasons[(8, HALF_BAD)] == "missing name (Nom d'exercice)"
    assert reasons[(7, HALF_BAD)] == "another row of this person is invalid (line 8)"
    assert "unknown identifier type '0' (ADELI)" in reasons[(9, "0691234567")]
    assert [r.line for r in report.rejections] == [6, 7, 8, 9]


def test_a_person_with_one_bad_row_is_not_half_imported(db: Database, sample: Path, make_account) -> None:
    # Even an existing account is left exactly as it was.
    make_account(username=HALF_BAD, idnat_ps=HALF_BAD, given_name="Anne", family_name="Petit-Ancien")

    rpps.import_file(db, sample)

    petit = accounts(db)[HALF_BAD]
    assert petit.family_name == "Petit-Ancien" and petit.practice_sites == []


def test_importing_twice_changes_nothing_the_second_time(db: Database, sample: Path) -> None:
    rpps.import_file(db, sample)
    before = snapshot(db)

    again = rpps.import_file(db, sample)

    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert snapshot(db) == before


def test_a_changed_name_or_site_updates_the_account(db: Database, sample: Path, tmp_path: Path) -> None:
    rpps.import_file(db, sample)
    lines = sample_lines()
    lines[4] = lines[4].replace("|LEROY|", "|LEROY-MARTIN|")
    lines[3] = lines[3].replace("HOSPICES CIVILS DE LYON", "HCL GROUPEMENT HOSPITALIER CENTRE")

    report = rpps.import_file(db, write(tmp_path / "next.txt", lines))

    assert (report.created, report.updated, report.unchanged) == (0, 2, 2)
    found = accounts(db)
    assert found[NURSE].family_name == "LEROY-MARTIN" and found[NURSE].updated_at is not None
    assert found[DOCTOR].practice_sites[1]["name"] == "HCL GROUPEMENT HOSPITALIER CENTRE"
    assert found[NO_SITE].updated_at is None


def test_columns_are_found_by_name_not_position(db: Database, tmp_path: Path) -> None:
    # An older extract: no trailing '|', no role columns, and columns in another order.
    columns = ["Nom d'exercice", "Prénom d'exercice", "Identification nationale PP", "Type d'identifiant PP",
               "Code profession", "Libellé profession", "Raison sociale site"]
    lines = ["|".join(columns), f"DUPONT|MARIE|{DOCTOR}|8|10|Médecin|CABINET DUPONT"]

    report = rpps.import_file(db, write(tmp_path / "old.txt", lines))

    assert report.created == 1
    assert accounts(db)[DOCTOR].practice_sites == [{"name": "CABINET DUPONT"}]


def test_a_file_that_is_not_an_extract_is_refused_before_anything_is_written(db: Database, tmp_path: Path) -> None:
    with pytest.raises(rpps.ImportFileError, match="missing column.*Identification nationale PP"):
        rpps.import_file(db, write(tmp_path / "other.csv", ["nom;prenom", "DUPONT;MARIE"]))
    assert accounts(db) == {}


def test_a_row_with_the_wrong_number_of_fields_rejects_its_person(db: Database, tmp_path: Path) -> None:
    lines = sample_lines()[:4]
    lines[3] = lines[3].replace("|DES CELESTINS|", "|DES|CELESTINS|")

    report = rpps.import_file(db, write(tmp_path / "broken.txt", lines))

    assert report.created == 1 and report.rejected_people == 1
    assert report.rejections[1].reason == f"expected {len(COLUMNS)} fields, found {len(COLUMNS) + 2}"


def test_a_username_taken_by_another_account_rejects_that_person_only(db: Database, sample: Path,
                                                                      make_account) -> None:
    make_account(kind="secretary", username=NURSE)

    report = rpps.import_file(db, sample, batch_size=2)

    assert report.created == 3
    assert {r.reason for r in report.rejections if r.idnat == NURSE} == {
        f"username {NURSE} is already used by account {accounts(db)[NURSE].id}"}


def test_a_database_error_rolls_back_its_batch_only(db: Database, sample: Path, monkeypatch) -> None:
    real_write, calls = rpps._write_batch, []

    def flaky(database: Database, batch: list, report: rpps.ImportReport) -> None:
        calls.append(len(batch))
        if len(calls) == 1:
            original = database.write

            def failing():  # noqa: ANN202
                from sqlalchemy.exc import OperationalError

                raise OperationalError("INSERT", {}, Exception("disk full"))

            database.write = failing  # type: ignore[method-assign]
            try:
                return real_write(database, batch, report)
            finally:
                database.write = original  # type: ignore[method-assign]
        return real_write(database, batch, report)

    monkeypatch.setattr(rpps, "_write_batch", flaky)
    report = rpps.import_file(db, sample, batch_size=2)

    assert calls == [2, 2]
    assert report.created == 2
    assert sum("database error, batch of 2 people rolled back" in r.reason for r in report.rejections) == 3


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, app) -> Iterator[None]:  # noqa: ANN001
    monkeypatch.setenv("BOUQUET_DATABASE_URL", database_url)
    monkeypatch.setenv("BOUQUET_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("BOUQUET_BASE_URL", "https://bouquet.example.fr")
    monkeypatch.setenv("BOUQUET_PLUGINS", "")
    yield


def test_the_import_command_reports_and_audits(cli_env: None, db: Database, sample: Path) -> None:
    from bouquet.cli import build_cli

    first = CliRunner().invoke(build_cli(), ["accounts", "import", str(sample)])
    second = CliRunner().invoke(build_cli(), ["accounts", "import", str(sample)])

    assert first.exit_code == 0, first.output
    assert "10 rows read: 4 created, 0 updated, 0 unchanged, 3 people rejected (4 rows)." in first.output
    assert f"line 6: {BAD_KEY}: bad Luhn key in RPPS number 10001000041" in first.output
    assert "0 created, 0 updated, 4 unchanged" in second.output
    with db.session() as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "account.rpps_import")).all()
    assert [event.details["created"] for event in events] == [4, 0]


def test_the_import_command_explains_a_wrong_file(cli_env: None, tmp_path: Path) -> None:
    from bouquet.cli import build_cli

    result = CliRunner().invoke(build_cli(), ["accounts", "import", str(write(tmp_path / "x.txt", ["a|b"]))])

    assert result.exit_code == 1
    assert "not an RPPS 'PS_LibreAcces_Personne_activite' extract" in result.output


def test_a_file_in_another_encoding_is_refused(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes((HEADER + "\n" + row(DOCTOR, "DUPONT", "HÉLÈNE", MEDECIN) + "\n").encode("latin-1"))

    with pytest.raises(rpps.ImportFileError, match="not UTF-8"):
        rpps.import_file(db, path)
    assert accounts(db) == {}
