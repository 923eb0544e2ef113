"""Where every rule stands for the patient in context, as JSON (GET /p/prevention/patient.json).

What the patient page's prevention panel will show: the portal's recorded acts plus what other
plugins return through `prevention_external_acts` / `prevention_conditions`. Needs
`prevention.read`; every read is audited with the patient's INS.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bouquet import get_context
from bouquet.api.patient import audit_ins
from bouquet_prevention import clock
from bouquet_prevention.condition_declarations import patient_conditions
from bouquet_prevention.engine import Outcome, PatientFacts, Status
from bouquet_prevention.history import history_of
from bouquet_prevention.hooks import engine_for, withheld_from

__all__ = ["READ", "evaluate_patient", "evaluate_with_conditions", "outcome_json", "patient_status"]

READ = "prevention.read"


def outcome_json(outcome: Outcome) -> dict[str, Any]:
    """One outcome as JSON: rule id, version, title, status and the dates that go with it."""
    def iso(value: date | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "rule": outcome.rule.id, "version": outcome.rule.version, "title": outcome.rule.title,
        "category": outcome.rule.category, "status": outcome.status.value, "since": iso(outcome.since),
        "when": iso(outcome.when), "until": iso(outcome.until), "last": iso(outcome.last),
        "doses": list(outcome.doses) if outcome.doses else None,
        "incomplete": outcome.incomplete, "too_soon": [d.isoformat() for d in outcome.too_soon],
        "excluded_by": outcome.excluded_by,
    }


async def evaluate_patient(ctx: Any, patient: Any, resource: str) -> tuple[date, list[Outcome]]:
    """Today and every rule's outcome for `patient` (see `evaluate_with_conditions`)."""
    on, outcomes, _ = await evaluate_with_conditions(ctx, patient, resource)
    return on, outcomes


async def evaluate_with_conditions(ctx: Any, patient: Any, resource: str) -> tuple[date, list[Outcome], frozenset[str]]:
    """Today and every rule's outcome for `patient`: the portal's acts and other plugins' acts, and
    the conditions from the practice software's launch, other plugins and declarations. Writes the
    audit event "prevention.read" (`resource` says which view read it)."""
    conditions = frozenset(await patient_conditions(ctx, patient))
    facts = PatientFacts(patient.traits.birth_date, patient.traits.sex.value, conditions)
    acts = await history_of(ctx, patient)
    on = clock.today()
    outcomes = engine_for(ctx.plugins).evaluate(facts, acts, on)
    # The trail names a non-qualified identity by its traits, never by its INS (bouquet.api.patient.audit_ins).
    await ctx.audit.log("prevention.read", patient_ins=audit_ins(patient), resource=resource)
    return on, outcomes, conditions


async def patient_status(request: Request) -> Response:
    """The outcomes for `ctx.patient` as of today (`?all=1` includes rules that do not apply)."""
    ctx = get_context(request)
    if not ctx.can(READ):
        return JSONResponse({"error": "forbidden", "reason": "Accès réservé aux professionnels habilités."},
                            status_code=403)
    patient = ctx.patient
    if patient is None:
        return JSONResponse({"error": "no_patient", "reason": "Aucun dossier patient n'est ouvert."}, status_code=409)
    on, outcomes = await evaluate_patient(ctx, patient, "prevention/patient")
    everything = request.query_params.get("all") == "1"
    withheld = withheld_from(ctx)
    return JSONResponse({"on": on.isoformat(), "outcomes": [
        outcome_json(o) | ({"withheld": withheld} if withheld and o.rule.category == "vaccination" else {})
        for o in outcomes if everything or o.status is not Status.NOT_APPLICABLE]})
