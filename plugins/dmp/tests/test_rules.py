"""The DMP's rules from the texts: the access matrix as a versioned data file (profession × document type),
the care relationship and the patient's consent, the médecin traitant's rights on masked documents, the
patient's opposition to emergency access and the notification that follows one.

The official matrix's cells could not be sourced (its annex was not found, see data/habilitations/SOURCES.md):
the bundled version denies every cell and says so. The profession × type answers below are checked end to end
against `tests/data/matrix-test.csv`, a version written for these tests (never presented as the official one),
the way an operator loads any version."""

from __future__ import annotations

import uuid
from datetime import date
from html import unescape
from pathlib import Path

import pytest
from bouquet_dmp import access, matrix
from bouquet_dmp.doctypes import class_of, types
from bouquet_dmp.models import DmpAccessEvent, DmpDocument, DmpEmergencyAccess, DmpNotification, DmpRecord
from bouquet_dmp.testing import MARTIN, MARTIN_INS, SANTONI, TEST_MATRIX, in_care_team
from click.testing import CliRunner
from sqlmodel import select

from bouquet.api.audit import AuditEvent
from bouquet.api.patient import audit_ins

TOKEN = f"urn:oid:{MARTIN.ins.oid}|{MARTIN.ins.matricule}"
SANTONI_INS = audit_ins(SANTONI)


# --- the matrix file ---------------------------------------------------------------------------------

def test_the_bundled_official_version_is_read_and_denies_every_unsourced_cell(monkeypatch):
    monkeypatch.delenv("BOUQUET_DMP_MATRIX")
    official = matrix.current()
    assert isinstance(official, matrix.Matrix) and official.version_id == "arrete-2023-10-26"
    assert official.title.startswith("Arrêté du 26 octobre 2023")
    assert len(official.cells) == 864 and official.counts() == {"unsourced": 756, "no": 108}
    assert set(types()) == {type_code for _, type_code in official.cells}     # 108 JDV_J66 types, every one listed
    nurse_letter = matrix.decide("60", "11490-0")
    assert not nurse_letter.allowed and nurse_letter.reason == "accès non déterminé par les textes chargés"
    secretary = matrix.decide("secretaire", "59284-0")
    assert not secretary.allowed and secretary.access == "no" and "L. 1111-17" in secretary.source


def _version(tmp_path: Path, rows: str, meta: str = '{"version_id": "v9", "text": {"title": "Texte"}}') -> Path:
    (tmp_path / "m.csv").write_text("version_id,profession_code,type_code,access,basis,source\n" + rows, encoding="utf-8")
    (tmp_path / "m.meta.json").write_text(meta, encoding="utf-8")
    return tmp_path / "m.csv"


def test_a_faulty_version_is_refused_with_every_fault_and_then_accepted_once_fixed(tmp_path, monkeypatch):
    bad = _version(tmp_path, "v9,10,11490-0,yes,annex,\n"          # a yes without its source
                             "v9,10,99999-9,no,annex,JO\n"         # not a DMP type
                             "v8,60,11490-0,maybe,annex,JO\n"      # another version, an unknown answer
                             "v9,10,11490-0,no,annex,JO\n")        # the same cell twice
    with pytest.raises(matrix.MatrixError) as refused:
        matrix.read(bad)
    problems = " | ".join(refused.value.problems)
    for expected in ("ligne 2 : une cellule yes doit citer sa source", "ligne 3 : type « 99999-9 »",
                     "ligne 4 : version_id « v8 »", "ligne 4 : access « maybe »", "ligne 5 : cellule 10 × 11490-0 en double"):
        assert expected in problems
    monkeypatch.setenv("BOUQUET_DMP_MATRIX", str(bad))
    assert "inutilisable" in matrix.decide("10", "11490-0").reason          # a faulty file is never half used
    fixed = _version(tmp_path, "v9,10,11490-0,yes,annex,JORF n°0252\nv9,60,11490-0,unsourced,none,\n")
    assert matrix.decide("10", "11490-0").allowed                           # re-read when the file changes
    assert matrix.decide("60", "11490-0").reason == "accès non déterminé par les textes chargés"
    assert "absent de la version v9" in matrix.decide("21", "11490-0").reason
    assert fixed == bad


def test_the_operator_checks_a_version_from_the_command_line(tmp_path):
    from bouquet_dmp.cli import add_commands

    import click

    group = click.Group()
    add_commands(group)
    good = CliRunner().invoke(group, ["dmp-matrix", "check", str(TEST_MATRIX)])
    assert good.exit_code == 0, good.output
    assert "version test-matrix" in good.output and "1 sans source" in good.output
    bad = CliRunner().invoke(group, ["dmp-matrix", "check", str(_version(tmp_path, "v9,10,11490-0,yes,annex,\n"))])
    assert bad.exit_code == 1 and "une cellule yes doit citer sa source" in bad.output


# --- profession × type, end to end -------------------------------------------------------------------

#: (profession, type, expected) — answers of tests/data/matrix-test.csv, which the issue's examples follow.
CELLS = [
    ("60", "11490-0", True),     # a nurse reads a discharge letter
    ("21", "80820-4", True),     # a pharmacist reads a medication reconciliation
    ("40", "68599-0", False),    # a dentist is refused a psychiatric synthesis
    ("60", "68599-0", False),
    ("10", "68599-0", True),
    ("21", "11488-4", False),
    ("21", "56445-0", True),
    ("70", "80820-4", False),
    ("70", "57833-6", None),     # unsourced in this version: denied, and said so
    ("50", "18748-4", True),
    ("40", "11502-2", True),
    ("10", "ATTEST-RESID", False),
]


def test_a_dozen_professions_by_types_answer_as_the_loaded_version_says(client, app, make_account, identity, doctor):
    with app.state.db.write() as session:
        for _, type_code, _ in CELLS:
            document_id = str(uuid.uuid4())
            session.add(DmpDocument(id=document_id, patient_ins=MARTIN_INS, type_code=type_code, class_code=class_of(type_code),
                                    title=f"Document {type_code}", content_type="text/plain", size=4, sha1="x", content=b"test",
                                    author_idnat=doctor.idnat_ps, author_name="Dr Test", service_date=date(2026, 11, 1),
                                    submission_set_id=document_id))
    professionals = {}
    for profession, type_code, expected in CELLS:
        if profession not in professionals:
            professionals[profession] = make_account(profession_code=profession, profession_label=profession)
            in_care_team(app.state.db, professionals[profession], [MARTIN])
        who = professionals[profession]
        found = client.get("/p/dmp/fhir/DocumentReference", params={"patient.identifier": TOKEN, "type": type_code},
                           headers=identity(who))
        assert found.status_code == 200, found.text
        shown = [e["resource"] for e in found.json()["entry"] if e["search"]["mode"] == "match"]
        notes = " ".join(i["diagnostics"] for e in found.json()["entry"] if e["search"]["mode"] == "outcome"
                         for i in e["resource"]["issue"])
        mine = [d for d in shown if d["description"] == f"Document {type_code}"]
        assert bool(mine) is bool(expected), (profession, type_code, notes)
        if expected is False:
            assert "non autorisé par la matrice d'habilitations (test-matrix)" in notes
        if expected is None:
            assert "accès non déterminé par les textes chargés" in notes


# --- care relationship and consent -------------------------------------------------------------------

def test_outside_the_care_team_the_patient_consents_then_the_professional_reads(client, outsider, open_patient, app):
    client.login(outsider)
    open_patient(client)
    refused = unescape(client.get("/p/dmp/documents").text)
    assert "Vous ne faites pas partie de l'équipe de soins" in refused and 'data-testid="dmp-consent-link"' in refused
    upload = client.submit("/p/dmp/upload", data={"type": "11488-4", "title": "CR", "date": "2026-11-02"},
                           files={"file": ("cr.txt", b"Compte rendu", "text/plain")})
    assert upload.status_code == 400 and "Vous ne faites pas partie de l'équipe de soins" in unescape(upload.text)
    incomplete = client.submit("/p/dmp/consent", {"scope": "consultation", "how": "", "confirm": ""})
    assert incomplete.status_code == 400
    text = unescape(incomplete.text)
    assert "Indiquez comment le patient a donné son consentement." in text and "Confirmez que le patient" in text
    recorded = client.submit("/p/dmp/consent", {"scope": "consultation", "how": "oral", "confirm": "oui"})
    assert recorded.status_code == 303
    listing = unescape(client.get("/p/dmp/documents").text)
    assert listing.count('data-testid="dmp-document"') == 7
    with app.state.db.session() as session:
        lines = session.exec(select(DmpAccessEvent).where(DmpAccessEvent.patient_ins == MARTIN_INS)
                             .order_by(DmpAccessEvent.id)).all()
        audited = session.exec(select(AuditEvent).where(AuditEvent.action == "dmp.consent")).one()
    assert [line.outcome for line in lines if line.transaction in ("search", "provide")] == ["denied", "denied", "granted"]
    assert lines[-1].basis.startswith("consentement du patient recueilli oralement le ")
    assert f"par {outsider.display_name}" in lines[-1].basis
    assert audited.details == {"scope": "consultation", "how": "oral"} and audited.patient_ins == MARTIN_INS
    history = unescape(client.get("/p/dmp/history").text)
    assert "consentement du patient recueilli oralement" in history      # why, shown with each access


def test_the_care_team_needs_the_initial_consent_first(client, make_account, open_patient, app):
    member = make_account(given_name="Marc", family_name="EQUIPE")
    access.add_to_care_team(app.state.db, MARTIN_INS, member.idnat_ps, "tests")
    with app.state.db.write() as session:        # a DMP whose holder was not yet asked
        record = session.get(DmpRecord, MARTIN_INS)
        record.care_team_informed_at = record.care_team_consent_at = None
        session.add(record)
    client.login(member)
    open_patient(client)
    refused = unescape(client.get("/p/dmp/documents").text)
    assert "consentement initial" in refused and "490409" in refused
    assert client.submit("/p/dmp/consent", {"scope": "equipe-de-soins", "how": "ecrit", "confirm": "oui"}).status_code == 303
    assert unescape(client.get("/p/dmp/documents").text).count('data-testid="dmp-document"') == 7
    with app.state.db.session() as session:
        last = session.exec(select(DmpAccessEvent).order_by(DmpAccessEvent.id.desc())).first()
    assert last.basis.startswith("membre de l'équipe de soins ; patient informé, consentement initial recueilli le ")


# --- the médecin traitant and masked documents ---------------------------------------------------------

def test_the_medecin_traitant_and_whom_the_patient_chose_see_masked_documents(client, doctor, make_account, open_patient, app):
    masked = next(d.id for d in _documents(app, SANTONI_INS) if d.masked)
    colleague = make_account(given_name="Jeanne", family_name="COLLEGUE")
    in_care_team(app.state.db, colleague, [SANTONI])
    client.login(colleague)
    open_patient(client, SANTONI)
    assert client.get(f"/p/dmp/documents/{masked}").status_code == 404
    assert "document masqué par le patient" in unescape(client.get("/p/dmp/documents").text)
    access.set_medecin_traitant(app.state.db, SANTONI_INS, doctor.idnat_ps)
    client.login(doctor)
    open_patient(client, SANTONI)
    opened = client.get(f"/p/dmp/documents/{masked}")
    assert opened.status_code == 200 and "CONSULTATION DE PSYCHIATRIE" in opened.text
    access.add_to_care_team(app.state.db, SANTONI_INS, colleague.idnat_ps, "la patiente", masked_rights=True)
    client.login(colleague)
    open_patient(client, SANTONI)
    assert client.get(f"/p/dmp/documents/{masked}").status_code == 200


def _documents(app, patient_ins):
    with app.state.db.session() as session:
        return session.exec(select(DmpDocument).where(DmpDocument.patient_ins == patient_ins)).all()


# --- emergency access: opposition and notification ----------------------------------------------------

URGENCE = {"reason": "Patiente inconsciente, admise aux urgences", "confirm": "oui"}


def test_the_patients_opposition_blocks_bris_de_glace(client, outsider, open_patient, app):
    access.set_opposition(app.state.db, SANTONI_INS, emergency=True)
    client.login(outsider)
    open_patient(client, SANTONI)
    refused = client.submit("/p/dmp/emergency", URGENCE)
    assert refused.status_code == 400 and "opposé par avance à l'accès en urgence" in unescape(refused.text)
    assert URGENCE["reason"] in unescape(refused.text)                      # what was typed stays
    with app.state.db.session() as session:
        assert session.exec(select(DmpNotification)).all() == []
        denied = session.exec(select(DmpAccessEvent).where(DmpAccessEvent.transaction == "emergency")).one()
    assert denied.outcome == "denied" and "opposé" in denied.basis
    access.set_opposition(app.state.db, SANTONI_INS, emergency=False)
    assert client.submit("/p/dmp/emergency", URGENCE).status_code == 303


def test_after_bris_de_glace_the_patient_and_the_medecin_traitant_are_told(client, doctor, outsider, open_patient, app):
    access.set_medecin_traitant(app.state.db, SANTONI_INS, doctor.idnat_ps)
    client.login(outsider)
    open_patient(client, SANTONI)
    assert client.submit("/p/dmp/emergency", URGENCE).status_code == 303
    with app.state.db.session() as session:
        sent = session.exec(select(DmpNotification).order_by(DmpNotification.id)).all()
    assert [(n.recipient, n.recipient_idnat, n.status) for n in sent] == [
        ("patient", None, "pending"), ("medecin-traitant", doctor.idnat_ps, "pending")]
    assert URGENCE["reason"] in sent[1].body and "SANTONI Antonia" in sent[1].subject
    history = unescape(client.get("/p/dmp/history").text)
    assert 'data-testid="dmp-notification"' in history and "son médecin traitant" in history
    client.login(doctor)
    home = unescape(client.get("/").text)
    assert 'data-testid="home-notice"' in home and "Accès en urgence (bris de glace) au DMP de votre patient SANTONI Antonia" in home
    client.login(outsider)                                                   # the one who broke the glass is not told
    assert 'data-testid="home-notice"' not in client.get("/").text


def test_samu_regulation_unless_the_patient_objected(client, app, identity, doctor, nurse):
    body = {"resourceType": "Parameters", "parameter": [{"name": "reason", "valueString": "Appel au centre 15, détresse respiratoire"}]}
    regulated = client.post("/p/dmp/fhir/Patient/$regulation", json=body, headers=identity(doctor))
    assert regulated.status_code == 200, regulated.text
    assert client.post("/p/dmp/fhir/Patient/$regulation", json=body, headers=identity(nurse)).status_code == 403
    access.set_opposition(app.state.db, MARTIN_INS, regulation=True)
    refused = client.post("/p/dmp/fhir/Patient/$regulation", json=body, headers=identity(doctor))
    assert refused.status_code == 403 and "médecin régulateur" in refused.json()["issue"][0]["diagnostics"]
    with app.state.db.session() as session:
        grants = session.exec(select(DmpEmergencyAccess)).all()
    assert [g.mode for g in grants] == ["regulation"]


def test_the_regulation_page_is_for_doctors_and_durations_read_in_french(client, doctor, nurse, open_patient, monkeypatch):
    from bouquet_dmp.display import duration, plural

    assert [duration(m) for m in (240, 60, 90, 61, 45, 1, 0)] == [
        "4 heures", "1 heure", "1 heure 30 minutes", "1 heure 1 minute", "45 minutes", "1 minute", "0 minute"]
    assert plural(2, "jour") == "2 jours" and plural(1, "jour") == "1 jour"
    client.login(nurse)
    open_patient(client)
    refused = client.get("/p/dmp/regulation")
    assert refused.status_code == 403 and "Seul un médecin peut accéder au DMP en régulation" in unescape(refused.text)
    assert client.submit("/p/dmp/regulation", {"reason": "Appel au centre 15 pour malaise", "confirm": "oui"}).status_code == 403
    assert "dmp-regulation-link" not in client.get("/p/dmp/documents").text
    client.login(doctor)
    open_patient(client)
    assert 'data-testid="dmp-regulation-link"' in client.get("/p/dmp/documents").text
    page = unescape(client.get("/p/dmp/emergency").text)
    assert "pendant 4 heures." in page and "heure(s)" not in page
    monkeypatch.setenv("BOUQUET_DMP_EMERGENCY_MINUTES", "60")
    assert "L'accès dure 1 heure et" in unescape(client.get("/p/dmp/regulation").text)
