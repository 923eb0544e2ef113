"""`RequestContext`: who is asking, for whom, about which patient — built once per request.

`bouquet.context_middleware.ContextMiddleware` builds it before routing (the session, the account,
whom a secretary acts for, the patient in context); this module is what pages and hooks read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from bouquet.foundation.audit import Auditor
from bouquet.web import anonymous, csrf
from bouquet.web.anonymous import AnonymousBrowser
from bouquet.web.sessions import BrowserSession, cookie_name

if TYPE_CHECKING:
    from bouquet.foundation.db import Database
    from bouquet.foundation.settings import Settings
    from bouquet.patient.context import RecentPatient
    from bouquet.patient.model import PatientContext
    from bouquet.plugins import Plugins
    from bouquet.sso.accounts import Account
    from bouquet.sso.authz import Permissions
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
    anonymous: AnonymousBrowser | None = None  # a visitor with no session: their signed cookie
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
        """The CSRF token of this browser's forms: bound to its session, or to its anonymous cookie."""
        if self.session is not None:
            return csrf.token_for(self.app_state.csrf_key, self.session.row.token_hash)
        if self.anonymous is not None:
            return csrf.token_for(self.app_state.csrf_key, self.anonymous.token_hash)
        return ""

    @property
    def presented_cookie(self) -> str | None:
        """The value of the session cookie the browser sent (a session's token or an anonymous cookie)."""
        return self.request.cookies.get(cookie_name(self.settings.https))

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


async def full_context(request: Request) -> RequestContext:
    """The context with its session, account and patient loaded. On a `@sessionless` route
    `ContextMiddleware` leaves them out and loads them only when the endpoint asks here."""
    state = request.scope["state"]
    load = state.pop("load_context", None)
    if load is not None:
        await load()
    return state["ctx"]


def ensure_anonymous(ctx: RequestContext) -> AnonymousBrowser | None:
    """For a browser with no session: its anonymous cookie, issued or renewed with this response
    when needed (a form is about to need a CSRF token; a sign-in is about to be bound to it).
    No server state: see `bouquet.web.anonymous`. None when the browser has a session."""
    if ctx.session is not None:
        return None
    current = anonymous.renew(ctx.app_state.anonymous_key, ctx.presented_cookie, ctx.anonymous)
    if current is not ctx.anonymous:
        ctx.anonymous = current
        ctx.request.scope["state"]["anonymous"] = current
    return current


async def ensure_session(ctx: RequestContext) -> BrowserSession:
    """The browser's session, created now if it has none: a sign-in has begun (a first factor was
    verified, a passkey or second-factor challenge is about to be stored). A session created for an
    anonymous browser inherits the binding of its pending authorizations (`bouquet.web.anonymous`)."""
    if ctx.session is None:
        state = ctx.app_state
        presented = ctx.presented_cookie
        binding = (ctx.anonymous.binding if ctx.anonymous is not None
                   else anonymous.binding_for(presented) if presented else None)
        data = {anonymous.BINDING_KEY: binding} if binding else {}
        if ctx.anonymous is not None:
            data[anonymous.CSRF_KEY] = ctx.anonymous.token_hash  # the page already shown keeps its token
        ctx.session = await state.db.run(
            state.sessions.create, user_agent=ctx.request.headers.get("user-agent"), source_ip=ctx.source_ip,
            data=data or None)
        ctx.request.scope["state"]["browser_session"] = ctx.session
    return ctx.session


def replace_session(ctx: RequestContext, browser: BrowserSession) -> None:
    """Make `browser` the session this response carries (after a sign-in or step-up rotated it)."""
    ctx.session = browser
    ctx.request.scope["state"]["browser_session"] = browser
