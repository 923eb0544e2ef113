"""Emergency access to the DMP (CSP L. 1111-17 I), unless the patient opposed it in advance:

- bris de glace: a professional opens the DMP of a patient whose situation is an emergency, stating why;
- régulation (SAMU – centre 15): the SAMU's regulating doctor who receives a call about the patient.

The DMP grants either for a limited time (`BOUQUET_DMP_EMERGENCY_MINUTES`), shows documents the patient
masked, flags every access made under it, keeps the reason in the access history, and informs the patient
and the médecin traitant (the notification outbox). Both are audited (`dmp.emergency_access`, `mode`).

    GET  /p/dmp/emergency     the bris-de-glace dialog        GET  /p/dmp/regulation    the regulation dialog
    POST /p/dmp/emergency     ask the DMP                     POST /p/dmp/regulation    ask the DMP
    400 naming the field (the form as typed), 303 to the list when granted
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bouquet import get_context, render
from bouquet.api.web import Form, read_fields
from bouquet_dmp import web
from bouquet_dmp.access import BRIS_DE_GLACE, REGULATION
from bouquet_dmp.config import dmp_settings
from bouquet_dmp.display import duration
from bouquet_dmp.mhd_client import DmpError

MIN_REASON, MAX_REASON = 10, 500


@dataclass(frozen=True)
class Mode:
    """One way of opening the DMP in an emergency: who may, what the page says, what the flash says."""

    code: str
    action: str
    path: str
    title: str
    confirm: str
    missing_confirm: str
    granted: str


MODES = {
    BRIS_DE_GLACE: Mode(BRIS_DE_GLACE, web.EMERGENCY, "/p/dmp/emergency", "Accès en urgence au DMP (bris de glace)",
                        "Je certifie que la situation du patient relève de l'urgence",
                        "Confirmez que la situation relève de l'urgence.",
                        "Accès en urgence (bris de glace) accordé. Cet accès est tracé et visible du patient."),
    REGULATION: Mode(REGULATION, web.REGULATION, "/p/dmp/regulation", "Accès au DMP en régulation (SAMU – centre 15)",
                     "Je suis le médecin régulateur du SAMU – centre 15 et je reçois un appel concernant ce patient",
                     "Confirmez que vous régulez un appel concernant ce patient.",
                     "Accès en régulation (SAMU – centre 15) accordé. Cet accès est tracé et visible du patient."),
}


def _page(mode: Mode, form: Form) -> dict[str, object]:
    return web.page(mode=mode, form=form, duration=duration(dmp_settings().emergency_minutes),
                    min_reason=MIN_REASON, max_reason=MAX_REASON)


async def _form(request: Request, mode: Mode) -> Response:
    web.require(get_context(request), mode.action)
    return await render(request, "dmp/emergency.html", _page(mode, Form({"reason": "", "confirm": ""})))


async def _submit(request: Request, mode: Mode) -> Response:
    ctx = get_context(request)
    client = web.require(ctx, mode.action)
    form = await read_fields(request, "reason", "confirm")
    reason = " ".join(form.values["reason"].split())
    if len(reason) < MIN_REASON:
        form.refuse("reason", f"Indiquez le motif de l'urgence (au moins {MIN_REASON} caractères).")
    elif len(reason) > MAX_REASON:
        form.refuse("reason", f"Le motif ne doit pas dépasser {MAX_REASON} caractères.")
    if form.values["confirm"] != "oui":
        form.refuse("confirm", mode.missing_confirm)
    if form.valid:
        try:
            until = await client.emergency(reason, regulation=mode.code == REGULATION)
        except DmpError as exc:
            await ctx.audit.log("dmp.emergency_access", outcome=web.outcome_of(exc), patient_ins=web.patient_ins(ctx),
                                resource="dmp/Patient", details={"mode": mode.code, "reason": reason, "refusal": exc.reason})
            form.refuse("reason", f"{web.problem(exc)['title']} : {exc.message}")
        else:
            await ctx.audit.log("dmp.emergency_access", patient_ins=web.patient_ins(ctx), resource="dmp/Patient",
                                details={"mode": mode.code, "reason": reason, "until": until})
            ctx.flash(mode.granted, "warning")
            return RedirectResponse("/p/dmp/documents", status_code=303)
    return await render(request, "dmp/emergency.html", _page(mode, form), status_code=400)


async def form(request: Request) -> Response:
    return await _form(request, MODES[BRIS_DE_GLACE])


async def submit(request: Request) -> Response:
    return await _submit(request, MODES[BRIS_DE_GLACE])


async def regulation_form(request: Request) -> Response:
    return await _form(request, MODES[REGULATION])


async def regulation_submit(request: Request) -> Response:
    return await _submit(request, MODES[REGULATION])
