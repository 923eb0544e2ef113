"""The vendor API (JSON): a vendor's software files and updates its solutions with a client-credentials token.

The token comes from `/token` (grant `client_credentials`, scope `catalog.submit`) for a client the
vendor created in its space (`/p/catalog/vendor`); the client names the vendor. Validation is the
forms' (`submissions.validate`, `images.check`). `openapi.json` documents every route.
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bouquet.api.oauth import BearerTokenError, authenticate_bearer
from bouquet.api.web import JsonBodyError, body_limit, note_refusal, public, read_json
from bouquet_catalog import SUBMIT_SCOPE, images, solutions, submissions, workflow
from bouquet_catalog.models import Solution, Vendor
from bouquet_catalog.solutions import Actor, NotFound, NotOwned
from bouquet_catalog.submissions import InvalidSubmission
from bouquet_catalog.workflow import TransitionRefused

SCOPE = SUBMIT_SCOPE
MAX_BODY = 8 * 1024 * 1024


def _error(status: int, error: str, message: str, errors: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": error, "message": message}
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status)


async def _caller(request: Request) -> tuple[Vendor, Actor] | JSONResponse:
    try:
        grant = await authenticate_bearer(request, scope=SCOPE)
    except BearerTokenError as refused:
        return refused.response()
    db = request.app.state.db

    def load() -> Vendor | None:
        with db.session() as session:
            return solutions.vendor_of_client(session, grant.client_id)

    vendor = await db.run(load)
    if vendor is None:
        return _error(403, "forbidden", "Ce client n'est le client d'API d'aucun éditeur du catalogue.")
    return vendor, Actor(None, f"API de {vendor.name} (client {grant.client_id})", workflow.VENDOR, vendor.id)


def _vendor_endpoint(handler: Callable[[Request, Vendor, Actor], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint for the calling vendor: `handler(request, vendor, actor)`, or `_caller`'s refusal."""
    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        caller = await _caller(request)
        if isinstance(caller, JSONResponse):
            return caller
        vendor, actor = caller
        return await handler(request, vendor, actor)

    return endpoint


def _invalid(invalid: InvalidSubmission) -> JSONResponse:
    return _error(400, "invalid_request", "La demande contient des erreurs : voir « errors ».", invalid.errors)


def _summary(solution: Solution, content: dict[str, Any]) -> dict[str, Any]:
    return {"id": solution.id, "status": solution.status, "status_label": workflow.LABELS[solution.status],
            "change_status": solution.change_status, "name": content.get("name", ""),
            "referenced": solution.status == workflow.Status.REFERENCED,
            "oidc_client_id": solution.oidc_client_id, "content": content,
            "url": f"/p/catalog/api/solutions/{solution.id}"}


async def _body(request: Request) -> dict[str, Any]:
    try:
        body: dict[str, Any] = await read_json(request, max_bytes=MAX_BODY)
    except JsonBodyError as refused:
        raise InvalidSubmission({"body": refused.message}) from None
    return body


def _images(body: dict[str, Any]) -> list[images.CheckedImage]:
    """The logo and screenshots sent in base64 (`{"logo": {"data": "…"}, "screenshots": [{"data": "…"}]}`)."""
    checked: list[images.CheckedImage] = []
    errors: dict[str, str] = {}
    wanted: list[tuple[str, str, Any]] = []
    if body.get("logo") is not None:
        wanted.append(("logo", "Logo", body["logo"]))
    shots = body.get("screenshots") or []
    if not isinstance(shots, list) or len(shots) > images.MAX_SCREENSHOTS:
        errors["screenshots"] = f"Captures d'écran : une liste de {images.MAX_SCREENSHOTS} images au plus."
        shots = []
    wanted += [("screenshot", f"Capture d'écran n° {n}", shot) for n, shot in enumerate(shots, start=1)]
    for role, label, item in wanted:
        field = "logo" if role == "logo" else "screenshots"
        data = item.get("data") if isinstance(item, dict) else None
        try:
            decoded = base64.b64decode(data, validate=True) if isinstance(data, str) else None
        except (binascii.Error, ValueError):
            decoded = None
        if decoded is None:
            errors.setdefault(field, f"{label} : attendu {{\"data\": \"<image en base64>\"}}.")
            continue
        result = images.check(role, decoded, label)
        if isinstance(result, str):
            errors.setdefault(field, result)
        else:
            checked.append(result)
    if errors:
        raise InvalidSubmission(errors)
    return checked


def _content_and_images(body: Any) -> tuple[dict[str, Any], list[images.CheckedImage]]:
    values = submissions.from_api(body)
    errors: dict[str, str] = {}
    content: dict[str, Any] = {}
    pictures: list[images.CheckedImage] = []
    try:
        content = submissions.validate(values)
    except InvalidSubmission as invalid:
        errors.update(invalid.errors)
    try:
        pictures = _images(body)
    except InvalidSubmission as invalid:
        errors.update(invalid.errors)
    if errors:
        raise InvalidSubmission(errors)
    return content, pictures


async def _run(request: Request, fn: Any, status: int = 200) -> Response:
    db = request.app.state.db
    try:
        return JSONResponse(await db.run(fn), status_code=status)
    except NotFound as missing:
        if isinstance(missing, NotOwned):
            note_refusal(request, "another_vendor")  # audited as a refusal, answered as not found
        return _error(404, "not_found", "Cette solution n'existe pas pour cet éditeur.")
    except TransitionRefused as refused:
        return _error(refused.status, "conflict" if refused.status == 409 else "invalid_request", refused.message)
    except InvalidSubmission as invalid:
        return _invalid(invalid)


@public
@_vendor_endpoint
async def list_solutions(request: Request, vendor: Vendor, actor: Actor) -> Response:
    db = request.app.state.db

    def run() -> dict[str, Any]:
        with db.session() as session:
            return {"solutions": [_summary(s, solutions.content_of(session, s)) for s in solutions.of_vendor(session, vendor.id)]}  # type: ignore[arg-type]

    return await _run(request, run)


@public
@body_limit(MAX_BODY)
@_vendor_endpoint
async def create_solution(request: Request, vendor: Vendor, actor: Actor) -> Response:
    db, audit = request.app.state.db, _auditor(request, actor)
    try:
        body = await _body(request)
        content, pictures = _content_and_images(body)
    except InvalidSubmission as invalid:
        return _invalid(invalid)

    def run() -> dict[str, Any]:
        with db.write() as session:
            solution = solutions.create(session, vendor, content, pictures, actor)
            if body.get("submit") is True:
                solutions.transition(session, solution, "submit", actor)
            audit.write_in(session, "catalog.solution.create", resource=f"catalog:solution:{solution.id}")
            return _summary(solution, content)

    return await _run(request, run, status=201)


def _auditor(request: Request, actor: Actor) -> Any:
    from bouquet.api.audit import Auditor

    state = request.app.state
    return Auditor(state.db, state.audit_key, actor=actor.label, source_ip=request.client.host if request.client else None)


@public
@_vendor_endpoint
async def get_solution(request: Request, vendor: Vendor, actor: Actor) -> Response:
    db, solution_id = request.app.state.db, _id(request)

    def run() -> dict[str, Any]:
        with db.session() as session:
            solution = _owned(session, solution_id, vendor)
            summary = _summary(solution, solutions.content_of(session, solution))
            summary["history"] = [{"at": e.at.isoformat(), "transition": e.transition, "from": e.from_status,
                                   "to": e.to_status, "by": e.actor_label, "comment": e.comment}
                                  for e in solutions.history(session, solution_id)]
            return summary

    return await _run(request, run)


def _owned(session: Any, solution_id: int, vendor: Vendor) -> Solution:
    """The vendor's solution `solution_id` (`NotFound`, hence a 404, if it is not theirs)."""
    return solutions.owned(session, solution_id, vendor.id)  # type: ignore[arg-type]


def _id(request: Request) -> int:
    try:
        return int(request.path_params["solution_id"])
    except ValueError:
        return 0


@public
@body_limit(MAX_BODY)
@_vendor_endpoint
async def update_solution(request: Request, vendor: Vendor, actor: Actor) -> Response:
    db, audit, solution_id = request.app.state.db, _auditor(request, actor), _id(request)
    try:
        body = await _body(request)
        content, pictures = _content_and_images(body)
    except InvalidSubmission as invalid:
        return _invalid(invalid)

    def run() -> dict[str, Any]:
        with db.write() as session:
            solution = _owned(session, solution_id, vendor)
            solutions.update(session, solution, content, pictures, actor)
            if body.get("submit") is True:
                solutions.transition(session, solution, "submit", actor)
            audit.write_in(session, "catalog.solution.update", resource=f"catalog:solution:{solution_id}")
            return _summary(solution, content)

    return await _run(request, run)


@public
@_vendor_endpoint
async def submit_solution(request: Request, vendor: Vendor, actor: Actor) -> Response:
    db, audit, solution_id = request.app.state.db, _auditor(request, actor), _id(request)

    def run() -> dict[str, Any]:
        with db.write() as session:
            solution = _owned(session, solution_id, vendor)
            solutions.transition(session, solution, "submit", actor)
            audit.write_in(session, "catalog.solution.submit", resource=f"catalog:solution:{solution_id}")
            return _summary(solution, solutions.content_of(session, solution))

    return await _run(request, run)


@public
async def openapi(request: Request) -> Response:
    from bouquet_catalog.openapi import document

    return JSONResponse(document(str(request.app.state.settings.base_url).rstrip("/")))
