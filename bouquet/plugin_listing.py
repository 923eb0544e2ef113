"""`/-/plugins` and `/-/plugins.json`: what is loaded, at which version, implementing which hooks."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bouquet.web.routing import public
from bouquet.web.ui import render


def _plugins(request: Request) -> list[dict]:
    # Built-in plugins are part of the core; `?all=1` shows them too, as Datasette does.
    everything = request.query_params.get("all") == "1"
    return [info.as_json() for info in request.app.state.plugins.info.values() if everything or not info.builtin]


@public
async def plugins_json(request: Request) -> Response:
    return JSONResponse(_plugins(request))


@public
async def plugins_page(request: Request) -> Response:
    return await render(request, "plugins.html", {"plugins": _plugins(request)})


routes = [
    Route("/-/plugins.json", plugins_json),
    Route("/-/plugins", plugins_page),
]
