"""The signed-in home page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bouquet.ui import render


async def home(request: Request) -> Response:
    return await render(request, "home.html")


routes = [Route("/", home)]
