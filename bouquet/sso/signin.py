"""Sign-in pages: the password, then a second factor (TOTP code or recovery code), and sign-out.

The state between the steps is `bouquet.sso.flow`'s; every page here is `@public` and checks
`flow.pending` itself. Guesses are throttled (`bouquet.sso.throttle`: checked before they are verified, counted only when wrong);
a browser where the account signed in before is throttled by its own device counter
(`bouquet.sso.devices`), so a stranger cannot lock the owner out.

Other factors end a sign-in with `finish_signin`, or an enrolment with `finish_enrolment`
(re-exported here from `bouquet.sso.completion`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bouquet.sso import (
    devices,
    enrolment,
    factors,
    flow,
    passwords,
    recovery,
    throttle,
    totp,
)
from bouquet.sso.accounts import Account, normalise_username, signin_lookup
from bouquet.sso.completion import finish_enrolment, finish_signin
from bouquet.sso.psc import pages as psc
from bouquet.sso.security_events import auditor_for
from bouquet.web.context import RequestContext, get_context
from bouquet.web.forms import read_form
from bouquet.web.routing import public
from bouquet.web.sessions import cookie_name as session_cookie_name
from bouquet.web.ui import render

__all__ = ["finish_enrolment", "finish_signin", "routes"]

LOGIN_FAILED = "Identifiant ou mot de passe incorrect."
EXPIRED = "Votre connexion a expiré. Saisissez à nouveau votre identifiant et votre mot de passe."
TOTP_WRONG = "Code incorrect. Vérifiez que l'heure de votre téléphone est juste, puis réessayez."
TOTP_REPLAYED = ("Ce code a déjà été utilisé. Attendez que votre application affiche un nouveau code, "
                 "puis saisissez-le.")
TOTP_UNREADABLE = ("Votre application d'authentification ne peut plus être vérifiée : la clé secrète du portail "
                   "a changé. Connectez-vous avec un code de secours, ou demandez à un administrateur de "
                   "réinitialiser vos méthodes de connexion.")
RECOVERY_WRONG = "Code de secours incorrect ou déjà utilisé."
# Shown only to whoever typed the right password: a stranger learns no more than from a wrong one.
ACCOUNT_DISABLED = ("Votre compte est désactivé : vous ne pouvez pas vous connecter. Contactez l'administrateur "
                    "de Bouquet de votre structure pour le faire réactiver.")


# --- password ------------------------------------------------------------------------------------

@public
async def login_page(request: Request) -> Response:
    ctx = get_context(request)
    next_url = request.query_params.get("next")
    if ctx.account is not None:
        return RedirectResponse(flow.safe_next(next_url), status_code=303)
    # An OpenID Connect client's login_hint (passed on by /authorize) prefills the identifier.
    return await _login_form(request, next_url=flow.safe_next(next_url),
                             username=normalise_username(request.query_params.get("login_hint", ""))[:150],
                             signed_out="deconnecte" in request.query_params)


@public
async def login(request: Request) -> Response:
    ctx = get_context(request)
    form = await read_form(request, "username", "password", "next")
    username, password, next_url = normalise_username(form["username"]), form["password"], flow.safe_next(form["next"])
    errors = {}
    if not username:
        errors["username"] = "Saisissez votre identifiant."
    if not password:
        errors["password"] = "Saisissez votre mot de passe."
    if errors:
        return await _login_form(request, next_url=next_url, username=username, errors=errors, status_code=400)
    state = ctx.app_state
    now = throttle.current_time(state)
    device_cookie = request.cookies.get(devices.cookie_name(state.settings.https))
    outcome = await ctx.db.run(_check_password, ctx, username, password, device_cookie, now)
    if isinstance(outcome, throttle.Refusal):
        return await _login_form(request, next_url=next_url, username=username, alert=outcome.message(now),
                                 status_code=429, headers={"Retry-After": str(outcome.retry_after(now))})
    if outcome is None:
        return await _login_form(request, next_url=next_url, username=username, alert=LOGIN_FAILED)
    if outcome is DISABLED:
        return await _login_form(request, next_url=next_url, username=username, alert=ACCOUNT_DISABLED,
                                 status_code=403)
    account_id, has_factor = outcome
    if await ctx.db.run(psc.password_turned_off, ctx, account_id):  # the operator's choice, per profession
        return await _login_form(request, next_url=next_url, username=username, alert=psc.PSC_ONLY, status_code=403)
    await flow.begin(ctx, account_id, [flow.PWD], next_url, enrolling=not has_factor)
    return RedirectResponse("/login/second-factor" if has_factor else "/enrol", status_code=303)


DISABLED = "disabled"


def _check_password(ctx: RequestContext, username: str, password: str, device_cookie: str | None,
                    now: datetime) -> tuple[int, bool] | throttle.Refusal | str | None:
    """(account id, has a second factor) for the right password of an active account; `DISABLED` for
    the right password of a disabled one; a refusal when throttled; None otherwise. The same work is
    done whether the account exists or not. `username` may be a professional's IdNat_PS."""
    db, key = ctx.db, devices.signing_key(ctx.settings.secret_key)
    with db.write() as session:
        account = session.exec(signin_lookup(username)).first()
        account_id = account.id if account is not None else None
        nonce = devices.nonce_for(key, device_cookie, account_id, now) if account_id is not None else None
        if nonce:
            counters = [(throttle.PASSWORD, throttle.device_key(nonce))]
        else:
            who = throttle.account_key(account_id) if account_id is not None else throttle.username_key(username)
            counters = [(throttle.PASSWORD, who), (throttle.PASSWORD, throttle.source_key(ctx.source_ip))]
        policy = throttle.policy_for(ctx.settings)
        attempt = throttle.begin(session, counters, now, policy)
    if isinstance(attempt, throttle.Refusal):
        return attempt
    stored_hash = account.password_hash if account is not None else None
    right = passwords.verify_password(stored_hash, password)
    signed = right and account is not None and account.active and account_id is not None
    # Hashed outside the transaction: argon2 is slow on purpose, and SQLite would wait on our write lock.
    rehashed = passwords.hash_password(password) if signed and stored_hash and passwords.needs_rehash(stored_hash) else None
    with db.write() as session:
        if signed and account_id is not None:
            throttle.succeeded(session, attempt.counters, policy)
            if rehashed:
                session.execute(update(Account).where(Account.id == account_id).values(password_hash=rehashed))
            return account_id, factors.has_second_factor(session, account_id)
        attempt = throttle.failed(session, attempt, now, policy)
        _record_failure(ctx, session, account, "password", attempt, reason="disabled" if right else "password")
    return DISABLED if right and account is not None else None


def _record_failure(ctx: RequestContext, session: Session, account: Account | None, factor: str,
                    attempt: throttle.Attempt, *, action: str = "signin.failure", reason: str | None = None) -> None:
    auditor = auditor_for(ctx, account)
    details: dict[str, Any] = {"factor": factor}
    if reason:
        details["reason"] = reason
    auditor.write_in(session, action, outcome="denied" if action != "signin.failure" else "failure", details=details)
    if attempt.locking:
        auditor.write_in(session, "signin.locked", outcome="denied", details={
            "factor": factor, "counters": [key.split(":", 1)[0] for _, key in attempt.locking],
            "until": attempt.locked_until.isoformat() if attempt.locked_until else None,
        })


async def _login_form(request: Request, *, next_url: str, username: str = "", errors: dict[str, str] | None = None,
                      alert: str | None = None, signed_out: bool = False, status_code: int = 200,
                      headers: dict[str, str] | None = None) -> Response:
    return await render(request, "sso/login.html", {
        "next": next_url, "username": username, "errors": errors or {}, "form_alert": alert, "signed_out": signed_out,
        "psc_start": psc.start_url(next_url) if get_context(request).settings.psc_enabled else None,
    }, status_code=status_code, headers=headers)


# --- second factor -----------------------------------------------------------------------------

def _restart(ctx: RequestContext) -> Response:
    ctx.flash(EXPIRED, "warning")
    return RedirectResponse("/login", status_code=303)


def _waiting(ctx: RequestContext) -> flow.Pending | Response:
    """The sign-in waiting for its second factor, or where to send a browser that has none."""
    pending = flow.pending(ctx)
    if pending is None:
        return _restart(ctx)
    if pending.enrolling:
        return RedirectResponse("/enrol", status_code=303)
    return pending


@public
async def second_factor_page(request: Request) -> Response:
    ctx = get_context(request)
    pending = _waiting(ctx)
    if isinstance(pending, Response):
        return pending
    return await _second_factor_form(request, pending, "totp")


@public
async def recovery_page(request: Request) -> Response:
    ctx = get_context(request)
    pending = _waiting(ctx)
    if isinstance(pending, Response):
        return pending
    return await _second_factor_form(request, pending, "recovery")


@public
async def second_factor(request: Request) -> Response:
    return await _verify_second_factor(request, "totp")


@public
async def recovery_signin(request: Request) -> Response:
    return await _verify_second_factor(request, "recovery")


async def _verify_second_factor(request: Request, method: str) -> Response:
    ctx = get_context(request)
    pending = _waiting(ctx)
    if isinstance(pending, Response):
        return pending
    raw = (await read_form(request, "code"))["code"]
    code = totp.normalise_code(raw) if method == "totp" else recovery.normalise(raw)
    if code is None:
        problem = ("Saisissez les 6 chiffres affichés par votre application." if method == "totp"
                   else "Un code de secours compte 12 caractères, par exemple abcd-efgh-jkmn.")
        return await _second_factor_form(request, pending, method, error=problem, status_code=400)
    now = throttle.current_time(ctx.app_state)
    outcome = await ctx.db.run(check_second_factor, ctx, pending.account_id, method, code, now)
    if isinstance(outcome, throttle.Refusal):
        return await _second_factor_form(request, pending, method, alert=outcome.message(now), status_code=429,
                                         headers={"Retry-After": str(outcome.retry_after(now))})
    if outcome == totp.Check.replayed:
        return await _second_factor_form(request, pending, method, error=TOTP_REPLAYED)
    if outcome == totp.Check.unreadable:
        return await _second_factor_form(request, pending, method, alert=TOTP_UNREADABLE)
    if outcome != totp.Check.accepted:
        return await _second_factor_form(request, pending, method,
                                         error=TOTP_WRONG if method == "totp" else RECOVERY_WRONG)
    response = await finish_signin(ctx, pending.account_id, [*pending.amr, flow.OTP])
    if method == "recovery":
        left = await ctx.db.run(_remaining_codes, ctx, pending.account_id)
        ctx.flash(f"Vous vous êtes connecté avec un code de secours : il vous en reste {left}. "
                  "Si vous avez perdu votre téléphone, ajoutez une nouvelle méthode de connexion depuis votre compte.",
                  "warning")
    return response


def check_second_factor(ctx: RequestContext, account_id: int, method: str, code: str,
                        now: datetime) -> totp.Check | throttle.Refusal:
    """Check a TOTP code (`method="totp"`) or a recovery code of the account, throttled and audited
    like the sign-in's second step (the invitation page asks for one the same way)."""
    scope = throttle.OTP if method == "totp" else throttle.RECOVERY
    counters = [(scope, throttle.account_key(account_id)), (scope, throttle.source_key(ctx.source_ip))]
    policy = throttle.policy_for(ctx.settings)
    with ctx.db.write() as session:
        attempt = throttle.begin(session, counters, now, policy)
    if isinstance(attempt, throttle.Refusal):
        return attempt
    with ctx.db.write() as session:
        account = session.get(Account, account_id)
        if method == "totp":
            outcome = totp.verify(session, account_id, code, now, secret_key=ctx.settings.secret_key)
        else:
            outcome = totp.Check.accepted if recovery.redeem(session, account_id, code, now) else totp.Check.wrong
        if outcome == totp.Check.accepted:
            throttle.succeeded(session, counters, policy)
            if method == "recovery":
                auditor_for(ctx, account).write_in(session, "signin.recovery_code_used", details={
                    "factor": "recovery_code", "remaining": recovery.remaining(session, account_id)})
        elif outcome == totp.Check.replayed:
            attempt = throttle.failed(session, attempt, now, policy)
            _record_failure(ctx, session, account, "totp", attempt, action="signin.totp_replay")
        else:
            attempt = throttle.failed(session, attempt, now, policy)
            _record_failure(ctx, session, account, "totp" if method == "totp" else "recovery_code", attempt)
    return outcome


def _remaining_codes(ctx: RequestContext, account_id: int) -> int:
    with ctx.db.session() as session:
        return recovery.remaining(session, account_id)


def _second_factor_facts(ctx: RequestContext, account_id: int) -> dict[str, Any]:
    with ctx.db.session() as session:
        counts = factors.counts(session, account_id)
        return {"has_totp": counts.get("totp", 0) > 0, "has_webauthn": counts.get("webauthn", 0) > 0,
                "recovery_left": recovery.remaining(session, account_id)}


async def _second_factor_form(request: Request, pending: flow.Pending, method: str, *, error: str | None = None,
                              alert: str | None = None, status_code: int = 200,
                              headers: dict[str, str] | None = None) -> Response:
    ctx = get_context(request)
    facts = await ctx.db.run(_second_factor_facts, ctx, pending.account_id)
    return await render(request, "sso/second_factor.html", {
        "method": method, "error": error, "form_alert": alert, "next": pending.next, **facts,
    }, status_code=status_code, headers=headers)


# --- sign-out ----------------------------------------------------------------------------------

@public
async def logout(request: Request) -> Response:
    """End this browser's session on the server (every worker refuses it from now on) and drop its cookie."""
    ctx = get_context(request)
    psc_logout = None
    if ctx.session is not None:
        psc_logout = await psc.logout_redirect(ctx)  # a PSC sign-in ends at PSC too
        await ctx.db.run(_end_session, ctx)
        ctx.session = None
        request.scope["state"]["browser_session"] = None
    # PSC is another origin: a page that moves on, since the form's form-action would block a redirect there.
    response = await render(request, "sso/psc_logout.html", {"target": psc_logout}) if psc_logout else \
        RedirectResponse("/login?deconnecte", status_code=303)
    https = ctx.settings.https
    response.delete_cookie(session_cookie_name(https), path="/", secure=https, httponly=True, samesite="lax")
    return response


def _end_session(ctx: RequestContext) -> None:
    assert ctx.session is not None
    ctx.app_state.sessions.end(ctx.session.row.id, "logout")
    if ctx.account is not None:
        ctx.audit.write("session.ended", details={"reason": "logout", "session_id": ctx.session.row.id})


routes: list[BaseRoute] = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/login/second-factor", second_factor_page, methods=["GET"]),
    Route("/login/second-factor", second_factor, methods=["POST"]),
    Route("/login/recovery", recovery_page, methods=["GET"]),
    Route("/login/recovery", recovery_signin, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    *enrolment.routes,
]
