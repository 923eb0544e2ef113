"""Error pages that say what happened in words a person understands (HTML), or JSON for APIs."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from bouquet.foundation.db import RETRY_AFTER_SECONDS
from bouquet.web.context import RequestContext
from bouquet.web.csrf import STALE_FORM
from bouquet.web.ui import render

log = logging.getLogger("bouquet.web.errors")

TITLES = {
    400: "Demande incorrecte",
    401: "Connexion nécessaire",
    403: "Accès refusé",
    404: "Page introuvable",
    405: "Action impossible",
    409: "Conflit",
    413: "Envoi trop volumineux",
    429: "Trop de tentatives",
    500: "Erreur du service",
    503: "Service momentanément indisponible",
}

EXPLANATIONS = {
    400: "Les informations envoyées ne sont pas valides.",
    401: "Vous devez vous connecter pour accéder à cette page.",
    403: "Vous n'avez pas l'autorisation d'accéder à cette page ou d'effectuer cette action.",
    404: "La page que vous cherchez n'existe pas ou a été déplacée. Vérifiez l'adresse saisie.",
    405: "Cette action n'est pas possible sur cette page.",
    409: "L'action n'a pas pu être faite car les données ont changé entre-temps.",
    413: "Le fichier ou le formulaire envoyé dépasse la taille autorisée.",
    429: "Trop de tentatives en peu de temps. Patientez quelques instants avant de réessayer.",
    500: "Une erreur inattendue s'est produite de notre côté. Aucune donnée n'a été modifiée. "
         "Réessayez dans quelques instants ; si le problème persiste, contactez le support en "
         "indiquant le code de la demande.",
    503: "Le service est momentanément indisponible. Réessayez dans quelques instants.",
}


STALE_FORM_KEPT = ("Cette page était ouverte depuis trop longtemps : pour votre sécurité, le formulaire n'a pas été "
                   "envoyé et rien n'a été modifié. Ce que vous aviez saisi est conservé dans cet onglet : revenez "
                   "au formulaire, vérifiez-le et envoyez-le à nouveau.")


def _form_page(request: Request) -> str:
    """The page the refused form was on (the browser's same-origin Referer), or the home page."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc != request.url.netloc or not referer.path.startswith("/") or referer.path.startswith("//"):
        return "/"
    return referer.path + (f"?{referer.query}" if referer.query else "")


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    # `json` covers application/json and its kinds (application/fhir+json of FHIR clients); an API
    # (`/api/…`, a plugin's `/p/<plugin>/api/…`) answers JSON whatever its caller accepts.
    return ("json" in accept and "text/html" not in accept) or "/api/" in request.url.path


async def error_response(request: Request, status: int, detail: str | None = None) -> Response:
    """An error page for a browser, or `{"error", "message"}` for an API client."""
    message = detail or EXPLANATIONS.get(status, "Une erreur s'est produite.")
    if _wants_json(request):
        return JSONResponse({"error": TITLES.get(status, "Erreur"), "message": message}, status_code=status)
    stale = message == STALE_FORM
    try:
        return await render(request, "error.html", {
            "status": status, "title": "Formulaire expiré" if stale else TITLES.get(status, "Erreur"),
            "message": STALE_FORM_KEPT if stale else message,
            "request_id": request.scope.get("state", {}).get("request_id"),
            "stale_form": stale, "back_url": _form_page(request) if stale else None,
        }, status_code=status)
    except Exception:
        # The error page itself failed (database down…): answer in plain text rather than not at all.
        log.exception("error page failed to render")
        return Response(f"{TITLES.get(status, 'Erreur')} — {message}", status_code=status,
                        media_type="text/plain; charset=utf-8")


UNAVAILABLE = ("Le service est momentanément indisponible (sa base de données ne répond pas). Aucune donnée n'a "
               "été modifiée par cette demande. Réessayez dans quelques secondes.")


async def unavailable(request: Request) -> Response:
    """503 with `Retry-After` while the database is away: JSON for an API, else the French page —
    the shell as for a visitor, since nothing about the session can be read now."""
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
    if _wants_json(request):
        return JSONResponse({"error": TITLES[503], "message": UNAVAILABLE}, status_code=503, headers=headers)
    values = {"request": request, "ctx": RequestContext(request), "account": None, "acting_for": None,
              "patient": None, "csrf_token": "", "nav": [], "flashes": [], "status": 503, "title": TITLES[503],
              "message": UNAVAILABLE, "request_id": request.scope.get("state", {}).get("request_id")}
    try:
        html = await request.app.state.templates.get_template("error.html").render_async(values)
    except Exception:
        log.exception("the unavailability page failed to render")
        return Response(f"{TITLES[503]} — {UNAVAILABLE}", status_code=503, headers=headers,
                        media_type="text/plain; charset=utf-8")
    return HTMLResponse(html, status_code=503, headers=headers)


async def http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if exc.detail and exc.detail != _default_phrase(exc.status_code) else None
    response = await error_response(request, exc.status_code, detail)
    response.headers.update(exc.headers or {})  # e.g. WWW-Authenticate of a refused bearer token
    return response


async def server_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return await error_response(request, 500)


def _default_phrase(status: int) -> str:
    from http import HTTPStatus

    return HTTPStatus(status).phrase
