"""Logout: RP-initiated (`/end-session`) and back-channel (a logout token POSTed to every client).

RP-initiated: a client sends the browser to `GET /end-session` with `id_token_hint`,
`post_logout_redirect_uri` (one it registered) and `state`. The person always confirms with a
button (a CSRF-protected POST to `/end-session/confirm`), so a forged link signs nobody out; the
browser then returns to the client, or sees a French "signed out" page.

Back-channel: when a signed-in portal session ends for any reason but a rotation
(`bouquet_session_ended`), `enqueue` revokes every token issued through that sign-in (`sid`) and
writes one outbox row per client that received some and registered a `backchannel_logout_uri`.
`DeliveryLoop`, run by every worker, claims due rows and POSTs each client a `logout_token`
(OpenID Connect Back-Channel Logout 1.0), retrying failures with a growing delay.

Sessions that time out (idle or absolute) are ended by the same loop (`sweep_expired_sessions`,
every `SWEEP_EVERY_SECONDS`), so their relying parties are told without waiting for the cookie to
come back; ending a session is a conditional UPDATE, so of several workers sweeping, one announces it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import httpx
from authlib.oauth2 import OAuth2Error
from joserfc import jwt
from sqlmodel import col, or_, select
from starlette.datastructures import MultiDict
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bouquet.foundation.db import Database, utcnow
from bouquet.sso.accounts import Account
from bouquet.sso.oidc import tokens
from bouquet.sso.oidc.adapter import RequestData, read_request
from bouquet.sso.oidc.claims import subject
from bouquet.sso.oidc.consent import leaving_to, origin_of
from bouquet.sso.oidc.models import BackchannelLogout, OidcClient, Token
from bouquet.sso.oidc.server import END_SESSION, Provider, provider_of, purge
from bouquet.web.context import get_context
from bouquet.web.routing import public
from bouquet.web.sessions import WebSession, cookie_name
from bouquet.web.ui import render

log = logging.getLogger("bouquet.oidc.logout")

EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_LIFETIME = timedelta(minutes=2)
# Delay before each retry; after the last one the delivery is given up (and stays recorded).
BACKOFF = (timedelta(seconds=10), timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10),
           timedelta(minutes=30), timedelta(hours=2), timedelta(hours=6))
CLAIM_FOR = timedelta(seconds=60)
POLL_SECONDS = 2.0
PURGE_EVERY_SECONDS = 600.0
SWEEP_EVERY_SECONDS = 30.0
SWEEP_LIMIT = 500
HTTP_TIMEOUT = 5.0
STOP_TIMEOUT_SECONDS = 2 * HTTP_TIMEOUT
INVALID = "La demande de déconnexion envoyée par l'application n'est pas valide. Vous êtes toujours connecté à Bouquet."


# --- RP-initiated logout -----------------------------------------------------------------------

def _validate(provider: Provider, data: RequestData) -> Any:
    validated = provider.server.validate_endpoint_request("end_session", data)
    claims = validated.id_token_claims
    if claims is not None and claims.get("iss") != provider.issuer:
        raise OAuth2Error("The id_token_hint was not issued here.", error="invalid_request")
    return validated


async def _validated(request: Request, data: RequestData) -> Any | Response:
    provider = provider_of(request.app)
    try:
        return await provider.run(_validate, provider, data)
    except OAuth2Error:
        return await render(request, "oidc/error.html", {"message": INVALID, "title": "Déconnexion impossible"},
                            status_code=400)


@public
async def end_session(request: Request) -> Response:
    """GET /end-session: ask the signed-in person to confirm they want to sign out."""
    ctx = get_context(request)
    provider = provider_of(request.app)
    data = await read_request(request, provider.url(END_SESSION))
    validated = await _validated(request, data)
    if isinstance(validated, Response):
        return validated
    if ctx.account is None:
        if validated.redirect_uri:
            return RedirectResponse(validated.redirect_uri, status_code=302)
        return await render(request, "oidc/signed_out.html", {})
    headers = {}
    if validated.redirect_uri:

        headers["Content-Security-Policy"] = leaving_to(origin_of(validated.redirect_uri))
    return await render(request, "oidc/end_session.html", {
        "client": validated.client, "query": request.url.query,
    }, headers=headers)


@public
async def confirm_end_session(request: Request) -> Response:
    """POST /end-session/confirm: end this browser's session (every relying party is told), then
    return to the client's registered post-logout page if it gave one."""
    ctx = get_context(request)
    provider = provider_of(request.app)
    form = await request.form(max_files=0, max_fields=10)
    query = str(form.get("query", ""))[:16_000]
    data = RequestData("GET", provider.url(END_SESSION), request.headers, MultiDict(parse_qsl(query, keep_blank_values=True)))
    validated = await _validated(request, data)
    if isinstance(validated, Response):
        return validated
    if ctx.session is not None and ctx.account is not None:
        client_id = validated.client.client_id if validated.client else None

        def end() -> None:
            assert ctx.session is not None
            ctx.app_state.sessions.end(ctx.session.row.id, "logout")
            ctx.audit.write("session.ended", details={"reason": "logout", "session_id": ctx.session.row.id,
                                                      "initiated_by": f"client:{client_id}" if client_id else "portal"})

        await ctx.db.run(end)
        ctx.session = None
        request.scope["state"]["browser_session"] = None
    response: Response = (RedirectResponse(validated.redirect_uri, status_code=303) if validated.redirect_uri
                          else await render(request, "oidc/signed_out.html", {}))
    https = ctx.settings.https
    response.delete_cookie(cookie_name(https), path="/", secure=https, httponly=True, samesite="lax")
    return response


# --- back-channel logout: the outbox ----------------------------------------------------------

def enqueue(db: Database, account_id: int, sid: str, reason: str) -> int:
    """A portal sign-in ended: revoke its tokens and queue a logout token for each client that
    had it and registered a back-channel URI. Returns how many deliveries were queued (blocking)."""
    with db.session() as session:
        client_ids = list(session.exec(select(Token.client_id).where(Token.sid == sid).distinct()).all())
    if not client_ids:
        return 0
    with db.write() as session:
        account = session.get(Account, account_id)
        clients = session.exec(select(OidcClient).where(col(OidcClient.client_id).in_(client_ids),
                                                        col(OidcClient.backchannel_logout_uri).is_not(None))).all()
        sub = subject(account) if account is not None else f"bouquet:account:{account_id}"
        for client in clients:
            assert client.backchannel_logout_uri is not None
            session.add(BackchannelLogout(client_id=client.client_id, uri=client.backchannel_logout_uri, sub=sub,
                                          sid=sid, reason=reason[:100]))
        tokens.revoke_sign_in(session, sid, "signed_out")
    if clients:
        _wake(db)
    return len(clients)


def sweep_expired_sessions(state: Any, now: datetime | None = None, limit: int = SWEEP_LIMIT) -> int:
    """End the signed-in sessions that have timed out but were not noticed (their cookie has not
    come back), so that `bouquet_session_ended` tells their relying parties now. Returns how many
    timed-out sessions it found; `SessionStore.end` is a conditional UPDATE, so when two workers
    find the same one, only one ends it and announces it. Blocking."""
    store = state.sessions
    now = now or utcnow()
    idle_since, born_before = now - store.timeouts.idle, now - store.timeouts.absolute
    with state.db.session() as session:
        rows = session.exec(select(WebSession.id, WebSession.last_seen_at).where(
            col(WebSession.ended_at).is_(None), col(WebSession.account_id).is_not(None),
            or_(col(WebSession.last_seen_at) < idle_since, col(WebSession.created_at) < born_before))
            .order_by(WebSession.id).limit(limit)).all()
    for session_id, last_seen_at in rows:
        store.end(session_id, "idle_timeout" if last_seen_at < idle_since else "absolute_timeout")
    return len(rows)


def claim_due(db: Database, worker: str, now: datetime | None = None, limit: int = 20) -> list[BackchannelLogout]:
    """Claim up to `limit` deliveries that are due and not claimed by a live worker (blocking).

    The claim is a row lock (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the write lock on SQLite) plus
    `claimed_until`: two workers never hold the same delivery at once.
    """
    now = now or utcnow()
    due = (col(BackchannelLogout.delivered_at).is_(None), col(BackchannelLogout.abandoned_at).is_(None),
           BackchannelLogout.next_attempt_at <= now,
           or_(col(BackchannelLogout.claimed_until).is_(None), col(BackchannelLogout.claimed_until) < now))
    with db.session() as session:  # a cheap read first: most polls find nothing and take no lock
        if session.exec(select(BackchannelLogout.id).where(*due).limit(1)).first() is None:
            return []
    with db.write() as session:
        rows = list(session.exec(select(BackchannelLogout).where(*due).order_by(BackchannelLogout.next_attempt_at)
                                 .limit(limit).with_for_update(skip_locked=True)).all())
        for row in rows:
            row.claimed_by, row.claimed_until, row.attempts = worker, now + CLAIM_FOR, row.attempts + 1
            session.add(row)
    return rows


def logout_token(provider: Provider, delivery: BackchannelLogout) -> str:
    """The signed logout token for one delivery (blocking: reads the signing key)."""
    with provider.db.session() as session:
        client = session.exec(select(OidcClient).where(OidcClient.client_id == delivery.client_id)).first()
    alg = client.id_token_signed_response_alg if client is not None else "RS256"
    kid, key = provider.keyring.signing_key(alg)
    now = int(time.time())
    claims = {"iss": provider.issuer, "aud": delivery.client_id, "iat": now,
              "exp": now + int(LOGOUT_TOKEN_LIFETIME.total_seconds()), "jti": secrets.token_urlsafe(16),
              "sub": delivery.sub, "sid": delivery.sid, "events": {EVENT: {}}}
    return jwt.encode({"alg": alg, "kid": kid, "typ": "logout+jwt"}, claims, key, [alg])


def record_attempt(db: Database, delivery_id: int, worker: str, *, status: int | None, error: str | None,
                   now: datetime | None = None) -> None:
    """Record one delivery attempt: delivered, retried later, or given up after the last retry."""
    now = now or utcnow()
    with db.write() as session:
        row = session.get(BackchannelLogout, delivery_id)
        if row is None or row.claimed_by != worker:
            return  # the claim lapsed and another worker took the delivery over
        row.last_status, row.last_error, row.claimed_until = status, (error or "")[:500] or None, None
        if status is not None and 200 <= status < 300:
            row.delivered_at = now
        elif row.attempts > len(BACKOFF):
            row.abandoned_at = now
            log.warning("back-channel logout to %s abandoned after %d attempts: %s", row.client_id, row.attempts,
                        row.last_error or row.last_status)
        else:
            row.next_attempt_at = now + BACKOFF[row.attempts - 1]
        session.add(row)


# --- back-channel logout: the delivery loop ---------------------------------------------------

_LOOPS: dict[int, DeliveryLoop] = {}


def _wake(db: Database) -> None:
    loop = _LOOPS.get(id(db))
    if loop is not None:
        loop.wake()


class DeliveryLoop:
    """The background task of one worker that delivers logout tokens (and purges expired rows)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._event = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._purged_at = time.monotonic()  # the first purge waits: starting a worker should not write
        self._swept_at = time.monotonic() - SWEEP_EVERY_SECONDS  # the first round sweeps (it writes only if due)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._run(), name="bouquet-oidc-logout-delivery")
        _LOOPS[id(self.app.state.db)] = self

    async def stop(self) -> None:
        """Let the current round finish (its thread holds a connection the app is about to close), then stop."""
        _LOOPS.pop(id(self.app.state.db), None)
        self._stopping = True
        self._event.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), STOP_TIMEOUT_SECONDS)
        except TimeoutError:
            self._task.cancel()

    def wake(self) -> None:
        """Deliver now rather than at the next poll (callable from any thread)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._event.set)

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self.run_once()
            except Exception:  # the loop must outlive a database hiccup
                log.exception("back-channel logout delivery failed")
            try:
                await asyncio.wait_for(self._event.wait(), POLL_SECONDS)
            except TimeoutError:
                pass
            self._event.clear()

    async def run_once(self) -> int:
        """Deliver what is due now; returns how many deliveries were attempted."""
        db = self.app.state.db
        if time.monotonic() - self._purged_at > PURGE_EVERY_SECONDS:
            self._purged_at = time.monotonic()

            await db.run(purge, db, getattr(self.app.state, "patients", None))
        if time.monotonic() - self._swept_at >= SWEEP_EVERY_SECONDS:
            self._swept_at = time.monotonic()
            await db.run(sweep_expired_sessions, self.app.state)
        rows = await db.run(claim_due, db, self.worker)
        if rows:
            async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, follow_redirects=False) as http:
                await asyncio.gather(*(self._deliver(http, row) for row in rows))
        return len(rows)

    async def _deliver(self, http: httpx.AsyncClient, row: BackchannelLogout) -> None:
        provider = provider_of(self.app)
        db = self.app.state.db
        status, error = None, None
        try:
            token = await db.run(logout_token, provider, row)
            response = await http.post(row.uri, data={"logout_token": token},
                                       headers={"Cache-Control": "no-store"})
            status = response.status_code
            if not 200 <= status < 300:
                error = response.text[:300]
        except (httpx.HTTPError, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        assert row.id is not None
        await db.run(record_attempt, db, row.id, self.worker, status=status, error=error)
