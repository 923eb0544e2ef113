"""Bris de glace: a professional opens the patient's DMP in an emergency, stating why. The DMP grants
it for a limited time (`BOUQUET_DMP_EMERGENCY_MINUTES`), shows documents the patient masked, flags
every access made under it and keeps the reason in the access history.

    GET  /p/dmp/emergency    the dialog: what it means, the reason
    POST /p/dmp/emergency    ask the DMP; 400 naming the field, 303 to the list when granted
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bouquet import get_context, render
from bouquet.api.web import read_form
from bouquet_dmp import web
from bouquet_dmp.config import dmp_settings
from bouquet_dmp.mhd_client import DmpError

MIN_REASON, MAX_REASON = 10, 500


async def form(request: Request) -> Response:
    ctx = get_context(request)
    web.require(ctx, web.EMERGENCY)
    return await render(request, "dmp/emergency.html", web.page(values={}, errors={},
                                                                 hours=dmp_settings().emergency_minutes / 60))


async def submit(request: Request) -> Response:
    ctx = get_context(request)
    client = web.require(ctx, web.EMERGENCY)
    values = await read_form(request, "reason", "confirm")
    reason = " ".join(values["reason"].split())
    errors: dict[str, str] = {}
    if len(reason) < MIN_REASON:
        errors["reason"] = f"Indiquez le motif de l'urgence (au moins {MIN_REASON} caractères)."
    elif len(reason) > MAX_REASON:
        errors["reason"] = f"Le motif ne doit pas dépasser {MAX_REASON} caractères."
    if values["confirm"] != "oui":
        errors["confirm"] = "Confirmez que la situation relève de l'urgence."
    if not errors:
        try:
            until = await client.emergency(reason)
        except DmpError as exc:
            await ctx.audit.log("dmp.emergency_access", outcome=web.outcome_of(exc), patient_ins=web.patient_ins(ctx),
                                resource="dmp/Patient", details={"reason": reason, "refusal": exc.reason})
            errors["reason"] = f"{web.problem(exc)['title']} : {exc.message}"
        else:
            await ctx.audit.log("dmp.emergency_access", patient_ins=web.patient_ins(ctx), resource="dmp/Patient",
                                details={"reason": reason, "until": until})
            ctx.flash("Accès en urgence (bris de glace) accordé. Cet accès est tracé et visible du patient.", "warning")
            return RedirectResponse("/p/dmp/documents", status_code=303)
    return await render(request, "dmp/emergency.html", web.page(values={"reason": values["reason"], "confirm": values["confirm"]},
                                                                 errors=errors, hours=dmp_settings().emergency_minutes / 60),
                        status_code=400)
