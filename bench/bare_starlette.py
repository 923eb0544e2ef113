"""The reference of `bench_pages.py`: a bare Starlette app (one route, a small HTML page, no middleware,
no database), served by uvicorn with the settings `bouquet serve` uses.

    .venv/bin/python bench/bare_starlette.py PORT [WORKERS]
"""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

PAGE = "<!doctype html><html lang=\"fr\"><head><title>Accueil</title></head><body><h1>Bonjour</h1></body></html>"


async def home(request: Request) -> HTMLResponse:
    return HTMLResponse(PAGE)


app = Starlette(routes=[Route("/", home)])


if __name__ == "__main__":
    port, workers = int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1
    # As `bouquet serve`: uvicorn.run on an import string, proxy headers off, no log config.
    uvicorn.run("bare_starlette:app", host="127.0.0.1", port=port, workers=workers, proxy_headers=False, log_config=None)
