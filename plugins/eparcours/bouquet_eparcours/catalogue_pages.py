"""The pathway catalogue: what installed packages offer, with their sources, and what failed to load.

    GET /p/eparcours/pathways       every pathway, its roles and steps with their sources (and whether
                                    they were verified), then the definitions refused at load time
    GET /p/eparcours/pathways/{id}  one pathway: its place on that page (the URI FHIR exports cite)
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bouquet import get_context, render
from bouquet_eparcours import web


async def pathways_page(request: Request) -> Response:
    catalogue = await web.catalogue(get_context(request))
    return await render(request, "eparcours/pathways.html", web.page(
        offered=catalogue.offered(), problems=catalogue.problems))


async def pathway(request: Request) -> Response:
    return RedirectResponse(f"/p/eparcours/pathways#{quote(request.path_params['pathway_id'], safe='')}", status_code=303)
