"""Recording a prevention act for the patient in context: the form (GET /p/prevention/acts/new) and
POST /p/prevention/acts (CSRF-protected by the core, `prevention.record` required, audited).

The patient page's panel posts with `then=patient`: the outcome becomes a flash message and the
answer asks htmx to reload the page (`HX-Refresh`), or redirects to it without htmx, so the panel
and the alerts show the act at once."""

from __future__ import annotations

from datetime import date
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bouquet import get_context, render
from bouquet_prevention import clock
from bouquet_prevention.catalogue import default_catalogue
from bouquet_prevention.history import find_same, patient_ins, recorded_list
from bouquet_prevention.hooks import may_share, rules_for
from bouquet_prevention.models import PreventionAct

__all__ = ["RECORD", "Refusal", "new_act", "record_act", "render_form"]

RECORD = "prevention.record"
_NOT_ALLOWED = "Vous n'avez pas le droit d'enregistrer un acte de prévention."


class Refusal(Exception):
    """Why a request was refused: HTTP status, French message, the form field at fault."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.field = status, message, field


async def new_act(request: Request) -> Response:
    """The form to record an act for the patient in context; `?rule=` or `?act=` preselects the act."""
    ctx = get_context(request)
    if not ctx.can(RECORD):
        return await _page(request, {}, Refusal(403, _NOT_ALLOWED))
    values = {"act_code": request.query_params.get("act", "")}
    rule = rules_for(ctx.plugins).get(request.query_params.get("rule", ""))
    if rule is not None and not values["act_code"]:
        values["act_code"] = rule.satisfied_by[0].act
    return await _page(request, values)


async def record_act(request: Request) -> Response:
    """Record one act; 400 with a French message for an unknown act, a bad or impossible date, no patient."""
    ctx = get_context(request)
    async with request.form() as form:
        values = {name: str(form.get(name, "")).strip()
                  for name in ("act_code", "performed_on", "patient_context_id", "then")}
    patient = ctx.patient
    if not ctx.can(RECORD):
        if patient is not None:
            await ctx.audit.log("prevention.act_recorded", outcome="denied", patient_ins=patient_ins(patient),
                                details={"act": values["act_code"][:64]})
        return await _reply(request, values, Refusal(403, _NOT_ALLOWED))
    try:
        act_code, performed_on = _validated(ctx, values)
    except Refusal as refusal:
        return await _reply(request, values, refusal)
    assert patient is not None and ctx.account is not None  # checked by _validated and the sign-in
    ins, account_id = patient_ins(patient), ctx.account.id

    def save() -> tuple[int, bool]:
        with ctx.db.write() as session:
            existing = find_same(session, ins, act_code, performed_on)
            row = existing or PreventionAct(patient_ins=ins, act_code=act_code, performed_on=performed_on,
                                            recorded_by_id=account_id, source="portal")
            if existing is None:
                session.add(row)
                session.flush()
            ctx.audit.write_in(session, "prevention.act_recorded", patient_ins=ins,
                               resource=f"prevention_act/{row.id}",
                               details={"act": act_code, "performed_on": performed_on.isoformat(),
                                        "already_recorded": existing is not None})
            return row.id, existing is None  # type: ignore[return-value]

    _, created = await ctx.db.run(save)
    label = default_catalogue().label(act_code)
    message = (f"{label} du {performed_on.strftime('%d/%m/%Y')} enregistré." if created
               else f"{label} du {performed_on.strftime('%d/%m/%Y')} était déjà enregistré.")
    status_code = 201 if created else 200
    if values["then"] == "patient":
        ctx.flash(message, "success")
        return _back_to_patient(request, status_code)
    if "hx-request" in request.headers:
        return HTMLResponse(f'<p class="fr-alert fr-alert--success fr-alert--sm" role="status">{escape(message)}</p>',
                            status_code=status_code)
    ctx.flash(message, "success")
    return RedirectResponse(f"/p/prevention/acts/new?act={act_code}", status_code=303)


def _back_to_patient(request: Request, status_code: int) -> Response:
    """Back to the patient page, whose panel and alerts then show what changed (the flash says what)."""
    if "hx-request" in request.headers:
        return HTMLResponse("", status_code=status_code, headers={"HX-Refresh": "true"})
    return RedirectResponse("/patient", status_code=303)


def open_patient(ctx: Any, posted_context_id: str) -> Any:
    """The patient a prevention form acts on: the one open, and the one the form was shown for
    (`patient_context_id`, when it sent one); a Refusal otherwise."""
    patient = ctx.patient
    if patient is None:
        raise Refusal(400, "Aucun dossier patient n'est ouvert : ouvrez d'abord le dossier du patient.")
    if posted_context_id and posted_context_id != ctx.patient_context_id:
        raise Refusal(409, "Le dossier patient a changé depuis l'ouverture du formulaire : "
                            "vérifiez le patient et recommencez.")
    return patient


def _validated(ctx: Any, values: dict[str, str]) -> tuple[str, date]:
    patient = open_patient(ctx, values["patient_context_id"])
    acts = default_catalogue().acts
    if not values["act_code"]:
        raise Refusal(400, "Choisissez l'acte à enregistrer.", "act_code")
    if values["act_code"] not in acts:
        raise Refusal(400, f"Acte inconnu : « {values['act_code'][:64]} ».", "act_code")
    try:
        performed_on = date.fromisoformat(values["performed_on"])
    except ValueError:
        raise Refusal(400, "La date de l'acte doit être une date au format AAAA-MM-JJ.", "performed_on") from None
    if performed_on > clock.today():
        raise Refusal(400, "La date de l'acte ne peut pas être dans le futur.", "performed_on")
    born = patient.traits.birth_date
    if performed_on < born:
        raise Refusal(400, "La date de l'acte est antérieure à la naissance du patient "
                            f"({born.strftime('%d/%m/%Y')}).", "performed_on")
    return values["act_code"], performed_on


async def _reply(request: Request, values: dict[str, str], refusal: Refusal) -> Response:
    if values.get("then") == "patient" and "hx-request" in request.headers:
        get_context(request).flash(refusal.message, "error")
        return _back_to_patient(request, refusal.status)
    if "hx-request" in request.headers:
        return HTMLResponse(f'<p class="fr-error-text" role="alert">{escape(refusal.message)}</p>',
                            status_code=refusal.status)
    return await _page(request, values, refusal)


async def _page(request: Request, values: dict[str, str], refusal: Refusal | None = None) -> Response:
    return await render_form(request, values, refusal)


async def render_form(request: Request, values: dict[str, str], refusal: Refusal | None = None) -> Response:
    """The recording page: the form, and the acts recorded in Bouquet for the patient (each
    correctable and deletable by its author); a refusal keeps what was typed."""
    ctx = get_context(request)
    catalogue = default_catalogue()
    options = [(act.code, act.label) for act in catalogue.acts.values()]
    recorded: list[dict[str, Any]] = []
    if ctx.patient is not None and ctx.account is not None:
        ins, account_id = patient_ins(ctx.patient), ctx.account.id

        def read() -> list[dict[str, Any]]:
            with ctx.db.session() as session:
                return recorded_list(session, ins, account_id)

        recorded = await ctx.db.run(read)
    received = {act.code for act in catalogue.acts.values() if not act.performed_in_practice}
    return await render(request, "prevention/record.html", {"prevention": {
        "form": values, "options": options, "refusal": refusal, "today": clock.today().isoformat(),
        "may_record": ctx.can(RECORD), "patient_context_id": ctx.patient_context_id, "recorded": recorded,
        "received": sorted(received), "may_share": may_share(ctx.plugins),
        "vaccines": sorted(code for code, act in catalogue.acts.items() if act.kind == "vaccination"),
    }}, status_code=refusal.status if refusal else 200)
