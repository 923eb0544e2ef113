"""The account page: who the account is, how it signs in, its recovery codes and security events.

Changing how the account signs in (adding or removing an app, new recovery codes) needs a
recent re-authentication (`bouquet.sso.reauth`); the confirmation page of each change is a GET
so that `/account/confirm` can send the browser back to it. Sessions are in `session_pages`.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bouquet.sso import factors, password_pages, reauth, recovery, session_pages, throttle, totp
from bouquet.sso.enrolment import (
    CODE_FORMAT,
    CODE_WRONG,
    confirm_totp,
    pending_secret,
    totp_setup,
)
from bouquet.sso.security_events import local_time, recent
from bouquet.web.context import RequestContext, ensure_session, get_context
from bouquet.web.forms import read_form
from bouquet.web.ui import render

# Where the secret of an app being added from the account page waits for its first code.
NEW_SECRET_KEY = "totp_new"
LAST_FACTOR = ("Vous ne pouvez pas supprimer votre dernière méthode de connexion en deux étapes : "
               "ajoutez-en d'abord une autre.")


def _account_id(ctx: RequestContext) -> int:
    assert ctx.account is not None and ctx.account.id is not None  # the middleware let only signed-in accounts in
    return ctx.account.id


# --- overview ------------------------------------------------------------------------------------

async def overview(request: Request) -> Response:
    ctx = get_context(request)
    facts = await ctx.db.run(_overview, ctx, _account_id(ctx))
    return await render(request, "sso/account.html", facts)


def _overview(ctx: RequestContext, account_id: int) -> dict[str, Any]:
    with ctx.db.session() as session:
        apps = totp.credentials_of(session, account_id)
        return {
            "totp_credentials": [{"id": app.id, "added": local_time(app.created_at),
                                  "last_used": local_time(app.last_used_at) if app.last_used_at else None}
                                 for app in apps],
            "factor_total": factors.total(session, account_id),
            "factor_details": factors.details(session, account_id),
            "recovery_left": recovery.remaining(session, account_id),
            "events": recent(session, account_id),
        }


# --- adding an app -------------------------------------------------------------------------------

async def totp_new_page(request: Request) -> Response:
    ctx = get_context(request)
    if not reauth.recently_authenticated(ctx):
        return reauth.confirm_redirect(ctx, "/account/totp/new")
    return await _totp_form(request)


async def totp_new(request: Request) -> Response:
    ctx = get_context(request)
    if not reauth.recently_authenticated(ctx):
        return reauth.confirm_redirect(ctx, "/account/totp/new")
    code = totp.normalise_code((await read_form(request, "code"))["code"])
    if code is None:
        return await _totp_form(request, error=CODE_FORMAT, status_code=400)
    browser = await ensure_session(ctx)
    secret = pending_secret(browser, NEW_SECRET_KEY, _account_id(ctx))
    if not await ctx.db.run(confirm_totp, ctx, _account_id(ctx), secret, code, throttle.current_time(ctx.app_state)):
        return await _totp_form(request, error=CODE_WRONG)
    browser.pop(NEW_SECRET_KEY)
    ctx.flash("Votre application d'authentification est ajoutée.", "success")
    return RedirectResponse("/account", status_code=303)


async def _totp_form(request: Request, *, error: str | None = None, status_code: int = 200) -> Response:
    ctx = get_context(request)
    secret = pending_secret(await ensure_session(ctx), NEW_SECRET_KEY, _account_id(ctx))
    return await render(request, "sso/enrol_totp.html", {
        **await totp_setup(ctx, _account_id(ctx), secret), "error": error, "action": "/account/totp/new",
        "back": "/account", "during_signin": False,
    }, status_code=status_code)


# --- removing an app -----------------------------------------------------------------------------

async def totp_remove_page(request: Request) -> Response:
    ctx = get_context(request)
    credential_id = request.path_params["credential_id"]
    if not reauth.recently_authenticated(ctx):
        return reauth.confirm_redirect(ctx, f"/account/totp/{credential_id}/remove")
    return await _remove_form(request, credential_id)


async def totp_remove(request: Request) -> Response:
    ctx = get_context(request)
    credential_id = request.path_params["credential_id"]
    if not reauth.recently_authenticated(ctx):
        return reauth.confirm_redirect(ctx, f"/account/totp/{credential_id}/remove")
    outcome = await ctx.db.run(_remove_totp, ctx, _account_id(ctx), credential_id)
    if outcome == "missing":
        raise HTTPException(404, "Cette application d'authentification n'est pas liée à votre compte.")
    if outcome == "last":
        return await _remove_form(request, credential_id, error=LAST_FACTOR, status_code=400)
    ctx.flash("L'application d'authentification est supprimée de votre compte.", "success")
    return RedirectResponse("/account", status_code=303)


def _remove_totp(ctx: RequestContext, account_id: int, credential_id: int) -> str:
    with ctx.db.write() as session:
        if not any(app.id == credential_id for app in totp.credentials_of(session, account_id)):
            return "missing"
        if not factors.may_remove_one(session, account_id):
            return "last"
        totp.remove(session, account_id, credential_id)
        ctx.audit.write_in(session, "factor.removed", details={"factor": "totp", "credential_id": credential_id})
    return "removed"


async def _remove_form(request: Request, credential_id: int, *, error: str | None = None,
                       status_code: int = 200) -> Response:
    return await render(request, "sso/account_action.html", {
        "title": "Supprimer une application d'authentification",
        "explanation": "Les codes de cette application ne permettront plus de vous connecter.",
        "action": f"/account/totp/{credential_id}/remove", "button": "Supprimer l'application", "error": error,
    }, status_code=status_code)


# --- new recovery codes --------------------------------------------------------------------------

async def recovery_new_page(request: Request) -> Response:
    ctx = get_context(request)
    if not reauth.recently_authenticated(ctx):
        return reauth.confirm_redirect(ctx, "/account/recovery-codes/new")
    return await render(request, "sso/account_action.html", {
        "title": "Générer de nouveaux codes de secours",
        "explanation": "Vos codes de secours actuels, utilisés ou non, ne fonctionneront plus.",
        "action": "/account/recovery-codes/new", "button": "Générer de nouveaux codes", "error": None,
    })


async def recovery_new(request: Request) -> Response:
    ctx = get_context(request)
    if not reauth.recently_authenticated(ctx):
        return reauth.confirm_redirect(ctx, "/account/recovery-codes/new")
    codes = await ctx.db.run(_new_codes, ctx, _account_id(ctx))
    return await render(request, "sso/recovery_codes.html", {"codes": codes, "already_shown": False,
                                                             "continue_action": None})


def _new_codes(ctx: RequestContext, account_id: int) -> list[str]:
    with ctx.db.write() as session:
        codes = recovery.issue_codes(session, account_id)
        ctx.audit.write_in(session, "recovery_codes.issued", details={"count": len(codes), "reason": "regenerated"})
    return codes


routes: list[BaseRoute] = [
    Route("/account", overview, methods=["GET"]),
    Route("/account/totp/new", totp_new_page, methods=["GET"]),
    Route("/account/totp/new", totp_new, methods=["POST"]),
    Route("/account/totp/{credential_id:int}/remove", totp_remove_page, methods=["GET"]),
    Route("/account/totp/{credential_id:int}/remove", totp_remove, methods=["POST"]),
    Route("/account/recovery-codes/new", recovery_new_page, methods=["GET"]),
    Route("/account/recovery-codes/new", recovery_new, methods=["POST"]),
    *reauth.routes,
    *session_pages.routes,
    *password_pages.routes,
]
