"""Recording a prevention act for the patient in context: the form (GET /p/prevention/acts/new) and
POST /p/prevention/acts (CSRF-protected by the core, `prevention.record` required, audited).

Nothing is recorded in one click: a POST without `decision` is checked and answered with a
confirmation page saying what will be recorded, for whom and on which date (« Confirmer » /
« Annuler », one plain form: no JavaScript needed); only `decision=confirm` records, `cancel`
records nothing. The patient page's « Fait aujourd'hui » posts with `then=patient`: the outcome
becomes a flash message on the patient page, whose panel and alerts then show the act. An exam a GP
does not perform (a mammography) is recorded as a result received, at the exam's date."""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bouquet import get_context, render
from bouquet.api.web import Form, read_fields
from bouquet_prevention import clock
from bouquet_prevention.catalogue import default_catalogue
from bouquet_prevention.history import find_same, patient_ins, recorded_list
from bouquet_prevention.hooks import may_share, rules_for
from bouquet_prevention.models import PreventionAct

__all__ = ["RECORD", "Refusal", "new_act", "record_act", "render_form"]

RECORD = "prevention.record"
_NOT_ALLOWED = "Vous n'avez pas le droit d'enregistrer un acte de prévention."
_FIELDS = ("act_code", "performed_on", "patient_context_id", "then", "decision")
CANCELLED = "Enregistrement annulé : rien n'a été enregistré."


class Refusal(Exception):
    """Why a request was refused as a whole (no right, no patient, another patient): HTTP status and
    French message; `field` names the form field at fault when there is one."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.field = status, message, field


async def new_act(request: Request) -> Response:
    """The form to record an act for the patient in context; `?rule=` or `?act=` preselects the act."""
    ctx = get_context(request)
    if not ctx.can(RECORD):
        return await render_form(request, Form(), Refusal(403, _NOT_ALLOWED))
    values = {"act_code": request.query_params.get("act", "")[:64]}
    rule = rules_for(ctx.plugins).get(request.query_params.get("rule", ""))
    if rule is not None and not values["act_code"]:
        values["act_code"] = rule.satisfied_by[0].act
    return await render_form(request, Form(values))


async def record_act(request: Request) -> Response:
    """Check the act, then ask for confirmation; record it only once confirmed (see the module)."""
    ctx = get_context(request)
    form = await read_fields(request, *_FIELDS)
    values = form.values
    patient = ctx.patient
    if not ctx.can(RECORD):
        if patient is not None:
            await ctx.audit.log("prevention.act_recorded", outcome="denied", patient_ins=patient_ins(patient),
                                details={"act": values["act_code"][:64]})
        return await _reply(request, form, Refusal(403, _NOT_ALLOWED))
    if values["decision"] not in ("", "confirm", "cancel"):
        return await _reply(request, form, Refusal(400, "Choisissez « Confirmer » ou « Annuler »."))
    if values["decision"] == "cancel":
        ctx.flash(CANCELLED, "info")
        return _back(values, 303)
    try:
        act_code, performed_on = _validated(ctx, form)
    except Refusal as refusal:
        return await _reply(request, form, refusal)
    assert patient is not None and ctx.account is not None  # checked by _validated and the sign-in
    if values["decision"] != "confirm":
        return await _confirmation(request, form, act_code, performed_on)
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
    catalogue = default_catalogue()
    ctx.flash(catalogue.recorded_message(act_code, performed_on, already=not created,
                                         received=not catalogue.acts[act_code].performed_in_practice), "success")
    return _back(values, 303)


def _back(values: dict[str, str], status_code: int) -> Response:
    """Where the person came from: the patient page (its panel and alerts then show what changed;
    the flash says what), or the recording page."""
    if values.get("then") == "patient":
        return RedirectResponse("/patient", status_code=status_code)
    code = values.get("act_code", "")
    known = code in default_catalogue().acts
    return RedirectResponse(f"/p/prevention/acts/new?act={code}" if known else "/p/prevention/acts/new",
                            status_code=status_code)


async def _confirmation(request: Request, form: Form, act_code: str, performed_on: date) -> Response:
    """The page that says what will be recorded, for whom, on which date; « Confirmer » / « Annuler »."""
    ctx = get_context(request)
    act = default_catalogue().acts[act_code]
    return await render(request, "prevention/confirm.html", {"prevention": {
        "form": form.values, "label": act.label, "received": not act.performed_in_practice,
        "performed_on": performed_on, "today": performed_on == clock.today(),
        "patient_context_id": ctx.patient_context_id,
    }})


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


def _validated(ctx: Any, form: Form) -> tuple[str, date]:
    """The act and its date, every field's error in `form` at once (then a Refusal of 400)."""
    values = form.values
    patient = open_patient(ctx, values["patient_context_id"])
    acts = default_catalogue().acts
    if not values["act_code"]:
        form.refuse("act_code", "Choisissez l'acte à enregistrer.")
    elif values["act_code"] not in acts:
        form.refuse("act_code", f"Acte inconnu : « {values['act_code'][:64]} ».")
    performed_on = None
    try:
        performed_on = date.fromisoformat(values["performed_on"])
    except ValueError:
        form.refuse("performed_on", "La date de l'acte doit être une date au format AAAA-MM-JJ.")
    if performed_on is not None and performed_on > clock.today():
        form.refuse("performed_on", "La date de l'acte ne peut pas être dans le futur.")
    born = patient.traits.birth_date
    if performed_on is not None and performed_on < born:
        form.refuse("performed_on", "La date de l'acte est antérieure à la naissance du patient "
                                    f"({born.strftime('%d/%m/%Y')}).")
    if form.errors or performed_on is None:
        raise Refusal(400, " ".join(form.errors.values()))
    return values["act_code"], performed_on


async def _reply(request: Request, form: Form, refusal: Refusal) -> Response:
    """A refusal: from the patient page's « Fait aujourd'hui », a flash on the patient page; else the
    recording page again with what was typed and every error."""
    if form.values.get("then") == "patient":
        get_context(request).flash(refusal.message, "error")
        return _back(form.values, 303)
    return await render_form(request, form, refusal)


async def render_form(request: Request, form: Form, refusal: Refusal | None = None) -> Response:
    """The recording page: the form, and the acts recorded in Bouquet for the patient (each
    correctable and deletable by its author); a refusal keeps what was typed, with every error."""
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
        "form": form.values, "errors": form.errors, "options": options, "refusal": refusal, "today": clock.today().isoformat(),
        "may_record": ctx.can(RECORD), "patient_context_id": ctx.patient_context_id, "recorded": recorded,
        "received": sorted(received), "may_share": may_share(ctx.plugins),
        "vaccines": sorted(code for code, act in catalogue.acts.items() if act.kind == "vaccination"),
    }}, status_code=refusal.status if refusal else 200)
