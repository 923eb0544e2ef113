"""The shell's rendering: one Jinja2 environment for the core's templates and every plugin's."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from jinja2 import (
    BytecodeCache,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PrefixLoader,
    select_autoescape,
)
from starlette.requests import Request
from starlette.responses import HTMLResponse

from bouquet import __version__
from bouquet.foundation.times import format_date, format_datetime
from bouquet.plugins.contributions import NavEntry
from bouquet.web.context import ensure_anonymous, get_context

PACKAGE_DIR = Path(__file__).parent.parent  # bouquet/


def shell_dir(name: str) -> Path:
    """`templates/` or `static/`: beside the package in a checkout, inside it in a wheel."""
    bundled = PACKAGE_DIR / "_shell" / name
    return bundled if bundled.is_dir() else PACKAGE_DIR.parent / name


class _CompiledTemplates(BytecodeCache):
    """Templates compiled once per process, shared by every environment made here (all made with
    the same options): an app made again (a test, a reload) does not recompile them. Jinja checks
    each entry against the template's source, so an edited template is compiled anew."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Any) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Any) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_COMPILED = _CompiledTemplates()


def make_environment(plugin_templates: dict[str, str]) -> Environment:
    """Core templates by their name, plugin templates as `<plugin>/<name>`."""
    loader = ChoiceLoader([
        FileSystemLoader(shell_dir("templates")),
        PrefixLoader({name: FileSystemLoader(path) for name, path in plugin_templates.items()}),
    ])
    env = Environment(loader=loader, autoescape=select_autoescape(default=True, default_for_string=True),
                      enable_async=True, trim_blocks=True, lstrip_blocks=True, bytecode_cache=_COMPILED)
    env.globals["static"] = _static_url
    env.globals["bouquet_version"] = __version__
    # Every time on every page: Europe/Paris, one format (`{{ event.at|datetime }}`, `{{ day|date }}`).
    env.filters["datetime"] = format_datetime
    env.filters["date"] = format_date
    return env


_STATIC_VERSIONS: dict[str, str] = {}


def _static_url(path: str) -> str:
    # A content hash in the query string lets browsers cache assets until they change.
    version = _STATIC_VERSIONS.get(path)
    if version is None:
        file = shell_dir("static") / path
        version = hashlib.sha256(file.read_bytes()).hexdigest()[:12] if file.is_file() else "0"
        _STATIC_VERSIONS[path] = version
    return f"/static/{path}?v={version}"


async def navigation(request: Request) -> list[dict[str, Any]]:
    """The menu for this account: the core's entries and every plugin's, by `order`."""
    ctx = get_context(request)
    if ctx.account is None:
        return []
    plugins = request.app.state.plugins
    entries = [entry for entry in plugins.flat(await plugins.acall("bouquet_nav", ctx=ctx)) if isinstance(entry, NavEntry)]
    entries.append(NavEntry("Accueil", "/", order=0))
    entries.sort(key=lambda entry: (entry.order, entry.label))
    path = request.url.path

    def covers(href: str) -> bool:
        return path == href or (href != "/" and path.startswith(href.rstrip("/") + "/"))

    # One current entry: the most specific (« Espace éditeur » /p/catalog/vendor, not also « Catalogue » /p/catalog/).
    current = max((e.href for e in entries if covers(e.href)), key=lambda href: len(href.rstrip("/")), default=None)
    return [{"label": e.label, "href": e.href, "current": e.href == current} for e in entries]


async def render(request: Request, template: str, context: dict[str, Any] | None = None, *,
                 status_code: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    """Render a page (or an htmx fragment) with the shell's variables: ctx, nav, flashes, csrf_token."""
    ctx = get_context(request)
    ensure_anonymous(ctx)  # an anonymous visitor's forms need a CSRF token; no session row for a page view
    is_fragment = "hx-request" in request.headers and "hx-boosted" not in request.headers
    values = {
        "request": request,
        "ctx": ctx,
        "account": ctx.account,
        "acting_for": ctx.acting_for,
        "patient": ctx.patient,
        "csrf_token": ctx.csrf_token,
        "nav": [] if is_fragment else await navigation(request),
        "flashes": [] if is_fragment or ctx.session is None else ctx.session.take_flashes(),
        **(context or {}),
    }
    html = await request.app.state.templates.get_template(template).render_async(values)
    return HTMLResponse(html, status_code=status_code, headers=headers)
