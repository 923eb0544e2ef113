"""Risk conditions a professional declares on the patient page (who, when, from which source),
audited and correctable: GET /p/prevention/conditions lists every condition the rules use for the
patient in context with where each comes from (the practice software's launch, another plugin,
a declaration); POST /p/prevention/conditions declares one; POST /p/prevention/conditions/{id}/withdraw
withdraws a declaration with a reason (the row stays, for the trail). Both need `prevention.record`
and the CSRF token; a refusal changes nothing and keeps what was typed.

A pregnancy is declared with its term when known: the start (« date de début de grossesse ») or the
expected delivery date (41 SA), stored as the start (`pregnancy.py`). Declaring a pregnancy while a
current or undated one is declared replaces it: the earlier declaration is withdrawn in the same
transaction, with a reason that says so (audited), so that correcting a term is one step."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bouquet import get_context, render
from bouquet.api.accounts import Account
from bouquet.api.db import utcnow
from bouquet.api.web import Form, read_fields
from bouquet_prevention import clock
from bouquet_prevention.catalogue import default_catalogue
from bouquet_prevention.conditions import default_condition_codes, full_day, reported_of_codings
from bouquet_prevention.history import patient_ins
from bouquet_prevention.hooks import external_conditions
from bouquet_prevention.models import DeclaredCondition
from bouquet_prevention.pregnancy import (
    GROSSESSE,
    Reported,
    due_from_start,
    gestational_age,
    is_current,
    over_on,
    resolve,
    sa,
    start_from_due,
)
from bouquet_prevention.recording import RECORD, Refusal

__all__ = ["KnownConditions", "conditions_page", "declare", "declared_by_patient", "declared_conditions",
           "declared_reported", "declared_reported_by_patient", "known_conditions", "launch_conditions",
           "launch_reported", "patient_conditions", "withdraw"]

#: Where a condition comes from, in order of precedence for a pregnancy's term.
SOURCES = ("declared", "launch", "plugin")

READ = "prevention.read"
MAX_SOURCE = 200
MAX_REASON = 500


def declared_conditions(session: Session, ins: str) -> list[DeclaredCondition]:
    """The declarations in force for one patient, oldest first."""
    return list(session.exec(select(DeclaredCondition).where(
        DeclaredCondition.patient_ins == ins, col(DeclaredCondition.withdrawn_at).is_(None))
        .order_by(col(DeclaredCondition.id))).all())


def declared_reported(rows: Iterable[DeclaredCondition]) -> Reported:
    """What declarations say: their codes, and the starts of the pregnancies declared with a term."""
    rows = list(rows)
    return Reported.of((row.condition for row in rows),
                       (row.pregnancy_start for row in rows if row.condition == GROSSESSE and row.pregnancy_start))


def declared_reported_by_patient(session: Session, ins_list: Iterable[str], batch: int = 1000) -> dict[str, Reported]:
    """Declarations for many patients at once (the population view), with the pregnancies' starts."""
    found: dict[str, tuple[set[str], list[date]]] = {}
    wanted = list(ins_list)
    for start in range(0, len(wanted), batch):
        rows = session.exec(select(DeclaredCondition.patient_ins, DeclaredCondition.condition,
                                   DeclaredCondition.pregnancy_start).where(
            col(DeclaredCondition.patient_ins).in_(wanted[start:start + batch]),
            col(DeclaredCondition.withdrawn_at).is_(None))).all()
        for ins, condition, pregnancy_start in rows:
            codes, starts = found.setdefault(ins, (set(), []))
            codes.add(condition)
            if condition == GROSSESSE and pregnancy_start is not None:
                starts.append(pregnancy_start)
    return {ins: Reported.of(codes, starts) for ins, (codes, starts) in found.items()}


def declared_by_patient(session: Session, ins_list: Iterable[str], batch: int = 1000) -> dict[str, set[str]]:
    """Declared condition codes for many patients at once (without the pregnancies' terms)."""
    return {ins: set(reported.codes) for ins, reported in declared_reported_by_patient(session, ins_list, batch).items()}


def launch_reported(patient: Any) -> Reported:
    """What the practice software sent with the patient: conditions, and a dated pregnancy's start."""
    return reported_of_codings(getattr(patient, "conditions", ()))


def launch_conditions(patient: Any) -> set[str]:
    """The catalogue conditions among the codes the practice software sent with the patient."""
    return set(launch_reported(patient).codes)


@dataclass(frozen=True)
class KnownConditions:
    """The conditions the rules use for a patient on a day, where each comes from ("declared",
    "launch", "plugin"), and the current pregnancy's start when its term is known (and from where)."""

    on: date
    sources: dict[str, list[str]]
    conditions: frozenset[str]
    pregnancy_start: date | None = None
    pregnancy_source: str | None = None


def known_from(reports: dict[str, Reported], on: date) -> KnownConditions:
    """`reports` by source name, resolved on `on` (`pregnancy.resolve`, precedence of SOURCES)."""
    ordered = [name for name in SOURCES if name in reports]
    conditions, start = resolve([reports[name] for name in ordered], on)
    sources: dict[str, list[str]] = {}
    pregnancy_source = None
    for name in ordered:
        own, own_start = resolve([reports[name]], on)
        for condition in sorted(own):
            sources.setdefault(condition, []).append(name)
        if pregnancy_source is None and own_start is not None and own_start == start:
            pregnancy_source = name
    return KnownConditions(on, sources, conditions, start, pregnancy_source)


async def known_conditions(ctx: Any, patient: Any, on: date | None = None) -> KnownConditions:
    """Every condition the rules use for `patient` on `on` (default today), from the four sources."""
    ins = patient_ins(patient)

    def read() -> Reported:
        with ctx.db.session() as session:
            return declared_reported(declared_conditions(session, ins))

    return known_from({"declared": await ctx.db.run(read), "launch": launch_reported(patient),
                       "plugin": await external_conditions(ctx, patient)}, on or clock.today())


async def patient_conditions(ctx: Any, patient: Any) -> dict[str, list[str]]:
    """Every condition the rules use for `patient` today, with its sources: "launch", "plugin", "declared"."""
    return (await known_conditions(ctx, patient)).sources


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
    pregnancy: dict[str, Any] | None = None
    today = clock.today()
    if patient is not None:
        known = await known_conditions(ctx, patient, today)
        sources = known.sources
        if known.pregnancy_start is not None:
            start = known.pregnancy_start
            pregnancy = {"start": _fr(start), "due": _fr(due_from_start(start)),
                         "weeks": sa(gestational_age(start, today)), "source": known.pregnancy_source}
        elif GROSSESSE in known.conditions:
            pregnancy = {"unknown": True}
        ins = patient_ins(patient)

        def read() -> list[dict[str, Any]]:
            with ctx.db.session() as session:
                found = []
                for row in declared_conditions(session, ins):
                    author = session.get(Account, row.declared_by_id)
                    start = row.pregnancy_start
                    found.append({"id": row.id, "condition": row.condition, "source": row.source,
                                  "by": author.display_name if author else "—",
                                  "at": row.declared_at.strftime("%d/%m/%Y"),
                                  "start": _fr(start) if start else None,
                                  "due": _fr(due_from_start(start)) if start else None,
                                  "over": start is not None and not is_current(start, today)})
                return found

        rows = await ctx.db.run(read)
        await ctx.audit.log("prevention.read", patient_ins=ins, resource="prevention/conditions")
    labels = default_catalogue().conditions
    return await render(request, "prevention/conditions.html", {"prevention": {
        "labels": labels, "sources": {c: s for c, s in sorted(sources.items())}, "declared": rows,
        "pregnancy": pregnancy, "form": form.values, "fields": {"values": form.values, "errors": form.errors},
        "errors": form.errors, "refusal": refusal, "may_record": ctx.can(RECORD),
        "patient_context_id": ctx.patient_context_id,
    }}, status_code=refusal.status if refusal else 200)


async def declare(request: Request) -> Response:
    """Declare a condition for the patient in context: 400 naming the field at fault, 409 if the patient changed."""
    ctx = get_context(request)
    form = await read_fields(request, "condition", "source", "pregnancy_start", "due_date", "patient_context_id")
    values = form.values
    start: date | None = None
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
        start = _pregnancy_start(form, clock.today())
        if form.errors:
            raise Refusal(400, " ".join(form.errors.values()))
    except Refusal as refusal:
        return await _refused(request, ctx, form, refusal, "prevention.condition_declared")
    ins, account_id = patient_ins(ctx.patient), ctx.account.id
    today = clock.today()

    def save() -> bool:
        with ctx.db.write() as session:
            existing = [row for row in declared_conditions(session, ins) if row.condition == values["condition"]]
            if values["condition"] == GROSSESSE:
                # A pregnancy under way (or undated) is the same pregnancy: the new declaration replaces it.
                existing = [row for row in existing if row.pregnancy_start is None
                            or is_current(row.pregnancy_start, today) or row.pregnancy_start > today]
                if any(row.pregnancy_start == start for row in existing):
                    return False  # already declared as such: nothing to add
            elif existing:
                return False  # already declared: nothing to add
            row = DeclaredCondition(patient_ins=ins, condition=values["condition"], source=values["source"],
                                    declared_by_id=account_id, pregnancy_start=start)
            session.add(row)
            session.flush()
            for earlier in existing:
                reason = f"Remplacée par la déclaration n° {row.id} (terme de la grossesse renseigné ou corrigé)"
                earlier.withdrawn_at, earlier.withdrawn_by_id, earlier.withdrawn_reason = utcnow(), account_id, reason
                session.add(earlier)
                ctx.audit.write_in(session, "prevention.condition_withdrawn", patient_ins=ins,
                                   resource=f"prevention_condition/{earlier.id}",
                                   details={"condition": earlier.condition, "reason": reason})
            details: dict[str, Any] = {"condition": row.condition, "source": row.source}
            if start is not None:
                details["pregnancy_start"] = start.isoformat()
                details["typed"] = "due_date" if values["due_date"] else "pregnancy_start"
            ctx.audit.write_in(session, "prevention.condition_declared", patient_ins=ins,
                               resource=f"prevention_condition/{row.id}", details=details)
            return True

    await ctx.db.run(save)
    label = default_catalogue().conditions[values["condition"]]
    term = f" (début le {_fr(start)}, terme prévu le {_fr(due_from_start(start))})" if start else ""
    ctx.flash(f"Condition déclarée : {label}{term}.", "success")
    return RedirectResponse("/p/prevention/conditions", status_code=303)


def _fr(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _typed_day(text: str) -> date | None:
    """A day typed as AAAA-MM-JJ (a date field) or JJ/MM/AAAA; None if it is not one."""
    if "/" in text:
        parts = text.split("/")
        if len(parts) == 3 and all(p.isdigit() for p in parts) and len(parts[2]) == 4:
            try:
                return date(int(parts[2]), int(parts[1]), int(parts[0]))
            except ValueError:
                return None
        return None
    return full_day(text) if len(text) == 10 else None


def _pregnancy_start(form: Form, today: date) -> date | None:
    """The start of the pregnancy declared, from « date de début de grossesse » or « date prévue
    d'accouchement » (one or the other, only for a pregnancy); every error goes beside its field."""
    values = form.values
    typed_start, typed_due = values["pregnancy_start"], values["due_date"]
    if not typed_start and not typed_due:
        return None
    if values["condition"] and values["condition"] != GROSSESSE:
        name = "pregnancy_start" if typed_start else "due_date"
        form.refuse(name, "Une date de grossesse ne s'indique qu'avec la condition « Grossesse en cours ».")
        return None
    if typed_start and typed_due:
        form.refuse("due_date", "Indiquez la date de début de grossesse ou la date prévue d'accouchement, "
                                "pas les deux.")
        return None
    if typed_start:
        start = _typed_day(typed_start)
        if start is None:
            form.refuse("pregnancy_start", "La date de début de grossesse doit être une date (JJ/MM/AAAA).")
        elif start > today:
            form.refuse("pregnancy_start", "La date de début de grossesse ne peut pas être dans le futur.")
        elif not is_current(start, today):
            form.refuse("pregnancy_start", f"Une grossesse débutée le {_fr(start)} serait terminée (terme prévu le "
                                           f"{_fr(due_from_start(start))}) : vérifiez la date.")
        else:
            return start
        return None
    due = _typed_day(typed_due)
    if due is None:
        form.refuse("due_date", "La date prévue d'accouchement doit être une date (JJ/MM/AAAA).")
        return None
    start = start_from_due(due)
    if start > today:
        form.refuse("due_date", f"La date prévue d'accouchement est à plus de 39 semaines (début de grossesse le "
                                f"{_fr(start)}) : vérifiez la date.")
    elif today >= over_on(start):
        form.refuse("due_date", "La date prévue d'accouchement est passée de plus de deux semaines : "
                                "la grossesse est terminée.")
    else:
        return start
    return None


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
