"""« Prévention — mes patients »: the professional's patients who are due, overdue (or soon due) for
what, filtered by rule and status, a page at a time, and the same list as CSV.

    GET  /p/prevention/mes-patients?rule=&status=&page=   the page (audited "prevention.population_viewed")
    GET  /p/prevention/mes-patients.csv?rule=&status=     the export (audited "prevention.population_exported")
    POST /p/prevention/mes-patients/open                  open a patient of the list (form field `ins`)

A secretary acting for a professional sees that professional's list. The list is computed on
request, in one pass with bulk reads (see `population.py`).
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bouquet import get_context, render
from bouquet.api.patient import OPEN_PATIENT, PatientContext, PatientContextError, audit_ins, establish_in_session
from bouquet.api.web import csv_document, read_fields
from bouquet_prevention import clock, population
from bouquet_prevention.engine import Outcome, Status
from bouquet_prevention.hooks import (
    engine_for,
    external_acts_bulk,
    external_conditions_bulk,
    has_bulk_acts,
    rules_for,
    withheld_from,
)
from bouquet_prevention.wording import state_of
from bouquet_prevention.rulesets import RuleSet

__all__ = ["PAGE_SIZE", "POPULATION", "export_csv", "open_patient", "view"]

POPULATION = "prevention.population"
PAGE_SIZE = 50
STATUS_LABELS = {"": "À faire (en retard ou à faire)", "overdue": "En retard", "due": "À faire",
                 "upcoming": "À venir (dans les 12 mois)"}
CSV_HEADER = ("Nom de naissance", "Prénoms", "Date de naissance", "Sexe", "INS", "Relation", "Action de prévention",
              "Statut", "Date", "Référence")


class _BadFilter(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def _day(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def state_label(outcome: Outcome, withheld: str | None = None) -> str:
    """The status in French, with its date (« Jamais réalisé » for an act never done), as the list
    and the export show it; for a vaccination computed without the DMP's acts, it says so."""
    state = state_of(outcome)
    if withheld and outcome.rule.category == "vaccination":
        return f"{state} — sans les vaccinations du DMP (non lisibles par votre compte)"
    return state


def _filters(request: Request, rules: RuleSet, paged: bool) -> tuple[str, str, int]:
    params = request.query_params
    rule, status = params.get("rule", "").strip(), params.get("status", "").strip()
    if rule and rules.get(rule) is None:
        raise _BadFilter("rule", f"Action de prévention inconnue : « {rule[:64]} ».")
    if status not in population.STATUS_FILTERS:
        raise _BadFilter("status", f"Statut inconnu : « {status[:32]} » (en retard, à faire ou à venir).")
    page = 1
    if paged and params.get("page", "").strip():
        try:
            page = int(params["page"])
        except ValueError:
            page = 0
        if page < 1:
            raise _BadFilter("page", "Le numéro de page doit être un nombre entier positif.")
    return rule, status, page


def _principal(ctx: Any) -> Any:
    """Whose list it is: the professional signed in, or the one a secretary acts for."""
    return ctx.acting_for if ctx.account.kind == "secretary" else ctx.account


#: Shown above the list (and logged in the audit) when another plugin's acts could not be read.
EXTERNAL_NOTICE = ("Les vaccinations enregistrées dans le DMP n'ont pas pu être lues : la liste ne tient compte "
                   "que des actes enregistrés dans Bouquet et peut indiquer à faire un vaccin déjà fait.")


def _contexts(patients: list[population.ListedPatient], on: date) -> list[PatientContext]:
    found: list[PatientContext] = []
    for patient in patients:
        try:
            found.append(PatientContext.from_dict(patient.traits, today=on))
        except ValueError:
            continue  # traits were checked when stored; an unreadable row only misses its external acts
    return found


async def _compute(ctx: Any, rule: str, status: str) -> tuple[int, list[population.PopulationRow], list[str]]:
    """(patients, rows, plugins whose acts could not be read): the list, the acts other plugins
    hold for it (`prevention_external_acts_bulk`, one call), then the evaluation."""
    principal_id = _principal(ctx).id
    engine, on = engine_for(ctx.plugins), clock.today()

    def listed() -> list[population.ListedPatient]:
        with ctx.db.session() as session:
            return population.patients_of(session, principal_id)

    patients = await ctx.db.run(listed)
    external: dict[str, list[Any]] = {}
    failures: list[str] = []
    if patients and has_bulk_acts(ctx.plugins):
        external, failures = await external_acts_bulk(ctx, _contexts(patients, on))
    # A plugin that fails here is logged and counted by the core; its conditions are left out.
    conditions, _ = await external_conditions_bulk(ctx, _contexts(patients, on) if patients else [])

    def compute() -> list[population.PopulationRow]:
        with ctx.db.session() as session:
            return population.evaluate(session, engine, patients, on, population.STATUS_FILTERS[status], rule,
                                       external, conditions)

    return len(patients), await ctx.db.run(compute), failures


async def view(request: Request) -> Response:
    """The list, a page at a time: 400 naming the filter at fault, 403 without the permission."""
    ctx = get_context(request)
    rules = rules_for(ctx.plugins)
    context: dict[str, Any] = {
        "rules": [(rule.id, rule.title) for rule in rules], "statuses": list(STATUS_LABELS.items()),
        "rule": request.query_params.get("rule", ""), "status": request.query_params.get("status", ""),
        "refusal": None, "notice": None, "rows": [], "page": 1, "pages": 0, "total": 0, "patients": 0,
    }
    if not ctx.can(POPULATION):
        message = ("Choisissez d'abord le professionnel pour qui vous agissez." if ctx.account is not None
                   and ctx.account.kind == "secretary" and ctx.acting_for is None
                   else "Votre compte ne donne pas accès à la liste de prévention des patients.")
        return await _page(request, context | {"refusal": _BadFilter("", message)}, 403)
    try:
        rule, status, page = _filters(request, rules, paged=True)
    except _BadFilter as bad:
        return await _page(request, context | {"refusal": bad}, 400)
    patients, rows, failures = await _compute(ctx, rule, status)
    pages = max(1, math.ceil(len(rows) / PAGE_SIZE))
    page = min(page, pages)
    shown = rows[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
    await ctx.audit.log("prevention.population_viewed", resource="prevention/mes-patients", details={
        "rule": rule, "status": status, "page": page, "patients": patients, "rows": len(rows),
        "shown": sorted({_audit_name(row.patient) for row in shown}), "external_failed": failures})
    return await _page(request, context | {
        "notice": EXTERNAL_NOTICE if failures else None,
        "rule": rule, "status": status, "page": page, "pages": pages, "total": len(rows), "patients": patients,
        "rows": [_row(row, withheld_from(ctx)) for row in shown], "may_open": ctx.can(OPEN_PATIENT),
        "withheld": withheld_from(ctx),
    })


async def export_csv(request: Request) -> Response:
    """The whole filtered list as CSV (UTF-8 with a BOM, `;`-separated, as Excel in French expects)."""
    ctx = get_context(request)
    if not ctx.can(POPULATION):
        return Response("Accès refusé : votre compte ne donne pas accès à la liste de prévention des patients.\n",
                        status_code=403, media_type="text/plain; charset=utf-8")
    try:
        rule, status, _ = _filters(request, rules_for(ctx.plugins), paged=False)
    except _BadFilter as bad:
        return Response(f"Filtre « {bad.field} » refusé : {bad.message}\n", status_code=400,
                        media_type="text/plain; charset=utf-8")
    patients, rows, failures = await _compute(ctx, rule, status)
    withheld = withheld_from(ctx)
    document = csv_document(CSV_HEADER, [
        (p.birth_name, " ".join(p.given_names), _day(p.birth_date), p.sex,
         p.matricule if p.ins_shareable else INS_WITHHELD,
         ", ".join(population.RELATION_LABELS[r] for r in sorted(p.relations)),
         outcome.rule.title, state_label(outcome, withheld), _day(row.date), outcome.rule.source.label)
        for row in rows for p, outcome in [(row.patient, row.outcome)]])
    await ctx.audit.log("prevention.population_exported", resource="prevention/mes-patients.csv", details={
        "rule": rule, "status": status, "patients": patients, "rows": len(rows), "external_failed": failures})
    headers = {"X-Bouquet-Notice": "dmp-acts-unavailable"} if failures else {}
    name = f"prevention-mes-patients-{clock.today().isoformat()}.csv"
    return Response(document.encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'} | headers)


async def open_patient(request: Request) -> Response:
    """Open a patient of the list as the patient in context, then show the patient page."""
    ctx = get_context(request)
    ins = (await read_fields(request, "ins")).values["ins"]
    if not ctx.can(POPULATION) or not ctx.can(OPEN_PATIENT):
        ctx.flash("Votre compte ne permet pas d'ouvrir le dossier d'un patient.", "error")
        return RedirectResponse("/p/prevention/mes-patients", status_code=303)
    principal_id = _principal(ctx).id

    def find() -> population.ListedPatient | None:
        with ctx.db.session() as session:
            return next((p for p in population.patients_of(session, principal_id) if p.ins == ins), None)

    listed = await ctx.db.run(find) if ins else None
    if listed is None:
        ctx.flash("Ce patient ne fait pas partie de votre liste.", "error")
        return RedirectResponse("/p/prevention/mes-patients", status_code=303)
    await establish_in_session(ctx, PatientContext.from_dict(listed.traits, today=clock.today()),
                               "bouquet-prevention")
    return RedirectResponse("/patient", status_code=303)


#: The CSV's INS cell for an identity that is not qualified: its INS is not shared (RNIV).
INS_WITHHELD = "non partagé (identité non qualifiée)"


def _audit_name(patient: population.ListedPatient) -> str:
    """The patient as the audit trail may name them: the INS of a qualified identity, else the traits."""
    if patient.ins_shareable:
        return patient.ins
    try:
        return audit_ins(PatientContext.from_dict(patient.traits, today=clock.today()))
    except PatientContextError:  # traits are checked when stored: only a row edited by hand gets here
        return "traits|illisibles"


def _row(row: population.PopulationRow, withheld: str | None = None) -> dict[str, Any]:
    p, outcome = row.patient, row.outcome
    return {"ins": p.ins, "name": p.display_name, "born": _day(p.birth_date), "sex": p.sex,
            "relations": [population.RELATION_LABELS[r] for r in sorted(p.relations)],
            "rule": outcome.rule.id, "title": outcome.rule.title, "state": state_label(outcome, withheld),
            "withheld": bool(withheld) and outcome.rule.category == "vaccination",
            "overdue": outcome.status is Status.OVERDUE, "upcoming": outcome.status is Status.UPCOMING}


async def _page(request: Request, values: dict[str, Any], status_code: int = 200) -> Response:
    return await render(request, "prevention/mes_patients.html", {"prevention": values}, status_code=status_code)
