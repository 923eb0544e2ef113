"""The demonstration DMPs: twenty test patients, realistic documents, idempotent loading; MARTIN's
vaccination record has no influenza vaccine, several older patients had this season's."""

from __future__ import annotations

import re

from bouquet_dmp import cda, demo
from bouquet_dmp.codes import CVX_TO_ACT
from bouquet_dmp.models import DmpDocument, DmpRecord
from bouquet_dmp.pdf import text_pdf
from sqlmodel import func, select

from bouquet.api.patient import OID_NIR_TEST


def test_twenty_patients_with_documents_loaded_once(app):
    assert demo.load(app.state.db) == 78                      # the fixture loaded the core's five patients' 27
    assert demo.load(app.state.db) == 0                       # safe to run twice
    with app.state.db.session() as session:
        records = session.exec(select(DmpRecord)).all()
        by_class = dict(session.exec(select(DmpDocument.class_code, func.count()).group_by(DmpDocument.class_code)).all())
        kinds = set(session.exec(select(DmpDocument.content_type)).all())
    assert len(records) == 20 and all(r.patient_ins.startswith(f"{OID_NIR_TEST}|") for r in records)
    # The DMP's classes (JDV_J57): comptes rendus, prescriptions, certificats (vaccination notes), documents de gestion.
    assert set(by_class) == {"10", "42", "52", "95"}
    assert by_class["52"] == 20
    assert kinds == {"application/pdf", "text/plain", "text/xml"}


def _flu_dates(app, patient):
    with app.state.db.session() as session:
        record = session.exec(select(DmpDocument).where(DmpDocument.patient_ins == f"{patient.ins.oid}|{patient.ins.matricule}",
                                                        DmpDocument.type_code == "87273-9")).one()
    return [day.isoformat() for cvx, day in cda.vaccinations(record.content) if CVX_TO_ACT.get(cvx) == "grippe"]


def test_martin_has_no_flu_vaccine_and_others_have_this_season(app):
    demo.load(app.state.db)
    martin, lefebvre = demo.ALL_PATIENTS[0], demo.ALL_PATIENTS[2]
    assert _flu_dates(app, martin) == []
    assert "2026-10-20" in _flu_dates(app, lefebvre)
    vaccinated = [p for p in demo.ALL_PATIENTS if any(d >= "2026-10-01" for d in _flu_dates(app, p))]
    assert len(vaccinated) == 6


def test_generated_pdf_is_well_formed():
    data = text_pdf("Résultats — été", ["Hémoglobine 13,8 g/dL", "(parenthèses) et \\ barre"])
    assert data.startswith(b"%PDF-1.4") and data.rstrip().endswith(b"%%EOF")
    startxref = int(re.search(rb"startxref\n(\d+)", data).group(1))
    assert data[startxref:].startswith(b"xref")
    offsets = [int(line[:10]) for line in data[startxref:].split(b"\n")[3:9]]
    for number, offset in enumerate(offsets, start=1):
        assert data[offset:].startswith(b"%d 0 obj" % number)
    assert "Résultats — été".encode("cp1252") in data
