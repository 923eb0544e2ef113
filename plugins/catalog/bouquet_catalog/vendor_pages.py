"""The vendor space: the organisation's solutions, filing and fixing them, their review history, credentials.

    GET  /p/catalog/vendor                          the organisation, its solutions and API clients
    GET  /p/catalog/vendor/new                      the form for a new solution
    POST /p/catalog/vendor/solutions                file it (draft; `action=submit` submits at once)
    GET  /p/catalog/vendor/solutions/{id}           its status, history and reviewer comments, the edit form
    POST /p/catalog/vendor/solutions/{id}           change it (`action=submit` submits at once)
    POST /p/catalog/vendor/solutions/{id}/transition   name=submit|withdraw, reason
    POST /p/catalog/vendor/solutions/{id}/secret    a new OIDC client secret, shown once
    POST /p/catalog/vendor/api-clients              a client-credentials client for the vendor API, secret shown once

Answers: 303 on success; 400 with the form and one message per field; 403 for an account that is
not a vendor; 404 for another vendor's solution; 409 when the workflow does not allow it now.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bouquet import get_context, render
from bouquet.api.oauth import known_scopes
from bouquet.api.web import Form, note_refusal, read_all
from bouquet_catalog import evidence, solutions, submissions, web, workflow
from bouquet_catalog.solutions import Actor, NotFound, NotOwned
from bouquet_catalog.submissions import InvalidSubmission
from bouquet_catalog.workflow import TransitionRefused


def _vendor(session: Any, ctx: Any) -> Any:
    account = ctx.account
    return solutions.vendor_for(session, account.siren, account.organisation or "")


async def home(request: Request) -> Response:
    ctx = get_context(request)
    web.vendor_actor(ctx)

    def load() -> dict[str, Any]:
        with ctx.db.write() as session:
            vendor = _vendor(session, ctx)
            rows = solutions.of_vendor(session, vendor.id)
            names = {s.id: solutions.content_of(session, s).get("name", "") for s in rows}
            return {"vendor": vendor, "solutions": rows, "names": names, "api_clients": solutions.api_clients(session, vendor)}

    return await render(request, "catalog/vendor.html", web.page(**await ctx.db.run(load)))


async def new_form(request: Request) -> Response:
    ctx = get_context(request)
    web.vendor_actor(ctx)
    return await render(request, "catalog/vendor_solution.html", web.page(solution=None, form=Form()))


async def create(request: Request) -> Response:
    ctx = get_context(request)
    actor = web.vendor_actor(ctx)
    form, images = await web.vendor_form(request)
    action = form.get("action")
    content = _validated(form)
    if content is None:
        return await _form_again(request, None, form)

    def run() -> int:
        with ctx.db.write() as session:
            vendor = _vendor(session, ctx)
            solution = solutions.create(session, vendor, content, images, Actor(actor.account_id, actor.label, actor.side, vendor.id))
            if action == "submit":
                solutions.transition(session, solution, "submit", actor)
            ctx.audit.write_in(session, "catalog.solution.create", resource=f"catalog:solution:{solution.id}")
            return solution.id  # type: ignore[return-value]

    solution_id = await ctx.db.run(run)
    ctx.flash("Solution soumise au référencement." if action == "submit" else "Brouillon enregistré.", "success")
    return RedirectResponse(f"/p/catalog/vendor/solutions/{solution_id}", status_code=303)


def _validated(form: Form) -> dict[str, Any] | None:
    """The content to store, or None when the form (its images already checked) has errors, all in `form`."""
    try:
        content = submissions.validate(form.values)
    except InvalidSubmission as invalid:
        form.errors = {**submissions.form_errors(invalid.errors), **form.errors}  # the fields in the page's order, then the images
        return None
    return None if form.errors else content


async def _form_again(request: Request, solution_id: int | None, form: Form) -> Response:
    ctx = get_context(request)
    solution = history = None
    extra: dict[str, Any] = {}
    if solution_id is not None:
        solution, history, extra = await ctx.db.run(_load_owned, ctx, solution_id)
    shown = Form(submissions.fields_of({**form.values, "redirect_uris": "\n".join(form.get("redirect_uris") or []),
                                        "jwks": form.get("jwks") if isinstance(form.get("jwks"), str) else ""}), form.errors)
    return await render(request, "catalog/vendor_solution.html", web.page(
        solution=solution, history=history or [], form=shown, actions=[],
        images=extra.get("images", []), evidence=extra.get("evidence", [])), status_code=400)


def _load_owned(ctx: Any, solution_id: int) -> tuple[Any, list[Any], dict[str, Any]]:
    with ctx.db.write() as session:
        vendor = _vendor(session, ctx)
        solution = solutions.owned(session, solution_id, vendor.id)
        extra = {"content": solutions.content_of(session, solution),
                 "published": solutions.revision(session, solution.published_revision_id),
                 "images": solutions.images_of(session, solution.pending_revision_id or solution.published_revision_id),
                 "evidence": [evidence.summary(row) for row in evidence.documents_of(session, solution.id)]}  # type: ignore[arg-type]
        return solution, solutions.history(session, solution.id), extra  # type: ignore[arg-type]


async def solution_page(request: Request) -> Response:
    return await solution_response(request, Form())


async def solution_response(request: Request, evidence_form: Form, status_code: int = 200) -> Response:
    """The vendor's solution page; `evidence_form` gives back a refused evidence upload with its errors."""
    ctx = get_context(request)
    actor = web.vendor_actor(ctx)
    solution_id = web.integer(request.path_params["solution_id"])
    try:
        solution, history, extra = await ctx.db.run(_load_owned, ctx, solution_id)
    except NotFound as missing:
        raise _not_found(request, missing) from None
    track = solutions.track_of(solution, "submit")
    current = solution.change_status if track == workflow.CHANGE else solution.status
    actions = [t for t in workflow.available(current, actor.side, track)]
    actions += [t for t in workflow.available(solution.status, actor.side, workflow.SOLUTION) if t.name == "withdraw"]
    return await render(request, "catalog/vendor_solution.html", web.page(
        solution=solution, history=history, form=Form(submissions.to_form(extra["content"])), actions=actions,
        published=extra["published"], images=extra["images"], editable=_editable(solution),
        evidence=extra["evidence"], evidence_form=evidence_form), status_code=status_code)


def _editable(solution: Any) -> bool:
    if solution.published_revision_id is None:
        return solution.status in workflow.EDITABLE
    return solution.status in ("referenced", "suspended") and solution.change_status not in ("submitted", "under_review")


async def update(request: Request) -> Response:
    ctx = get_context(request)
    actor = web.vendor_actor(ctx)
    solution_id = web.integer(request.path_params["solution_id"])
    form, images = await web.vendor_form(request)
    action = form.get("action")
    content = _validated(form)
    if content is None:
        try:
            return await _form_again(request, solution_id, form)
        except NotFound as missing:
            raise _not_found(request, missing) from None

    def run() -> None:
        with ctx.db.write() as session:
            vendor = _vendor(session, ctx)
            solution = solutions.owned(session, solution_id, vendor.id)
            solutions.update(session, solution, content, images, actor)
            if action == "submit":
                solutions.transition(session, solution, "submit", actor)
            ctx.audit.write_in(session, "catalog.solution.update", resource=f"catalog:solution:{solution_id}")

    await _apply(ctx, run)
    ctx.flash("Modifications soumises au référencement." if action == "submit" else "Modifications enregistrées.",
              "success")
    return RedirectResponse(f"/p/catalog/vendor/solutions/{solution_id}", status_code=303)


def _not_found(request: Request, missing: NotFound) -> HTTPException:
    """The 404 of a solution not in this vendor's space; another vendor's is audited as a refusal."""
    if isinstance(missing, NotOwned):
        note_refusal(request, "another_vendor")
    return HTTPException(404, "Cette solution n'existe pas dans votre espace.")


async def _apply(ctx: Any, run: Any) -> Any:
    try:
        return await ctx.db.run(run)
    except NotFound as missing:
        raise _not_found(ctx.request, missing) from None
    except TransitionRefused as refused:
        raise HTTPException(refused.status, refused.message) from None


async def change_state(request: Request) -> Response:
    ctx = get_context(request)
    actor = web.vendor_actor(ctx)
    solution_id = web.integer(request.path_params["solution_id"])
    form = await read_all(request, max_fields=10, max_length=web.MAX_TEXT)
    name, reason = form.get("name"), form.get("reason")[:2000]

    def run() -> str:
        with ctx.db.write() as session:
            vendor = _vendor(session, ctx)
            solution = solutions.owned(session, solution_id, vendor.id)
            move = solutions.transition(session, solution, name, actor, reason)
            ctx.audit.write_in(session, f"catalog.solution.{move.name}", resource=f"catalog:solution:{solution_id}")
            return move.target

    target = await _apply(ctx, run)
    ctx.flash(f"La demande est maintenant à l'état « {workflow.LABELS[target]} ».", "success")
    return RedirectResponse(f"/p/catalog/vendor/solutions/{solution_id}", status_code=303)


async def client_secret(request: Request) -> Response:
    ctx = get_context(request)
    web.vendor_actor(ctx)
    solution_id = web.integer(request.path_params["solution_id"])

    def run() -> tuple[str, str]:
        with ctx.db.write() as session:
            vendor = _vendor(session, ctx)
            solution = solutions.owned(session, solution_id, vendor.id)
            secret = solutions.new_client_secret(session, solution)
            ctx.audit.write_in(session, "catalog.client.secret", resource=f"catalog:solution:{solution_id}",
                               details={"client_id": solution.oidc_client_id})
            return solution.oidc_client_id or "", secret

    client_id, secret = await _apply(ctx, run)
    return await render(request, "catalog/secret.html", web.page(
        title="Identifiants OpenID Connect de la solution", client_id=client_id, secret=secret,
        back=f"/p/catalog/vendor/solutions/{solution_id}"), headers={"Cache-Control": "no-store"})


async def create_api_client(request: Request) -> Response:
    ctx = get_context(request)
    actor = web.vendor_actor(ctx)
    known = known_scopes(request.app)  # with `catalog.submit`, which this plugin declares

    def run() -> tuple[str, str]:
        with ctx.db.write() as session:
            vendor = _vendor(session, ctx)
            registered = solutions.create_api_client(session, vendor, actor, known)
            ctx.audit.write_in(session, "catalog.api_client.create", resource=f"catalog:vendor:{vendor.id}",
                               details={"client_id": registered.client.client_id})
            return registered.client.client_id, registered.secret or ""

    client_id, secret = await ctx.db.run(run)
    return await render(request, "catalog/secret.html", web.page(
        title="Client de l'API du catalogue", client_id=client_id, secret=secret, back="/p/catalog/vendor",
        api=True), headers={"Cache-Control": "no-store"})
