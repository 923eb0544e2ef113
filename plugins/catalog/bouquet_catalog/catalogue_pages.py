"""The catalogue as professionals see it: search with filters, a solution's page, « Ouvrir », images.

    GET  /p/catalog/                       search: ?q=&category=&profession=&region=&conformity=&page=
    GET  /p/catalog/solutions/{id}         a referenced solution, its conformity claims and their status
    POST /p/catalog/solutions/{id}/open    opens it with SSO (and the patient in context): 303 to the app
    GET  /p/catalog/images/{id}            a logo or screenshot (published, or the viewer's own / under review)

Only referenced solutions show; any other is "not found" here.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bouquet import get_context, render
from bouquet.api.patient import audit_ins
from bouquet.api.web import csp_leaving_to
from bouquet_catalog import solutions, web
from bouquet_catalog.models import Image, Revision, Solution
from bouquet_catalog.solutions import NotFound, Query
from bouquet_catalog.vocabulary import CATEGORIES, CONFORMITIES, PROFESSIONS, REGIONS


def query_of(params: Any) -> Query:
    def pick(name: str, allowed: dict[str, Any]) -> str:
        value = params.get(name, "")
        return value if value in allowed else ""

    return Query(text=params.get("q", "")[:200], category=pick("category", CATEGORIES),
                 profession=pick("profession", PROFESSIONS), region=pick("region", REGIONS),
                 conformity=pick("conformity", CONFORMITIES), page=web.integer(params.get("page"), 1))


async def search_page(request: Request) -> Response:
    ctx = get_context(request)
    web.require(ctx, web.BROWSE)
    query = query_of(request.query_params)
    if not query.profession and "profession" not in request.query_params and ctx.account and ctx.account.profession_code in PROFESSIONS:
        query = Query(**{**query.__dict__, "profession": ctx.account.profession_code})  # a professional first sees their own

    def load() -> tuple[solutions.Results, dict[int, dict[str, Any]], dict[int, int]]:
        with ctx.db.session() as session:
            results = solutions.search(session, query)
            contents = solutions.published_contents(session, results.solutions)
            logos = solutions.logos(session, [s.published_revision_id for s in results.solutions if s.published_revision_id])
            return results, contents, logos

    results, contents, logos = await ctx.db.run(load)
    return await render(request, "catalog/search.html", web.page(query=query, results=results, contents=contents, logos=logos))


def _solution_id(request: Request) -> int:
    return web.integer(request.path_params["solution_id"])


async def solution_page(request: Request) -> Response:
    ctx = get_context(request)
    web.require(ctx, web.BROWSE)
    solution_id = _solution_id(request)

    def load() -> tuple[Solution, Revision, list[Image], str]:
        with ctx.db.session() as session:
            solution, published = solutions.referenced(session, solution_id)
            vendor = session.get(solutions.Vendor, solution.vendor_id)
            return solution, published, solutions.images_of(session, published.id), vendor.name if vendor else ""

    try:
        solution, published, pictures, vendor_name = await ctx.db.run(load)
    except NotFound:
        raise HTTPException(404, "Cette solution n'est pas (ou plus) référencée au catalogue.") from None
    content = published.content
    launchable = bool(content.get("launch_url") and solution.oidc_client_id)
    headers = {}
    if launchable:  # « Ouvrir » posts here and is redirected to the application: let the form lead there
        headers["Content-Security-Policy"] = csp_leaving_to(content["launch_url"])
    return await render(request, "catalog/solution.html", web.page(
        solution=solution, content=content, vendor_name=vendor_name, launchable=launchable,
        logo=next((p for p in pictures if p.role == "logo"), None),
        screenshots=[p for p in pictures if p.role == "screenshot"]), headers=headers)


async def open_solution(request: Request) -> Response:
    """Launch a referenced solution: with the SMART launch when `bouquet.patient.smart` offers it, else its plain URL."""
    ctx = get_context(request)
    web.require(ctx, web.BROWSE)
    solution_id = _solution_id(request)

    def load() -> tuple[Solution, dict[str, Any]]:
        with ctx.db.session() as session:
            solution, published = solutions.referenced(session, solution_id)
            return solution, published.content

    try:
        solution, content = await ctx.db.run(load)
    except NotFound:
        raise HTTPException(404, "Cette solution n'est pas (ou plus) référencée au catalogue.") from None
    if not content.get("launch_url") or not solution.oidc_client_id:
        raise HTTPException(409, "Cette solution ne s'ouvre pas depuis Bouquet : consultez son site.")
    url = content["launch_url"]
    launch_url = _app_launch_url()
    if launch_url is not None:
        url = await launch_url(ctx, solution.oidc_client_id, url)
    patient_ins = audit_ins(ctx.patient) if ctx.patient is not None else None  # no INS for a non-qualified identity
    await ctx.audit.log("catalog.open", patient_ins=patient_ins, resource=f"catalog:solution:{solution_id}",
                        details={"client_id": solution.oidc_client_id, "with_patient": patient_ins is not None})
    return RedirectResponse(url, status_code=303)


def _app_launch_url() -> Any:
    """`bouquet.patient.smart.app_launch_url` if this portal has it (looked up at call time), else None."""
    try:
        from bouquet.api import patient as smart
    except ImportError:
        return None
    return getattr(smart, "app_launch_url", None)


async def image(request: Request) -> Response:
    """An image of a published revision, or of a pending one for its vendor and the operator."""
    ctx = get_context(request)
    web.require(ctx, web.BROWSE)
    image_id = web.integer(request.path_params["image_id"])
    account = ctx.account

    def load() -> Image | None:
        with ctx.db.session() as session:
            row = session.get(Image, image_id)
            if row is None:
                return None
            rev = session.get(Revision, row.revision_id)
            solution = session.get(Solution, rev.solution_id) if rev else None
            if solution is None:
                return None
            if solution.status == "referenced" and solution.published_revision_id == row.revision_id:
                return row
            if ctx.can(web.REVIEW):
                return row
            if account is not None and account.siren and ctx.can(web.SUBMIT):
                vendor = session.get(solutions.Vendor, solution.vendor_id)
                if vendor is not None and vendor.siren == account.siren:
                    return row
            return None

    row = await ctx.db.run(load)
    if row is None:
        raise HTTPException(404, "Cette image n'existe pas.")
    return Response(row.data, media_type=row.content_type, headers={
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=300",
        "Content-Disposition": "inline", "Content-Security-Policy": "default-src 'none'; sandbox"})
