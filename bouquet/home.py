"""The signed-in home page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bouquet.plugins.contributions import Alert
from bouquet.web.context import get_context
from bouquet.web.ui import render

#: How long the plugins' home notices may take: the home page never waits on a slow plugin.
NOTICES_TIMEOUT_SECONDS = 2.0
_SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2, "success": 3}


async def home(request: Request) -> Response:
    ctx = get_context(request)
    if ctx.account is not None and ctx.account.kind == "secretary" and ctx.acting_for is None:
        return RedirectResponse("/acting-for", status_code=303)  # a secretary works for someone: ask whom
    results = await ctx.plugins.acall("bouquet_home_notices", ctx=ctx, timeout=NOTICES_TIMEOUT_SECONDS, failures=[])
    notices = sorted((n for n in ctx.plugins.flat(results) if isinstance(n, Alert)),
                     key=lambda n: (_SEVERITY_RANK.get(n.severity, 9), n.order, n.title))
    return await render(request, "home.html", {"notices": notices})


routes = [Route("/", home)]
