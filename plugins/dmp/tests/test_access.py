"""What the embedded DMP enforces, seen from the portal: the loaded matrix version (a secretary reads
nothing, a nurse what the version says), blocked professionals, masked documents, bris de glace,
and the patient's access history that traces all of it."""

from __future__ import annotations

import json
import re
from html import unescape

from bouquet_dmp import access
from bouquet_dmp.models import DmpAccessEvent, DmpDocument
from bouquet_dmp.testing import MARTIN, MARTIN_INS, SANTONI, TEST_MATRIX
from sqlmodel import select

from bouquet.api.audit import AuditEvent


def _document_ids(html: str) -> list[str]:
    return re.findall(r'href="/p/dmp/documents/([0-9a-f-]{36})"', html)


def _ids_of(app, patient_ins, **where):
    with app.state.db.session() as session:
        rows = session.exec(select(DmpDocument).where(DmpDocument.patient_ins == patient_ins)).all()
    return {row.id: row for row in rows if all(getattr(row, k) == v for k, v in where.items())}


def test_secretary_acting_for_the_doctor_reads_no_document(client, doctor, secretary, open_patient, app):
    # CSP L. 1111-17 III and R. 1111-46: only a professional taking care of the patient reads the DMP.
    client.login(secretary, acting_for=doctor)
    open_patient(client)
    listing = unescape(client.get("/p/dmp/documents").text)
    assert "un secrétaire n'y accède pas" in listing and not _document_ids(listing)
    clinical = next(iter(_ids_of(app, MARTIN_INS, class_code="10")))
    refused = client.get(f"/p/dmp/documents/{clinical}")      # asking by id does not get around the rule
    assert refused.status_code in (403, 404) and "un secrétaire n'y accède pas" in unescape(refused.text)
    assert client.get(f"/p/dmp/documents/{clinical}/content").status_code in (403, 404)
    assert client.get("/p/dmp/upload").status_code == 403      # no upload, no emergency access for a secretary
    assert client.get("/p/dmp/emergency").status_code == 403
    with app.state.db.session() as session:
        lines = session.exec(select(DmpAccessEvent).where(DmpAccessEvent.outcome == "denied")).all()
    assert len(lines) == 3    # the list, the viewer and the content, each refused
    line = next(line for line in lines if line.document_id)
    assert (line.actor_name, line.acting_for_name, line.document_id) == ("Sophie BERNARD", doctor.display_name, clinical)
    assert "un secrétaire n'y accède pas" in line.basis


def test_a_new_matrix_version_is_loaded_without_code_change(client, nurse, open_patient, app, tmp_path, monkeypatch):
    client.login(nurse)
    open_patient(client)
    letters = set(_ids_of(app, MARTIN_INS, type_code="11490-0"))
    assert letters and letters <= set(_document_ids(client.get("/p/dmp/documents").text))   # a nurse reads a discharge letter
    # The operator installs a new version (here: the nurse's discharge-letter cell changed) and points the setting at it.
    rows = (TEST_MATRIX.read_text(encoding="utf-8").replace("test-matrix,60,Infirmier,11490-0,yes", "v2,60,Infirmier,11490-0,no")
            .replace("test-matrix,", "v2,"))
    (tmp_path / "matrix-v2.csv").write_text(rows, encoding="utf-8")
    (tmp_path / "matrix-v2.meta.json").write_text(json.dumps({"version_id": "v2", "text": {"title": "Version de test 2"}}))
    monkeypatch.setenv("BOUQUET_DMP_MATRIX", str(tmp_path / "matrix-v2.csv"))
    listing = unescape(client.get("/p/dmp/documents").text)
    assert not (letters & set(_document_ids(listing)))
    assert "non autorisé par la matrice d'habilitations (v2)" in listing


def test_blocked_professional_is_refused_everything(client, doctor, open_patient, app):
    access.block(app.state.db, MARTIN_INS, doctor.idnat_ps)
    client.login(doctor)
    open_patient(client)
    panel = client.get("/p/dmp/panel")
    assert "Accès au DMP refusé" in panel.text and "Le patient s'est opposé à votre accès" in unescape(panel.text)
    assert "Le patient s'est opposé" in unescape(client.get("/p/dmp/documents").text)
    emergency = client.submit("/p/dmp/emergency", {"reason": "Patient inconscient aux urgences", "confirm": "oui"})
    assert emergency.status_code == 400 and "Le patient s'est opposé" in unescape(emergency.text)   # even in an emergency
    with app.state.db.session() as session:
        outcomes = session.exec(select(AuditEvent.outcome).where(AuditEvent.action == "dmp.search")).all()
        traced = session.exec(select(DmpAccessEvent.outcome).where(DmpAccessEvent.patient_ins == MARTIN_INS)).all()
    assert "denied" in outcomes and set(traced) == {"denied"}
    access.unblock(app.state.db, MARTIN_INS, doctor.idnat_ps)
    assert "7 documents consultables" in client.get("/p/dmp/panel").text


def test_masked_document_is_invisible_until_bris_de_glace(client, doctor, open_patient, app):
    santoni_ins = f"{SANTONI.ins.oid}|{SANTONI.ins.matricule}"
    masked = next(iter(_ids_of(app, santoni_ins, masked=True)))
    client.login(doctor)
    open_patient(client, SANTONI)
    assert masked not in _document_ids(client.get("/p/dmp/documents").text)
    assert client.get(f"/p/dmp/documents/{masked}").status_code == 404

    bad = client.submit("/p/dmp/emergency", {"reason": "urgence", "confirm": ""})
    assert bad.status_code == 400
    assert "Indiquez le motif de l'urgence" in unescape(bad.text)
    assert "Confirmez que la situation relève de l'urgence" in unescape(bad.text)
    assert ">urgence</textarea>" in bad.text                      # the reason typed comes back

    granted = client.submit("/p/dmp/emergency", {"reason": "Patiente inconsciente, admise aux urgences", "confirm": "oui"})
    assert granted.status_code == 303 and granted.headers["location"] == "/p/dmp/documents"
    listing = client.get("/p/dmp/documents")
    assert masked in _document_ids(listing.text) and "masqué par le patient" in listing.text
    assert 'data-testid="dmp-emergency-on"' in listing.text
    opened = client.get(f"/p/dmp/documents/{masked}")
    assert opened.status_code == 200 and "CONSULTATION DE PSYCHIATRIE" in opened.text

    history = unescape(client.get("/p/dmp/history").text)
    assert "Accès en urgence (bris de glace)" in history and "Patiente inconsciente, admise aux urgences" in history
    assert history.count('data-testid="dmp-btg"') >= 3            # the grant, the search and the opening under it
    with app.state.db.session() as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "dmp.emergency_access")).one()
    assert event.details["reason"] == "Patiente inconsciente, admise aux urgences" and event.patient_ins == santoni_ins


def test_author_sees_their_own_masked_document(client, doctor, open_patient, app):
    client.login(doctor)
    open_patient(client)
    created = client.submit("/p/dmp/upload", data={"type": "11488-4", "title": "Consultation confidentielle", "date": "2026-11-02"},
                            files={"file": ("cr.txt", "Compte rendu confidentiel".encode(), "text/plain")})
    assert created.status_code == 303, created.text
    mine = next(iter(_ids_of(app, MARTIN_INS, title="Consultation confidentielle")))
    access.mask(app.state.db, mine)
    assert mine in _document_ids(client.get("/p/dmp/documents").text)


def test_history_names_who_for_whom_and_outcome(client, doctor, secretary, open_patient, app):
    client.login(secretary, acting_for=doctor)
    open_patient(client, MARTIN)
    client.get("/p/dmp/panel")
    refused = unescape(client.get("/p/dmp/history").text)       # clinical by nature: professionals only
    assert "L'historique des accès est réservé aux professionnels de santé." in refused
    client.login(doctor)
    open_patient(client, MARTIN)
    client.get("/p/dmp/panel")
    history = client.get("/p/dmp/history")
    assert history.status_code == 200
    assert f"Sophie BERNARD (secrétaire), pour {doctor.display_name}" in history.text
    assert "Consultation de la liste" in history.text and "Autorisé" in history.text


def test_history_does_not_reveal_masked_titles(client, doctor, nurse, open_patient, app):
    santoni_ins = f"{SANTONI.ins.oid}|{SANTONI.ins.matricule}"
    masked = next(iter(_ids_of(app, santoni_ins, masked=True)))
    client.login(doctor)
    open_patient(client, SANTONI)
    client.submit("/p/dmp/emergency", {"reason": "Patiente inconsciente, admise aux urgences", "confirm": "oui"})
    assert client.get(f"/p/dmp/documents/{masked}").status_code == 200
    client.login(nurse)
    open_patient(client, SANTONI)
    history = unescape(client.get("/p/dmp/history").text)
    assert "Ouverture d'un document" in history or "Consultation d'un document" in history
    assert "psychiatrie" not in history and "document non consultable par vous" in history
