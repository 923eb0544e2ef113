"""Sending a vaccination recorded in Bouquet to the patient's DMP: a CDA R2 vaccination note
(LOINC 87273-9, the type the DMP's vaccination record is read from), provided through MHD (ITI-65)
with the signed-in professional's identity, so the DMP's rules apply (who may feed the DMP, the
patient's opposition…). Implements the prevention plugin's `prevention_share_vaccination` hook
(by name: bouquet_dmp never imports bouquet_prevention). Audited `dmp.provide`."""

from __future__ import annotations

import uuid
from datetime import date
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape, quoteattr

from bouquet.api.patient import audit_ins
from bouquet_dmp.codes import CVX_OID
from bouquet_dmp.doctypes import VACCINATION_TYPE
from bouquet_dmp.content import CDA
from bouquet_dmp.mhd_client import DmpError, client_for

if TYPE_CHECKING:
    from bouquet.api.patient import PatientContext
    from bouquet.api.web import RequestContext

__all__ = ["note", "share"]

UPLOAD = "dmp.upload"
TITLE = "Note de vaccination"


def note(patient: PatientContext, author_name: str, author_idnat: str, label: str, cvx: str | None,
         performed_on: date, written_on: date) -> bytes:
    """A CDA R2 vaccination note for one administration (the CVX code when the vaccine has one)."""
    day, today = performed_on.strftime("%Y%m%d"), written_on.strftime("%Y%m%d")
    code = (f"<code code={quoteattr(cvx)} codeSystem=\"{CVX_OID}\" displayName={quoteattr(label)}/>" if cvx
            else f"<code nullFlavor=\"OTH\"><originalText>{escape(label)}</originalText></code>")
    traits = patient.traits
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<ClinicalDocument xmlns="urn:hl7-org:v3">'
            f'<typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/><id root="{uuid.uuid4()}"/>'
            f'<code code="{VACCINATION_TYPE}" codeSystem="2.16.840.1.113883.6.1" displayName="{TITLE}"/>'
            f"<title>{TITLE}</title><effectiveTime value=\"{today}\"/>"
            f"<recordTarget><patientRole><id root={quoteattr(patient.ins.oid)} extension={quoteattr(patient.ins.matricule)}/>"
            f"<patient><name><family>{escape(traits.birth_name)}</family><given>{escape(traits.first_given_name)}</given>"
            f"</name></patient></patientRole></recordTarget>"
            f'<author><time value="{today}"/><assignedAuthor><id root="1.2.250.1.71.4.2.1" extension={quoteattr(author_idnat)}/>'
            f"<assignedPerson><name>{escape(author_name)}</name></assignedPerson></assignedAuthor></author>"
            f"<component><structuredBody><component><section>"
            f'<code code="11369-6" codeSystem="2.16.840.1.113883.6.1" displayName="Historique des vaccinations"/>'
            f"<title>Vaccination réalisée</title><text><table><thead><tr><th>Date</th><th>Vaccin</th><th>Code CVX</th>"
            f"</tr></thead><tbody><tr><td>{performed_on.strftime('%d/%m/%Y')}</td><td>{escape(label)}</td>"
            f"<td>{escape(cvx or '—')}</td></tr></tbody></table></text>"
            f'<entry><substanceAdministration classCode="SBADM" moodCode="EVN"><effectiveTime value="{day}"/>'
            f"<consumable><manufacturedProduct><manufacturedMaterial>{code}</manufacturedMaterial></manufacturedProduct>"
            f"</consumable></substanceAdministration></entry></section></component></structuredBody></component>"
            f"</ClinicalDocument>").encode()


async def share(ctx: RequestContext, patient: PatientContext, vaccination: dict[str, Any]) -> dict[str, Any]:
    """Provide the note to the patient's DMP; `{"sent": True, "reference": id}` or a French refusal."""
    if ctx.account is None or not ctx.can(UPLOAD) or not ctx.account.idnat_ps:
        return {"sent": False, "message": "Votre compte ne permet pas d'alimenter le DMP."}
    try:
        performed_on = date.fromisoformat(str(vaccination.get("performed_on")))
    except ValueError:
        return {"sent": False, "message": "La date de la vaccination est invalide."}
    label = str(vaccination.get("label") or "Vaccination")[:200]
    cvx = vaccination.get("cvx") if isinstance(vaccination.get("cvx"), str) else None
    data = note(patient, ctx.account.display_name, ctx.account.idnat_ps, label, cvx, performed_on, date.today())
    try:
        document_id = await client_for(ctx, patient).provide(type_code=VACCINATION_TYPE, title=f"{TITLE} — {label}"[:200],
                                                             content_type=CDA, data=data, service_date=performed_on)
    except DmpError as exc:
        await ctx.audit.log("dmp.provide", outcome="failure", patient_ins=audit_ins(patient),
                            resource="dmp/DocumentReference", details={"via": "prevention", "reason": exc.reason})
        return {"sent": False, "message": exc.message}
    await ctx.audit.log("dmp.provide", patient_ins=audit_ins(patient), resource=f"dmp/DocumentReference/{document_id}",
                        details={"via": "prevention", "type": VACCINATION_TYPE})
    return {"sent": True, "reference": document_id}
