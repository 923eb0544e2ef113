"""Feeding the DMP: a professional sends a document (type, title, date, PDF or text file) through
the MHD provide transaction (ITI-65).

    GET  /p/dmp/upload     the form
    POST /p/dmp/upload     send it; 400 with the form and a French message naming the field,
                           303 to the list when the DMP accepted it
"""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bouquet import get_context, render
from bouquet.api.web import Form
from bouquet_dmp import web
from bouquet_dmp.codes import INVISIBLE_PATIENT, INVISIBLE_REPRESENTANTS
from bouquet_dmp.doctypes import types
from bouquet_dmp.config import dmp_settings
from bouquet_dmp.content import UPLOADABLE, ContentError, check
from bouquet_dmp.mhd_client import DmpError

MAX_TITLE = 200
#: The upload form's confidentiality boxes → the codes the DMP carries.
CONFIDENTIALITY_FIELDS = {"masque": "R", "invisible_patient": INVISIBLE_PATIENT, "invisible_representants": INVISIBLE_REPRESENTANTS}
#: The boxes as the form shows them: field, label, hint (the invisible-to-patient hint depends on the delay set).
CONFIDENTIALITY_CHOICES = [
    ("masque", "Masquer aux professionnels",
     "Seuls vous, le médecin traitant, les professionnels que le patient a choisis et un accès en urgence le verront."),
    ("invisible_patient", "Non visible du patient avant la consultation d'annonce", None),
    ("invisible_representants", "Invisible aux représentants légaux du patient", ""),
]


async def form(request: Request) -> Response:
    ctx = get_context(request)
    web.require(ctx, web.UPLOAD)
    return await render(request, "dmp/upload.html", _page(Form({"date": date.today().isoformat()})))


def _page(form: Form) -> dict[str, object]:
    settings = dmp_settings()
    return web.page(form=form, max_kb=settings.max_upload_bytes // 1000, invisible_days=settings.invisible_patient_days,
                    confidentiality=CONFIDENTIALITY_CHOICES)


async def submit(request: Request) -> Response:
    ctx = get_context(request)
    client = web.require(ctx, web.UPLOAD)
    settings = dmp_settings()
    form_data = await request.form(max_files=1, max_fields=10, max_part_size=settings.max_upload_bytes + 1)
    form = Form({name: str(form_data.get(name) or "").strip() for name in ("type", "title", "date", *CONFIDENTIALITY_FIELDS)})
    values = form.values
    confidentiality = frozenset(code for name, code in CONFIDENTIALITY_FIELDS.items() if values[name] == "oui")
    if INVISIBLE_PATIENT in confidentiality and not settings.invisible_patient_days:
        form.refuse("invisible_patient", "Option indisponible : le délai légal après lequel le document devient visible du "
                                         "patient n'est pas configuré (sa source n'a pas été trouvée). Décochez-la ou "
                                         "demandez à l'administrateur de renseigner BOUQUET_DMP_INVISIBLE_PATIENT_DAYS.")
    if values["type"] not in types():
        form.refuse("type", "Choisissez le type du document.")
    if not values["title"]:
        form.refuse("title", "Le titre est obligatoire.")
    elif len(values["title"]) > MAX_TITLE:
        form.refuse("title", f"Le titre ne doit pas dépasser {MAX_TITLE} caractères.")
    service_date: date | None = None
    try:
        service_date = date.fromisoformat(values["date"])
        if service_date > date.today():
            form.refuse("date", "La date du document ne peut pas être dans le futur.")
    except ValueError:
        form.refuse("date", "La date du document doit être au format JJ/MM/AAAA.")
    upload: Any = form_data.get("file")
    data, content_type = b"", ""
    if not isinstance(upload, UploadFile) or not upload.filename:
        form.refuse("file", "Choisissez le fichier à envoyer (PDF ou texte).")
    else:
        data = await upload.read(settings.max_upload_bytes + 1)
        try:
            content_type = check(data, upload.content_type or "", UPLOADABLE, settings.max_upload_bytes)
        except ContentError as exc:
            form.refuse("file", f"Fichier « {upload.filename} » : {exc}")
    await form_data.close()
    if form.valid:
        assert service_date is not None
        try:
            document_id = await client.provide(type_code=values["type"], title=values["title"], content_type=content_type,
                                               data=data, service_date=service_date, confidentiality=confidentiality)
        except DmpError as exc:
            await ctx.audit.log("dmp.provide", outcome=web.outcome_of(exc), patient_ins=web.patient_ins(ctx),
                                resource="dmp/DocumentReference", details={"reason": exc.reason})
            form.refuse("file", f"{web.problem(exc)['title']} : {exc.message}")
        else:
            await ctx.audit.log("dmp.provide", patient_ins=web.patient_ins(ctx),
                                resource=f"dmp/DocumentReference/{document_id}",
                                details={"type": values["type"], "confidentiality": sorted(confidentiality)})
            ctx.flash(f"Le document « {values['title']} » a été ajouté au DMP.", "success")
            return RedirectResponse("/p/dmp/documents", status_code=303)
    return await render(request, "dmp/upload.html", _page(form), status_code=400)
