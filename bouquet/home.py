"""The signed-in home page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bouquet.web.context import get_context
from bouquet.web.ui import render


async def home(request: Request) -> Response:
    ctx = get_context(request)
    if ctx.account is not None and ctx.account.kind == "secretary" and ctx.acting_for is None:
        return RedirectResponse("/acting-for", status_code=303)  # a secretary works for someone: ask whom
    return await render(request, "home.html")


routes = [Route("/", home)]
