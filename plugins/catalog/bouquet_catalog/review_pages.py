"""The operator's side: the queue of submissions and the review of one.

    GET  /p/catalog/review                        waiting first (submitted, under review), then the rest
    GET  /p/catalog/review/{id}                   the pending revision next to the published one, the history
    POST /p/catalog/review/{id}/transition        name, reason, verified (the claims checked, on approval)
"""

from __future__ import annotations

from typing import Any

from sqlmodel import select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bouquet import get_context, render
from bouquet.api.web import Form, read_all
from bouquet_catalog import evidence, official_list, referencing, solutions, web, workflow
from bouquet_catalog.models import Vendor
from bouquet_catalog.solutions import NotFound
from bouquet_catalog.submissions import InvalidSubmission
from bouquet_catalog.workflow import TransitionRefused


async def queue(request: Request) -> Response:
    ctx = get_context(request)
    web.operator_actor(ctx)

    def load() -> dict[str, Any]:
        with ctx.db.session() as session:
            rows = solutions.review_queue(session)
            names = {s.id: solutions.content_of(session, s).get("name", "") for s in rows}
            vendors = {v.id: v.name for v in session.exec(select(Vendor)).all()}
            return {"solutions": rows, "names": names, "vendors": vendors}

    return await render(request, "catalog/review.html", web.page(**await ctx.db.run(load)))


class _NoRevision:
    content: dict[str, Any] = {}


class _Listing:
    """A line of the official list as the review page shows it."""

    def __init__(self, line: Any) -> None:
        self.solution_name, self.software_version, self.vendor_name = line.solution_name, line.software_version, line.vendor_name
        self.imported_at, self.wave_label = line.imported_at, official_list.wave_label(line)


async def review_page(request: Request) -> Response:
    return await review_response(request, Form())


async def review_response(request: Request, form: Form, status_code: int = 200) -> Response:
    """The review page; `form` gives a refused decision back (`<field>_<claim or action>` keys)."""
    ctx = get_context(request)
    actor = web.operator_actor(ctx)
    solution_id = web.integer(request.path_params["solution_id"])

    def load() -> dict[str, Any]:
        with ctx.db.session() as session:
            solution = solutions.get(session, solution_id)
            pending = solutions.revision(session, solution.pending_revision_id)
            published = solutions.revision(session, solution.published_revision_id)
            vendor = session.get(solutions.Vendor, solution.vendor_id)
            shown = pending or published
            listing = official_list.confirming(session, solution)
            checklist = [{"claim": r.claim, "label": r.label, "documents": [evidence.summary(d) for d in r.documents],
                          "decisions": [{"decision": evidence.DECISIONS[d.decision], "accepted": d.decision == "accepted",
                                         "comment": d.comment, "by": d.decided_by, "at": d.decided_at}
                                        for d in r.decisions]}
                         for r in evidence.requirements(session, solution, pending)]
            return {"solution": solution, "pending": pending, "published": published, "vendor": vendor,
                    "history": solutions.history(session, solution_id),
                    "images": solutions.images_of(session, shown.id if shown else None),
                    "major_changed": bool(pending and published and referencing.major_changed(published.content,
                                                                                              pending.content)),
                    "listing": _Listing(listing) if listing else None, "checklist": checklist}

    try:
        values = await ctx.db.run(load)
    except NotFound:
        raise HTTPException(404, "Cette solution n'existe pas.") from None
    solution = values["solution"]
    track = solutions.track_of(solution, "approve")
    current = solution.change_status if track == workflow.CHANGE else solution.status
    actions = workflow.available(current, actor.side, track)
    if track == workflow.CHANGE:
        actions += workflow.available(solution.status, actor.side, workflow.SOLUTION)
    return await render(request, "catalog/review_solution.html", web.page(
        actions=actions, track=track, form=form, **values), status_code=status_code)


async def change_state(request: Request) -> Response:
    ctx = get_context(request)
    actor = web.operator_actor(ctx)
    solution_id = web.integer(request.path_params["solution_id"])
    form = await read_all(request, lists=("verified",), max_fields=30, max_length=web.MAX_TEXT)
    name, reason = form.get("name"), form.get("reason")[:2000]
    verified = set(form.get("verified"))

    def run() -> str:
        with ctx.db.write() as session:
            solution = solutions.get(session, solution_id)
            chosen = verified
            if name == "approve":  # the requirements decided one by one, and any ticked at the decision (recorded too)
                decided = evidence.accepted(session, solution.pending_revision_id)
                claimed = set((solutions.revision(session, solution.pending_revision_id) or _NoRevision).content
                              .get("claims") or {})
                for code in sorted((verified - decided) & claimed):
                    evidence.decide(session, solution, actor, claim=code, decision="accepted",
                                    comment="Vérifiée à la décision de référencement.")
                chosen = decided | (verified & claimed)
            move = solutions.transition(session, solution, name, actor, reason, chosen)
            ctx.audit.write_in(session, f"catalog.solution.{move.name}", resource=f"catalog:solution:{solution_id}",
                               details={"reason": reason or None})
            return move.target

    try:
        target = await ctx.db.run(run)
    except NotFound:
        raise HTTPException(404, "Cette solution n'existe pas.") from None
    except TransitionRefused as refused:
        if refused.status == 400:  # a reason is required: the page again, with the message by the field
            return await review_response(request, Form({f"reason_{name}": reason}, {f"reason_{name}": refused.message}), 400)
        raise HTTPException(refused.status, refused.message) from None
    except InvalidSubmission as invalid:
        raise HTTPException(400, " ".join(invalid.errors.values())) from None
    ctx.flash(f"Décision enregistrée : « {workflow.LABELS[target]} ».", "success")
    return RedirectResponse(f"/p/catalog/review/{solution_id}", status_code=303)
