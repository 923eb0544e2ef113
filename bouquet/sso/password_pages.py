"""Changing one's password, and what to do when it is forgotten.

    GET/POST /account/password     a new password, behind a recent re-authentication (password and a
                                   second factor, `bouquet.sso.reauth`); the account's other sessions end
    GET/POST /login/forgotten      the way back without the password: a request to the administrator,
                                   who sends a single-use invitation (`bouquet.sso.invitations`)

A forgotten password never weakens the second factor: the invitation of an account that has one asks
for a code of its app or a recovery code before the new password is kept, and the sign-in that
follows asks for the second factor as always. The request page says the same thing whether the
account exists or not, so a stranger learns nothing from it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bouquet.foundation.audit import AuditEvent
from bouquet.sso import passwords, reauth, throttle
from bouquet.sso.accounts import Account, normalise_username, signin_lookup
from bouquet.sso.security_events import auditor_for
from bouquet.web.context import RequestContext, get_context
from bouquet.web.forms import Form, read_fields
from bouquet.web.routing import public
from bouquet.web.ui import render

CHANGED = "Votre mot de passe est changé. Vos autres sessions sont terminées."
MISMATCH = "Les deux mots de passe ne sont pas identiques : saisissez-les à nouveau."
FORGOTTEN_SENT = ("Votre demande est transmise aux administrateurs de Bouquet, si l'identifiant correspond à un compte. "
                  "Un administrateur vous fera parvenir un lien à usage unique pour choisir un nouveau mot de passe ; "
                  "ce lien vous demandera aussi un code de votre application d'authentification ou un code de secours.")
RESET_REQUESTED = "account.password_reset_requested"
# Throttle scope of the requests: their own counters, so that they never spend a source's sign-in attempts.
RESET_SCOPE = "reset_request"


# --- change --------------------------------------------------------------------------------------

async def change_page(request: Request) -> Response:
    ctx = get_context(request)
    if not reauth.recently_authenticated(ctx):
        return reauth.confirm_redirect(ctx, "/account/password")
    return await render(request, "sso/password_change.html", Form().context())


async def change(request: Request) -> Response:
    ctx = get_context(request)
    if not reauth.recently_authenticated(ctx):
        # The confirmation comes back to the (empty) form: a password is never kept across pages.
        return reauth.confirm_redirect(ctx, "/account/password")
    assert ctx.account is not None and ctx.account.id is not None
    form = await read_fields(request, "password", "confirmation", strip=False)
    password, confirmation = form.values["password"], form.values["confirmation"]
    account = ctx.account
    if problem := passwords.weakness(password, names=(account.username, account.given_name, account.family_name)):
        form.refuse("password", problem)
    if not confirmation:
        form.refuse("confirmation", "Saisissez le nouveau mot de passe une seconde fois.")
    elif "password" not in form.errors and confirmation != password:
        form.refuse("confirmation", MISMATCH)
    if form.errors:
        # Passwords are never sent back to the browser: the fields come back empty, each with its error.
        form.values.clear()
        return await render(request, "sso/password_change.html", form.context(), status_code=400)
    new_hash = passwords.hash_password(password)
    await ctx.db.run(_store, ctx, account.id, new_hash)
    ctx.flash(CHANGED, "success")
    return RedirectResponse("/account", status_code=303)


def _store(ctx: RequestContext, account_id: int, new_hash: str) -> None:
    assert ctx.session is not None
    # Whoever knew the old password is signed out everywhere else (and relying parties hear of it).
    ended = ctx.app_state.sessions.end_all(account_id, "password_changed", except_id=ctx.session.row.id)
    with ctx.db.write() as session:
        session.execute(update(Account).where(Account.id == account_id).values(password_hash=new_hash))
        ctx.audit.write_in(session, "account.password_changed", details={"sessions_ended": ended})


# --- forgotten -----------------------------------------------------------------------------------

@public
async def forgotten_page(request: Request) -> Response:
    return await render(request, "sso/password_forgotten.html", Form().context(sent=False))


@public
async def forgotten(request: Request) -> Response:
    ctx = get_context(request)
    form = await read_fields(request, "username")
    form.values["username"] = normalise_username(form.values["username"])[:150]
    if not form.values["username"]:
        form.refuse("username", "Saisissez votre identifiant ou votre identifiant national (8 suivi du numéro RPPS).")
        return await render(request, "sso/password_forgotten.html", form.context(sent=False), status_code=400)
    now = throttle.current_time(ctx.app_state)
    refusal = await ctx.db.run(_request_reset, ctx, form.values["username"], now)
    if refusal is not None:
        return await render(request, "sso/password_forgotten.html", form.context(sent=False, form_alert=refusal.message(now)),
                            status_code=429, headers={"Retry-After": str(refusal.retry_after(now))})
    return await render(request, "sso/password_forgotten.html", Form().context(sent=True))


def _request_reset(ctx: RequestContext, identifier: str, now: datetime) -> throttle.Refusal | None:
    """Record the request in the account's security events (for its administrators); throttled per
    source like guesses, so that nobody floods the trail. Silent about unknown identifiers."""
    counters = [(RESET_SCOPE, throttle.source_key(ctx.source_ip))]
    policy = throttle.policy_for(ctx.settings)
    with ctx.db.write() as session:
        attempt = throttle.begin(session, counters, now, policy)
        if isinstance(attempt, throttle.Refusal):
            return attempt
        # Every request counts (a guess that was checked would not): the source's limits apply to them.
        throttle.failed(session, attempt, now, policy)
        account = session.exec(signin_lookup(identifier)).first()
        if account is not None and account.active:
            auditor_for(ctx, account).write_in(session, RESET_REQUESTED, resource=account.label)
    return None


def last_reset_request(session: Session, account: Account) -> datetime | None:
    """When the account last asked for a new password (shown to administrators), if it did."""
    return session.exec(select(AuditEvent.at).where(AuditEvent.action == RESET_REQUESTED,
                                                    AuditEvent.actor == account.label)
                        .order_by(col(AuditEvent.seq).desc())).first()


routes: list[BaseRoute] = [
    Route("/account/password", change_page, methods=["GET"]),
    Route("/account/password", change, methods=["POST"]),
    Route("/login/forgotten", forgotten_page, methods=["GET"]),
    Route("/login/forgotten", forgotten, methods=["POST"]),
]
