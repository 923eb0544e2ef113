"""Signing in through Pro Santé Connect, signing out of it, and PSC's back-channel logout.

- `GET /login/psc?next=…` (the sign-in page's button): the authorization request to PSC.
- `GET /login/psc/callback`: the code exchanged, the ID token and userinfo checked, the account
  linked (or created), and the person signed in with both factors (`amr` `psc`, `mfa`, and `sc` for
  a CPS card); the PSC tokens kept with the session, sealed.
- `POST /login/psc/backchannel-logout`: PSC ends a session; Bouquet ends its own sign-in(s) for it,
  and `bouquet_session_ended` tells Bouquet's relying parties.
- `logout_redirect(ctx)`: used by `POST /logout`, the PSC logout URL of the session ending.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bouquet.sso import flow
from bouquet.sso.accounts import Account, AccountKind
from bouquet.sso.oidc import claims
from bouquet.sso.psc import client, identity, tokens
from bouquet.sso.psc.models import PscSession
from bouquet.sso.security_events import auditor_for
from bouquet.web.context import RequestContext, ensure_session, get_context
from bouquet.web.routing import public
from bouquet.web.sessions import WebSession
from bouquet.web.ui import render

PENDING = "psc_signin"
CSRF_EXEMPT = (client.BACKCHANNEL,)  # PSC's server POSTs the logout token; the token authenticates it
PSC_AMR = claims.PSC_AMR  # not an RFC 8176 value: says the sign-in came through Pro Santé Connect
SMART_CARD = "sc"  # RFC 8176: a CPS card
DOWN = ("Pro Santé Connect ne répond pas pour le moment. Réessayez dans quelques minutes ou, si votre "
        "compte le permet, connectez-vous avec votre identifiant, votre mot de passe et votre code.")
REFUSED = ("La connexion par Pro Santé Connect n'a pas abouti : sa réponse n'a pas pu être vérifiée. "
           "Réessayez ; si cela se reproduit, prévenez l'administrateur du portail.")
WRONG_LEVEL = ("Pro Santé Connect n'a pas confirmé une connexion par carte CPS ou e-CPS. Reconnectez-vous "
               "avec votre carte CPS ou l'application e-CPS.")
UNKNOWN = ("Votre identité professionnelle (RPPS) est bien reconnue par Pro Santé Connect, mais aucun compte "
           "Bouquet ne lui correspond. Demandez à l'administrateur du portail de créer votre compte.")
NOT_ALLOWED = ("Ce compte ne peut pas se connecter par Pro Santé Connect (compte désactivé, ou qui n'est pas "
               "celui d'un professionnel de santé). Prévenez l'administrateur du portail.")
EXPIRED = "La connexion par Pro Santé Connect a expiré ou a été ouverte dans un autre navigateur. Recommencez."
CANCELLED = "Vous avez annulé la connexion par Pro Santé Connect."
PSC_ONLY = ("Pour votre profession, la connexion à Bouquet se fait par Pro Santé Connect, avec votre carte CPS "
            "ou l'application e-CPS : utilisez le bouton « Se connecter avec Pro Santé Connect ».")


def _failure(request: Request, message: str, status_code: int) -> Any:
    return render(request, "sso/psc_error.html", {"message": message}, status_code=status_code)


@public
async def start(request: Request) -> Response:
    """Send the browser to PSC with a fresh state, nonce and PKCE verifier (kept, sealed, in the session)."""
    ctx = get_context(request)
    settings = ctx.settings
    if not settings.psc_enabled:
        return await _failure(request, "La connexion par Pro Santé Connect n'est pas proposée sur ce portail.", 404)
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    verifier, challenge = client.pkce_pair()
    try:
        async with httpx.AsyncClient(timeout=client.TIMEOUT) as http:
            url = await client.authorization_url(settings, http, state=state, nonce=nonce, challenge=challenge)
    except (client.PscUnavailable, client.PscRefused) as exc:
        auditor_for(ctx, None).write("signin.psc_unavailable", outcome="failure", details={"reason": str(exc)})
        return await _failure(request, DOWN, 503)
    browser = await ensure_session(ctx)
    browser.set(PENDING, {"state": state, "nonce": nonce, "next": flow.safe_next(request.query_params.get("next")),
                          "verifier": tokens.seal(settings, state, {"verifier": verifier})})
    return RedirectResponse(url, status_code=303)


@public
async def callback(request: Request) -> Response:
    ctx = get_context(request)
    settings = ctx.settings
    pending = ctx.session.pop(PENDING) if ctx.session is not None else None
    query = request.query_params
    if not pending or not secrets.compare_digest(str(query.get("state", "")), pending["state"]):
        auditor_for(ctx, None).write("signin.psc_refused", outcome="failure", details={"reason": "state"})
        return await _failure(request, EXPIRED, 400)
    if query.get("error"):
        auditor_for(ctx, None).write("signin.psc_refused", outcome="failure",
                                     details={"reason": f"error {query.get('error')}"})
        return await _failure(request, CANCELLED if query.get("error") == "access_denied" else REFUSED, 400)
    verifier = (tokens.unseal(settings, pending["state"], pending["verifier"]) or {}).get("verifier", "")
    try:
        async with httpx.AsyncClient(timeout=client.TIMEOUT) as http:
            got = await client.exchange_code(settings, http, code=str(query.get("code", "")), verifier=verifier,
                                             nonce=pending["nonce"])
            info = await client.userinfo(settings, http, got.access_token, str(got.claims["sub"]))
    except client.PscUnavailable as exc:
        auditor_for(ctx, None).write("signin.psc_unavailable", outcome="failure", details={"reason": str(exc)})
        return await _failure(request, DOWN, 503)
    except client.PscRefused as exc:
        auditor_for(ctx, None).write("signin.psc_refused", outcome="failure", details={"reason": exc.reason})
        return await _failure(request, WRONG_LEVEL if "acr" in exc.reason else REFUSED, 400)

    def sign_in() -> identity.Resolved | str:
        with ctx.db.write() as session:
            try:
                return identity.resolve(session, auditor_for(ctx, None), info, create=settings.psc_create_accounts)
            except identity.UnknownProfessional:
                return UNKNOWN
            except identity.NotAProfessional:
                return NOT_ALLOWED

    resolved = await ctx.db.run(sign_in)
    if isinstance(resolved, str):
        auditor_for(ctx, None).write("signin.psc_refused", outcome="failure",
                                     details={"reason": "unknown IdNat" if resolved == UNKNOWN else "not allowed",
                                              "idnat": str(info.get("SubjectNameID", ""))})
        return await _failure(request, resolved, 403)
    account = resolved.account
    assert account.id is not None
    amr = [PSC_AMR, *([SMART_CARD] if info.get("authMode", got.claims.get("authMode")) == "CARD" else []), flow.MFA]
    auditor_for(ctx, account).write("signin.success", details={"amr": amr, "method": "psc",
                                                               "psc_acr": got.claims.get("acr")})
    response = await flow.complete(ctx, account.id, amr, next_url=pending["next"])
    assert ctx.session is not None
    sid = ctx.session.row.sid

    def keep() -> None:
        with ctx.db.write() as session:
            tokens.store(session, settings, sid=sid, account_id=account.id, tokens=got)  # type: ignore[arg-type]

    await ctx.db.run(keep)
    return response


async def logout_redirect(ctx: RequestContext) -> str | None:
    """Forget the ending session's PSC tokens; the URL that ends the PSC session too (RP-initiated
    logout, back to the sign-in page), or None when it did not sign in through PSC."""
    if ctx.session is None or not ctx.session.row.sid or not ctx.settings.psc_enabled:
        return None
    sid, settings = ctx.session.row.sid, ctx.settings

    def take() -> dict[str, Any] | None:
        with ctx.db.write() as session:
            row = tokens.forget(session, sid)
            return tokens.unseal(settings, sid, row.sealed) if row is not None else None

    values = await ctx.db.run(take)
    if not values or not values.get("id_token"):
        return None
    try:
        async with httpx.AsyncClient(timeout=client.TIMEOUT) as http:
            return await client.end_session_url(settings, http, id_token=values["id_token"],
                                                state=secrets.token_urlsafe(16),
                                                post_logout_redirect_uri=f"{settings.base_url}/login?deconnecte")
    except (client.PscUnavailable, client.PscRefused):
        return None  # signed out of Bouquet all the same; PSC's own session times out


@public
async def backchannel_logout(request: Request) -> Response:
    """PSC ends a session: every Bouquet sign-in it carried ends (and its relying parties are told)."""
    ctx = get_context(request)
    settings = ctx.settings
    form = await request.form(max_files=0, max_fields=5)
    headers = {"Cache-Control": "no-store"}
    logout_token = form.get("logout_token")
    if not settings.psc_enabled or not isinstance(logout_token, str) or not logout_token:
        return JSONResponse({"error": "invalid_request", "error_description": "logout_token manquant."},
                            status_code=400, headers=headers)
    try:
        async with httpx.AsyncClient(timeout=client.TIMEOUT) as http:
            claims = await client.logout_claims(settings, http, logout_token)
    except client.PscUnavailable:
        return JSONResponse({"error": "temporarily_unavailable"}, status_code=503, headers=headers)
    except client.PscRefused as exc:
        auditor_for(ctx, None).write("signin.psc_backchannel_refused", outcome="failure",
                                     details={"reason": exc.reason})
        return JSONResponse({"error": "invalid_request", "error_description": exc.reason}, status_code=400,
                            headers=headers)

    def end() -> list[str]:
        with ctx.db.write() as session:
            condition = (col(PscSession.psc_sid) == claims["sid"]) if claims.get("sid") else \
                (col(PscSession.psc_sub) == claims["sub"])
            rows = session.exec(select(PscSession).where(condition)).all()
            for row in rows:
                session.delete(row)
            return [row.sid for row in rows]

    sids = await ctx.db.run(end)
    ended = await ctx.db.run(_end_sessions, ctx, sids)
    auditor_for(ctx, None).write("signin.psc_backchannel_logout", outcome="success" if ended else "failure",
                                 details={"psc_sid": claims.get("sid"), "sessions_ended": ended})
    return Response(status_code=200, headers=headers)


def _end_sessions(ctx: RequestContext, sids: list[str]) -> int:
    if not sids:
        return 0
    with ctx.db.session() as session:
        ids = session.exec(select(WebSession.id).where(col(WebSession.sid).in_(sids),
                                                       col(WebSession.ended_at).is_(None))).all()
    for session_id in ids:
        ctx.app_state.sessions.end(session_id, "psc_backchannel_logout")
    return len(ids)


def password_turned_off(ctx: RequestContext, account_id: int) -> bool:
    """Whether the operator turned the password sign-in off for this professional's profession
    (`BOUQUET_PSC_ONLY_PROFESSIONS`): they sign in through PSC only. Audited when it refuses."""
    settings = ctx.settings
    if not settings.psc_enabled or not settings.psc_only:
        return False
    with ctx.db.session() as session:
        account = session.get(Account, account_id)
    refused = account is not None and account.kind == AccountKind.professional and \
        account.profession_code in settings.psc_only
    if refused:
        auditor_for(ctx, account).write("signin.failure", outcome="denied",
                                        details={"factor": "password", "reason": "psc_only"})
    return refused


def start_url(next_url: str | None) -> str:
    """The sign-in page's button target."""
    return "/login/psc?" + urlencode({"next": flow.safe_next(next_url)})


routes: list[BaseRoute] = [
    Route("/login/psc", start, methods=["GET"]),
    Route(client.CALLBACK, callback, methods=["GET"]),
    Route(client.BACKCHANNEL, backchannel_logout, methods=["POST"]),
]
