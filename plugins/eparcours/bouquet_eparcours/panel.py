"""The patient page's e-parcours panel and alerts, for the patient in `ctx.patient`.

    GET /p/eparcours/panel    the patient's plans (those whose care team includes the viewer),
                              their next tasks, and the « Inclure dans un parcours » form
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from bouquet import Alert, get_context, render
from bouquet.api.web import RequestContext
from bouquet_eparcours import care_plans, clock, web


async def panel(request: Request) -> Response:
    ctx = get_context(request)
    if ctx.patient is None:
        return HTMLResponse("<p>Aucun patient n'est ouvert.</p>")
    summaries = await ctx.db.run(care_plans.for_patient, ctx.db, ctx.audit, web.actor(ctx), ctx.patient, via="panel")
    offer = await web.offer(ctx)
    following = {summary.plan.pathway_id for summary in summaries if summary.plan.status in ("active", "on-hold")}
    return await render(request, "eparcours/panel.html", web.page(
        summaries=summaries, today=clock.today(), can_include=ctx.can("eparcours.include"),
        offered=[p for p in offer.pathways if p.definition.id not in following]))


async def alerts(ctx: RequestContext) -> list[Alert]:
    """One error alert per plan of `ctx.patient` with overdue tasks (the viewer being in its team)."""
    if ctx.patient is None or ctx.account is None:
        return []
    summaries = await ctx.db.run(care_plans.for_patient, ctx.db, ctx.audit, web.actor(ctx), ctx.patient, via="alerts")
    found = []
    for summary in summaries:
        if not summary.overdue:
            continue
        count = len(summary.overdue)
        titles = ", ".join(task.title for task in summary.overdue[:3]) + (" …" if count > 3 else "")
        found.append(Alert(
            f"Parcours « {summary.plan.pathway_title} » : {count} étape{'s' if count > 1 else ''} en retard",
            severity="error", description=titles, href=f"/p/eparcours/plans/{summary.plan.id}", order=300))
    return found
