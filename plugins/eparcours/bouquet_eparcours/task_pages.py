"""Task pages: « Mes tâches », one task, and the forms that change it.

    GET  /p/eparcours/tasks                 « Mes tâches »: ?status=open|all|<FHIR status>&pathway=ID&overdue=1
    GET  /p/eparcours/tasks/{id}            the task, its forms and its own timeline
    POST /p/eparcours/tasks/{id}/status     status, version[, reason, note, performed_on, value_<record>]
    POST /p/eparcours/tasks/{id}/assign     owner (account id or empty), version
    POST /p/eparcours/tasks/{id}/schedule   due_on, version
    POST /p/eparcours/tasks/{id}/notes      note

Answers: 303 to `next` (an e-parcours page) on success; 400 with the form and its errors;
403 when the account may not; 409 with the reason when FHIR does not allow the change, or when
someone changed the task meanwhile (the page then shows the task as it is now and what was
typed, so that nothing is lost).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bouquet import get_context, render
from bouquet.api.web import Form
from bouquet_eparcours import clock, liaison, statuses, tasks, web
from bouquet_eparcours.care_plans import NotFound, NotMember
from bouquet_eparcours.statuses import CLINICAL, LABELS, TaskStatus, TransitionRefused
from bouquet_eparcours.tasks import ActionForbidden, InvalidInput, TaskConflict

STATUS_FILTERS = {"open": "À faire (non closes)", "all": "Toutes", **LABELS}


async def my_tasks(request: Request) -> Response:
    ctx = get_context(request)
    actor = web.actor(ctx)
    query = request.query_params
    status = query.get("status", "open")
    status = status if status in STATUS_FILTERS else "open"
    pathway, overdue_only = query.get("pathway", ""), query.get("overdue") == "1"
    rows = await ctx.db.run(tasks.assigned_to, ctx.db, ctx.audit, actor, status=status, pathway=pathway,
                            overdue_only=overdue_only)
    pathways = await ctx.db.run(tasks.pathways_of_owner, ctx.db, actor)
    unassigned = [] if status not in ("open", "all") else await ctx.db.run(
        tasks.to_assign, ctx.db, ctx.audit, actor, pathway=pathway, overdue_only=overdue_only)
    unread = await ctx.db.run(liaison.unread, ctx.db, actor)
    return await render(request, "eparcours/tasks.html", web.page(
        rows=rows, unassigned=unassigned, unread=unread, form=Form({"status": status, "pathway": pathway}),
        overdue_only=overdue_only, status_filters=STATUS_FILTERS, pathways=pathways, for_whom=actor.acting_for))


async def task_page(request: Request) -> Response:
    return await _task_response(request, Form(), None)


async def _task_response(request: Request, form: Form, conflict: TaskConflict | None,
                         status_code: int = 200) -> Response:
    ctx = get_context(request)
    actor = web.actor(ctx)
    try:
        view = await ctx.db.run(tasks.view, ctx.db, ctx.audit, actor, _task_id(request))
    except NotFound:
        raise HTTPException(404, "Cette tâche n'existe pas.") from None
    except NotMember:
        raise HTTPException(403, "Vous ne faites pas partie de l'équipe de soins de ce parcours.") from None
    task = view.task
    reachable = [s for s in sorted(statuses.allowed_next(task.status), key=list(LABELS).index)
                 if s != TaskStatus.COMPLETED and (actor.can_complete or s not in CLINICAL)]
    can_finish = actor.can_complete and _reaches(task.status, TaskStatus.COMPLETED)
    today = clock.today()
    # The forms show the task as it is (done today, its due date, its owner) unless something else was typed.
    shown = Form({"performed_on": today.isoformat(), "due_on": task.due_on.isoformat(), "owner": task.owner_id or "",
                  **form.values}, form.errors)
    return await render(request, "eparcours/task.html", web.page(
        view=view, step=view.step, actor=actor, reachable=reachable, can_finish=can_finish,
        closed=task.status in statuses.TERMINAL, today=today,
        overdue=statuses.is_overdue(task.status, task.latest_on, today),
        next=web.local_next(request.query_params.get("next") or form.get("next"), f"/p/eparcours/tasks/{task.id}"),
        form=shown, conflict=conflict), status_code=status_code)


def _reaches(current: str, target: str) -> bool:
    try:
        statuses.path(current, target)
    except TransitionRefused:
        return False
    return True


def _task_id(request: Request) -> int:
    return web.integer(request.path_params["task_id"]) or 0


async def change_status(request: Request) -> Response:
    form = await web.form_of(request)
    ctx = get_context(request)

    def run() -> Any:
        return tasks.change_status(ctx.db, ctx.audit, web.actor(ctx), _task_id(request), version=_version(form),
                                   target=form.get("status", ""), reason=form.get("reason"), note=form.get("note"),
                                   performed_on=web.day(form.get("performed_on")), form=form.values)

    target = form.get("status", "")
    done = f"Tâche passée à l'état « {LABELS.get(target, target)} »."
    return await _apply(request, form, run, done)


async def assign(request: Request) -> Response:
    form = await web.form_of(request)
    ctx = get_context(request)

    def run() -> Any:
        return tasks.reassign(ctx.db, ctx.audit, web.actor(ctx), _task_id(request), version=_version(form),
                              owner_id=web.integer(form.get("owner")))

    return await _apply(request, form, run, "Tâche réattribuée.")


async def schedule(request: Request) -> Response:
    form = await web.form_of(request)
    ctx = get_context(request)
    due_on = web.day(form.get("due_on"))
    if due_on is None:
        form.refuse("due_on", "Indiquez une date valide.")
        return await _task_response(request, form, None, 400)

    def run() -> Any:
        return tasks.reschedule(ctx.db, ctx.audit, web.actor(ctx), _task_id(request), version=_version(form), due_on=due_on)

    return await _apply(request, form, run, "Échéance modifiée.")


async def add_note(request: Request) -> Response:
    form = await web.form_of(request)
    ctx = get_context(request)

    def run() -> Any:
        return tasks.add_note(ctx.db, ctx.audit, web.actor(ctx), _task_id(request), form.get("note", ""))

    return await _apply(request, form, run, "Note ajoutée.")


def _version(form: Form) -> int:
    version = web.integer(form.get("version"))
    if version is None:
        raise InvalidInput({"version": "Le formulaire est incomplet : rechargez la page."})
    return version


async def _apply(request: Request, form: Form, run: Callable[[], Any], done: str) -> Response:
    """Run one change off the event loop and answer as the module docstring says."""
    ctx = get_context(request)
    try:
        created = await ctx.db.run(run)
    except NotFound:
        raise HTTPException(404, "Cette tâche n'existe pas.") from None
    except NotMember:
        raise HTTPException(403, "Vous ne faites pas partie de l'équipe de soins de ce parcours.") from None
    except ActionForbidden as refused:
        raise HTTPException(403, refused.message) from None
    except TransitionRefused as refused:  # FHIR does not allow it: the page again, the reason typed kept
        form.refuse("status", refused.message)
        return await _task_response(request, form, None, 409)
    except InvalidInput as invalid:
        form.refuse_all(invalid.errors)
        return await _task_response(request, form, None, 400)
    except TaskConflict as conflict:
        return await _task_response(request, form, conflict, 409)
    if created:
        done += " Prochaine étape planifiée : " + ", ".join(
            f"« {task.title} » pour le {task.due_on.strftime('%d/%m/%Y')}" for task in created) + "."
    ctx.flash(done, "success")
    return RedirectResponse(web.local_next(form.get("next"), f"/p/eparcours/tasks/{_task_id(request)}"), status_code=303)
