"""Demonstration DMPs: twenty fictitious patients with test INS (OID 1.2.250.1.213.1.4.10) — the
core's five demo patients and fifteen more — and their documents: consultation reports, biology
results (text and PDF), prescriptions, discharge letters, vaccination records (CDA), consent forms.

MARTIN Marie Claire (66) has a vaccination record without any influenza vaccine, so the
prevention plugin still shows her flu alert; several older patients had this season's flu vaccine.
Loading is idempotent: ids derive from the patient and the document's slug.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import UTC, date, datetime
from typing import Any

from bouquet.api.accounts import luhn_key
from bouquet.api.db import Database
from bouquet.api.patient import (
    DEMO_PATIENTS,
    DEMO_SOURCE,
    OID_NIR_TEST,
    Ins,
    PatientContext,
    PatientTraits,
    with_key,
)
from bouquet_dmp.codes import CVX_OID
from bouquet_dmp.doctypes import class_of
from bouquet_dmp.content import CDA, PDF, TEXT
from bouquet_dmp.models import DmpDocument, DmpRecord
from bouquet_dmp.pdf import text_pdf


def _idnat(rpps_body: str) -> str:
    return "8" + rpps_body + luhn_key(rpps_body)


#: Authors of the demo documents: Dr Jean Martin is the demo account `dr.martin`.
DR_MARTIN = ("Dr Jean Martin", "899900000011", "10")
LABO = ("Dr Hélène Garnier (biologiste)", _idnat("9999000007"), "10")
CARDIO = ("Dr Karim Benali (cardiologue)", _idnat("9999000009"), "10")
HOPITAL = ("Dr Claire Fontaine (CH Lyon Sud)", _idnat("9999000012"), "10")
PSY = ("Dr Paule Orsini (psychiatre)", _idnat("9999000018"), "10")


def _patient(first13: str, birth_name: str, given_names: str, birth_date: date, sex: str, birthplace: str) -> PatientContext:
    traits = PatientTraits(birth_name, given_names, birth_date, sex, birthplace)  # type: ignore[arg-type]
    # Fictitious identities, treated as qualified (as the core's demo patients) so that their DMP can be shown.
    return PatientContext(Ins(with_key(first13), OID_NIR_TEST), traits, source=DEMO_SOURCE, identity_status="qualifiee")


#: Fifteen more fictitious patients; sex, year, month and birthplace agree with each matricule.
MORE_PATIENTS: tuple[PatientContext, ...] = (
    _patient("1480369123210", "GIRAUD", "PAUL", date(1948, 3, 12), "M", "69123"),
    _patient("2550713055118", "ROUSSEAU", "ELISE MARIE", date(1955, 7, 3), "F", "13055"),
    _patient("1610531555061", "FAURE", "THOMAS", date(1961, 5, 21), "M", "31555"),
    _patient("2390138185007", "BLANC", "SUZANNE", date(1939, 1, 9), "F", "38185"),
    _patient("1721233063144", "GARCIA", "ANTOINE LUC", date(1972, 12, 30), "M", "33063"),
    _patient("2880267482093", "CHEVALIER", "CAMILLE", date(1988, 2, 14), "F", "67482"),
    _patient("1500959350025", "LAMBERT", "GEORGES", date(1950, 9, 5), "M", "59350"),
    _patient("2451106088170", "BONNET", "JEANNE", date(1945, 11, 27), "F", "06088"),
    _patient("1960475056132", "FRANCOIS", "MEHDI", date(1996, 4, 2), "M", "75056"),
    _patient("2010834172056", "MERCIER", "LEA", date(2001, 8, 19), "F", "34172"),
    _patient("1570635238041", "DUPUIS", "ROGER", date(1957, 6, 8), "M", "35238"),
    _patient("2680144109099", "LEGRAND", "SOPHIE ANNE", date(1968, 1, 23), "F", "44109"),
    _patient("1411021231076", "PERRIN", "LOUIS", date(1941, 10, 16), "M", "21231"),
    _patient("2761067482021", "ROBIN", "NATHALIE", date(1976, 10, 4), "F", "67482"),
    _patient("1130669123187", "FONTAINE", "NOAH", date(2013, 6, 11), "M", "69123"),
)

ALL_PATIENTS: tuple[PatientContext, ...] = (*DEMO_PATIENTS, *MORE_PATIENTS)

FLU_THIS_SEASON = {"LEFEBVRE": ("197", "2026-10-20"), "GIRAUD": ("205", "2026-10-24"), "BLANC": ("197", "2026-10-17"),
                   "LAMBERT": ("185", "2026-11-03"), "BONNET": ("205", "2026-10-29"), "PERRIN": ("197", "2026-11-06")}
VACCINE_LABELS = {"197": "Grippe (haute dose, quadrivalent)", "205": "Grippe (adjuvanté, quadrivalent)",
                  "185": "Grippe (recombinant, quadrivalent)", "138": "dTP (rappel adulte)", "115": "dTcaP",
                  "216": "Pneumocoque conjugué 20-valent", "187": "Zona (Shingrix)", "165": "HPV 9-valent",
                  "146": "Hexavalent DTCaP-Hib-HepB", "03": "ROR (rougeole, oreillons, rubéole)", "303": "VRS (Arexvy)"}


def _patient_ins(patient: PatientContext) -> str:
    return f"{patient.ins.oid}|{patient.ins.matricule}"


def _vaccines(patient: PatientContext) -> list[tuple[str, str]]:
    age = patient.age(date(2026, 11, 28))
    name = patient.traits.birth_name
    if age < 18:
        shots = [("146", f"{patient.traits.birth_date.year}-{patient.traits.birth_date.month:02d}-28"), ("03", f"{patient.traits.birth_date.year + 1}-06-15")]
        return shots
    shots = [("138" if age >= 65 else "115", "2021-03-12")]
    if age >= 65:
        shots.append(("216", "2025-01-15"))
    if name == "MARTIN":
        shots.append(("187", "2024-11-05"))   # zona, never influenza: the prevention plugin's flu alert
    if name in FLU_THIS_SEASON:
        shots.append(FLU_THIS_SEASON[name])
        shots.append(("197" if FLU_THIS_SEASON[name][0] != "197" else "205", "2025-10-22"))
    if name in ("N'DIAYE", "MERCIER"):
        shots.append(("165", "2016-05-10"))
    if age >= 75 and name in ("LEFEBVRE", "BLANC"):
        shots.append(("303", "2025-10-05"))
    return sorted(shots, key=lambda shot: shot[1])


def vaccination_cda(patient: PatientContext, author: tuple[str, str, str], shots: list[tuple[str, str]]) -> bytes:
    """A CDA R2 vaccination note (87273-9) listing `shots` as (CVX, YYYY-MM-DD)."""
    def esc(text: str) -> str:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")

    rows = "".join(f"<tr><td>{d[8:10]}/{d[5:7]}/{d[:4]}</td><td>{esc(VACCINE_LABELS.get(c, 'Vaccin'))}</td><td>{c}</td></tr>"
                   for c, d in shots)
    entries = "".join(
        f'<entry><substanceAdministration classCode="SBADM" moodCode="EVN"><effectiveTime value="{d.replace("-", "")}"/>'
        f'<consumable><manufacturedProduct><manufacturedMaterial><code code="{c}" codeSystem="{CVX_OID}" '
        f'displayName="{esc(VACCINE_LABELS.get(c, "Vaccin"))}"/></manufacturedMaterial></manufacturedProduct></consumable>'
        f"</substanceAdministration></entry>" for c, d in shots)
    traits = patient.traits
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<ClinicalDocument xmlns="urn:hl7-org:v3">'
            f'<typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>'
            f'<id root="{uuid.uuid5(uuid.NAMESPACE_URL, _patient_ins(patient) + "/vac")}"/>'
            f'<code code="87273-9" codeSystem="2.16.840.1.113883.6.1" displayName="Note de vaccination"/>'
            f"<title>Carnet de vaccination</title><effectiveTime value=\"20261120\"/>"
            f'<recordTarget><patientRole><id root="{patient.ins.oid}" extension="{patient.ins.matricule}"/>'
            f"<patient><name><family>{esc(traits.birth_name)}</family><given>{esc(traits.first_given_name)}</given></name></patient>"
            f"</patientRole></recordTarget>"
            f'<author><time value="20261120"/><assignedAuthor><id root="1.2.250.1.71.4.2.1" extension="{author[1]}"/>'
            f"<assignedPerson><name>{esc(author[0])}</name></assignedPerson></assignedAuthor></author>"
            f"<component><structuredBody><component><section>"
            f'<code code="11369-6" codeSystem="2.16.840.1.113883.6.1" displayName="Historique des vaccinations"/>'
            f"<title>Vaccinations réalisées</title><text><table><thead><tr><th>Date</th><th>Vaccin</th><th>Code CVX</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></text>{entries}</section></component>"
            f"<component><section><title>Commentaire</title><text><paragraph>Carnet mis à jour à partir des "
            f"vaccinations déclarées et réalisées au cabinet.</paragraph></text></section></component>"
            f"</structuredBody></component></ClinicalDocument>").encode()


def _documents(patient: PatientContext) -> list[dict[str, Any]]:
    traits, age = patient.traits, patient.age(date(2026, 11, 28))
    name = f"{traits.birth_name} {traits.first_given_name.title()}"
    she = traits.sex.value == "F"
    docs: list[dict[str, Any]] = []
    docs.append(dict(slug="cr", type="11488-4", title="Compte rendu de consultation de médecine générale",
                     date="2026-09-14", author=DR_MARTIN, content_type=TEXT, data=(
        f"COMPTE RENDU DE CONSULTATION\n\nPatient{'e' if she else ''} : {name}, {age} ans\nDate : 14/09/2026\n\n"
        "Motif : suivi annuel.\n\nExamen clinique : TA 132/81 mmHg, FC 72/min, poids stable. Auscultation "
        "cardio-pulmonaire normale.\n\nConclusion : état général satisfaisant. Bilan biologique prescrit.\n"
        "Prochain rendez-vous dans 6 mois.\n\nDr Jean Martin, médecine générale").encode()))
    lab_lines = [f"Patient{'e' if she else ''} : {name}", "Prélèvement du 21/09/2026", "",
                 "Hémoglobine ........ 13,8 g/dL   (12,0 - 16,0)", "Leucocytes ......... 6,9 G/L    (4,0 - 10,0)",
                 "Plaquettes ......... 241 G/L    (150 - 400)", "Glycémie à jeun .... 5,4 mmol/L (4,1 - 5,9)",
                 "HbA1c .............. 5,8 %      (< 6,0)", "Créatinine ......... 78 µmol/L  DFG CKD-EPI 84 mL/min/1,73 m²",
                 "LDL-cholestérol .... 3,1 mmol/L", "", "Validé par Dr Hélène Garnier, biologiste médicale"]
    pdf_lab = int(patient.ins.matricule[-2:]) % 2 == 0 or traits.birth_name == "MARTIN"
    docs.append(dict(slug="bio", type="11502-2", title="Résultats de biologie médicale", date="2026-09-21", author=LABO,
                     content_type=PDF if pdf_lab else TEXT,
                     data=text_pdf("Laboratoire de biologie médicale — Résultats", lab_lines) if pdf_lab
                     else "\n".join(["RÉSULTATS DE BIOLOGIE MÉDICALE", *lab_lines]).encode()))
    docs.append(dict(slug="ord", type="57833-6", title="Ordonnance", date="2026-09-14", author=DR_MARTIN, content_type=TEXT, data=(
        f"ORDONNANCE\n\nLe 14/09/2026\n{name}\n\n1. Paracétamol 1 g : 1 comprimé jusqu'à 3 fois par jour si douleur, "
        "pendant 5 jours.\n2. Bilan sanguin : NFS, glycémie à jeun, HbA1c, créatinine, bilan lipidique.\n\n"
        "Dr Jean Martin").encode()))
    docs.append(dict(slug="vac", type="87273-9", title="Carnet de vaccination", date="2026-11-20", author=DR_MARTIN,
                     content_type=CDA, data=vaccination_cda(patient, DR_MARTIN, _vaccines(patient))))
    if age >= 60:
        docs.append(dict(slug="ll", type="11490-0", title="Lettre de liaison — sortie d'hospitalisation", date="2026-06-03",
                         author=HOPITAL, content_type=PDF, data=text_pdf("Centre hospitalier Lyon Sud — Lettre de liaison", [
                             f"Patient{'e' if she else ''} : {name}, {age} ans", "Hospitalisation du 28/05/2026 au 03/06/2026",
                             "Service : médecine interne", "", "Motif : décompensation cardiaque modérée.",
                             "Traitement de sortie : furosémide 40 mg le matin, bisoprolol 2,5 mg le soir.",
                             "Suivi : consultation de cardiologie à 1 mois, ionogramme à J8.", "", "Dr Claire Fontaine"])))
        docs.append(dict(slug="cardio", type="11488-4", title="Compte rendu de consultation de cardiologie",
                         date="2026-07-02", author=CARDIO, content_type=TEXT, data=(
            f"CONSULTATION DE CARDIOLOGIE\n\n{name}, {age} ans — 02/07/2026\n\nÉvolution favorable après "
            "l'hospitalisation. ETT : FEVG 50 %. Poursuite du traitement. Contrôle dans 6 mois.\n\nDr Karim Benali").encode()))
    if traits.birth_name in ("MARTIN", "LEFEBVRE", "GIRAUD", "BLANC"):
        docs.append(dict(slug="consent", type="59284-0", title="Recueil de consentement — télésurveillance",
                         date="2026-05-10", author=DR_MARTIN, content_type=TEXT, data=(
            f"RECUEIL DE CONSENTEMENT\n\n{name} accepte le suivi par télésurveillance proposé le 10/05/2026.\n"
            "Document administratif.").encode()))
    if traits.birth_name == "SANTONI":
        docs.append(dict(slug="psy", type="11488-4", title="Compte rendu de consultation de psychiatrie", date="2026-02-11",
                         author=PSY, content_type=TEXT,
                         masked=True, data=f"CONSULTATION DE PSYCHIATRIE\n\n{name} — suivi. Document masqué par la patiente.".encode()))
    return docs


def load(db: Database, patients: tuple[PatientContext, ...] = ALL_PATIENTS) -> int:
    """Create the demo DMPs of `patients` that do not exist yet; returns how many documents were added."""
    added = 0
    with db.write() as session:
        for patient in patients:
            patient_ins = _patient_ins(patient)
            if session.get(DmpRecord, patient_ins) is None:
                # Each demo patient was informed and gave the initial consent to their care team's access.
                session.add(DmpRecord(patient_ins=patient_ins, patient=patient.to_dict(),
                                      opened_at=datetime(2024, 1, 8, 9, tzinfo=UTC),
                                      care_team_informed_at=datetime(2024, 1, 8, 9, tzinfo=UTC),
                                      care_team_consent_at=datetime(2024, 1, 8, 9, tzinfo=UTC),
                                      care_team_consent_by="Dr Paul MARTIN (démonstration)", care_team_consent_how="ecrit"))
            for doc in _documents(patient):
                doc_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bouquet-dmp-demo/{patient_ins}/{doc['slug']}"))
                if session.get(DmpDocument, doc_id) is not None:
                    continue
                data: bytes = doc["data"]
                author_name, author_idnat, profession = doc["author"]
                session.add(DmpDocument(
                    id=doc_id, patient_ins=patient_ins, type_code=doc["type"], class_code=class_of(doc["type"]),
                    title=doc["title"], content_type=doc["content_type"], size=len(data),
                    sha1=base64.b64encode(hashlib.sha1(data).digest()).decode(), content=data,  # noqa: S324  # FHIR Attachment.hash
                    author_idnat=author_idnat, author_name=author_name, author_profession=profession,
                    service_date=date.fromisoformat(doc["date"]), masked=doc.get("masked", False),
                    indexed_at=datetime.fromisoformat(doc["date"] + "T18:00:00+00:00"), submission_set_id=doc_id))
                added += 1
    return added
