"""`ContextMiddleware`: builds each request's `RequestContext` before routing.

It loads the browser session, its account, whom a secretary acts for and the patient in context,
and keeps every endpoint not marked `@public` behind a portal sign-in: an ID token the portal's
own provider issued to the portal's client (`bouquet.sso.portal`), after a complete sign-in (both
factors). An anonymous browser asking for a page is sent to `/authorize` like any relying party's.

It sits above the identity, provider and patient layers it reads from, beside `bouquet.app`,
which installs it; pages and hooks only read the context (`bouquet.web.context`).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from bouquet.patient import context as patient_context
from bouquet.sso import portal as portal_client
from bouquet.sso.accounts import Account
from bouquet.sso.delegation import acting_for_of
from bouquet.sso.portal import PortalSession
from bouquet.web import anonymous
from bouquet.web.anonymous import AnonymousBrowser
from bouquet.web.context import RequestContext
from bouquet.web.routing import is_provider_page, is_public, is_sessionless, resolved
from bouquet.web.sessions import BrowserSession, cookie_name


class ContextMiddleware:
    """Builds the `RequestContext`, refuses non-public endpoints to anyone not fully signed in,
    and saves the session (and sets its cookie) when the request changed it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        state = request.app.state
        cookie = cookie_name(state.settings.https)
        presented = request.cookies.get(cookie)
        found = resolved(state.router_routes, scope)
        scope.setdefault("state", {})

        async def load() -> RequestContext:
            # An anonymous cookie never names a session row: no database read for it.
            visitor = anonymous.read(state.anonymous_key, presented)
            browser, portal, account, acting_for, patients = (
                (None, None, None, None, patient_context.SessionPatients()) if visitor is not None
                else await state.db.run(_load, state, presented))
            ctx = RequestContext(request, account=account, acting_for=acting_for, session=browser, portal=portal,
                                 patient=patients.current, patient_context_id=patients.current_id,
                                 recent_patients=list(patients.recent), anonymous=visitor)
            scope["state"].update(ctx=ctx, browser_session=browser, anonymous=visitor)
            return ctx

        if found and is_sessionless(found[1]):
            # Token, userinfo, health, static files: nothing loaded unless the endpoint asks (`full_context`).
            ctx = RequestContext(request)
            scope["state"].update(ctx=ctx, browser_session=None, anonymous=None, load_context=load)
        else:
            ctx = await load()
        account, portal = ctx.account, ctx.portal

        async def send_with_cookie(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                current: BrowserSession | None = scope["state"].get("browser_session")
                visiting: AnonymousBrowser | None = scope["state"].get("anonymous")
                if current is not None:
                    if current.dirty:
                        await state.db.run(state.sessions.save, current)
                    if current.new_token:
                        message.setdefault("headers", []).append(
                            (b"set-cookie", _cookie_header(cookie, current.new_token, state.settings.https).encode()))
                elif visiting is not None and visiting.new:
                    message.setdefault("headers", []).append((b"set-cookie", _cookie_header(
                        cookie, visiting.value, state.settings.https, max_age=anonymous.LIFETIME_SECONDS).encode()))
            await send(message)

        # The provider's own pages need its sign-in; every other page the portal's (from its ID token).
        if found and not is_public(found[1]) and (account is None if is_provider_page(found[1]) else portal is None):
            response = await _sign_in_first(ctx)
            await response(scope, receive, send_with_cookie)
            return
        await self.app(scope, receive, send_with_cookie)


def _load(state: Any, token: str | None) -> tuple[BrowserSession | None, PortalSession | None, Account | None,
                                              Account | None, patient_context.SessionPatients]:
    browser = state.sessions.load(token)
    if browser is None or browser.account_id is None:
        return browser, None, None, None, patient_context.SessionPatients()
    portal = portal_client.of(browser)
    # The portal's sign-in names the account; without one (the provider's pages), the provider's sign-in does.
    with Session(state.db.engine) as session:
        account = session.get(Account, portal.account_id if portal else browser.account_id)
    if account is None or not account.active:
        state.sessions.end(browser.row.id, "account_disabled")
        return None, None, None, None, patient_context.SessionPatients()
    acting_for = acting_for_of(state, browser, account)
    return browser, portal, account, acting_for, patient_context.for_session(state.db, browser, account, acting_for)


async def _sign_in_first(ctx: RequestContext) -> Any:
    """An HTML page view goes to the provider for the portal client; anything else is refused (401)."""
    request = ctx.request
    wants_html = "text/html" in request.headers.get("accept", "") and "hx-request" not in request.headers
    if request.method == "GET" and wants_html:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return await portal_client.sign_in_redirect(ctx, target)
    return JSONResponse({"error": "authentication_required", "message": "Connectez-vous pour continuer."},
                        status_code=401)


def _cookie_header(name: str, token: str, https: bool, max_age: int | None = None) -> str:
    parts = [f"{name}={token}", "Path=/", "HttpOnly", "SameSite=Lax"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if https:
        parts.append("Secure")
    return "; ".join(parts)
