"""Operations: request ids, request metrics and logs, and the health, readiness and metrics endpoints."""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import time

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bouquet.foundation import logs, metrics
from bouquet.foundation.db import RETRY_AFTER_SECONDS, is_unavailable
from bouquet.migrations import pending_heads
from bouquet.sso.authz import is_administrator
from bouquet.web import errors
from bouquet.web.context import full_context
from bouquet.web.routing import resolved, sessionless

log = logging.getLogger("bouquet.http")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class ObservabilityMiddleware:
    """Gives each request an id (kept from `X-Request-ID` when well-formed), counts and times it
    per route template, logs one line when it ends, and turns an unhandled error into the
    French error page carrying that id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _REQUEST_ID.match(incoming) else secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = rid
        route = _route_template(scope)  # before routing: mounts rewrite the scope's root_path
        token = logs.request_id.set(rid)
        started = time.perf_counter()
        status = 500

        started_response = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                status, started_response = message["status"], True
                message.setdefault("headers", []).append((b"x-request-id", rid.encode()))
            await send(message)

        # Routing rewrites the scope (mounts): a retry starts again from this copy.
        pristine = {**scope, "state": dict(scope["state"])}
        try:
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as exc:
                # A read whose connection the database dropped (a restart): once more, on a fresh connection.
                if started_response or not is_unavailable(exc) or scope["method"] not in ("GET", "HEAD"):
                    raise
                log.warning("database unavailable on %s %s, retrying once: %s", scope["method"], scope["path"], exc)
                scope = {**pristine, "state": dict(pristine["state"])}
                await self.app(scope, _empty_body_then(receive), send_with_id)
        except Exception as exc:
            if started_response:
                raise
            if is_unavailable(exc):
                log.warning("database unavailable on %s %s: %s", scope["method"], scope["path"], exc)
                response = await errors.unavailable(Request(scope))
            else:
                response = await errors.server_error(Request(scope), exc)
            await response(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            metrics.REQUESTS.labels(scope["method"], route, str(status)).inc()
            metrics.REQUEST_SECONDS.labels(scope["method"], route).observe(elapsed)
            log.info("%s %s %s", scope["method"], scope["path"], status,
                     extra={"status": status, "route": route, "duration_ms": round(elapsed * 1000, 1)})
            logs.request_id.reset(token)


def _empty_body_then(receive: Receive) -> Receive:
    """For a retried GET/HEAD: its (empty) body once more, then the connection's own messages."""
    replayed = False

    async def again() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return await receive()

    return again


def _route_template(scope: Scope) -> str:
    # Label by template (/p/dmp/documents/{id}), never by raw path: raw paths would explode cardinality.
    router = getattr(scope.get("app"), "router", None)
    found = resolved(router.routes, scope) if router else None
    return found[0] if found else "unmatched"


@sessionless
async def healthz(request: Request) -> Response:
    """The process is up and serving."""
    return JSONResponse({"status": "ok"})


@sessionless
async def readyz(request: Request) -> Response:
    """The database answers and its schema is current: this worker can take traffic."""
    db = request.app.state.db
    plugins = request.app.state.plugins

    def check() -> list[str]:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return pending_heads(db.engine, plugins)

    try:
        pending = await db.run(check)
    except Exception as exc:
        log.warning("readiness check failed: %s", exc)
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503,
                            headers={"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"})
    if pending:
        return JSONResponse({"status": "unavailable", "database": "reachable", "pending_migrations": pending},
                            status_code=503)
    return JSONResponse({"status": "ready", "database": "reachable", "migrations": "current"})


@sessionless
async def metrics_endpoint(request: Request) -> Response:
    """The Prometheus exposition, for the scraper's bearer token (`BOUQUET_METRICS_TOKEN`) or an
    administrator signed in: route names, plugin names and failure counts help an attacker too."""
    refusal = await metrics_refusal(request)
    if refusal is not None:
        return refusal
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)


async def metrics_refusal(request: Request) -> Response | None:
    """None when the caller may read the metrics; else the 401 or 403 to answer (plain text: a scraper reads it)."""
    token = request.app.state.settings.metrics_token
    authorization = request.headers.get("authorization", "")
    scheme, _, presented = authorization.partition(" ")
    if scheme.lower() == "bearer" and presented:
        if token and hmac.compare_digest(presented.strip().encode(), token.encode()):
            return None
        return _refuse(401, "Jeton d'accès aux métriques invalide.", 'Bearer realm="metrics", error="invalid_token"')
    # The signed-in account only now: the scraper's requests never load a session.
    account = (await full_context(request)).account
    if is_administrator(account):
        return None
    if account is not None:
        return _refuse(403, "Les métriques sont réservées aux administrateurs et au collecteur de métriques.")
    return _refuse(401, "Les métriques demandent le jeton du collecteur ou une connexion d'administrateur.",
                   'Bearer realm="metrics"')


def _refuse(status: int, message: str, challenge: str | None = None) -> Response:
    headers = {"WWW-Authenticate": challenge} if challenge else None
    return PlainTextResponse(message, status_code=status, headers=headers)


routes = [
    Route("/healthz", healthz),
    Route("/readyz", readyz),
    Route("/metrics", metrics_endpoint),
]
