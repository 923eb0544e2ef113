"""The DMP page: the full list with filters, and the viewer.

    GET /p/dmp/documents                       the list (filters: classe, type, du, au, auteur=moi)
    GET /p/dmp/documents/{id}                  the viewer: PDF inline, text preformatted, CDA as sections
    GET /p/dmp/documents/{id}/content          the document's bytes (the PDF frame), inline
"""

from __future__ import annotations

from datetime import date

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from bouquet import get_context, render
from bouquet.api.web import CSP, Form
from bouquet_dmp import cda, web
from bouquet_dmp.doctypes import classes, types
from bouquet_dmp.content import CDA, PDF
from bouquet_dmp.mhd_client import DmpError, DmpRefused

#: The viewer page may frame the document from this portal, and nothing else.
VIEWER_CSP = CSP + "; frame-src 'self'"
#: The document itself: framed by this portal only; a text runs nothing (a PDF needs the browser's viewer).
PDF_CSP = "frame-ancestors 'self'"
TEXT_CSP = "default-src 'none'; frame-ancestors 'self'; sandbox"


def _filters(request: Request) -> tuple[Form, dict[str, object]]:
    form = Form({name: request.query_params.get(name, "").strip()
                 for name in ("classe", "type", "du", "au", "auteur")})
    values = form.values
    parsed: dict[str, object] = {}
    if values["classe"]:
        if values["classe"] in classes():
            parsed["class_code"] = values["classe"]
        else:
            form.refuse("classe", "Catégorie inconnue : choisissez une catégorie de la liste.")
    if values["type"]:
        if values["type"] in types():
            parsed["type_code"] = values["type"]
        else:
            form.refuse("type", "Type de document inconnu : choisissez un type de la liste.")
    for name, key, label in (("du", "since", "Du"), ("au", "until", "Au")):
        if values[name]:
            try:
                parsed[key] = date.fromisoformat(values[name])
            except ValueError:
                form.refuse(name, f"« {label} » doit être une date au format JJ/MM/AAAA.")
    if "since" in parsed and "until" in parsed and parsed["since"] > parsed["until"]:  # type: ignore[operator]
        form.refuse("au", "« Au » doit être postérieure ou égale à « Du ».")
    return form, parsed


async def documents(request: Request) -> Response:
    ctx = get_context(request)
    client = web.require(ctx)
    form, parsed = _filters(request)
    context: dict[str, object] = {"form": form, "can_upload": ctx.can(web.UPLOAD), "can_emergency": ctx.can(web.EMERGENCY),
                                  "can_regulation": ctx.can(web.REGULATION)}
    if not form.valid:
        return await render(request, "dmp/documents.html", web.page(**context, documents=[]), status_code=400)
    if form.values["auteur"] == "moi" and ctx.account is not None and ctx.account.idnat_ps:
        parsed["author_idnat"] = ctx.account.idnat_ps
    try:
        status = await client.patient()
        found = await client.find(**parsed) if status.has_record else []  # type: ignore[arg-type]
    except DmpError as exc:
        await ctx.audit.log("dmp.search", outcome=web.outcome_of(exc), patient_ins=web.patient_ins(ctx),
                            resource="dmp/DocumentReference", details={"via": "page", "reason": exc.reason})
        return await render(request, "dmp/documents.html", web.page(**context, documents=[], problem=web.problem(exc)))
    await ctx.audit.log("dmp.search", patient_ins=web.patient_ins(ctx), resource="dmp/DocumentReference",
                        details={"via": "page", "count": len(found)})
    return await render(request, "dmp/documents.html", web.page(**context, status=status, documents=found,
                                                                 withheld=getattr(found, "withheld", [])))


async def viewer(request: Request) -> Response:
    ctx = get_context(request)
    client = web.require(ctx)
    document_id = request.path_params["document_id"]
    resource = f"dmp/DocumentReference/{document_id}"
    try:
        entry = await client.read(document_id)
        content, kind = (b"", PDF) if entry.content_type == PDF else await client.retrieve(entry)
    except DmpError as exc:
        await ctx.audit.log("dmp.retrieve", outcome=web.outcome_of(exc), patient_ins=web.patient_ins(ctx),
                            resource=resource, details={"reason": exc.reason})
        status_code = (404 if exc.reason == "no-document" else 403) if isinstance(exc, DmpRefused) else 502
        return await render(request, "dmp/viewer.html", web.page(problem=web.problem(exc)), status_code=status_code)
    await ctx.audit.log("dmp.read" if entry.content_type == PDF else "dmp.retrieve", patient_ins=web.patient_ins(ctx),
                        resource=resource, details={"content_type": entry.content_type})
    view, text, problem = None, None, None
    if kind == CDA:
        try:
            view = cda.render(content)
        except cda.CdaError as exc:
            problem = {"title": "Document illisible", "detail": str(exc), "level": "error"}
    elif kind != PDF:
        text = content.decode("utf-8", errors="replace")
    response = await render(request, "dmp/viewer.html", web.page(entry=entry, view=view, text=text, problem=problem))
    if entry.content_type == PDF:
        response.headers["Content-Security-Policy"] = VIEWER_CSP
    return response


async def content(request: Request) -> Response:
    ctx = get_context(request)
    client = web.require(ctx)
    document_id = request.path_params["document_id"]
    resource = f"dmp/Binary/{document_id}"
    try:
        entry = await client.read(document_id)
        data, kind = await client.retrieve(entry)
    except DmpError as exc:
        await ctx.audit.log("dmp.retrieve", outcome=web.outcome_of(exc), patient_ins=web.patient_ins(ctx),
                            resource=resource, details={"reason": exc.reason})
        raise HTTPException(404 if isinstance(exc, DmpRefused) else 502, web.problem(exc)["detail"]) from None
    await ctx.audit.log("dmp.retrieve", patient_ins=web.patient_ins(ctx), resource=resource, details={"content_type": kind})
    media_type = "text/plain; charset=utf-8" if kind != PDF else PDF
    return Response(data, media_type=media_type, headers={
        "Content-Disposition": "inline", "Content-Security-Policy": PDF_CSP if kind == PDF else TEXT_CSP, "X-Frame-Options": "SAMEORIGIN",
        "Cache-Control": "no-store"})
