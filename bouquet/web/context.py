"""`RequestContext`: who is asking, for whom, about which patient — built once per request.

`bouquet.context_middleware.ContextMiddleware` builds it before routing (the session, the account,
whom a secretary acts for, the patient in context); this module is what pages and hooks read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from bouquet.foundation.audit import Auditor
from bouquet.web import csrf
from bouquet.web.sessions import BrowserSession

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
