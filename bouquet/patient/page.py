"""The patient page: the patient in context, their alerts, the applications to open with them, and
every plugin's panels, each loaded on its own so that one slow or broken service never holds up or
breaks the page.

    GET  /patient              the page; without a patient, how to open one (and the test form)
    POST /patient              open a fictitious patient from the test form
    GET  /patient/open         the test form, also while a patient is open
    GET  /patient/alerts       the alerts, as an htmx fragment
    POST /patient/close        close the dossier (form field `context_id`)
    POST /patient/{context_id} switch to another recent dossier of this browser

Each display of the page with a patient writes the audit event "patient.page_viewed".
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bouquet.patient import demo as demo_patients
from bouquet.patient import form as patient_form
from bouquet.patient.context import (
    audit_ins,
    close_in_session,
    establish_in_session,
    switch_in_session,
)
from bouquet.patient.display import patient_display
from bouquet.patient.plugin import OPEN_PATIENT
from bouquet.plugins.contributions import Alert, Launchable, Panel
from bouquet.sso.accounts import missing_profession
from bouquet.web.context import RequestContext, get_context
from bouquet.web.forms import read_form
from bouquet.web.ui import render

log = logging.getLogger("bouquet.patient.page")

# Alerts needing action come first: errors (e.g. overdue), then warnings, information, good news.
SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2, "success": 3}
# Server-side hook calls stop a little before the browser gives up on the fragment, so that the
# services that did answer are still shown.
SERVER_SHARE_OF_TIMEOUT = 0.8


def _allowed(ctx: RequestContext) -> RequestContext:
    if not ctx.can(OPEN_PATIENT):
        raise HTTPException(403, "Votre compte ne permet pas d'ouvrir le dossier d'un patient.")
    return ctx


def _hook_timeout(ctx: RequestContext) -> float:
    return ctx.settings.panel_timeout_seconds * SERVER_SHARE_OF_TIMEOUT


def _same_origin(url: str) -> bool:
    # Panels and links come from plugins; only paths of this portal are loaded or linked as such.
    return url.startswith("/") and not url.startswith("//") and "\\" not in url


async def patient_page(request: Request) -> Response:
    ctx = _allowed(get_context(request))
    if ctx.patient is None or ctx.patient_context_id is None:
        return await _without_patient(request)
    plugins = ctx.plugins
    panel_results, launchable_results = await asyncio.gather(
        plugins.acall("bouquet_patient_panels", ctx=ctx, timeout=_hook_timeout(ctx)),
        plugins.acall("bouquet_launchables", ctx=ctx, timeout=_hook_timeout(ctx)))
    panels = sorted(_valid(plugins.flat(panel_results), Panel, "url"), key=lambda p: (p.order, p.title))
    launchables = sorted(_valid(plugins.flat(launchable_results), Launchable, None), key=lambda a: (a.order, a.name))
    await ctx.audit.log("patient.page_viewed", patient_ins=audit_ins(ctx.patient),
                        resource=f"patient_context/{ctx.patient_context_id}")
    return await render(request, "patient.html", {
        "panels": panels,
        "launchables": launchables,
        "timeout_ms": round(ctx.settings.panel_timeout_seconds * 1000),
        "missing_profession": missing_profession(ctx.account),
    })


async def open_form(request: Request) -> Response:
    _allowed(get_context(request))
    return await _without_patient(request)


async def open_test_patient(request: Request) -> Response:
    ctx = _allowed(get_context(request))
    values = await read_form(request, *patient_form.FIELDS)
    patient, errors = patient_form.parse(values)
    if patient is None:
        return await _without_patient(request, values=values, errors=errors, status_code=400)
    source = demo_patients.DEMO_SOURCE if values.get("demo") else "manual"
    await establish_in_session(ctx, patient, source)
    return RedirectResponse("/patient", status_code=303)


async def alerts_fragment(request: Request) -> Response:
    ctx = _allowed(get_context(request))
    if ctx.patient is None:
        return await render(request, "patient_alerts.html", {"alerts": [], "silent": [], "no_patient": True})
    silent: list[str] = []
    results, panel_results = await asyncio.gather(
        ctx.plugins.acall("bouquet_alerts", ctx=ctx, timeout=_hook_timeout(ctx), failures=silent),
        ctx.plugins.acall("bouquet_patient_panels", ctx=ctx, timeout=_hook_timeout(ctx)))
    alerts = [alert for alert in ctx.plugins.flat(results) if isinstance(alert, Alert)]
    alerts.sort(key=lambda a: (SEVERITY_RANK.get(a.severity, len(SEVERITY_RANK)), a.order, a.title))
    panels = _valid(ctx.plugins.flat(panel_results), Panel, "url")
    shown, in_panels = _not_repeating(alerts, panels)
    return await render(request, "patient_alerts.html", {
        "alerts": [(alert, alert.href if alert.href and _safe_link(alert.href) else None) for alert in shown],
        "in_panels": in_panels,
        "silent": sorted(set(silent)),
        "no_patient": False,
    })


def _plugin_prefix(url: str) -> str | None:
    parts = url.split("/")
    return f"/p/{parts[2]}/" if url.startswith("/p/") and len(parts) > 3 and parts[2] else None


def _not_repeating(alerts: list[Alert], panels: list[Panel]) -> tuple[list[Alert], list[tuple[str, list[Alert]]]]:
    """The alerts to show above the panels, and (panel title, its alerts) for those left to the panels.

    An alert that links into a plugin whose panel is on the page says what that panel already shows:
    its box and description are left to the panel; above it, one short line names it."""
    titles = {prefix: panel.title for panel in panels if (prefix := _plugin_prefix(panel.url))}
    shown: list[Alert] = []
    grouped: dict[str, list[Alert]] = {}
    for alert in alerts:
        title = titles.get(_plugin_prefix(alert.href or "") or "")
        if title is None:
            shown.append(alert)
        else:
            grouped.setdefault(title, []).append(alert)
    return shown, sorted(grouped.items())


async def close_dossier(request: Request) -> Response:
    ctx = _allowed(get_context(request))
    context_id = (await read_form(request, "context_id"))["context_id"]
    name = ctx.patient.display_name if ctx.patient and context_id == ctx.patient_context_id else None
    if context_id and await close_in_session(ctx, context_id):
        ctx.flash(f"Le dossier de {name} est fermé." if name else "Le dossier est fermé.", "success")
    else:
        ctx.flash("Ce dossier était déjà fermé.", "info")
    return RedirectResponse("/patient", status_code=303)


async def switch_dossier(request: Request) -> Response:
    ctx = _allowed(get_context(request))
    if not await switch_in_session(ctx, request.path_params["context_id"]):
        raise HTTPException(404, "Ce dossier n'est plus ouvert. Rouvrez le patient depuis votre logiciel métier.")
    return RedirectResponse("/patient", status_code=303)


async def _without_patient(request: Request, *, values: dict[str, str] | None = None,
                           errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    demo_options = []
    for patient in demo_patients.DEMO_PATIENTS:
        shown = patient_display(patient)
        demo_options.append((patient.ins.matricule, f"{shown.birth_name} {shown.given_names}, "
                                                    f"{shown.born_label.lower()} ({shown.age_label})"))
    return await render(request, "patient_open.html", {
        "demo_options": demo_options,
        "oid_options": list(patient_form.TEST_OIDS.items()),
        "values": values or {},
        "errors": errors or {},
    }, status_code=status_code)


def _valid(items: list[Any], kind: type, url_field: str | None) -> list[Any]:
    """The items of the right shape; a panel whose URL leaves the portal is dropped (and logged)."""
    kept = []
    for item in items:
        if not isinstance(item, kind):
            continue
        if url_field is not None and not _same_origin(getattr(item, url_field)):
            log.warning("panel %r dropped: its URL is not a path of the portal", getattr(item, "title", "?"))
            continue
        if isinstance(item, Launchable) and not _safe_link(item.href):
            continue
        kept.append(item)
    return kept


def _safe_link(href: str) -> bool:
    return _same_origin(href) or href.startswith("https://") or href.startswith("http://")


routes = [
    Route("/patient", patient_page, methods=["GET"]),
    Route("/patient", open_test_patient, methods=["POST"]),
    Route("/patient/open", open_form, methods=["GET"]),
    Route("/patient/alerts", alerts_fragment, methods=["GET"]),
    Route("/patient/close", close_dossier, methods=["POST"]),
    Route("/patient/{context_id}", switch_dossier, methods=["POST"]),
]
