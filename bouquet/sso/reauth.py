"""Re-authentication before sensitive account changes (adding or removing a factor, new recovery codes).

A page that changes how an account signs in first asks `recently_authenticated(ctx)` (the portal's
ID token says the factors were given less than 5 minutes ago); when not, `confirm_redirect` sends a
new authorization request for the portal with `max_age=300`. The provider, like for any client
asking for `max_age`, sends the person to `/account/confirm`, which asks for the password and a
second factor again, then starts a new session (new id, same `sid`, fresh `authenticated_at`);
the provider issues a code, and the portal's callback returns to the page.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bouquet.foundation.db import utcnow
from bouquet.sso import factors, flow, passwords, portal, recovery, throttle, totp
from bouquet.sso.accounts import Account
from bouquet.web.context import RequestContext, get_context, replace_session
from bouquet.web.forms import read_form
from bouquet.web.routing import provider_page
from bouquet.web.sessions import BrowserSession
from bouquet.web.ui import render

RECENT = timedelta(seconds=portal.RECENT_SECONDS)
WRONG = "Mot de passe ou code incorrect."
REPLAYED = "Ce code a déjà été utilisé. Attendez que votre application affiche un nouveau code."
UNREADABLE = ("Votre application d'authentification ne peut plus être vérifiée : la clé secrète du portail a changé. "
              "Utilisez un code de secours, ou demandez à un administrateur de réinitialiser vos méthodes de connexion.")


def recently_authenticated(ctx: RequestContext) -> bool:
    """Whether the portal's sign-in (its ID token's `auth_time`) is less than 5 minutes old
    (a sign-in, or a confirmation on `/account/confirm`)."""
    if ctx.account is None or ctx.portal is None:
        return False
    return utcnow() - ctx.portal.auth_time <= RECENT


def confirm_redirect(ctx: RequestContext, next_url: str) -> RedirectResponse:
    """Where to send a browser that must confirm its identity before coming back to `next_url`:
    the provider, asked for an authentication less than 5 minutes old (`max_age`)."""
    return portal.step_up(ctx, flow.safe_next(next_url), max_age=portal.RECENT_SECONDS)


@provider_page
async def confirm_page(request: Request) -> Response:
    return await _form(request, flow.safe_next(request.query_params.get("next") or "/account"))


@provider_page
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
    if outcome == totp.Check.unreadable:
        return await _form(request, next_url, alert=UNREADABLE)
    assert ctx.session is not None
    new = await ctx.db.run(_rotate, ctx, ctx.session, outcome)
    replace_session(ctx, new)
    return RedirectResponse(next_url, status_code=303)


def _check(ctx: RequestContext, account_id: int, password: str, code: str,
           now: datetime) -> throttle.Refusal | totp.Check | list[str] | None:
    """The factors used (amr) when both are right; a refusal when throttled; the replay, or an app
    that cannot be unsealed (after a right password); or None."""
    counters = [(throttle.CONFIRM, throttle.account_key(account_id))]
    policy = throttle.policy_for(ctx.settings)
    with ctx.db.write() as session:
        attempt = throttle.begin(session, counters, now, policy)
        account = session.get(Account, account_id)
    if isinstance(attempt, throttle.Refusal):
        return attempt
    right = passwords.verify_password(account.password_hash if account else None, password)
    with ctx.db.write() as session:
        outcome = totp.Check.wrong
        if right:
            if totp.normalise_code(code):
                outcome = totp.verify(session, account_id, code, now, secret_key=ctx.settings.secret_key)
            elif recovery.redeem(session, account_id, code, now):
                outcome = totp.Check.accepted
        if outcome == totp.Check.accepted:
            throttle.succeeded(session, counters, policy)
            return [flow.PWD, flow.OTP]
        attempt = throttle.failed(session, attempt, now, policy)
        action = "signin.totp_replay" if outcome == totp.Check.replayed else "signin.failure"
        factor = "password" if not right else ("totp" if totp.normalise_code(code) else "recovery_code")
        ctx.audit.write_in(session, action, outcome="failure" if action == "signin.failure" else "denied",
                           details={"factor": factor, "reason": "reauthentication"})
        if attempt.locking:
            ctx.audit.write_in(session, "signin.locked", outcome="denied", details={
                "factor": "reauthentication", "until": attempt.locked_until.isoformat() if attempt.locked_until else None})
    return outcome if outcome in (totp.Check.replayed, totp.Check.unreadable) else None


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
