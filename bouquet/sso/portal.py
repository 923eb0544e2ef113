"""The portal's own pages as a relying party of the portal's own OpenID provider.

There is one way to be signed in to a Bouquet page: an ID token that the provider issued to the
first-party public client `bouquet-portal` (migration 0009), exactly as it issues them to any
other client. `ContextMiddleware` sends an anonymous browser to `/authorize` (code flow, PKCE
S256, `state`, `nonce`); the provider signs the person in with two factors, applies `prompt`,
`max_age` and `acr_values`, and sends them to `/auth/callback`, which

1. takes the pending authorization its `state` names for this browser (single use: a database row
   of `bouquet.sso.portal_pending`, one per authorization request, so tabs signing in at once do not
   overwrite each other),
2. checks the RFC 9207 `iss`, redeems the code through the provider's token endpoint code
   (`Provider.token_response`: the same authlib grant as any client, without the HTTP hop),
3. validates the ID token like any relying party (signature against the key ring, `iss`, `aud`,
   `exp`, `nonce`, `max_age` and `acr` when asked), and checks it is about this browser's sign-in
   (`sid`),
4. stores the portal session (`PortalSession`: `sub`, whom a secretary acts for, `sid`, `amr`,
   `acr`, `auth_time`) in the browser session, and goes on to the page asked for (local paths only).

The portal session lives in the provider session's row: ending the provider session (sign-out,
timeouts, an administrator) ends it, with the same `sid`. Step-ups are authorization requests
too: `max_age=300` before factor changes (`reauth.recently_authenticated`), `acr_values` with the
phishing-resistant level for pages that need a security key (`acr_step_up`).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.errors import JoseError
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MultiDict
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from bouquet.sso import flow, portal_pending
from bouquet.sso.accounts import Account
from bouquet.sso.oidc import acr
from bouquet.sso.oidc.adapter import RequestData
from bouquet.sso.oidc.claims import subject
from bouquet.sso.oidc.server import AUTHORIZE, TOKEN, Provider, provider_of
from bouquet.web.anonymous import AnonymousBrowser
from bouquet.web.context import RequestContext, ensure_anonymous, ensure_session, get_context
from bouquet.web.routing import public
from bouquet.web.sessions import BrowserSession, cookie_name
from bouquet.web.ui import render

log = logging.getLogger(__name__)

CLIENT_ID = "bouquet-portal"
CALLBACK = "/auth/callback"
SCOPE = "openid scope_all"
# Strongest level first: the ID token's acr then says the best level the sign-in met.
ACR_VALUES = f"{acr.PHISHING_RESISTANT} {acr.TWO_FACTORS}"
# The max_age of a step-up before a change to how the account signs in.
RECENT_SECONDS = 300
SESSION_KEY = "portal"
# In the browser session: this browser's binding to its pending authorizations (`portal_pending`),
# kept across the session rotations of a sign-in (`flow.complete` keeps this key).
PENDING_KEY = flow.PORTAL_AUTHORIZATIONS
# As long as a sign-in may take (bouquet.sso.flow.PENDING_LIFETIME); many tabs may sign in at once.
PENDING_LIFETIME = portal_pending.LIFETIME
MAX_PENDING = portal_pending.MAX_PER_BROWSER
ID_TOKEN_ALGORITHMS = ["ES256", "RS256"]
LEEWAY_SECONDS = 30

EXPIRED = ("Cette connexion n'a pas été demandée depuis ce navigateur, ou elle a expiré. "
           "Rouvrez la page que vous vouliez consulter pour recommencer.")
REFUSED = ("La connexion n'a pas pu être vérifiée (le lien de retour a déjà servi ou a expiré). "
           "Rouvrez la page que vous vouliez consulter pour recommencer.")
NEEDS_KEY = ("Cette page demande une connexion avec une clé de sécurité ou une clé d'accès. "
             "Confirmez votre identité avec votre clé de sécurité pour y accéder.")
DENIED = "La connexion a été refusée. Rouvrez la page que vous vouliez consulter pour recommencer."


@dataclass(frozen=True)
class PortalSession:
    """The portal's sign-in, built from the claims of an ID token issued to `bouquet-portal`."""

    sub: str
    account_id: int
    acting_for_id: int | None
    sid: str
    amr: tuple[str, ...]
    acr: str | None
    auth_time: datetime

    def to_data(self) -> dict[str, Any]:
        return {"sub": self.sub, "account_id": self.account_id, "acting_for_id": self.acting_for_id,
                "sid": self.sid, "amr": list(self.amr), "acr": self.acr, "auth_time": int(self.auth_time.timestamp())}

    @classmethod
    def from_data(cls, raw: dict[str, Any]) -> PortalSession:
        return cls(raw["sub"], raw["account_id"], raw.get("acting_for_id"), raw["sid"], tuple(raw.get("amr", ())),
                   raw.get("acr"), datetime.fromtimestamp(raw["auth_time"], UTC))


def of(browser: BrowserSession | None) -> PortalSession | None:
    """The portal session of this browser, if it belongs to the sign-in its provider session still is."""
    if browser is None or browser.account_id is None or not isinstance(raw := browser.get(SESSION_KEY), dict):
        return None
    try:
        portal = PortalSession.from_data(raw)
    except (KeyError, TypeError, ValueError):
        return None
    if portal.sid != browser.row.sid or portal.account_id != browser.account_id:
        return None
    return portal


def session_for(account: Account, browser: BrowserSession, acting_for_id: int | None = None) -> PortalSession:
    """The portal session the callback would build for this provider session (`BouquetClient.login`)."""

    assert account.id is not None
    row = browser.row
    amr = tuple(row.amr)
    return PortalSession(subject(account), account.id, acting_for_id, row.sid, amr, acr.choose(ACR_VALUES, amr),
                         row.authenticated_at or row.created_at)


# --- the authorization request ------------------------------------------------------------------

def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def binding_of(browser: BrowserSession | AnonymousBrowser, presented_cookie: str | None) -> str:
    """This browser's binding to its pending authorizations, recorded in its session the first time.

    It is derived from the cookie the browser presented — or, if none, the one it is being given —
    so concurrent requests with the same cookie (tabs reloaded together, even after the session
    expired and each got a new anonymous one) agree on it without reading each other's writes.
    A visitor with no session carries it in their anonymous cookie (`bouquet.web.anonymous`)."""
    if isinstance(browser, AnonymousBrowser):
        return browser.binding
    existing = browser.get(PENDING_KEY)
    if isinstance(existing, str) and len(existing) == 64:
        return existing
    cookie = presented_cookie or browser.new_token or browser.row.token_hash
    binding = portal_pending.binding_for(cookie)
    browser.set(PENDING_KEY, binding)  # before 0011 a dict of pending states: replaced
    return binding


class AuthorizationRedirect(RedirectResponse):
    """The 303 to `/authorize` that first stores its pending authorization (off the event loop),
    so that the step-up helpers stay plain functions a page calls."""

    def __init__(self, url: str, store: Any) -> None:
        super().__init__(url, status_code=303)
        self._store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._store is not None:
            store, self._store = self._store, None
            await run_in_threadpool(store)
        await super().__call__(scope, receive, send)


def authorization_request(ctx: RequestContext, browser: BrowserSession | AnonymousBrowser, next_url: str, *,
                          max_age: int | None = None, acr_values: str = ACR_VALUES) -> AuthorizationRedirect:
    """A new authorization request of `browser` (state, PKCE verifier, nonce, where to go after,
    stored as a `portal_pending` row bound to this browser when the response is sent) and the
    redirect to `/authorize` with it."""
    state, verifier, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(48), secrets.token_urlsafe(16)
    binding = binding_of(browser, ctx.request.cookies.get(cookie_name(ctx.settings.https)))
    app_state = ctx.app_state

    def store() -> None:
        portal_pending.store(app_state.db, app_state.settings.secret_key, binding=binding, state=state,
                             verifier=verifier, nonce=nonce, next_url=flow.safe_next(next_url), max_age=max_age,
                             acr_values=acr_values)

    params = {"client_id": CLIENT_ID, "redirect_uri": callback_url(app_state), "response_type": "code",
              "scope": SCOPE, "state": state, "nonce": nonce, "code_challenge": _challenge(verifier),
              "code_challenge_method": "S256", "acr_values": acr_values}
    if max_age is not None:
        params["max_age"] = str(max_age)
    return AuthorizationRedirect(f"{AUTHORIZE}?{urlencode(params)}", store)


def callback_url(state: Any) -> str:
    return state.settings.base_url + CALLBACK


# Why a browser that was signed in is asked to sign in again (the reason its session ended).
SESSION_ENDED = {
    "admin.sessions_ended": "Un administrateur a mis fin à vos sessions. Reconnectez-vous pour continuer.",
    "admin.account_disabled": "Un administrateur a mis fin à votre session.",
    "admin.factors_reset": ("Un administrateur a réinitialisé vos méthodes de connexion : reconnectez-vous, puis "
                            "enregistrez un nouveau second facteur."),
    "password_changed": "Votre mot de passe a été changé depuis une autre session : reconnectez-vous avec le nouveau.",
    "idle_timeout": "Votre session a expiré après une période d'inactivité. Reconnectez-vous pour continuer.",
    "absolute_timeout": "Votre session a atteint sa durée maximale. Reconnectez-vous pour continuer.",
    "ended_by_user": "Cette session a été terminée depuis la page « Sessions » de votre compte.",
    "ended_others": "Cette session a été terminée depuis la page « Sessions » de votre compte.",
}


async def sign_in_redirect(ctx: RequestContext, next_url: str) -> RedirectResponse:
    """Where an anonymous browser asking for `next_url` goes: the provider, for the portal client.

    A browser with no session gets none (only its anonymous cookie and the pending authorization),
    unless its session was ended (by an administrator, a timeout…): then a session carries the
    explanation to the sign-in page (one row per formerly signed-in browser, not per anonymous view)."""
    old_cookie = ctx.request.cookies.get(cookie_name(ctx.settings.https)) if ctx.session is None else None
    reason = await ctx.db.run(ctx.app_state.sessions.ended_reason, old_cookie) if old_cookie else None
    if reason in SESSION_ENDED:
        browser = await ensure_session(ctx)
        ctx.flash(SESSION_ENDED[reason], "warning")
    else:
        browser = ctx.session if ctx.session is not None else ensure_anonymous(ctx)
    assert browser is not None
    return authorization_request(ctx, browser, next_url)


def step_up(ctx: RequestContext, next_url: str, *, max_age: int | None = None,
            acr_values: str = ACR_VALUES) -> RedirectResponse:
    """A new authorization request of the signed-in portal session (a step-up), back to `next_url`."""
    assert ctx.session is not None
    return authorization_request(ctx, ctx.session, next_url, max_age=max_age, acr_values=acr_values)


def acr_step_up(ctx: RequestContext, level: str, next_url: str) -> RedirectResponse | None:
    """None when the portal sign-in met `level` (see `bouquet.sso.oidc.acr`); otherwise the
    authorization request that asks the provider for it. For pages that need a security key:

        if (redirect := portal.acr_step_up(ctx, acr.PHISHING_RESISTANT, "/my/page")) is not None:
            return redirect
    """
    if ctx.portal is not None and ctx.portal.acr == level:
        return None
    return step_up(ctx, next_url, acr_values=level)


# --- the callback -------------------------------------------------------------------------------

class CallbackRefused(Exception):
    """The authorization response cannot be trusted; `message` is for the person, `reason` for the log."""

    def __init__(self, reason: str, message: str = REFUSED, status_code: int = 400) -> None:
        super().__init__(reason)
        self.reason, self.message, self.status_code = reason, message, status_code


def _take_pending(ctx: RequestContext, state: str | None) -> tuple[portal_pending.Pending | None, str]:
    """The pending authorization `state` names, if this browser started it (blocking; single use)."""
    browser = ctx.session
    binding = (browser.get(PENDING_KEY) if browser is not None
               else ctx.anonymous.binding if ctx.anonymous is not None else None)
    if not isinstance(binding, str) or not state or len(state) > 200:
        return None, "unknown state, or no pending authorization in this browser"
    return portal_pending.consume(ctx.db, ctx.settings.secret_key, binding=binding, state=state)


def redeem(provider: Provider, code: str, redirect_uri: str, verifier: str) -> dict[str, Any]:
    """The token response to this code, through the provider's own code grant (blocking; its own transaction)."""
    form = MultiDict({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                      "client_id": CLIENT_ID, "code_verifier": verifier})
    data = RequestData("POST", provider.url(TOKEN), Headers({"content-type": "application/x-www-form-urlencoded"}),
                       MultiDict(), form)
    response = provider.transaction(provider.token_response, data)
    if response.status != 200 or not isinstance(response.body, dict) or "id_token" not in response.body:
        error = response.body.get("error") if isinstance(response.body, dict) else response.status
        raise CallbackRefused(f"token endpoint: {error}")
    return response.body


def validate_id_token(provider: Provider, id_token: str, pending: portal_pending.Pending) -> dict[str, Any]:
    """The ID token's claims, checked as a relying party must (blocking: reads the key ring)."""
    try:
        token = jwt.decode(id_token, provider.keyring.public_keyset(), algorithms=ID_TOKEN_ALGORITHMS)
        jwt.JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS, iss={"essential": True, "value": provider.issuer},
            aud={"essential": True, "value": CLIENT_ID}, exp={"essential": True}, iat={"essential": True},
            nonce={"essential": True, "value": pending.nonce}, sub={"essential": True},
            sid={"essential": True}, auth_time={"essential": True},
        ).validate(token.claims)
    except (JoseError, ValueError) as exc:
        raise CallbackRefused(f"id token: {exc}") from exc
    claims = token.claims
    if pending.max_age is not None and claims["auth_time"] < time.time() - pending.max_age - LEEWAY_SECONDS:
        raise CallbackRefused("id token: auth_time older than max_age")
    if claims.get("acr") not in (pending.acr_values or ACR_VALUES).split():
        raise CallbackRefused("id token: acr not requested", NEEDS_KEY, 403)
    return claims


def _account_of(session: Session, sub: Any) -> Account | None:
    """The account an ID token's `sub` names (see `bouquet.sso.oidc.claims.subject`)."""
    if not isinstance(sub, str):
        return None
    prefix = "bouquet:account:"
    if sub.startswith(prefix):
        return session.get(Account, int(sub[len(prefix):])) if sub[len(prefix):].isdigit() else None
    return session.exec(select(Account).where(Account.idnat_ps == sub)).first()


def portal_session_from(ctx: RequestContext, claims: dict[str, Any]) -> PortalSession:
    """The portal session these validated claims describe, for this browser (blocking)."""
    browser = ctx.session
    assert browser is not None
    with ctx.db.session() as session:
        account = _account_of(session, claims["sub"])
        acting_for = claims.get("acting_for")
        principal = _account_of(session, acting_for.get("SubjectNameID")) if isinstance(acting_for, dict) else None
    if account is None or account.id != browser.account_id or claims["sid"] != browser.row.sid:
        raise CallbackRefused("id token: not about this browser's sign-in")
    amr = claims.get("amr") or []
    return PortalSession(claims["sub"], account.id, principal.id if principal else None, claims["sid"],
                         tuple(amr), claims.get("acr"), datetime.fromtimestamp(claims["auth_time"], UTC))


def _complete(ctx: RequestContext, provider: Provider, code: str, pending: portal_pending.Pending) -> PortalSession:
    body = redeem(provider, code, callback_url(ctx.app_state), pending.verifier)
    return portal_session_from(ctx, validate_id_token(provider, body["id_token"], pending))


def _refused(ctx: RequestContext, reason: str) -> None:
    log.warning("portal sign-in refused: %s", reason)
    ctx.audit.write("signin.portal_refused", outcome="denied", details={"reason": reason[:200]})


@public
async def callback(request: Request) -> Response:
    """GET /auth/callback: the provider's authorization response to the portal."""
    ctx = get_context(request)
    params = request.query_params
    pending, reason = await ctx.db.run(_take_pending, ctx, params.get("state"))
    provider = provider_of(request.app)
    try:
        if pending is None:
            raise CallbackRefused(reason, EXPIRED)
        if params.get("iss") != provider.issuer:
            raise CallbackRefused("wrong or missing iss")
        if error := params.get("error"):
            if error == "unmet_authentication_requirements":
                raise CallbackRefused(f"provider: {error}", NEEDS_KEY, 403)
            raise CallbackRefused(f"provider: {error}", DENIED if error == "access_denied" else REFUSED,
                                  403 if error == "access_denied" else 400)
        code = params.get("code")
        if not code or ctx.session is None or ctx.session.account_id is None:
            raise CallbackRefused("no code, or no sign-in in this browser")
        portal = await ctx.db.run(_complete, ctx, provider, code, pending)
    except CallbackRefused as refused:
        await ctx.db.run(_refused, ctx, refused.reason)
        title = "Clé de sécurité nécessaire" if refused.message == NEEDS_KEY else "Connexion impossible"
        return await render(request, "oidc/error.html", {"message": refused.message, "title": title},
                            status_code=refused.status_code)
    assert ctx.session is not None
    ctx.session.set(SESSION_KEY, portal.to_data())
    return RedirectResponse(pending.next, status_code=303)


routes: list[BaseRoute] = [Route(CALLBACK, callback, methods=["GET"])]
