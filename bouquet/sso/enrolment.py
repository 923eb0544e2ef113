"""Mandatory enrolment of a second factor during sign-in, then the recovery codes, shown once.

An account with no second factor that gives its password is `enrolling` (`flow.mark_enrolling`):
the ContextMiddleware already keeps every non-public page away from it, and these pages offer
nothing but enrolment. TOTP is enrolled here; security keys and passkeys at `/enrol/webauthn`
(`bouquet.sso.webauthn`). Either ends with `finish_enrolment`, which leads to
`/enrol/recovery-codes`.

The TOTP set-up helpers (`pending_secret`, `totp_setup`, `confirm_totp`) are also used by the
account page to add an app to a signed-in account.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bouquet.sso import factors, flow, throttle, totp
from bouquet.sso.accounts import Account
from bouquet.sso.completion import ISSUED_KEY, finish_enrolment, finish_signin, issued
from bouquet.sso.security_events import auditor_for
from bouquet.web.context import RequestContext, ensure_session, get_context
from bouquet.web.forms import read_form
from bouquet.web.routing import public
from bouquet.web.sessions import BrowserSession
from bouquet.web.ui import render

# Where the secret being enrolled waits, in the session's data, until a code confirms it.
SECRET_KEY = "totp_enrolment"
EXPIRED = "Votre connexion a expiré. Saisissez à nouveau votre identifiant et votre mot de passe."
CODE_FORMAT = "Saisissez les 6 chiffres affichés par votre application."
ALREADY_ENROLLED = ("Un second facteur a été enregistré pour ce compte entre-temps : aucun autre ne peut être "
                    "ajouté sans lui. Connectez-vous avec ce second facteur ou un code de secours.")
CODE_WRONG = ("Ce code ne correspond pas. Vérifiez que vous avez bien scanné le QR code de cette page "
              "et que l'heure de votre téléphone est juste, puis saisissez le code affiché.")


# --- TOTP set-up, shared with the account page -------------------------------------------------

def pending_secret(browser: BrowserSession, key: str, account_id: int) -> str:
    """The secret this browser is setting up for the account (made once, so a reload shows the same QR code)."""
    held = browser.get(key)
    if held and held.get("account_id") == account_id:
        return held["secret"]
    secret = totp.new_secret()
    browser.set(key, {"account_id": account_id, "secret": secret})
    return secret


def _username(ctx: RequestContext, account_id: int) -> str:
    with ctx.db.session() as session:
        account = session.get(Account, account_id)
        return account.username if account else ""


async def totp_setup(ctx: RequestContext, account_id: int, secret: str) -> dict[str, str]:
    """What the set-up page shows: the secret (for manual entry) and its QR code."""
    username = await ctx.db.run(_username, ctx, account_id)
    return {"secret": secret, "qr": totp.qr_code_data_uri(totp.provisioning_uri(secret, username))}


class AlreadyEnrolled(Exception):
    """The account gained a second factor since this enrolment began: it must be asked for, not added."""


def confirm_totp(ctx: RequestContext, account_id: int, secret: str, code: str, now: datetime, *,
                 first_factor: bool = False) -> bool:
    """Store the app when `code` is one of its codes (that code cannot then sign in); audit `factor.added`.

    `first_factor=True` is enrolment on the strength of a password or an invitation alone: allowed
    only while the account has no second factor, checked here under a lock on the account's row (so
    a TOTP and a key enrolled at once in two tabs, or an enrolment started before the owner's, cannot
    both pass). Raises `AlreadyEnrolled` otherwise.
    """
    steps = totp.matching_steps(secret, code, now)
    if not steps:
        return False
    with ctx.db.write() as session:
        if first_factor:
            session.exec(select(Account.id).where(Account.id == account_id).with_for_update()).first()
            if factors.has_second_factor(session, account_id):
                raise AlreadyEnrolled(account_id)
        if totp.has_secret(session, account_id, secret, secret_key=ctx.settings.secret_key):
            return True  # the same form sent twice
        credential = totp.add(session, account_id, secret, secret_key=ctx.settings.secret_key, used_step=steps[0])
        auditor_for(ctx, session.get(Account, account_id)).write_in(
            session, "factor.added", details={"factor": "totp", "credential_id": credential.id})
    return True


# --- sign-in enrolment -------------------------------------------------------------------------

def _enrolling(ctx: RequestContext) -> flow.Pending | Response:
    pending = flow.pending(ctx)
    if pending is None:
        ctx.flash(EXPIRED, "warning")
        return RedirectResponse("/login", status_code=303)
    if not pending.enrolling:
        return RedirectResponse("/login/second-factor", status_code=303)
    return pending


@public
async def choices(request: Request) -> Response:
    pending = _enrolling(get_context(request))
    if isinstance(pending, Response):
        return pending
    return await render(request, "sso/enrol.html")


@public
async def totp_page(request: Request) -> Response:
    ctx = get_context(request)
    pending = _enrolling(ctx)
    if isinstance(pending, Response):
        return pending
    return await _totp_form(request, pending)


@public
async def totp_confirm(request: Request) -> Response:
    ctx = get_context(request)
    pending = _enrolling(ctx)
    if isinstance(pending, Response):
        return pending
    code = totp.normalise_code((await read_form(request, "code"))["code"])
    if code is None:
        return await _totp_form(request, pending, error=CODE_FORMAT, status_code=400)
    browser = await ensure_session(ctx)
    secret = pending_secret(browser, SECRET_KEY, pending.account_id)
    now = throttle.current_time(ctx.app_state)
    try:
        confirmed = await ctx.db.run(confirm_totp, ctx, pending.account_id, secret, code, now, first_factor=True)
    except AlreadyEnrolled:
        browser.pop(SECRET_KEY)
        flow.end_enrolment(ctx)
        ctx.flash(ALREADY_ENROLLED, "warning")
        return RedirectResponse("/login/second-factor", status_code=303)
    if not confirmed:
        return await _totp_form(request, pending, error=CODE_WRONG)
    browser.pop(SECRET_KEY)
    return await finish_enrolment(ctx, pending.account_id, [*pending.amr, flow.OTP])


async def _totp_form(request: Request, pending: flow.Pending, *, error: str | None = None,
                     status_code: int = 200) -> Response:
    ctx = get_context(request)
    secret = pending_secret(await ensure_session(ctx), SECRET_KEY, pending.account_id)
    return await render(request, "sso/enrol_totp.html", {
        **await totp_setup(ctx, pending.account_id, secret), "error": error, "action": "/enrol/totp",
        "back": "/enrol", "during_signin": True,
    }, status_code=status_code)


# --- recovery codes, once -----------------------------------------------------------------------

@public
async def recovery_codes_page(request: Request) -> Response:
    ctx = get_context(request)
    pending = _enrolling(ctx)
    if isinstance(pending, Response):
        return pending
    data = issued(ctx)
    if data is None:
        return RedirectResponse("/enrol", status_code=303)
    codes: list[str] = data.get("codes") or []
    if codes and ctx.session is not None:
        # Shown once: a reload, or anyone reading the session later, no longer finds them.
        ctx.session.set(ISSUED_KEY, {**data, "codes": []})
    return await render(request, "sso/recovery_codes.html", {
        "codes": codes, "already_shown": not codes, "continue_action": "/enrol/recovery-codes",
    })


@public
async def recovery_codes_done(request: Request) -> Response:
    ctx = get_context(request)
    pending = _enrolling(ctx)
    if isinstance(pending, Response):
        return pending
    data: dict[str, Any] | None = issued(ctx)
    if data is None:
        return RedirectResponse("/enrol", status_code=303)
    return await finish_signin(ctx, pending.account_id, list(data["amr"]))


routes: list[BaseRoute] = [
    Route("/enrol", choices, methods=["GET"]),
    Route("/enrol/totp", totp_page, methods=["GET"]),
    Route("/enrol/totp", totp_confirm, methods=["POST"]),
    Route("/enrol/recovery-codes", recovery_codes_page, methods=["GET"]),
    Route("/enrol/recovery-codes", recovery_codes_done, methods=["POST"]),
]
