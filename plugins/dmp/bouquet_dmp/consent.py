"""The patient's consent to a professional's access to their DMP, recorded from the portal (CSP L. 1110-4 III,
L. 1111-17 III, R. 1111-46; Conseil d'État, 15 October 2025, n° 490409):

- outside the care team: the patient's explicit consent at this consultation (valid until the end of the day);
- the care team: the patient's information and initial consent to the whole care team's access (once).

The DMP records who, when and how; both are in the patient's access history and the portal's audit trail.

    GET  /p/dmp/consent    the form
    POST /p/dmp/consent    record it; 400 naming the field, 303 to the list when recorded
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bouquet import get_context, render
from bouquet.api.web import Form, read_fields
from bouquet_dmp import web
from bouquet_dmp.access import CONSENT_WAYS
from bouquet_dmp.mhd_client import DmpError

SCOPES = {"consultation": "Pour cette consultation (je ne fais pas partie de son équipe de soins)",
          "equipe-de-soins": "Consentement initial à l'accès de toute son équipe de soins, après l'en avoir informé"}
WAYS = {"oral": "Oralement", "ecrit": "Par écrit", "electronique": "Par voie électronique"}


def _page(form: Form) -> dict[str, object]:
    return web.page(form=form, scopes=list(SCOPES.items()), ways=list(WAYS.items()))


async def form(request: Request) -> Response:
    ctx = get_context(request)
    web.require(ctx, web.UPLOAD)    # professionals only: the same grant as feeding the DMP
    return await render(request, "dmp/consent.html", _page(Form({"scope": "consultation", "how": "", "confirm": ""})))


async def submit(request: Request) -> Response:
    ctx = get_context(request)
    client = web.require(ctx, web.UPLOAD)
    form = await read_fields(request, "scope", "how", "confirm")
    values = form.values
    if values["scope"] not in SCOPES:
        form.refuse("scope", "Choisissez ce à quoi le patient consent.")
    if values["how"] not in CONSENT_WAYS:
        form.refuse("how", "Indiquez comment le patient a donné son consentement.")
    if values["confirm"] != "oui":
        form.refuse("confirm", "Confirmez que le patient a été informé et qu'il consent.")
    if form.valid:
        try:
            recorded = await client.consent(values["scope"], values["how"])
        except DmpError as exc:
            await ctx.audit.log("dmp.consent", outcome=web.outcome_of(exc), patient_ins=web.patient_ins(ctx),
                                resource="dmp/Patient", details={"scope": values["scope"], "refusal": exc.reason})
            form.refuse("scope", f"{web.problem(exc)['title']} : {exc.message}")
        else:
            await ctx.audit.log("dmp.consent", patient_ins=web.patient_ins(ctx), resource="dmp/Patient",
                                details={"scope": values["scope"], "how": values["how"]})
            ctx.flash(f"Consentement enregistré dans le DMP : {recorded}.", "success")
            return RedirectResponse("/p/dmp/documents", status_code=303)
    return await render(request, "dmp/consent.html", _page(form), status_code=400)
