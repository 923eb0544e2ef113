"""The WebAuthn ceremonies over HTTP: passkey sign-in, a key as second factor, enrolment of a
first key during sign-in, and re-authentication with a key (the account's keys are in
`bouquet.sso.webauthn_account`).

Each ceremony is two JSON calls made by `static/webauthn.js`: `…/options` (the challenge) and
the response itself. Errors are `{"error": code, "message": French text}` with 400 (unreadable
input), 403 (refused) or 409 (challenge expired or already used), plus `redirect` when the
browser must go elsewhere first; a success is `{"redirect": url}`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlmodel import select
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from webauthn.helpers.structs import AuthenticationCredential

from bouquet.foundation.db import Database
from bouquet.sso import factors, flow
from bouquet.sso.accounts import Account
from bouquet.sso.completion import finish_enrolment, finish_signin
from bouquet.sso.security_events import auditor_for
from bouquet.sso.webauthn import (
    CONFIRM,
    ENROL,
    PASSKEY,
    SECOND_FACTOR,
    CeremonyError,
    Challenge,
    CounterRegression,
    CredentialUse,
    NewCredential,
    RelyingParty,
    WebAuthnCredential,
    authentication_options,
    clean_name,
    consume_challenge,
    credentials_of,
    parse_assertion,
    refused,
    registration_options,
    store_credential,
    use_credential,
    verify_registration,
)
from bouquet.web.context import (
    RequestContext,
    ensure_session,
    get_context,
    replace_session,
)
from bouquet.web.json import JsonBodyError
from bouquet.web.json import read_json as read_body_json
from bouquet.web.routing import provider_page, public
from bouquet.web.sessions import BrowserSession
from bouquet.web.ui import render

EXPIRED_SIGNIN = "Votre connexion a expiré. Saisissez de nouveau votre identifiant et votre mot de passe."

Endpoint = Callable[[Request], Awaitable[Response]]


def json_errors(endpoint: Endpoint) -> Endpoint:
    """Turn a `CeremonyError` raised by a ceremony endpoint into its JSON answer."""
    async def wrapper(request: Request) -> Response:
        try:
            return await endpoint(request)
        except CeremonyError as exc:
            body = {"error": exc.code, "message": exc.message}
            if exc.redirect:
                body["redirect"] = exc.redirect
            return JSONResponse(body, status_code=exc.status)

    wrapper.__name__ = endpoint.__name__
    wrapper.__doc__ = endpoint.__doc__
    return wrapper


def relying_party(ctx: RequestContext) -> RelyingParty:
    return RelyingParty.from_settings(ctx.settings)


async def read_json(request: Request) -> dict[str, Any]:
    """The posted JSON object, or a 400 (413 when too large) `CeremonyError`."""
    try:
        body = await read_body_json(request, empty={})
    except JsonBodyError as refused:
        raise CeremonyError(refused.status, "bad_request", refused.message) from None
    if not isinstance(body, dict):
        raise CeremonyError(400, "bad_request", "La demande envoyée est illisible. Rechargez la page et recommencez.")
    return body


def _credentials(db: Database, account_id: int) -> list[WebAuthnCredential]:
    with db.session() as session:
        return credentials_of(session, account_id)


def _account_and_credentials(db: Database, account_id: int) -> tuple[Account | None, list[WebAuthnCredential]]:
    with db.session() as session:
        return session.get(Account, account_id), credentials_of(session, account_id)


async def _use(ctx: RequestContext, challenge: Challenge, assertion: AuthenticationCredential,
               account_id: int | None = None) -> CredentialUse:
    """Verify an assertion; a clone or a failure on a known account goes to the audit trail."""
    try:
        return await ctx.db.run(use_credential, ctx.db, relying_party(ctx), challenge, assertion,
                                account_id=account_id)
    except CounterRegression as exc:
        await auditor_for(ctx, exc.account).log(  # type: ignore[arg-type]
            "signin.webauthn_counter_regression", outcome="denied",
            details={"factor": "webauthn", "name": exc.name, "credential_id": exc.credential_id,
                     "stored_count": exc.stored, "reported_count": exc.reported})
        raise
    except CeremonyError as exc:
        if exc.account is not None:
            await auditor_for(ctx, exc.account).log("signin.failure", outcome="failure", details={"factor": "webauthn"})
        raise


async def _signed_in(ctx: RequestContext, use: CredentialUse, amr: list[str], next_url: Any = None) -> JSONResponse:
    if isinstance(next_url, str):
        # A passkey is both factors at once: record where to go as a first factor would.
        await flow.begin(ctx, use.account.id, amr, next_url)  # type: ignore[arg-type]
    return as_json(await finish_signin(ctx, use.account.id, amr))  # type: ignore[arg-type]


def as_json(redirect: Response) -> JSONResponse:
    """A redirect made for a form post, as the JSON answer webauthn.js follows (cookies kept)."""
    response = JSONResponse({"redirect": redirect.headers["location"]})
    response.raw_headers.extend((key, value) for key, value in redirect.raw_headers if key == b"set-cookie")
    return response


# --- passkey sign-in: both factors at once ---------------------------------------------------

@public
@json_errors
async def passkey_options(request: Request) -> Response:
    """Challenge for a discoverable credential: the browser offers the passkeys it has for us."""
    ctx = get_context(request)
    return JSONResponse(authentication_options(relying_party(ctx), await ensure_session(ctx), PASSKEY, []))


@public
@json_errors
async def passkey_signin(request: Request) -> Response:
    """Sign in with a user-verified passkey alone; unknown, foreign or disabled all answer alike."""
    ctx = get_context(request)
    body = await read_json(request)
    assertion = parse_assertion(body.get("credential"))
    challenge = await ctx.db.run(consume_challenge, ctx.db, await ensure_session(ctx), PASSKEY)
    use = await _use(ctx, challenge, assertion)
    return await _signed_in(ctx, use, use.amr, body.get("next"))


# --- second factor after the password --------------------------------------------------------

def _pending(ctx: RequestContext) -> flow.Pending:
    pending = flow.pending(ctx)
    if pending is None:
        raise CeremonyError(403, "signin_expired", EXPIRED_SIGNIN, redirect="/login")
    return pending


@public
@json_errors
async def second_factor_options(request: Request) -> Response:
    """Challenge limited to the keys of the account whose password was just given."""
    ctx = get_context(request)
    pending = _pending(ctx)
    credentials = await ctx.db.run(_credentials, ctx.db, pending.account_id)
    if not credentials:
        raise refused("Aucune clé de sécurité n'est enregistrée pour ce compte. Utilisez un autre moyen de connexion.")
    return JSONResponse(authentication_options(relying_party(ctx), await ensure_session(ctx), SECOND_FACTOR,
                                               credentials, pending.account_id))


@public
@json_errors
async def second_factor_signin(request: Request) -> Response:
    ctx = get_context(request)
    pending = _pending(ctx)
    body = await read_json(request)
    assertion = parse_assertion(body.get("credential"))
    challenge = await ctx.db.run(consume_challenge, ctx.db, await ensure_session(ctx), SECOND_FACTOR)
    if challenge.account_id != pending.account_id:
        raise refused()
    use = await _use(ctx, challenge, assertion, account_id=pending.account_id)
    return await _signed_in(ctx, use, [*pending.amr, *use.amr])


# --- enrolment: the first second factor of an account, during sign-in ----------------------

def _enrolling(ctx: RequestContext) -> flow.Pending:
    pending = _pending(ctx)
    if not pending.enrolling:
        raise refused("Un second facteur est déjà enregistré pour ce compte : connectez-vous avec lui.")
    return pending


@public
async def enrol_page(request: Request) -> Response:
    ctx = get_context(request)
    pending = flow.pending(ctx)
    if pending is None:
        ctx.flash(EXPIRED_SIGNIN, "warning")
        return RedirectResponse("/login", status_code=303)
    if not pending.enrolling:  # the account has a second factor: it is asked for, not enrolled
        return RedirectResponse("/login/second-factor", status_code=303)
    return await render(request, "sso/webauthn_enrol.html")


@public
@json_errors
async def enrol_options(request: Request) -> Response:
    ctx = get_context(request)
    pending = _enrolling(ctx)
    account, existing = await ctx.db.run(_account_and_credentials, ctx.db, pending.account_id)
    if account is None or not account.active:
        raise refused("Ce compte ne peut pas être utilisé.")
    return JSONResponse(registration_options(relying_party(ctx), await ensure_session(ctx), ENROL, account, existing))


def _enrol(ctx: RequestContext, account_id: int, new: NewCredential, name: str) -> WebAuthnCredential:
    with ctx.db.write() as session:
        # The row lock serialises this with any other enrolment of the account (TOTP in another tab).
        account = session.exec(select(Account).where(Account.id == account_id).with_for_update()).first()
        if account is None or not account.active:
            raise refused("Ce compte ne peut pas être utilisé.")
        # Checked again here: enrolment on the strength of a password alone is for a first factor only.
        if factors.has_second_factor(session, account_id):
            raise refused("Un second facteur est déjà enregistré pour ce compte : connectez-vous avec lui.")
        stored = store_credential(session, account_id, new, name)
        auditor_for(ctx, account).write_in(session, "factor.added", details=factor_details(stored))
    return stored


@public
@json_errors
async def enrol(request: Request) -> Response:
    """Register the key, then hand over to the recovery-code step of enrolment."""
    ctx = get_context(request)
    pending = _enrolling(ctx)
    body = await read_json(request)
    name = clean_name(body.get("name"))
    challenge = await ctx.db.run(consume_challenge, ctx.db, await ensure_session(ctx), ENROL)
    if challenge.account_id != pending.account_id:
        raise refused()
    new = verify_registration(relying_party(ctx), challenge, body.get("credential"))
    stored = await ctx.db.run(_enrol, ctx, pending.account_id, new, name)
    return as_json(await finish_enrolment(ctx, pending.account_id, [*pending.amr, stored.amr, flow.USER]))


# --- re-authentication with a key, on /account/confirm ----------------------------------------

@provider_page
@json_errors
async def confirm_options(request: Request) -> Response:
    """Challenge for a signed-in account to prove again, with one of its keys, that it is there."""
    ctx = get_context(request)
    assert ctx.account is not None  # the middleware lets only signed-in accounts in
    credentials = await ctx.db.run(_credentials, ctx.db, ctx.account.id)
    if not credentials:
        raise refused("Aucune clé de sécurité n'est enregistrée pour ce compte.")
    return JSONResponse(authentication_options(relying_party(ctx), await ensure_session(ctx), CONFIRM,
                                               credentials, ctx.account.id))


@provider_page
@json_errors
async def confirm(request: Request) -> Response:
    """A user-verified key counts as both factors: start a fresh session and go back to `next`."""
    ctx = get_context(request)
    assert ctx.account is not None and ctx.session is not None
    body = await read_json(request)
    assertion = parse_assertion(body.get("credential"))
    challenge = await ctx.db.run(consume_challenge, ctx.db, ctx.session, CONFIRM)
    if challenge.account_id != ctx.account.id:
        raise refused()
    use = await _use(ctx, challenge, assertion, account_id=ctx.account.id)
    replace_session(ctx, await ctx.db.run(_reauthenticated, ctx, ctx.session, use.amr))
    next_url = body.get("next")
    return JSONResponse({"redirect": flow.safe_next(next_url if isinstance(next_url, str) else "/account")})


def _reauthenticated(ctx: RequestContext, browser: BrowserSession, amr: list[str]) -> BrowserSession:
    # As /account/confirm does with a password and a code: same work in progress, new session id.
    new = ctx.app_state.sessions.rotate(browser, account_id=browser.account_id, amr=flow.with_mfa(amr),
                                        acting_for_id=browser.row.acting_for_id, keep=tuple(browser.row.data))
    ctx.audit.write("signin.reauthenticated", details={"factor": "webauthn", "amr": flow.with_mfa(amr)})
    return new


def factor_details(credential: WebAuthnCredential) -> dict[str, Any]:
    """What `factor.added` / `factor.removed` record about a key."""
    # "factor" is the key the account page's security events read; "type" the one the audit trail documents.
    return {"factor": "webauthn", "type": "webauthn", "name": credential.name, "credential_id": credential.id,
            "amr": credential.amr}


routes = [
    Route("/login/passkey/options", passkey_options, methods=["POST"]),
    Route("/login/passkey", passkey_signin, methods=["POST"]),
    Route("/login/webauthn/options", second_factor_options, methods=["POST"]),
    Route("/login/webauthn", second_factor_signin, methods=["POST"]),
    Route("/enrol/webauthn", enrol_page, methods=["GET"]),
    Route("/enrol/webauthn/options", enrol_options, methods=["POST"]),
    Route("/enrol/webauthn", enrol, methods=["POST"]),
    Route("/account/confirm/webauthn/options", confirm_options, methods=["POST"]),
    Route("/account/confirm/webauthn", confirm, methods=["POST"]),
]
