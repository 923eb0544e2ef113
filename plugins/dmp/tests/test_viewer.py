"""The viewer: a PDF inline in a frame the page's CSP allows, text escaped and preformatted, CDA as
readable sections; a hostile CDA (entity expansion) is refused, never expanded."""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import date

from bouquet_dmp.models import DmpDocument
from bouquet_dmp.testing import MARTIN_INS
from sqlmodel import select


def _document(app, **where) -> DmpDocument:
    with app.state.db.session() as session:
        rows = session.exec(select(DmpDocument).where(DmpDocument.patient_ins == MARTIN_INS)).all()
    return next(row for row in rows if all(getattr(row, k) == v for k, v in where.items()))


def _store(app, content: bytes, content_type: str, title: str) -> str:
    document_id = str(uuid.uuid4())
    with app.state.db.write() as session:
        session.add(DmpDocument(id=document_id, patient_ins=MARTIN_INS, type_code="11488-4", class_code="10",
                                title=title, content_type=content_type, size=len(content),
                                sha1=base64.b64encode(hashlib.sha1(content).digest()).decode(), content=content,
                                author_name="Dr Test", service_date=date(2026, 11, 1), submission_set_id=document_id))
    return document_id


def test_pdf_inline(client, doctor, open_patient, app):
    client.login(doctor)
    open_patient(client)
    pdf = _document(app, type_code="11502-2")
    page = client.get(f"/p/dmp/documents/{pdf.id}")
    assert page.status_code == 200
    assert f'<iframe class="dmp-pdf" src="/p/dmp/documents/{pdf.id}/content"' in page.text
    assert "frame-src 'self'" in page.headers["content-security-policy"]
    content = client.get(f"/p/dmp/documents/{pdf.id}/content")
    assert content.status_code == 200 and content.content == pdf.content and content.content.startswith(b"%PDF-")
    assert content.headers["content-type"] == "application/pdf"
    assert content.headers["content-disposition"] == "inline"
    assert content.headers["x-frame-options"] == "SAMEORIGIN" and "frame-ancestors 'self'" in content.headers["content-security-policy"]
    # Other pages keep the portal's strict policy.
    assert "frame-src" not in client.get("/p/dmp/documents").headers["content-security-policy"]


def test_text_is_escaped_and_preformatted(client, doctor, open_patient, app):
    client.login(doctor)
    open_patient(client)
    document_id = _store(app, "Ligne 1\n<script>alert(1)</script>".encode(), "text/plain", "Texte piégé")
    page = client.get(f"/p/dmp/documents/{document_id}")
    assert '<pre class="dmp-text" data-testid="dmp-text">Ligne 1\n&lt;script&gt;alert(1)&lt;/script&gt;</pre>' in page.text
    raw = client.get(f"/p/dmp/documents/{document_id}/content")
    assert raw.headers["content-type"] == "text/plain; charset=utf-8" and "sandbox" in raw.headers["content-security-policy"]


def test_cda_rendered_as_sections(client, doctor, open_patient, app):
    client.login(doctor)
    open_patient(client)
    vaccination = _document(app, type_code="87273-9")
    page = client.get(f"/p/dmp/documents/{vaccination.id}")
    assert page.status_code == 200 and 'data-testid="dmp-cda"' in page.text
    assert '<h2 class="fr-h5">Vaccinations réalisées</h2>' in page.text
    assert "<td>05/11/2024</td><td>Zona (Shingrix)</td><td>187</td>" in page.text
    assert "Document structuré (CDA) du 20/11/2026, Dr Jean Martin." in page.text


def test_hostile_cda_is_refused(client, doctor, open_patient, app):
    client.login(doctor)
    open_patient(client)
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
            b'<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&lol2;</title></ClinicalDocument>')
    document_id = _store(app, bomb, "text/xml", "CDA piégé")
    page = client.get(f"/p/dmp/documents/{document_id}")
    assert page.status_code == 200 and "Document illisible" in page.text and "lollollol" not in page.text


def test_unknown_document_is_404(client, doctor, open_patient):
    client.login(doctor)
    open_patient(client)
    assert client.get(f"/p/dmp/documents/{uuid.uuid4()}").status_code == 404
    assert client.get("/p/dmp/documents/x%3Fstatus=current").status_code == 404      # not a FHIR id: never sent
