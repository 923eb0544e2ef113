"""Care plan pages: the inclusion form, including the patient in context, the plan and its FHIR export.

    GET  /p/eparcours/include?pathway=ID   the inclusion form for the patient in context
    POST /p/eparcours/plans                include (consent, reference date, care team)
    GET  /p/eparcours/plans/{id}           the plan: team, tasks, timeline
    GET  /p/eparcours/plans/{id}/fhir      the plan as a FHIR R4 Bundle
    POST /p/eparcours/plans/{id}/status    status (on-hold, active, completed, revoked), reason — the coordinator
    POST /p/eparcours/plans/{id}/consent-withdrawal   withdrawn_on, withdrawal_method, withdrawal_note — any member
    POST /p/eparcours/plans/{id}/team      role, account — the coordinator
    POST /p/eparcours/plans/{id}/team/{member}/remove — the coordinator
    POST /p/eparcours/plans/{id}/notes     liaison_note — any member (the cahier de liaison)
    POST /p/eparcours/plans/{id}/messages  message — any member (the team's thread; unread counts in « Mes tâches »)
    POST /p/eparcours/plans/{id}/documents document_title, document_file (PDF, PNG, JPEG) — any member
    GET  /p/eparcours/plans/{id}/documents/{doc}  the document, for a member (audited)
    POST /p/eparcours/plans/{id}/ppcs      the personalised coordination plan (PPCS) — any member

Answers: 303 to the plan on success; 400 with the plan page, what was typed and every error;
403 outside the team or when only the coordinator may; 404; 409 when the plan's state forbids it.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bouquet import get_context, render
from bouquet.api.web import Form, RequestContext, read_all
from bouquet_eparcours import care_plans, care_team, clock, fhir_export, liaison, plan_lifecycle, ppcs, web
from bouquet_eparcours.care_plans import (
    CONSENT_METHODS,
    Inclusion,
    InclusionRefused,
    NotFound,
    NotMember,
    PlanExists,
)
from bouquet_eparcours.catalogue import LoadedPathway
from bouquet_eparcours.definitions import COORDINATOR, RoleDefinition
from bouquet_eparcours.plan_lifecycle import InvalidPlanChange, PlanChangeRefused, PlanForbidden, Withdrawal
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
    return await _form(request, await _offered(ctx, request.query_params.get("pathway", "")), Form())


async def _offered(ctx: RequestContext, pathway_id: str) -> LoadedPathway | None:
    """The current version of `pathway_id` if it is offered where the professional practises."""
    offer = await web.offer(ctx)
    return next((loaded for loaded in offer.pathways if loaded.definition.id == pathway_id), None)


async def _form(request: Request, loaded: LoadedPathway | None, form: Form, status_code: int = 200) -> Response:
    ctx = get_context(request)
    offer = await web.offer(ctx)
    today = clock.today().isoformat()
    roles = []
    shown = {"reference_date": today, "consent_date": today}  # what the form shows unless something else was typed
    if loaded is not None:
        principal = web.actor(ctx).principal
        # The person including is proposed as coordinator and for the first role of their profession
        # (a GP: médecin traitant), never for every role a doctor could hold (the stroke-unit doctor).
        own_role = next((role.id for role in loaded.definition.roles if role.id != COORDINATOR
                         and role.professions and principal.profession_code in role.professions), None)
        for role in loaded.definition.roles:
            people = await ctx.db.run(care_plans.candidates, ctx.db, role)
            default = ""
            if role.id in (COORDINATOR, own_role):
                default = str(principal.id) if any(p.id == principal.id for p in people) else ""
            roles.append((role, people))
            shown[f"member_{role.id}"] = default
    return await render(request, "eparcours/include.html", web.page(
        offered=offer.pathways, regions=offer.regions, loaded=loaded, roles=roles, methods=CONSENT_METHODS,
        patient_ins=care_plans.audit_ins(ctx.patient),
        form=Form({**shown, **form.values}, form.errors)), status_code=status_code)


async def include(request: Request) -> Response:
    ctx = get_context(request)
    _may_include(ctx)
    form = await web.form_of(request)
    if form.get("patient_ins") != care_plans.audit_ins(ctx.patient):
        raise HTTPException(409, "Le patient ouvert a changé depuis l'affichage du formulaire : "
                                 "vérifiez le dossier ouvert puis recommencez l'inclusion.")
    loaded = await _offered(ctx, form.get("pathway", ""))
    if loaded is None:
        raise HTTPException(400, "Ce parcours n'est pas proposé sur ce portail là où vous exercez.")
    inclusion = Inclusion(
        pathway=loaded.definition, reference_date=web.day(form.get("reference_date")),
        consent_date=web.day(form.get("consent_date")), consent_method=form.get("consent_method", ""),
        consent_note=(form.get("consent_note", "").strip()[:500] or None),
        members={role.id: web.integer(form.get(f"member_{role.id}")) for role in loaded.definition.roles})
    try:
        plan_id = await ctx.db.run(care_plans.include, ctx.db, ctx.audit, web.actor(ctx), ctx.patient, inclusion)
    except InclusionRefused as refused:
        form.refuse_all(refused.errors)
        return await _form(request, loaded, form, 400)
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
    return await _plan_response(request, Form())


async def _plan_response(request: Request, form: Form, status_code: int = 200) -> Response:
    ctx = get_context(request)
    view = await _plan_view(request, "eparcours.plan.read")
    titles = {task.id: task.title for task in view.tasks}
    today = clock.today()
    actor = web.actor(ctx)
    messages = await ctx.db.run(liaison.thread, ctx.db, actor, view.plan.id)  # membership checked by _plan_view
    coordinates = any(m.role == COORDINATOR and m.account_id == actor.principal_id for m in view.members)
    ended = view.plan.status in plan_lifecycle.ENDED
    people = []
    if coordinates and not ended:  # health professionals, then coordination accounts (social, médico-social, carers)
        for coordination in (False, True):
            people += await ctx.db.run(care_plans.candidates, ctx.db,
                                       RoleDefinition(id="any", label="any", coordination=coordination))
    return await render(request, "eparcours/plan.html", web.page(
        view=view, titles=titles, today=today, open_statuses=OPEN, coordinates=coordinates, ended=ended,
        moves=plan_lifecycle.MOVES.get(view.plan.status, {}), withdrawal_methods=plan_lifecycle.WITHDRAWAL_METHODS,
        people=people, messages=messages, documents=await ctx.db.run(liaison.documents, ctx.db, view.plan.id),
        notes=[line for line in view.events if line.kind == "note" and line.task_id is None],
        form=Form({**ppcs.as_form(view.plan.ppcs or {}), "withdrawn_on": today.isoformat(), **form.values}, form.errors),
        ppcs_assessment=ppcs.ASSESSMENT, ppcs_domains=ppcs.DOMAINS,
        referent=view.plan.ppcs.get("referent_id") if view.plan.ppcs else None,
        overdue={task.id for task in view.tasks if task.status in OPEN and task.latest_on < today}),
        status_code=status_code)


async def _plan_change(request: Request, change: Any, success: str) -> Response:
    """Run `change(ctx, plan_id, form)` and answer as the module says; a refused form comes back filled."""
    ctx = get_context(request)
    plan_id = web.integer(request.path_params["plan_id"]) or 0
    form = await web.form_of(request)
    try:
        message = await change(ctx, plan_id, form)
    except NotFound:
        raise HTTPException(404, "Ce parcours n'existe pas.") from None
    except NotMember:
        raise HTTPException(403, "Vous ne faites pas partie de l'équipe de soins de ce parcours.") from None
    except PlanForbidden as forbidden:
        raise HTTPException(403, forbidden.message) from None
    except PlanChangeRefused as refused:
        raise HTTPException(409, refused.message) from None
    except InvalidPlanChange as invalid:
        form.refuse_all(invalid.errors)
        return await _plan_response(request, form, 400)
    ctx.flash(message or success, "success")
    return RedirectResponse(f"/p/eparcours/plans/{plan_id}", status_code=303)


async def change_plan_status(request: Request) -> Response:
    async def change(ctx: RequestContext, plan_id: int, form: Form) -> str:
        target = form.get("status", "")
        closed = await ctx.db.run(plan_lifecycle.change_status, ctx.db, ctx.audit, web.actor(ctx), plan_id,
                                  target=target, reason=form.get("reason"))
        done = {"on-hold": "Le parcours est suspendu.", "active": "Le parcours a repris.",
                "completed": "Le parcours est terminé.", "revoked": "Le parcours est arrêté."}.get(target, "")
        return done + (f" {closed} tâche(s) en cours ont été closes." if closed else "")

    return await _plan_change(request, change, "")


async def withdraw_consent(request: Request) -> Response:
    async def change(ctx: RequestContext, plan_id: int, form: Form) -> str:
        withdrawal = Withdrawal(web.day(form.get("withdrawn_on")), form.get("withdrawal_method", ""),
                                form.get("withdrawal_note"))
        closed = await ctx.db.run(plan_lifecycle.withdraw_consent, ctx.db, ctx.audit, web.actor(ctx), plan_id, withdrawal)
        return (f"Le retrait du consentement est enregistré : le parcours est arrêté"
                + (f" et {closed} tâche(s) en cours ont été closes." if closed else "."))

    return await _plan_change(request, change, "")


async def add_member(request: Request) -> Response:
    async def change(ctx: RequestContext, plan_id: int, form: Form) -> str:
        await ctx.db.run(care_team.add_member, ctx.db, ctx.audit, web.actor(ctx), plan_id,
                         role_id=form.get("role", ""), account_id=web.integer(form.get("account")))
        return "L'équipe de soins est mise à jour."

    return await _plan_change(request, change, "")


async def remove_member(request: Request) -> Response:
    member_id = web.integer(request.path_params["member_id"]) or 0

    async def change(ctx: RequestContext, plan_id: int, form: Form) -> str:
        moved = await ctx.db.run(care_team.remove_member, ctx.db, ctx.audit, web.actor(ctx), plan_id, member_id)
        return "Le membre a été retiré de l'équipe de soins." + (
            f" Ses {moved} tâche(s) en cours reviennent au coordinateur." if moved else "")

    return await _plan_change(request, change, "")


async def attach_document(request: Request) -> Response:
    ctx = get_context(request)
    posted = await read_all(request, max_fields=5, max_length=web.MAX_FIELD, max_files=1,
                            files={"document_file": liaison.MAX_DOCUMENT})
    title = posted.get("document_title")[:300]
    sent = posted.files["document_file"][:1]
    data, filename = (sent[0].data, sent[0].filename) if sent else (b"", "")
    plan_id = web.integer(request.path_params["plan_id"]) or 0
    try:
        await ctx.db.run(liaison.attach, ctx.db, ctx.audit, web.actor(ctx), plan_id, title, filename, data)
    except NotFound:
        raise HTTPException(404, "Ce parcours n'existe pas.") from None
    except NotMember:
        raise HTTPException(403, "Vous ne faites pas partie de l'équipe de soins de ce parcours.") from None
    except InvalidPlanChange as invalid:
        return await _plan_response(request, Form({"document_title": title}, invalid.errors), 400)
    ctx.flash("Le document est joint au parcours.", "success")
    return RedirectResponse(f"/p/eparcours/plans/{plan_id}#documents", status_code=303)


async def plan_document(request: Request) -> Response:
    ctx = get_context(request)
    plan_id = web.integer(request.path_params["plan_id"]) or 0
    document_id = web.integer(request.path_params["document_id"]) or 0
    try:
        row = await ctx.db.run(liaison.document, ctx.db, ctx.audit, web.actor(ctx), plan_id, document_id)
    except NotFound:
        raise HTTPException(404, "Ce document n'existe pas.") from None
    except NotMember:
        raise HTTPException(403, "Vous ne faites pas partie de l'équipe de soins de ce parcours.") from None
    safe_name = "".join(ch for ch in row.filename if ch.isalnum() or ch in "._-") or "document"
    return Response(row.data, media_type=row.content_type, headers={
        "Content-Disposition": f'attachment; filename="{safe_name}"', "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store"})


async def send_message(request: Request) -> Response:
    async def change(ctx: RequestContext, plan_id: int, form: Form) -> str:
        await ctx.db.run(liaison.send, ctx.db, ctx.audit, web.actor(ctx), plan_id, form.get("message", ""))
        return "Le message est envoyé à l'équipe de soins."

    return await _plan_change(request, change, "")


async def update_ppcs(request: Request) -> Response:
    async def change(ctx: RequestContext, plan_id: int, form: Form) -> str:
        await ctx.db.run(ppcs.update, ctx.db, ctx.audit, web.actor(ctx), plan_id, form.values)
        return "Le plan personnalisé de coordination est enregistré."

    return await _plan_change(request, change, "")


async def add_liaison_note(request: Request) -> Response:
    async def change(ctx: RequestContext, plan_id: int, form: Form) -> str:
        await ctx.db.run(liaison.add_note, ctx.db, ctx.audit, web.actor(ctx), plan_id, form.get("liaison_note", ""))
        return "La note est ajoutée au cahier de liaison."

    return await _plan_change(request, change, "")


async def plan_fhir(request: Request) -> Response:
    view = await _plan_view(request, "eparcours.plan.exported")
    bundle = fhir_export.bundle(view, get_context(request).settings.base_url)
    return Response(json.dumps(bundle, ensure_ascii=False), media_type="application/fhir+json",
                    headers={"Content-Disposition": f'inline; filename="parcours-{view.plan.id}.json"'})
