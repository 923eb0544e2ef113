"""The patient page's prevention panel (GET /p/prevention/panel) and alerts.

The panel shows what is overdue or due for the patient in context, what comes next, what is up to
date, each with its reference; what is to be done carries a « Fait aujourd'hui… » form (a plain
POST to /p/prevention/acts with its CSRF token) that opens the confirmation page: nothing is
recorded before « Confirmer », after which the patient page shows the act. `alerts` gives one
alert per act to do: overdue first ("warning"), then due ("info"), each by date.

When the DMP's vaccinations could not be read for the patient (`Evaluation.unread`), every
vaccination line and alert says so, and a vaccination due or overdue is « à vérifier »: no
warning colour, no « Fait aujourd'hui », after the confirmed ones.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from bouquet import Alert, get_context, render
from bouquet_prevention.catalogue import default_catalogue
from bouquet_prevention.engine import Outcome, Status
from bouquet_prevention.patient_status import READ, Evaluation, evaluate_patient
from bouquet_prevention.recording import RECORD
from bouquet_prevention.engine import TERM_UNKNOWN
from bouquet_prevention.wording import noted, problem_of, state_of, to_do

__all__ = ["alerts", "panel"]

ALERT_ORDER = 400


def _state(outcome: Outcome) -> str:
    """The status in French, with its date, and « schéma incomplet » when a dose did not count."""
    problem = problem_of(outcome)
    return f"{state_of(outcome)} · {problem}" if problem else state_of(outcome)


def _item(outcome: Outcome, evaluation: Evaluation) -> dict[str, Any]:
    rule = outcome.rule
    act = default_catalogue().acts.get(rule.satisfied_by[0].act)
    in_practice = act is not None and act.performed_in_practice
    unverified = evaluation.unverified(outcome)
    return {"rule": rule.id, "title": rule.wording.summary, "detail": rule.wording.detail,
            "state": f"À vérifier — {_lower(state_of(outcome))}" if unverified else state_of(outcome),
            "problem": problem_of(outcome), "withheld": evaluation.caveat(outcome),
            "unverified": unverified, "overdue": outcome.status is Status.OVERDUE and not unverified,
            "source": rule.source.label, "url": rule.source.url, "act": rule.satisfied_by[0].act,
            # An act the GP does not perform (a mammography) is recorded as a result received, with its
            # date; nor is « Fait aujourd'hui » offered for an act the unread DMP may already hold.
            "in_practice": in_practice, "one_click": in_practice and not unverified,
            # A pregnancy rule that needs the term links to where it is declared.
            "term_needed": outcome.reason == TERM_UNKNOWN}


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def _to_do(evaluation: Evaluation) -> list[Outcome]:
    """What to do, the confirmed first, then what only the unread DMP could tell (« à vérifier »)."""
    confirmed = to_do(evaluation.outcomes)
    return sorted(confirmed, key=evaluation.unverified)  # stable: each group keeps its order


async def alerts(ctx: Any) -> list[Alert]:
    """One alert per act to do for `ctx.patient` (audited as a read of the patient's data)."""
    if ctx.patient is None or ctx.account is None or not ctx.can(READ):
        return []
    evaluation = await evaluate_patient(ctx, ctx.patient, "prevention/alerts")
    found = []
    for position, outcome in enumerate(_to_do(evaluation)):
        unverified = evaluation.unverified(outcome)
        # A status that may only be "to do" because the DMP could not be read is never a warning.
        overdue = outcome.status is Status.OVERDUE and not unverified
        caveat = f" {note}" if (note := evaluation.caveat(outcome)) else ""
        title = outcome.rule.wording.summary
        found.append(Alert(f"Prévention (à vérifier) : {title}" if unverified else f"Prévention : {title}",
                           severity="warning" if overdue else "info",
                           description=f"{_state(outcome)}.{caveat} Référence : {outcome.rule.source.label}.",
                           href=f"/p/prevention/acts/new?rule={outcome.rule.id}", order=ALERT_ORDER + position))
    return found


async def panel(request: Request) -> Response:
    """The panel's fragment for `ctx.patient` (audited as a read of the patient's data)."""
    ctx = get_context(request)
    if not ctx.can(READ):
        return HTMLResponse("<p>Accès réservé aux professionnels habilités.</p>", status_code=403)
    if ctx.patient is None:
        return HTMLResponse("<p>Aucun dossier patient n'est ouvert.</p>", status_code=409)
    evaluation = await evaluate_patient(ctx, ctx.patient, "prevention/panel")
    on, outcomes, conditions = evaluation.on, evaluation.outcomes, evaluation.conditions
    return await render(request, "prevention/panel.html", {"prevention": {
        "actionable": [_item(o, evaluation) for o in _to_do(evaluation)],
        "upcoming": [_item(o, evaluation) for o in sorted((o for o in outcomes if o.status is Status.UPCOMING),
                                                          key=lambda o: o.when or date.max)],
        "done": [_item(o, evaluation) for o in outcomes if o.status is Status.DONE],
        # Rules that no longer apply to this pregnancy and say why (the infant's nirsevimab).
        "noted": [_item(o, evaluation) for o in outcomes if noted(o)],
        "unread": bool(evaluation.unread),
        "may_record": ctx.can(RECORD), "today": on.strftime("%d/%m/%Y"), "today_iso": on.isoformat(),
        "patient_context_id": ctx.patient_context_id,
        "conditions": sorted(default_catalogue().conditions[c] for c in conditions),
    }})

