"""`RequestContext`: who is asking, for whom, about which patient — built once per request.

`ContextMiddleware` loads the browser session and its account before routing, and keeps every
endpoint not marked `@public` behind a portal sign-in: an ID token the portal's own provider
issued to the portal's client (`bouquet.sso.portal`), after a complete sign-in (both factors).
An anonymous browser asking for a page is sent to `/authorize` like any relying party's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from bouquet import csrf, patient_context
from bouquet.audit import Auditor
from bouquet.routing import is_provider_page, is_public, resolve
from bouquet.sessions import BrowserSession, cookie_name
from bouquet.sso.accounts import Account

if TYPE_CHECKING:
    from bouquet.authz import Permissions
    from bouquet.db import Database
    from bouquet.patient import PatientContext
    from bouquet.patient_context import RecentPatient
    from bouquet.plugins import Plugins
    from bouquet.settings import Settings
    from bouquet.sso.portal import PortalSession


@dataclass
class RequestContext:
    """Everything a hook needs to know about the request it serves."""

    request: Request
    account: Account | None = None
    acting_for: Account | None = None
    session: BrowserSession | None = None
    portal: PortalSession | None = None  # the portal's sign-in (from its ID token); None on public pages without one
    patient: PatientContext | None = None
    patient_context_id: str | None = None
    recent_patients: list[RecentPatient] = field(default_factory=list)  # for "Changer de patient"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def app_state(self) -> Any:
        return self.request.app.state

    @property
    def settings(self) -> Settings:
        return self.app_state.settings

    @property
    def db(self) -> Database:
        return self.app_state.db

    @property
    def plugins(self) -> Plugins:
        return self.app_state.plugins

    @property
    def request_id(self) -> str | None:
        return self.request.scope.get("state", {}).get("request_id")

    @property
    def source_ip(self) -> str | None:
        return self.request.client.host if self.request.client else None

    @property
    def audit(self) -> Auditor:
        """The audit writer for this actor (and principal) in this request."""
        return Auditor(
            self.db, self.app_state.audit_key,
            actor=self.account.label if self.account else "anonymous",
            acting_for=self.acting_for.label if self.acting_for else None,
            source_ip=self.source_ip, request_id=self.request_id,
        )

    @property
    def csrf_token(self) -> str:
        if self.session is None:
            return ""
        return csrf.token_for(self.app_state.csrf_key, self.session.row.token_hash)

    def can(self, action: str) -> bool:
        """Whether the signed-in account may do `action` (a secretary: for the principal they act for)."""
        permissions: Permissions = self.app_state.permissions
        return permissions.allows(self.account, action, self.acting_for)

    def flash(self, message: str, level: str = "info") -> None:
        if self.session is not None:
            self.session.flash(message, level)


def get_context(request: Request) -> RequestContext:
    """The context of this request (built by `ContextMiddleware`)."""
    return request.scope["state"]["ctx"]


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
        browser, portal, account, acting_for, patients = await state.db.run(_load, state, request.cookies.get(cookie))
        ctx = RequestContext(request, account=account, acting_for=acting_for, session=browser, portal=portal,
                             patient=patients.current, patient_context_id=patients.current_id,
                             recent_patients=list(patients.recent))
        scope.setdefault("state", {}).update(ctx=ctx, browser_session=browser)

        async def send_with_cookie(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                current: BrowserSession | None = scope["state"].get("browser_session")
                if current is not None:
                    if current.dirty:
                        await state.db.run(state.sessions.save, current)
                    if current.new_token:
                        message.setdefault("headers", []).append(
                            (b"set-cookie", _cookie_header(cookie, current.new_token, state.settings.https).encode()))
            await send(message)

        found = resolve(state.router_routes, scope)
        # The provider's own pages need its sign-in; every other page the portal's (from its ID token).
        if found and not is_public(found[1]) and (account is None if is_provider_page(found[1]) else portal is None):
            response = await _sign_in_first(ctx)
            await response(scope, receive, send_with_cookie)
            return
        await self.app(scope, receive, send_with_cookie)


def _load(state: Any, token: str | None) -> tuple[BrowserSession | None, PortalSession | None, Account | None,
                                              Account | None, patient_context.SessionPatients]:
    from bouquet.sso import portal as portal_client  # late: it is a set of pages built on this module

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
    from bouquet.sso.delegation import acting_for_of  # late: delegation's pages import this module
    acting_for = acting_for_of(state, browser, account)
    return browser, portal, account, acting_for, patient_context.for_session(state.db, browser, account, acting_for)


async def _sign_in_first(ctx: RequestContext) -> Any:
    """An HTML page view goes to the provider for the portal client; anything else is refused (401)."""
    request = ctx.request
    wants_html = "text/html" in request.headers.get("accept", "") and "hx-request" not in request.headers
    if request.method == "GET" and wants_html:
        from bouquet.sso import portal  # late: it is a set of pages built on this module

        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return await portal.sign_in_redirect(ctx, target)
    return JSONResponse({"error": "authentication_required", "message": "Connectez-vous pour continuer."},
                        status_code=401)


def _cookie_header(name: str, token: str, https: bool) -> str:
    parts = [f"{name}={token}", "Path=/", "HttpOnly", "SameSite=Lax"]
    if https:
        parts.append("Secure")
    return "; ".join(parts)


async def ensure_session(ctx: RequestContext) -> BrowserSession:
    """The browser's session, created now if it has none (a form is about to need a CSRF token)."""
    if ctx.session is None:
        state = ctx.app_state
        ctx.session = await state.db.run(
            state.sessions.create, user_agent=ctx.request.headers.get("user-agent"), source_ip=ctx.source_ip)
        ctx.request.scope["state"]["browser_session"] = ctx.session
    return ctx.session


def replace_session(ctx: RequestContext, browser: BrowserSession) -> None:
    """Make `browser` the session this response carries (after a sign-in or step-up rotated it)."""
    ctx.session = browser
    ctx.request.scope["state"]["browser_session"] = browser
