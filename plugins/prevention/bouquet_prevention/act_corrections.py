"""Correcting and deleting a recorded act (issue: a one-click « Fait aujourd'hui » must have a way
back). The acts recorded in Bouquet for the patient in context are listed on the recording page;
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
from bouquet_prevention import clock
from bouquet_prevention.history import find_same, patient_ins
from bouquet_prevention.models import PreventionAct
from bouquet_prevention.recording import RECORD, Refusal, render_form

__all__ = ["correct", "delete"]

MAX_REASON = 500


async def correct(request: Request) -> Response:
    """Change the date of one's own recorded act; the reason is required."""
    return await _change(request, deleting=False)


async def delete(request: Request) -> Response:
    """Delete one's own recorded act; the reason is required."""
    return await _change(request, deleting=True)


async def _change(request: Request, *, deleting: bool) -> Response:
    ctx = get_context(request)
    action = "prevention.act_deleted" if deleting else "prevention.act_corrected"
    async with request.form() as form:
        values = {name: str(form.get(name, "")).strip() for name in ("reason", "performed_on", "patient_context_id")}
    try:
        act_id = int(request.path_params["act_id"])
    except ValueError:
        act_id = 0
    patient = ctx.patient
    try:
        if not ctx.can(RECORD):
            raise Refusal(403, "Vous n'avez pas le droit de modifier un acte de prévention.")
        if patient is None:
            raise Refusal(400, "Aucun dossier patient n'est ouvert : ouvrez d'abord le dossier du patient.")
        if values["patient_context_id"] and values["patient_context_id"] != ctx.patient_context_id:
            raise Refusal(409, "Le dossier patient a changé depuis l'ouverture du formulaire : "
                               "vérifiez le patient et recommencez.")
        new_date = None if deleting else _date(values["performed_on"], patient)
        if not values["reason"]:
            raise Refusal(400, "Indiquez le motif de la " + ("suppression." if deleting else "correction."), "reason")
        if len(values["reason"]) > MAX_REASON:
            raise Refusal(400, f"Le motif tient en {MAX_REASON} caractères au plus.", "reason")
    except Refusal as refusal:
        if patient is not None and refusal.status == 403:
            await ctx.audit.log(action, outcome="denied", patient_ins=patient_ins(patient), resource=f"prevention_act/{act_id}")
        return await render_form(request, {"editing": str(act_id), **values}, refusal)
    ins, account_id = patient_ins(patient), ctx.account.id

    def save() -> str | None:
        with ctx.db.write() as session:
            row = session.get(PreventionAct, act_id) if 0 < act_id < 2**63 else None
            if row is None or row.patient_ins != ins:
                return "missing"
            if row.recorded_by_id != account_id:
                ctx.audit.write_in(session, action, outcome="denied", patient_ins=ins,
                                   resource=f"prevention_act/{row.id}", details={"reason": "not_the_author"})
                return "not_author"
            before = row.performed_on.isoformat()
            details = {"act": row.act_code, "performed_on": before, "reason": values["reason"]}
            if deleting:
                session.delete(row)
            else:
                assert new_date is not None
                same = find_same(session, ins, row.act_code, new_date)
                if same is not None and same.id != row.id:
                    return "duplicate"
                row.performed_on = new_date
                session.add(row)
                details["corrected_to"] = new_date.isoformat()
            ctx.audit.write_in(session, action, patient_ins=ins, resource=f"prevention_act/{act_id}", details=details)
            return None

    problem = await ctx.db.run(save)
    refusals = {
        "missing": Refusal(404, "Cet acte n'existe pas pour ce patient (déjà supprimé ?)."),
        "not_author": Refusal(403, "Seul le professionnel qui a enregistré cet acte peut le corriger ou le supprimer."),
        "duplicate": Refusal(409, "Cet acte est déjà enregistré à cette date : supprimez plutôt celui-ci.", "performed_on"),
    }
    if problem is not None:
        return await render_form(request, {"editing": str(act_id), **values}, refusals[problem])
    ctx.flash("Acte supprimé." if deleting else "Date de l'acte corrigée.", "success")
    return RedirectResponse("/p/prevention/acts/new", status_code=303)


def _date(text: str, patient: Any) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise Refusal(400, "La date de l'acte doit être une date au format AAAA-MM-JJ.", "performed_on") from None
    if day > clock.today():
        raise Refusal(400, "La date de l'acte ne peut pas être dans le futur.", "performed_on")
    if day < patient.traits.birth_date:
        raise Refusal(400, "La date de l'acte est antérieure à la naissance du patient.", "performed_on")
    return day
