"""Correcting and deleting a recorded act (issue 14: a « Fait aujourd'hui » recorded by mistake must
have a way back). The acts recorded in Bouquet for the patient in context are listed on the recording page;
their author corrects the date (POST /p/prevention/acts/{id}/correct) or deletes the act
(POST /p/prevention/acts/{id}/delete), with a reason each time, audited (`prevention.act_corrected`,
`prevention.act_deleted`, with the values before and after). Statuses are computed from the acts on
every read, so the panel, alerts, CDS Hooks and the population view show the change at once.
Someone else's act, an act of another patient or an unknown id is refused and changes nothing."""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bouquet import get_context
from bouquet.api.web import Form, read_fields
from bouquet_prevention import clock
from bouquet_prevention.catalogue import default_catalogue
from bouquet_prevention.history import find_same, patient_ins
from bouquet_prevention.hooks import may_share, share_vaccination
from bouquet_prevention.models import PreventionAct
from bouquet_prevention.recording import RECORD, Refusal, open_patient, render_form

__all__ = ["correct", "delete", "share"]

MAX_REASON = 500
CVX = "http://hl7.org/fhir/sid/cvx"


async def correct(request: Request) -> Response:
    """Change the date of one's own recorded act; the reason is required."""
    return await _change(request, deleting=False)


async def delete(request: Request) -> Response:
    """Delete one's own recorded act; the reason is required."""
    return await _change(request, deleting=True)


def _act_id(request: Request) -> int:
    """The act's id in the path (0, which names no act, when it is not a number)."""
    try:
        return int(request.path_params["act_id"])
    except ValueError:
        return 0


async def _change(request: Request, *, deleting: bool) -> Response:
    ctx = get_context(request)
    action = "prevention.act_deleted" if deleting else "prevention.act_corrected"
    form = await read_fields(request, "reason", "performed_on", "patient_context_id")
    values = form.values
    act_id = _act_id(request)
    patient = ctx.patient
    editing = Form({"editing": str(act_id), **values}, form.errors)
    try:
        if not ctx.can(RECORD):
            raise Refusal(403, "Vous n'avez pas le droit de modifier un acte de prévention.")
        open_patient(ctx, values["patient_context_id"])
        new_date = None if deleting else _date(form, patient)
        if not values["reason"]:
            form.refuse("reason", "Indiquez le motif de la " + ("suppression." if deleting else "correction."))
        elif len(values["reason"]) > MAX_REASON:
            form.refuse("reason", f"Le motif tient en {MAX_REASON} caractères au plus.")
        if form.errors:
            raise Refusal(400, " ".join(form.errors.values()))
    except Refusal as refusal:
        if patient is not None and refusal.status == 403:
            await ctx.audit.log(action, outcome="denied", patient_ins=patient_ins(patient), resource=f"prevention_act/{act_id}")
        return await render_form(request, editing, refusal)
    ins, account_id = patient_ins(patient), ctx.account.id

    def save() -> tuple[str | None, str, date | None]:
        with ctx.db.write() as session:
            row = session.get(PreventionAct, act_id) if 0 < act_id < 2**63 else None
            if row is None or row.patient_ins != ins:
                return "missing", "", None
            if row.recorded_by_id != account_id:
                ctx.audit.write_in(session, action, outcome="denied", patient_ins=ins,
                                   resource=f"prevention_act/{row.id}", details={"reason": "not_the_author"})
                return "not_author", "", None
            before = row.performed_on.isoformat()
            details = {"act": row.act_code, "performed_on": before, "reason": values["reason"]}
            if deleting:
                session.delete(row)
            else:
                assert new_date is not None
                same = find_same(session, ins, row.act_code, new_date)
                if same is not None and same.id != row.id:
                    return "duplicate", "", None
                row.performed_on = new_date
                session.add(row)
                details["corrected_to"] = new_date.isoformat()
            ctx.audit.write_in(session, action, patient_ins=ins, resource=f"prevention_act/{act_id}", details=details)
            return None, row.act_code, row.performed_on

    problem, code, day = await ctx.db.run(save)
    duplicate = "Cet acte est déjà enregistré à cette date : supprimez plutôt celui-ci."
    refusals = {
        "missing": Refusal(404, "Cet acte n'existe pas pour ce patient (déjà supprimé ?)."),
        "not_author": Refusal(403, "Seul le professionnel qui a enregistré cet acte peut le corriger ou le supprimer."),
        "duplicate": Refusal(409, duplicate, "performed_on"),
    }
    if problem is not None:
        if problem == "duplicate":
            form.refuse("performed_on", duplicate)
        return await render_form(request, editing, refusals[problem])
    assert day is not None
    catalogue = default_catalogue()
    # « Mammographie de dépistage du 03/02/2026 supprimée. », « Rappel … du 05/03/2026 corrigé. » (the new date)
    ctx.flash(catalogue.recorded_message(code, day, "supprimé" if deleting else "corrigé"), "success")
    return RedirectResponse("/p/prevention/acts/new", status_code=303)


def _date(form: Form, patient: Any) -> date | None:
    """The corrected date, or None with its error in `form`."""
    try:
        day = date.fromisoformat(form.values["performed_on"])
    except ValueError:
        form.refuse("performed_on", "La date de l'acte doit être une date au format AAAA-MM-JJ.")
        return None
    if day > clock.today():
        form.refuse("performed_on", "La date de l'acte ne peut pas être dans le futur.")
    elif day < patient.traits.birth_date:
        form.refuse("performed_on", "La date de l'acte est antérieure à la naissance du patient.")
    return day


async def share(request: Request) -> Response:
    """Send a vaccination recorded in Bouquet to the patient's DMP (`prevention_share_vaccination`,
    implemented by the DMP plugin under the DMP's rules): audited `prevention.act_shared`."""
    ctx = get_context(request)
    values = (await read_fields(request, "patient_context_id")).values
    act_id = _act_id(request)
    patient = ctx.patient
    try:
        if not ctx.can(RECORD):
            raise Refusal(403, "Vous n'avez pas le droit d'envoyer un acte de prévention.")
        open_patient(ctx, values["patient_context_id"])
        if not may_share(ctx.plugins):
            raise Refusal(409, "Aucun service n'est configuré pour envoyer les vaccinations au DMP.")
    except Refusal as refusal:
        return await render_form(request, Form(), refusal)
    ins = patient_ins(patient)

    def read() -> PreventionAct | None:
        with ctx.db.session() as session:
            row = session.get(PreventionAct, act_id) if 0 < act_id < 2**63 else None
            return row if row is not None and row.patient_ins == ins else None

    row = await ctx.db.run(read)
    act = default_catalogue().acts.get(row.act_code) if row is not None else None
    if row is None or act is None:
        return await render_form(request, Form(), Refusal(404, "Cet acte n'existe pas pour ce patient."))
    if act.kind != "vaccination":
        return await render_form(request, Form(), Refusal(400, "Seules les vaccinations s'envoient au DMP "
                                                           "(une note de vaccination)."))
    cvx = next((c.code for c in act.codings if c.system == CVX), None)
    answer = await share_vaccination(ctx, patient, {"act": act.code, "label": act.label, "cvx": cvx,
                                                    "performed_on": row.performed_on.isoformat()})
    await ctx.audit.log("prevention.act_shared", outcome="success" if answer["sent"] else "failure",
                        patient_ins=ins, resource=f"prevention_act/{row.id}",
                        details={"act": act.code, "performed_on": row.performed_on.isoformat(),
                                 "to": answer["plugin"], "reference": answer["reference"]})
    if not answer["sent"]:
        return await render_form(request, Form(), Refusal(502, answer["message"] or "L'envoi a été refusé."))
    ctx.flash(f"Vaccination du {row.performed_on.strftime('%d/%m/%Y')} envoyée au DMP du patient "
              "(note de vaccination).", "success")
    return RedirectResponse("/p/prevention/acts/new", status_code=303)
