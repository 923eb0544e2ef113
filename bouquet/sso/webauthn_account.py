"""The account's security keys and passkeys: add one, rename one, remove one.

The list itself is part of the account page (`sso/webauthn_account.html`, fed by the
`webauthn` entry of `factor_details`). Adding and removing change how the account signs in,
so both require a recent re-authentication (`bouquet.sso.reauth`); removing the account's
last second factor is refused.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bouquet.sso import factors
from bouquet.sso.reauth import confirm_redirect, recently_authenticated
from bouquet.sso.webauthn import (
    ADD,
    CeremonyError,
    NewCredential,
    WebAuthnCredential,
    clean_name,
    consume_challenge,
    credentials_of,
    refused,
    registration_options,
    store_credential,
    verify_registration,
)
from bouquet.sso.webauthn_pages import (
    factor_details,
    json_errors,
    read_json,
    relying_party,
)
from bouquet.web.context import RequestContext, ensure_session, get_context
from bouquet.web.forms import read_form
from bouquet.web.ui import render

ACCOUNT_PAGE = "/account"
NEW_PAGE = "/account/webauthn/new"
LAST_FACTOR = ("C'est votre seule méthode de connexion en deux étapes : pour supprimer cette clé, "
               "ajoutez d'abord une autre clé ou une application d'authentification.")


def _account_id(ctx: RequestContext) -> int:
    assert ctx.account is not None and ctx.account.id is not None  # the middleware let only signed-in accounts in
    return ctx.account.id


# --- adding a key ------------------------------------------------------------------------------

async def new_page(request: Request) -> Response:
    ctx = get_context(request)
    if not recently_authenticated(ctx):
        return confirm_redirect(ctx, NEW_PAGE)
    return await render(request, "sso/webauthn_add.html")


def _require_fresh(ctx: RequestContext) -> None:
    if not recently_authenticated(ctx):
        raise CeremonyError(403, "reauthentication_required",
                            "Confirmez votre identité avant d'ajouter une clé.",
                            redirect=confirm_redirect(ctx, NEW_PAGE).headers["location"])


def _credentials(ctx: RequestContext, account_id: int) -> list[WebAuthnCredential]:
    with ctx.db.session() as session:
        return credentials_of(session, account_id)


@json_errors
async def add_options(request: Request) -> Response:
    ctx = get_context(request)
    _require_fresh(ctx)
    existing = await ctx.db.run(_credentials, ctx, _account_id(ctx))
    return JSONResponse(registration_options(relying_party(ctx), await ensure_session(ctx), ADD,
                                             ctx.account, existing))  # type: ignore[arg-type]


def _add(ctx: RequestContext, new: NewCredential, name: str) -> WebAuthnCredential:
    with ctx.db.write() as session:
        stored = store_credential(session, _account_id(ctx), new, name)
        ctx.audit.write_in(session, "factor.added", details=factor_details(stored))
    return stored


@json_errors
async def add(request: Request) -> Response:
    """Register one more key for the signed-in account."""
    ctx = get_context(request)
    _require_fresh(ctx)
    body = await read_json(request)
    name = clean_name(body.get("name"))
    challenge = await ctx.db.run(consume_challenge, ctx.db, await ensure_session(ctx), ADD)
    if challenge.account_id != _account_id(ctx):
        raise refused()
    new = verify_registration(relying_party(ctx), challenge, body.get("credential"))
    stored = await ctx.db.run(_add, ctx, new, name)
    ctx.flash(f"La clé « {stored.name} » est ajoutée à votre compte.", "success")
    return JSONResponse({"redirect": ACCOUNT_PAGE})


# --- renaming and removing ---------------------------------------------------------------------

def _owned(session: Session, account_id: int, credential_id: int) -> WebAuthnCredential:
    stored = session.exec(select(WebAuthnCredential).where(
        WebAuthnCredential.id == credential_id, WebAuthnCredential.account_id == account_id)).first()
    if stored is None:
        raise HTTPException(404, "Cette clé n'est pas liée à votre compte.")
    return stored


def _rename(ctx: RequestContext, credential_id: int, name: str) -> None:
    with ctx.db.write() as session:
        stored = _owned(session, _account_id(ctx), credential_id)
        stored.name = name
        session.add(stored)


async def rename(request: Request) -> Response:
    """Give a key another name (no re-authentication: a name changes nothing about signing in)."""
    ctx = get_context(request)
    try:
        name = clean_name((await read_form(request, "name"))["name"])
    except CeremonyError as exc:
        name, problem = "", exc.message
    else:
        problem = None if name else "Donnez un nom à la clé."
    if problem:
        ctx.flash(problem, "error")
    else:
        await ctx.db.run(_rename, ctx, request.path_params["key"], name)
        ctx.flash(f"La clé s'appelle désormais « {name} ».", "success")
    return RedirectResponse(ACCOUNT_PAGE, status_code=303)


def _name_of(ctx: RequestContext, credential_id: int) -> str:
    with ctx.db.session() as session:
        return _owned(session, _account_id(ctx), credential_id).name


async def _remove_form(request: Request, name: str, *, error: str | None = None, status_code: int = 200) -> Response:
    return await render(request, "sso/account_action.html", {
        "title": f"Supprimer la clé « {name} »",
        "explanation": "Cette clé ne permettra plus de vous connecter.",
        "action": f"/account/webauthn/{request.path_params['key']}/remove", "button": "Supprimer la clé",
        "error": error,
    }, status_code=status_code)


async def remove_page(request: Request) -> Response:
    ctx = get_context(request)
    key = request.path_params["key"]
    if not recently_authenticated(ctx):
        return confirm_redirect(ctx, f"/account/webauthn/{key}/remove")
    return await _remove_form(request, await ctx.db.run(_name_of, ctx, key))


def _remove(ctx: RequestContext, credential_id: int) -> tuple[str, bool]:
    with ctx.db.write() as session:
        stored = _owned(session, _account_id(ctx), credential_id)
        if not factors.may_remove_one(session, _account_id(ctx)):
            return stored.name, False
        details: dict[str, Any] = factor_details(stored)
        session.delete(stored)
        ctx.audit.write_in(session, "factor.removed", details=details)
    return stored.name, True


async def remove(request: Request) -> Response:
    """Remove a key, unless it is the account's last second factor."""
    ctx = get_context(request)
    key = request.path_params["key"]
    if not recently_authenticated(ctx):
        return confirm_redirect(ctx, f"/account/webauthn/{key}/remove")
    name, removed = await ctx.db.run(_remove, ctx, key)
    if not removed:
        return await _remove_form(request, name, error=LAST_FACTOR, status_code=400)
    ctx.flash(f"La clé « {name} » est supprimée de votre compte.", "success")
    return RedirectResponse(ACCOUNT_PAGE, status_code=303)


routes: list[BaseRoute] = [
    Route(NEW_PAGE, new_page, methods=["GET"]),
    Route("/account/webauthn/options", add_options, methods=["POST"]),
    Route("/account/webauthn", add, methods=["POST"]),
    Route("/account/webauthn/{key:int}/rename", rename, methods=["POST"]),
    Route("/account/webauthn/{key:int}/remove", remove_page, methods=["GET"]),
    Route("/account/webauthn/{key:int}/remove", remove, methods=["POST"]),
]
