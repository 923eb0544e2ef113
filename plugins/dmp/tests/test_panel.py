"""The patient page's DMP panel and the DMP page's list, for a médecin on the embedded service."""

from __future__ import annotations

import re
from html import unescape

from bouquet_dmp.models import DmpAccessEvent, DmpDocument, DmpRecord
from bouquet_dmp.testing import MARTIN, in_care_team
from sqlmodel import col, select

from bouquet.api.audit import AuditEvent
from bouquet.api.patient import audit_ins, with_key


def test_panel_counts_and_latest_documents(client, doctor, open_patient, app):
    client.login(doctor)
    open_patient(client)
    page = client.get("/patient")
    assert 'hx-get="/p/dmp/panel"' in page.text
    panel = client.get("/p/dmp/panel")
    assert panel.status_code == 200
    assert "7 documents consultables" in panel.text
    assert "Compte rendu : 4" in panel.text and "Certificat, déclaration : 1" in panel.text
    assert panel.text.count('data-testid="dmp-latest"') == 5
    with app.state.db.session() as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "dmp.search")).one()
    assert event.patient_ins == f"{MARTIN.ins.oid}|{MARTIN.ins.matricule}" and event.details["count"] == 7


def test_list_filters_by_class_date_and_author(client, doctor, open_patient):
    client.login(doctor)
    open_patient(client)
    everything = client.get("/p/dmp/documents")
    assert everything.text.count('data-testid="dmp-document"') == 7
    prescriptions = client.get("/p/dmp/documents", params={"classe": "42"})
    assert prescriptions.text.count('data-testid="dmp-document"') == 1 and "Ordonnance" in prescriptions.text
    summer = client.get("/p/dmp/documents", params={"du": "2026-06-01", "au": "2026-07-31"})
    assert summer.text.count('data-testid="dmp-document"') == 2     # lettre de liaison, cardiologie
    mine = client.get("/p/dmp/documents", params={"auteur": "moi"})
    assert 'data-testid="dmp-empty"' in mine.text                      # Alice wrote none of them


def test_list_filters_by_document_type(client, doctor, open_patient, app):
    """The type filter (LOINC) reaches the DMP's search: only documents of that type are listed."""
    client.login(doctor)
    open_patient(client)
    form = client.get("/p/dmp/documents").text
    assert '<label class="fr-label" for="type">Type de document' in form
    assert '<select class="fr-select" id="type" name="type"' in form
    assert '<option value="11488-4">CR ou fiche de consultation ou de visite</option>' in form
    reports = client.get("/p/dmp/documents", params={"type": "11488-4"})
    assert reports.status_code == 200
    rows = _rows(reports.text)
    assert [title for title, _ in rows] == ["Compte rendu de consultation de médecine générale",
                                            "Compte rendu de consultation de cardiologie"]
    assert {type_label for _, type_label in rows} == {"CR ou fiche de consultation ou de visite"}
    assert '<option value="11488-4" selected>' in reports.text          # the form keeps the choice
    prescriptions = _rows(client.get("/p/dmp/documents", params={"type": "57833-6"}).text)
    assert prescriptions == [("Ordonnance", "Prescription de produits de santé")]
    with_class = client.get("/p/dmp/documents", params={"type": "11488-4", "classe": "42"})
    assert 'data-testid="dmp-empty"' in with_class.text                 # both filters apply
    with app.state.db.session() as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "dmp.search").order_by(AuditEvent.seq)).all()
    assert [event.details["count"] for event in events] == [7, 2, 1, 0]   # each search audited with what it found


def _rows(html: str) -> list[tuple[str, str]]:
    """(title, type) of each listed document."""
    return [(unescape(title), unescape(type_label)) for type_label, title in re.findall(
        r'<tr data-testid="dmp-document">\s*<td>[^<]*</td>\s*<td>([^<]*)</td>\s*<td><a href="[^"]+">([^<]*)</a>', html)]


def test_bad_filters_name_the_field(client, doctor, open_patient):
    client.login(doctor)
    open_patient(client)
    response = client.get("/p/dmp/documents", params={"du": "2026-13-01", "classe": "radiologie", "type": "99999-9"})
    assert response.status_code == 400
    assert "« Du » doit être une date" in response.text and "Catégorie inconnue" in response.text
    assert "Type de document inconnu" in response.text and 'id="type-error"' in response.text
    assert 'data-testid="dmp-empty"' not in response.text             # a refused filter is not « no document »
    reversed_ = client.get("/p/dmp/documents", params={"du": "2026-07-01", "au": "2026-06-01"})
    assert reversed_.status_code == 400 and "« Au » doit être postérieure" in reversed_.text


def test_patient_without_dmp(client, doctor, open_patient, app):
    with app.state.db.write() as session:     # MARTIN's DMP closed: no record, no document
        for document in session.exec(select(DmpDocument).where(DmpDocument.patient_ins == audit_ins(MARTIN))):
            session.delete(document)
        session.delete(session.get(DmpRecord, audit_ins(MARTIN)))
    client.login(doctor)
    open_patient(client)
    assert 'data-testid="dmp-none"' in client.get("/p/dmp/panel").text


def test_a_typed_identity_is_not_qualified_and_its_ins_goes_nowhere(client, doctor, app):
    """The test form's identity was not checked with INSi: not qualified, so the DMP is not called with its INS."""
    client.login(doctor)
    ins = with_key("1800175114087")
    response = client.submit("/patient", {"ins": ins, "oid": "1.2.250.1.213.1.4.10",
                                          "birth_name": "NOUVEAU", "given_names": "PAUL", "birth_date": "1980-01-15",
                                          "sex": "M", "birthplace": "75114"})
    assert response.status_code == 303, response.text
    panel = unescape(client.get("/p/dmp/panel").text)
    assert "n'est pas qualifiée : son INS n'est pas partagé" in panel
    with app.state.db.session() as session:
        traced = session.exec(select(DmpAccessEvent).where(col(DmpAccessEvent.patient_ins).contains(ins))).all()
    assert traced == []                      # the DMP service never heard of it


def test_extra_demo_patient_has_a_dmp(client, doctor, app, identity):
    """The plugin's own demo patients (beyond the core's five) have a DMP too."""
    from bouquet_dmp import demo
    from bouquet_dmp.demo import MORE_PATIENTS

    patient = MORE_PATIENTS[0]
    demo.load(app.state.db, (patient,))
    in_care_team(app.state.db, doctor, [patient])
    found = client.get(f"/p/dmp/fhir/DocumentReference?patient.identifier=urn:oid:{patient.ins.oid}|{patient.ins.matricule}",
                       headers=identity(doctor, patient))
    assert found.status_code == 200 and found.json()["total"] == 7
