"""`/-/plugins` and `/-/plugins.json`: what is loaded, at which version, implementing which hooks.

Why a plugin failed (its exception, which names classes and file paths of the server) is shown to
administrators only; everyone else sees that it failed, and how often.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bouquet.sso.authz import is_administrator
from bouquet.web.context import get_context
from bouquet.web.routing import public
from bouquet.web.ui import render


HIDDEN = "Détails réservés aux administrateurs."


def _plugins(request: Request) -> list[dict]:
    # Built-in plugins are part of the core; `?all=1` shows them too, as Datasette does.
    everything = request.query_params.get("all") == "1"
    details = is_administrator(get_context(request).account)
    return [_shown(info.as_json(), details) for info in request.app.state.plugins.info.values()
            if everything or not info.builtin]


def _shown(listed: dict, details: bool) -> dict:
    if details:
        return listed
    return {**listed, "load_error": HIDDEN if listed["load_error"] else None,
            "last_error": HIDDEN if listed["last_error"] else None}


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
