"""The sign-in state machine shared by every factor.

A browser moves through: anonymous → first factor verified (`pending`) → [enrolment of a second
factor, when the account has none] → second factor verified → signed in (`complete`).
Until `complete`, the session has no `account_id`: nothing but the sign-in and enrolment pages
is reachable. `complete` replaces the session by a new one (new id), so a token seen before
sign-in is worthless after it.

The pending state lives in the session's data under `signin`:
`{"account_id": 12, "amr": ["pwd"], "next": "/…", "at": "<iso time>", "enrolling": false}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from starlette.responses import RedirectResponse

from bouquet.foundation.db import utcnow
from bouquet.web import anonymous
from bouquet.web.context import RequestContext, ensure_session, replace_session

KEY = "signin"
# bouquet.sso.portal.PENDING_KEY (the portal module imports this one); set by `ensure_session`.
PORTAL_AUTHORIZATIONS = anonymous.BINDING_KEY
# A first factor verified longer ago than this must be given again.
PENDING_LIFETIME = timedelta(minutes=10)

# RFC 8176 values we produce.
PWD, OTP, HWK, SWK, MFA, USER = "pwd", "otp", "hwk", "swk", "mfa", "user"


@dataclass(frozen=True)
class Pending:
    """A sign-in half done: who, with which factors so far, where to go after."""

    account_id: int
    amr: tuple[str, ...]
    next: str
    at: datetime
    enrolling: bool


def safe_next(target: str | None) -> str:
    """Only local paths may be a post-sign-in destination (no open redirect)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


async def begin(ctx: RequestContext, account_id: int, amr: list[str], next_url: str | None, *,
                enrolling: bool = False) -> None:
    """Record that the first factor of `account_id` was verified in this browser."""
    browser = await ensure_session(ctx)
    browser.set(KEY, {"account_id": account_id, "amr": list(amr), "next": safe_next(next_url),
                      "at": utcnow().isoformat(), "enrolling": enrolling})


def pending(ctx: RequestContext) -> Pending | None:
    """The sign-in in progress in this browser, if any and still fresh."""
    if ctx.session is None:
        return None
    raw = ctx.session.get(KEY)
    if not raw:
        return None
    at = datetime.fromisoformat(raw["at"])
    if utcnow() - at > PENDING_LIFETIME:
        ctx.session.pop(KEY)
        return None
    return Pending(raw["account_id"], tuple(raw["amr"]), raw.get("next", "/"), at, raw.get("enrolling", False))


def mark_enrolling(ctx: RequestContext) -> None:
    """The account has no second factor yet: from now on only enrolment pages are offered."""
    if ctx.session is not None and ctx.session.get(KEY):
        ctx.session.set(KEY, {**ctx.session.get(KEY), "enrolling": True})


def end_enrolment(ctx: RequestContext) -> None:
    """The account has a second factor now: the sign-in in progress asks for it instead of enrolling one."""
    if ctx.session is not None and ctx.session.get(KEY):
        ctx.session.set(KEY, {**ctx.session.get(KEY), "enrolling": False})


def with_mfa(amr: list[str] | tuple[str, ...]) -> list[str]:
    """Add `mfa` when two distinct kinds of factor were used (or a user-verified passkey)."""
    values = list(dict.fromkeys(amr))
    kinds = {value for value in values if value in {PWD, OTP, HWK, SWK}}
    passkey_with_uv = (HWK in values or SWK in values) and USER in values
    if (len(kinds) >= 2 or passkey_with_uv) and MFA not in values:
        values.append(MFA)
    return values


async def complete(ctx: RequestContext, account_id: int, amr: list[str], *, acting_for_id: int | None = None,
                   next_url: str | None = None) -> RedirectResponse:
    """Both factors are verified: start a new session for the account and go where it was headed.

    The audit event `signin.success` is written by the caller, who knows which factors were used.
    """
    state = ctx.app_state
    browser = await ensure_session(ctx)
    target = safe_next(next_url or (browser.get(KEY) or {}).get("next"))
    # The authorizations this browser is signing in for (bouquet.sso.portal) outlive the new session id.
    new = await state.db.run(state.sessions.rotate, browser, account_id=account_id, amr=with_mfa(amr),
                             acting_for_id=acting_for_id, keep=(PORTAL_AUTHORIZATIONS,))
    replace_session(ctx, new)
    return RedirectResponse(target, status_code=303)
