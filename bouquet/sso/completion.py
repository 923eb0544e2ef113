"""The last step of every sign-in, whichever factors were used.

Any page that verifies a second factor ends the sign-in with

    return await finish_signin(ctx, account_id, amr)

which rotates the session (`flow.complete`), writes `signin.success` with the amr, clears the
account's second-factor throttle counters and gives the browser its device cookie.

A page that has just *enrolled* the account's first second factor during sign-in (the pending
sign-in is `enrolling`) ends instead with

    return await finish_enrolment(ctx, account_id, amr)

which issues the ten recovery codes and sends the browser to `/enrol/recovery-codes`; that page
shows them once, and its "Continuer" button calls `finish_signin` with the same `amr`.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from bouquet.sso import devices, flow, recovery, throttle
from bouquet.sso.accounts import Account
from bouquet.sso.security_events import auditor_for
from bouquet.web.context import RequestContext

# Where `finish_enrolment` leaves the new recovery codes and the factors used, for one showing.
ISSUED_KEY = "enrolment_codes"


async def finish_signin(ctx: RequestContext, account_id: int, amr: list[str]) -> Response:
    """Both factors of `account_id` are verified in this browser: sign it in and go where it was headed.

    Returns the redirect to send; the session is a new one (the old token is worthless now).
    """
    state = ctx.app_state
    now = throttle.current_time(state)
    await ctx.db.run(_record_success, ctx, account_id, flow.with_mfa(amr))
    response = await flow.complete(ctx, account_id, amr)
    https = state.settings.https
    name = devices.cookie_name(https)
    value = devices.issue(devices.signing_key(state.settings.secret_key), ctx.request.cookies.get(name),
                          account_id, now)
    response.set_cookie(name, value, max_age=int(devices.LIFETIME.total_seconds()), path="/", secure=https,
                        httponly=True, samesite="lax")
    return response


def _record_success(ctx: RequestContext, account_id: int, amr: list[str]) -> None:
    with ctx.db.write() as session:
        account = session.get(Account, account_id)
        key = throttle.account_key(account_id)
        throttle.succeeded(session, [(throttle.OTP, key), (throttle.RECOVERY, key)])
        auditor_for(ctx, account).write_in(session, "signin.success", details={"amr": amr})


async def finish_enrolment(ctx: RequestContext, account_id: int, amr: list[str]) -> Response:
    """The first second factor of `account_id` was just enrolled during its sign-in: issue its
    recovery codes, keep them for `/enrol/recovery-codes` to show once, and go there.

    `amr` is every factor used, e.g. `["pwd", "otp"]`. Raises HTTPException(400) when this
    browser is not enrolling that account.
    """
    pending = flow.pending(ctx)
    if pending is None or pending.account_id != account_id or not pending.enrolling:
        raise HTTPException(400, "Aucune inscription n'est en cours dans ce navigateur. Reconnectez-vous.")
    codes = await ctx.db.run(_issue_codes, ctx, account_id)
    # A factor was just proven: the sign-in in progress gets a fresh lifetime for the last step.
    await flow.begin(ctx, account_id, list(pending.amr), pending.next, enrolling=True)
    assert ctx.session is not None
    ctx.session.set(ISSUED_KEY, {"account_id": account_id, "amr": list(amr), "codes": codes})
    return RedirectResponse("/enrol/recovery-codes", status_code=303)


def issued(ctx: RequestContext) -> dict[str, Any] | None:
    """What `finish_enrolment` left for this browser's pending sign-in, if it matches it."""
    pending = flow.pending(ctx)
    data = ctx.session.get(ISSUED_KEY) if ctx.session is not None else None
    if pending is None or not data or data.get("account_id") != pending.account_id:
        return None
    return data


def _issue_codes(ctx: RequestContext, account_id: int) -> list[str]:
    with ctx.db.write() as session:
        codes = recovery.issue_codes(session, account_id)
        auditor_for(ctx, session.get(Account, account_id)).write_in(
            session, "recovery_codes.issued", details={"count": len(codes), "reason": "enrolment"})
    return codes
