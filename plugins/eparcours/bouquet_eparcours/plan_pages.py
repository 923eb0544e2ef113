"""Care plan pages: the inclusion form, including the patient in context, the plan and its FHIR export.

    GET  /p/eparcours/include?pathway=ID   the inclusion form for the patient in context
    POST /p/eparcours/plans                include (consent, reference date, care team)
    GET  /p/eparcours/plans/{id}           the plan: team, tasks, timeline
    GET  /p/eparcours/plans/{id}/fhir      the plan as a FHIR R4 Bundle
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bouquet import get_context, render
from bouquet.api.web import RequestContext
from bouquet_eparcours import care_plans, clock, fhir_export, web
from bouquet_eparcours.care_plans import (
    CONSENT_METHODS,
    Inclusion,
    InclusionRefused,
    NotFound,
    NotMember,
    PlanExists,
)
from bouquet_eparcours.catalogue import LoadedPathway
from bouquet_eparcours.definitions import COORDINATOR
from bouquet_eparcours.statuses import OPEN

INCLUDE = "eparcours.include"


def _may_include(ctx: RequestContext) -> None:
    if not ctx.can(INCLUDE):
        raise HTTPException(403, "Votre compte ne permet pas d'inclure un patient dans un parcours.")
    if ctx.patient is None:
        raise HTTPException(409, "Aucun patient n'est ouvert : ouvrez le dossier du patient pour l'inclure dans un parcours.")


async def include_form(request: Request) -> Response:
    ctx = get_context(request)
    _may_include(ctx)
    catalogue = await web.catalogue(ctx)
    loaded = catalogue.current(request.query_params.get("pathway", ""))
    return await _form(request, loaded, {}, {})


async def _form(request: Request, loaded: LoadedPathway | None, values: dict[str, str], errors: dict[str, str],
                status_code: int = 200) -> Response:
    ctx = get_context(request)
    catalogue = await web.catalogue(ctx)
    roles = []
    if loaded is not None:
        principal = web.actor(ctx).principal
        for role in loaded.definition.roles:
            people = await ctx.db.run(care_plans.candidates, ctx.db, role)
            default = ""
            if role.id == COORDINATOR or (role.professions and principal.profession_code in role.professions):
                default = str(principal.id) if any(p.id == principal.id for p in people) else ""
            roles.append((role, people, values.get(f"member_{role.id}", default)))
    today = clock.today().isoformat()
    return await render(request, "eparcours/include.html", web.page(
        offered=catalogue.offered(), loaded=loaded, roles=roles, methods=CONSENT_METHODS,
        patient_ins=care_plans.audit_ins(ctx.patient), values={"reference_date": today, "consent_date": today, **values},
        errors=errors), status_code=status_code)


async def include(request: Request) -> Response:
    ctx = get_context(request)
    _may_include(ctx)
    form = await web.form_of(request)
    if form.get("patient_ins") != care_plans.audit_ins(ctx.patient):
        raise HTTPException(409, "Le patient ouvert a changé depuis l'affichage du formulaire : "
                                 "vérifiez le dossier ouvert puis recommencez l'inclusion.")
    catalogue = await web.catalogue(ctx)
    loaded = catalogue.current(form.get("pathway", ""))
    if loaded is None:
        raise HTTPException(400, "Ce parcours n'est pas proposé sur ce portail.")
    errors = {name: message for name, message in (
        ("reference_date", "Indiquez une date valide."), ("consent_date", "Indiquez une date valide."))
        if web.day(form.get(name)) is None}
    if errors:
        return await _form(request, loaded, form, errors, 400)
    inclusion = Inclusion(
        pathway=loaded.definition, reference_date=web.day(form["reference_date"]),  # type: ignore[arg-type]
        consent_date=web.day(form["consent_date"]), consent_method=form.get("consent_method", ""),  # type: ignore[arg-type]
        consent_note=(form.get("consent_note", "").strip()[:500] or None),
        members={role.id: web.integer(form.get(f"member_{role.id}")) for role in loaded.definition.roles})
    try:
        plan_id = await ctx.db.run(care_plans.include, ctx.db, ctx.audit, web.actor(ctx), ctx.patient, inclusion)
    except InclusionRefused as refused:
        return await _form(request, loaded, form, refused.errors, 400)
    except PlanExists as exists:
        raise HTTPException(409, f"Ce patient suit déjà le parcours « {loaded.definition.title} », coordonné par "
                                 f"{exists.coordinator} : demandez-lui de vous ajouter à l'équipe de soins.") from None
    ctx.flash(f"Le patient est inclus dans le parcours « {loaded.definition.title} ».", "success")
    return RedirectResponse(f"/p/eparcours/plans/{plan_id}", status_code=303)


async def _plan_view(request: Request, action: str) -> care_plans.PlanView:
    ctx = get_context(request)
    plan_id = web.integer(request.path_params["plan_id"])
    try:
        return await ctx.db.run(care_plans.view, ctx.db, ctx.audit, web.actor(ctx), plan_id or 0, action=action)
    except NotFound:
        raise HTTPException(404, "Ce parcours n'existe pas.") from None
    except NotMember:
        raise HTTPException(403, "Vous ne faites pas partie de l'équipe de soins de ce parcours.") from None


async def plan_page(request: Request) -> Response:
    view = await _plan_view(request, "eparcours.plan.read")
    titles = {task.id: task.title for task in view.tasks}
    today = clock.today()
    return await render(request, "eparcours/plan.html", web.page(
        view=view, titles=titles, today=today, open_statuses=OPEN,
        overdue={task.id for task in view.tasks if task.status in OPEN and task.latest_on < today}))


async def plan_fhir(request: Request) -> Response:
    view = await _plan_view(request, "eparcours.plan.exported")
    bundle = fhir_export.bundle(view, get_context(request).settings.base_url)
    return Response(json.dumps(bundle, ensure_ascii=False), media_type="application/fhir+json",
                    headers={"Content-Disposition": f'inline; filename="parcours-{view.plan.id}.json"'})
