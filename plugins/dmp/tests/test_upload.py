"""Feeding the DMP from the portal (ITI-65): a document sent by a professional is found in the list;
bad input is refused with a French message naming the field, and nothing is written."""

from __future__ import annotations

from html import unescape

from bouquet_dmp.models import DmpDocument
from bouquet_dmp.pdf import text_pdf
from bouquet_dmp.testing import MARTIN_INS
from sqlmodel import func, select

from bouquet.api.audit import AuditEvent

FORM = {"type": "11502-2", "title": "Bilan lipidique de contrôle", "date": "2026-11-20"}


def _count(app) -> int:
    with app.state.db.session() as session:
        return session.exec(select(func.count()).select_from(DmpDocument)).one()


def test_upload_a_pdf_and_find_it(client, doctor, open_patient, app):
    client.login(doctor)
    open_patient(client)
    assert "Ajouter un document au DMP" in client.get("/p/dmp/upload").text
    response = client.submit("/p/dmp/upload", data=FORM, files={"file": ("bilan.pdf", text_pdf("Bilan", ["LDL 2,9 mmol/L"]), "application/pdf")})
    assert response.status_code == 303 and response.headers["location"] == "/p/dmp/documents"
    listing = client.get("/p/dmp/documents")
    assert "Bilan lipidique de contrôle" in listing.text and "Le document « Bilan lipidique de contrôle » a été ajouté au DMP." in unescape(listing.text)
    with app.state.db.session() as session:
        stored = session.exec(select(DmpDocument).where(DmpDocument.title == FORM["title"])).one()
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "dmp.provide")).one()
    assert (stored.patient_ins, stored.class_code, stored.content_type) == (MARTIN_INS, "10", "application/pdf")
    assert (stored.author_idnat, stored.author_name) == (doctor.idnat_ps, doctor.display_name)   # from the signed identity
    assert event.resource == f"dmp/DocumentReference/{stored.id}" and event.outcome == "success"


def test_bad_uploads_name_the_field_and_write_nothing(client, doctor, open_patient, app):
    client.login(doctor)
    open_patient(client)
    before = _count(app)
    cases = [
        ({**FORM, "type": ""}, ("a.txt", b"texte", "text/plain"), "Choisissez le type du document."),
        ({**FORM, "title": " "}, ("a.txt", b"texte", "text/plain"), "Le titre est obligatoire."),
        ({**FORM, "date": "2099-01-01"}, ("a.txt", b"texte", "text/plain"), "La date du document ne peut pas être dans le futur."),
        (FORM, ("image.pdf", b"\x89PNG\r\n\x1a\n\x00\x00binary", "application/pdf"), "Fichier « image.pdf » : Le fichier doit être un PDF ou un texte"),
        (FORM, ("faux.pdf", b"du texte qui se dit PDF", "application/pdf"), "ne correspond pas à son type déclaré"),
        (FORM, ("vide.txt", b"", "text/plain"), "Le fichier est vide."),
        (FORM, ("gros.txt", b"a" * 5_000_001, "text/plain"), "dépasse la taille maximale"),
    ]
    for data, file, message in cases:
        response = client.submit("/p/dmp/upload", data=data, files={"file": file})
        assert response.status_code == 400, message
        assert message in unescape(response.text)
    missing = client.submit("/p/dmp/upload", data=FORM)
    assert missing.status_code == 400 and "Choisissez le fichier à envoyer" in unescape(missing.text)
    # The form comes back with what was typed.
    assert 'value="Bilan lipidique de contrôle"' in missing.text and 'value="2026-11-20"' in missing.text
    assert '<option value="11502-2" selected>' in missing.text
    assert _count(app) == before


def test_nurse_may_upload_but_secretary_may_not(client, nurse, secretary, doctor, open_patient):
    client.login(nurse)
    open_patient(client)
    ok = client.submit("/p/dmp/upload", data={**FORM, "type": "57833-6", "title": "Plan de soins infirmiers"},
                       files={"file": ("soins.txt", "Pansement tous les 2 jours".encode(), "text/plain")})
    assert ok.status_code == 303
    client.login(secretary, acting_for=doctor)
    open_patient(client)
    refused = client.submit("/p/dmp/upload", data=FORM, files={"file": ("a.txt", b"texte", "text/plain")})
    assert refused.status_code == 403


def test_confidentiality_codes_on_upload_and_display(client, doctor, nurse, open_patient, app, monkeypatch):
    client.login(doctor)
    open_patient(client)
    form = {**FORM, "title": "Résultat à annoncer", "masque": "oui", "invisible_patient": "oui", "invisible_representants": "oui"}
    file = {"file": ("bilan.txt", "Résultat sensible".encode(), "text/plain")}
    refused = client.submit("/p/dmp/upload", data=form, files=file)      # the legal delay is not configured: said so
    assert refused.status_code == 400 and "le délai légal" in unescape(refused.text) and _count(app) == 27
    assert 'id="masque" name="masque" value="oui" checked' in refused.text   # the boxes ticked stay ticked
    monkeypatch.setenv("BOUQUET_DMP_INVISIBLE_PATIENT_DAYS", "30")
    sent = client.submit("/p/dmp/upload", data=form, files=file)
    assert sent.status_code == 303, unescape(sent.text)[-3000:]
    with app.state.db.session() as session:
        stored = session.exec(select(DmpDocument).where(DmpDocument.title == "Résultat à annoncer")).one()
    assert stored.masked and stored.hidden_from_representatives
    assert (stored.hidden_from_patient_until - stored.indexed_at).days == 30
    listing = client.get("/p/dmp/documents").text
    assert 'data-testid="dmp-invisible-patient"' in listing and 'data-testid="dmp-invisible-representatives"' in listing
    client.login(nurse)                                                     # masked to professionals: not the nurse
    open_patient(client)
    assert "Résultat à annoncer" not in client.get("/p/dmp/documents").text
