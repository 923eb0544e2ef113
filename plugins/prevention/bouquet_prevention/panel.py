"""The prevention panel's fragment (GET /p/prevention/panel): what is overdue or due for the patient
in context, what comes next, what is up to date, each with its reference and a link to record the act.

Not yet announced through `bouquet_patient_panels` / `bouquet_alerts`: the core's patient-page tests
load every installed plugin and count panels and alerts, so the hooks come with the patient-page
step, together with those tests.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from bouquet import get_context, render
from bouquet_prevention.engine import Outcome, Status
from bouquet_prevention.patient_status import READ, evaluate_patient
from bouquet_prevention.recording import RECORD

__all__ = ["panel"]


def _day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def _state(outcome: Outcome) -> str:
    """The status in French, with its date."""
    if outcome.status is Status.OVERDUE:
        return f"En retard depuis le {_day(outcome.since)}" if outcome.since else "En retard"
    if outcome.status is Status.DUE:
        return f"À faire depuis le {_day(outcome.since)}" if outcome.since else "À faire"
    if outcome.status is Status.UPCOMING:
        return f"À partir du {_day(outcome.when)}" if outcome.when else "À venir"
    return f"À jour jusqu'au {_day(outcome.until)}" if outcome.until else "Fait"


def _item(outcome: Outcome) -> dict[str, Any]:
    rule = outcome.rule
    return {"rule": rule.id, "title": rule.wording.summary, "detail": rule.wording.detail, "state": _state(outcome),
            "overdue": outcome.status is Status.OVERDUE, "source": rule.source.label, "url": rule.source.url}


async def panel(request: Request) -> Response:
    """The panel's fragment for `ctx.patient` (audited as a read of the patient's data)."""
    ctx = get_context(request)
    if not ctx.can(READ):
        return HTMLResponse("<p>Accès réservé aux professionnels habilités.</p>", status_code=403)
    if ctx.patient is None:
        return HTMLResponse("<p>Aucun dossier patient n'est ouvert.</p>", status_code=409)
    _, outcomes = await evaluate_patient(ctx, ctx.patient, "prevention/panel")
    actionable = sorted((o for o in outcomes if o.actionable),
                        key=lambda o: (o.status is not Status.OVERDUE, o.since or date.min))
    return await render(request, "prevention/panel.html", {"prevention": {
        "actionable": [_item(o) for o in actionable],
        "upcoming": [_item(o) for o in sorted((o for o in outcomes if o.status is Status.UPCOMING),
                                              key=lambda o: o.when or date.max)],
        "done": [_item(o) for o in outcomes if o.status is Status.DONE],
        "may_record": ctx.can(RECORD),
    }})
