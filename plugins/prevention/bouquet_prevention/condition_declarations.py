"""Risk conditions a professional declares on the patient page (who, when, from which source),
audited and correctable: GET /p/prevention/conditions lists every condition the rules use for the
patient in context with where each comes from (the practice software's launch, another plugin,
a declaration); POST /p/prevention/conditions declares one; POST /p/prevention/conditions/{id}/withdraw
withdraws a declaration with a reason (the row stays, for the trail). Both need `prevention.record`
and the CSRF token; a refusal changes nothing and keeps what was typed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bouquet import get_context, render
from bouquet.api.accounts import Account
from bouquet.api.db import utcnow
from bouquet.api.web import Form, read_fields
from bouquet_prevention.catalogue import default_catalogue
from bouquet_prevention.conditions import default_condition_codes
from bouquet_prevention.history import patient_ins
from bouquet_prevention.hooks import external_conditions
from bouquet_prevention.models import DeclaredCondition
from bouquet_prevention.recording import RECORD, Refusal

__all__ = ["conditions_page", "declare", "declared_by_patient", "declared_conditions", "launch_conditions",
           "patient_conditions", "withdraw"]

READ = "prevention.read"
MAX_SOURCE = 200
MAX_REASON = 500


def declared_conditions(session: Session, ins: str) -> list[DeclaredCondition]:
    """The declarations in force for one patient, oldest first."""
    return list(session.exec(select(DeclaredCondition).where(
        DeclaredCondition.patient_ins == ins, col(DeclaredCondition.withdrawn_at).is_(None))
        .order_by(col(DeclaredCondition.id))).all())


def declared_by_patient(session: Session, ins_list: Iterable[str], batch: int = 1000) -> dict[str, set[str]]:
    """Declared condition codes for many patients at once (the population view)."""
    found: dict[str, set[str]] = {}
    wanted = list(ins_list)
    for start in range(0, len(wanted), batch):
        rows = session.exec(select(DeclaredCondition.patient_ins, DeclaredCondition.condition).where(
            col(DeclaredCondition.patient_ins).in_(wanted[start:start + batch]),
            col(DeclaredCondition.withdrawn_at).is_(None))).all()
        for ins, condition in rows:
            found.setdefault(ins, set()).add(condition)
    return found


def launch_conditions(patient: Any) -> set[str]:
    """The catalogue conditions among the codes the practice software sent with the patient."""
    codes = default_condition_codes()
    return {c for system, code in getattr(patient, "conditions", ()) if (c := codes.condition_for(system, code))}


async def patient_conditions(ctx: Any, patient: Any) -> dict[str, list[str]]:
    """Every condition the rules use for `patient`, with its sources: "launch", "plugin", "declared"."""
    ins = patient_ins(patient)
    sources: dict[str, list[str]] = {}
    for condition in launch_conditions(patient):
        sources.setdefault(condition, []).append("launch")
    for condition in await external_conditions(ctx, patient):
        sources.setdefault(condition, []).append("plugin")

    def read() -> list[str]:
        with ctx.db.session() as session:
            return [row.condition for row in declared_conditions(session, ins)]

    for condition in await ctx.db.run(read):
        if "declared" not in sources.setdefault(condition, []):
            sources[condition].append("declared")
    return sources


async def conditions_page(request: Request, form: Form | None = None,
                          refusal: Refusal | None = None) -> Response:
    """The patient's conditions and the declaration form; a refused form keeps what was typed and
    shows every error beside its field."""
    ctx = get_context(request)
    form = form or Form()
    if not ctx.can(READ):
        return await render(request, "prevention/conditions.html", {"prevention": {
            "refusal": Refusal(403, "Accès réservé aux professionnels habilités.")}}, status_code=403)
    patient = ctx.patient
    rows: list[dict[str, Any]] = []
    sources: dict[str, list[str]] = {}
    if patient is not None:
        sources = await patient_conditions(ctx, patient)
        ins = patient_ins(patient)

        def read() -> list[dict[str, Any]]:
            with ctx.db.session() as session:
                found = []
                for row in declared_conditions(session, ins):
                    author = session.get(Account, row.declared_by_id)
                    found.append({"id": row.id, "condition": row.condition, "source": row.source,
                                  "by": author.display_name if author else "—",
                                  "at": row.declared_at.strftime("%d/%m/%Y")})
                return found

        rows = await ctx.db.run(read)
        await ctx.audit.log("prevention.read", patient_ins=ins, resource="prevention/conditions")
    labels = default_catalogue().conditions
    return await render(request, "prevention/conditions.html", {"prevention": {
        "labels": labels, "sources": {c: s for c, s in sorted(sources.items())}, "declared": rows,
        "form": form.values, "errors": form.errors, "refusal": refusal, "may_record": ctx.can(RECORD),
        "patient_context_id": ctx.patient_context_id,
    }}, status_code=refusal.status if refusal else 200)


async def declare(request: Request) -> Response:
    """Declare a condition for the patient in context: 400 naming the field at fault, 409 if the patient changed."""
    ctx = get_context(request)
    form = await read_fields(request, "condition", "source", "patient_context_id")
    values = form.values
    try:
        _check_context(ctx, values)
        if not values["condition"]:
            form.refuse("condition", "Choisissez la condition à déclarer.")
        elif values["condition"] not in default_catalogue().conditions:
            form.refuse("condition", f"Condition inconnue : « {values['condition'][:64]} ».")
        if not values["source"]:
            form.refuse("source", "Indiquez d'où vous tenez cette information (compte rendu, interrogatoire…).")
        elif len(values["source"]) > MAX_SOURCE:
            form.refuse("source", f"La source tient en {MAX_SOURCE} caractères au plus.")
        if form.errors:
            raise Refusal(400, " ".join(form.errors.values()))
    except Refusal as refusal:
        return await _refused(request, ctx, form, refusal, "prevention.condition_declared")
    ins, account_id = patient_ins(ctx.patient), ctx.account.id

    def save() -> None:
        with ctx.db.write() as session:
            if any(row.condition == values["condition"] for row in declared_conditions(session, ins)):
                return  # already declared: nothing to add
            row = DeclaredCondition(patient_ins=ins, condition=values["condition"], source=values["source"],
                                    declared_by_id=account_id)
            session.add(row)
            session.flush()
            ctx.audit.write_in(session, "prevention.condition_declared", patient_ins=ins,
                               resource=f"prevention_condition/{row.id}",
                               details={"condition": row.condition, "source": row.source})

    await ctx.db.run(save)
    ctx.flash(f"Condition déclarée : {default_catalogue().conditions[values['condition']]}.", "success")
    return RedirectResponse("/p/prevention/conditions", status_code=303)


async def withdraw(request: Request) -> Response:
    """Withdraw a declaration (a correction): the reason is required; the row stays, marked withdrawn."""
    ctx = get_context(request)
    form = await read_fields(request, "reason", "patient_context_id")
    values = form.values
    try:
        declaration_id = int(request.path_params["declaration_id"])
    except ValueError:
        declaration_id = 0
    values["withdrawing"] = str(declaration_id)  # which declaration's form shows what was typed
    try:
        _check_context(ctx, values)
        if not values["reason"]:
            form.refuse("reason", "Indiquez pourquoi vous retirez cette condition.")
        elif len(values["reason"]) > MAX_REASON:
            form.refuse("reason", f"Le motif tient en {MAX_REASON} caractères au plus.")
        if form.errors:
            raise Refusal(400, " ".join(form.errors.values()))
    except Refusal as refusal:
        return await _refused(request, ctx, form, refusal, "prevention.condition_withdrawn")
    ins, account_id = patient_ins(ctx.patient), ctx.account.id

    def save() -> str | None:
        with ctx.db.write() as session:
            row = session.get(DeclaredCondition, declaration_id) if 0 < declaration_id < 2**63 else None
            if row is None or row.patient_ins != ins or row.withdrawn_at is not None:
                return None
            row.withdrawn_at, row.withdrawn_by_id, row.withdrawn_reason = utcnow(), account_id, values["reason"]
            session.add(row)
            ctx.audit.write_in(session, "prevention.condition_withdrawn", patient_ins=ins,
                               resource=f"prevention_condition/{row.id}",
                               details={"condition": row.condition, "reason": values["reason"]})
            return row.condition

    condition = await ctx.db.run(save)
    if condition is None:
        return await conditions_page(request, form, Refusal(404, "Cette déclaration n'existe pas pour ce patient "
                                                                 "ou a déjà été retirée."))
    ctx.flash(f"Condition retirée : {default_catalogue().conditions[condition]}.", "success")
    return RedirectResponse("/p/prevention/conditions", status_code=303)


def _check_context(ctx: Any, values: dict[str, str]) -> None:
    if not ctx.can(RECORD):
        raise Refusal(403, "Vous n'avez pas le droit de déclarer une condition.")
    if ctx.patient is None:
        raise Refusal(400, "Aucun dossier patient n'est ouvert : ouvrez d'abord le dossier du patient.")
    if values.get("patient_context_id") and values["patient_context_id"] != ctx.patient_context_id:
        raise Refusal(409, "Le dossier patient a changé depuis l'ouverture du formulaire : "
                            "vérifiez le patient et recommencez.")


async def _refused(request: Request, ctx: Any, form: Form, refusal: Refusal, action: str) -> Response:
    if ctx.patient is not None and refusal.status == 403:
        await ctx.audit.log(action, outcome="denied", patient_ins=patient_ins(ctx.patient))
    return await conditions_page(request, form, refusal)
