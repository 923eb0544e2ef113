"""Re-authentication before sensitive account changes (adding or removing a factor, new recovery codes).

A page that changes how an account signs in first asks `recently_authenticated(ctx)`; when it
is not, it sends the browser to `/account/confirm?next=<the page>` (`confirm_redirect`), which
asks for the password and a second factor again, then starts a new session (new id, fresh
`authenticated_at`) and returns to `next`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bouquet.context import RequestContext, get_context, replace_session
from bouquet.db import utcnow
from bouquet.sessions import BrowserSession
from bouquet.sso import factors, flow, passwords, recovery, throttle, totp
from bouquet.sso.accounts import Account
from bouquet.sso.forms import read_form
from bouquet.ui import render

RECENT = timedelta(minutes=5)
WRONG = "Mot de passe ou code incorrect."
REPLAYED = "Ce code a déjà été utilisé. Attendez que votre application affiche un nouveau code."


def recently_authenticated(ctx: RequestContext) -> bool:
    """Whether the signed-in account gave its factors in this session less than 5 minutes ago
    (at sign-in or on `/account/confirm`)."""
    if ctx.account is None or ctx.session is None or ctx.session.row.authenticated_at is None:
        return False
    return utcnow() - ctx.session.row.authenticated_at <= RECENT


def confirm_redirect(next_url: str) -> RedirectResponse:
    """Where to send a browser that must confirm its identity before coming back to `next_url`."""
    return RedirectResponse(f"/account/confirm?next={quote(flow.safe_next(next_url), safe='')}", status_code=303)


async def confirm_page(request: Request) -> Response:
    return await _form(request, flow.safe_next(request.query_params.get("next") or "/account"))


async def confirm(request: Request) -> Response:
    ctx = get_context(request)
    form = await read_form(request, "password", "code", "next")
    next_url = flow.safe_next(form["next"] or "/account")
    code = "".join(form["code"].split())
    errors = {}
    if not form["password"]:
        errors["password"] = "Saisissez votre mot de passe."
    if not code:
        errors["code"] = "Saisissez le code de votre application ou un code de secours."
    elif totp.normalise_code(code) is None and recovery.normalise(code) is None:
        errors["code"] = "Saisissez les 6 chiffres de votre application, ou un code de secours de 12 caractères."
    if errors:
        return await _form(request, next_url, errors=errors, status_code=400)
    assert ctx.account is not None and ctx.account.id is not None
    now = throttle.current_time(ctx.app_state)
    outcome = await ctx.db.run(_check, ctx, ctx.account.id, form["password"], code, now)
    if isinstance(outcome, throttle.Refusal):
        return await _form(request, next_url, alert=outcome.message(now), status_code=429,
                           headers={"Retry-After": str(outcome.retry_after(now))})
    if outcome is None:
        return await _form(request, next_url, alert=WRONG)
    if outcome == totp.Check.replayed:
        return await _form(request, next_url, alert=REPLAYED)
    assert ctx.session is not None
    new = await ctx.db.run(_rotate, ctx, ctx.session, outcome)
    replace_session(ctx, new)
    return RedirectResponse(next_url, status_code=303)


def _check(ctx: RequestContext, account_id: int, password: str, code: str,
           now: datetime) -> throttle.Refusal | totp.Check | list[str] | None:
    """The factors used (amr) when both are right; a refusal when throttled; the replay; or None."""
    counters = [(throttle.CONFIRM, throttle.account_key(account_id))]
    with ctx.db.write() as session:
        attempt = throttle.begin(session, counters, now, throttle.policy_for(ctx.settings))
        account = session.get(Account, account_id)
    if isinstance(attempt, throttle.Refusal):
        return attempt
    right = passwords.verify_password(account.password_hash if account else None, password)
    with ctx.db.write() as session:
        outcome = totp.Check.wrong
        if right:
            if totp.normalise_code(code):
                outcome = totp.verify(session, account_id, code, now)
            elif recovery.redeem(session, account_id, code, now):
                outcome = totp.Check.accepted
        if outcome == totp.Check.accepted:
            throttle.succeeded(session, counters)
            return [flow.PWD, flow.OTP]
        action = "signin.totp_replay" if outcome == totp.Check.replayed else "signin.failure"
        factor = "password" if not right else ("totp" if totp.normalise_code(code) else "recovery_code")
        ctx.audit.write_in(session, action, outcome="failure" if action == "signin.failure" else "denied",
                           details={"factor": factor, "reason": "reauthentication"})
        if attempt.locking:
            ctx.audit.write_in(session, "signin.locked", outcome="denied", details={
                "factor": "reauthentication", "until": attempt.locked_until.isoformat() if attempt.locked_until else None})
    return totp.Check.replayed if outcome == totp.Check.replayed else None


def _rotate(ctx: RequestContext, browser: BrowserSession, amr: list[str]) -> BrowserSession:
    # Same person, same work in progress: the new session keeps the old one's data.
    new = ctx.app_state.sessions.rotate(browser, account_id=browser.account_id, amr=flow.with_mfa(amr),
                                        acting_for_id=browser.row.acting_for_id, keep=tuple(browser.row.data))
    ctx.audit.write("signin.reauthenticated", details={"amr": flow.with_mfa(amr)})
    return new


async def _form(request: Request, next_url: str, *, errors: dict[str, str] | None = None, alert: str | None = None,
                status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    ctx = get_context(request)
    assert ctx.account is not None and ctx.account.id is not None
    counts = await ctx.db.run(_factor_counts, ctx, ctx.account.id)
    return await render(request, "sso/confirm.html", {
        "next": next_url, "errors": errors or {}, "form_alert": alert,
        "has_password": bool(ctx.account.password_hash), "has_webauthn": counts.get("webauthn", 0) > 0,
    }, status_code=status_code, headers=headers)


def _factor_counts(ctx: RequestContext, account_id: int) -> dict[str, int]:
    with ctx.db.session() as session:
        return factors.counts(session, account_id)


routes: list[BaseRoute] = [
    Route("/account/confirm", confirm_page, methods=["GET"]),
    Route("/account/confirm", confirm, methods=["POST"]),
]
