"""Where every rule stands for the patient in context, as JSON (GET /p/prevention/patient.json).

What the patient page's prevention panel will show: the portal's recorded acts plus what other
plugins return through `prevention_external_acts` / `prevention_conditions` (saying, on each vaccination, when the
former could not be read). Needs
`prevention.read`; every read is audited with the patient's INS.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bouquet import get_context
from bouquet.api.patient import audit_ins
from bouquet_prevention import clock
from bouquet_prevention.condition_declarations import known_conditions
from bouquet_prevention.engine import Outcome, PatientFacts, Status
from bouquet_prevention.history import history_of
from bouquet_prevention.hooks import UNREAD_NOTICE, engine_for, withheld_from
from bouquet_prevention.wording import noted, state_of

__all__ = ["READ", "Evaluation", "evaluate_patient", "outcome_json", "patient_status"]

READ = "prevention.read"


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Where every rule stands for one patient today, and what it was computed without.

    `unread` names the plugins whose acts (the DMP's vaccinations) could not be read for this
    patient (failed or missed their budget): every vaccination line then says so
    (`caveat`), and one that is due or overdue is only « à vérifier » (`unverified`), never a
    confirmed thing to do — the missing record may hold the very dose."""

    on: date
    outcomes: list[Outcome]
    conditions: frozenset[str]
    unread: tuple[str, ...] = ()
    withheld: str | None = None
    pregnancy_start: date | None = None

    @staticmethod
    def affected(outcome: Outcome) -> bool:
        """Whether acts other plugins hold could change this outcome (vaccinations: the DMP's)."""
        return outcome.rule.category == "vaccination"

    def unverified(self, outcome: Outcome) -> bool:
        """Due or overdue, possibly only because the DMP's vaccinations could not be read."""
        return bool(self.unread) and outcome.actionable and self.affected(outcome)

    def caveat(self, outcome: Outcome) -> str | None:
        """What this line was computed without, in French, or None."""
        if not self.affected(outcome):
            return None
        notes = [note for note in (UNREAD_NOTICE if self.unread else None, self.withheld) if note]
        return " ".join(notes) or None


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
        "excluded_by": outcome.excluded_by, "lapsed": iso(outcome.lapsed),
        "late": [d.isoformat() for d in outcome.late],
        **({"reason": outcome.reason, "note": state_of(outcome)} if outcome.reason else {}),
        **({"deadline": iso(outcome.deadline)} if outcome.deadline else {}),
        **({"gestation": list(outcome.gestation)} if outcome.gestation else {}),
    }


async def evaluate_patient(ctx: Any, patient: Any, resource: str) -> Evaluation:
    """Every rule's outcome for `patient` today, and what it was computed without (see `Evaluation`):
    the portal's acts and other plugins' acts, and the conditions from the practice software's
    launch, other plugins and declarations. Writes the audit event "prevention.read" (`resource`
    says which view read it; `external_failed` the plugins whose acts could not be read)."""
    on = clock.today()
    known = await known_conditions(ctx, patient, on)
    conditions = known.conditions
    facts = PatientFacts(patient.traits.birth_date, patient.traits.sex.value, conditions, known.pregnancy_start)
    acts, failed = await history_of(ctx, patient)
    outcomes = engine_for(ctx.plugins).evaluate(facts, acts, on)
    unread = tuple(dict.fromkeys(failed))
    # The trail names a non-qualified identity by its traits, never by its INS (bouquet.api.patient.audit_ins).
    await ctx.audit.log("prevention.read", patient_ins=audit_ins(patient), resource=resource,
                        **({"details": {"external_failed": list(unread)}} if unread else {}))
    return Evaluation(on, outcomes, conditions, unread, withheld_from(ctx), known.pregnancy_start)


async def patient_status(request: Request) -> Response:
    """The outcomes for `ctx.patient` as of today (`?all=1` includes rules that do not apply)."""
    ctx = get_context(request)
    if not ctx.can(READ):
        return JSONResponse({"error": "forbidden", "reason": "Accès réservé aux professionnels habilités."},
                            status_code=403)
    patient = ctx.patient
    if patient is None:
        return JSONResponse({"error": "no_patient", "reason": "Aucun dossier patient n'est ouvert."}, status_code=409)
    evaluation = await evaluate_patient(ctx, patient, "prevention/patient")
    everything = request.query_params.get("all") == "1"

    def one(outcome: Outcome) -> dict[str, Any]:
        found = outcome_json(outcome)
        if evaluation.withheld and evaluation.affected(outcome):
            found["withheld"] = evaluation.withheld
        if evaluation.unread and evaluation.affected(outcome):
            found["unread"] = UNREAD_NOTICE
            found["unverified"] = evaluation.unverified(outcome)
        return found

    body: dict[str, Any] = {"on": evaluation.on.isoformat(),
                            "outcomes": [one(o) for o in evaluation.outcomes
                                         if everything or o.status is not Status.NOT_APPLICABLE or noted(o)]}
    if evaluation.unread:
        body["external_failed"] = list(evaluation.unread)
    return JSONResponse(body)
