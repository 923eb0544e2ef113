"""The authorization endpoint (`/authorize`, code flow only) and the consent decision (`/authorize/consent`).

One decision procedure (`_decide`) serves both, in one transaction:

1. authlib validates the client, the exact redirect URI, `response_type=code`, the scopes, PKCE
   (S256) and the nonce. An unknown client or a redirect URI it did not register gets a French
   page (the browser is never sent to an untrusted address); every other error goes back to the
   client with `state` and `iss`.
2. Nobody signed in: to `/login?next=<this request>`, or `login_required` with `prompt=none`.
3. `prompt=login`, a `max_age` exceeded or `acr_values` not met: to `/account/confirm?next=…`,
   where the person gives their factors again; the session is renewed keeping its `sid` and
   `authenticated_at` moves forward. The request comes back carrying `bq_reauth=<unix time>.<HMAC>`
   (sealed, valid 10 minutes), and an authentication at or after that time is the fresh one asked for.
   A `login_hint` naming someone other than the signed-in person: `login_required` with
   `prompt=none`, otherwise a page offering to switch account (or to go on as oneself).
4. A SMART launch (scope `launch` with the `launch` handle the application received from Bouquet,
   and `aud` = the `/fhir` base if sent): the handle must be valid, unexpired, unused, for this
   client and this person; its patient context is bound to the code (and later the tokens).
5. A third-party client without a remembered consent covering the scopes (or `prompt=consent`):
   the consent page (granting and refusing are audited). First-party clients never ask.
6. The code is issued: 302 to the client, or — when the request comes back from a sign-in form —
   a page that moves on by itself, so that the sign-in form's `form-action 'self'` policy does not
   block the redirect to the client's origin.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError, InvalidScopeError
from authlib.oidc.core.errors import ConsentRequiredError, LoginRequiredError
from joserfc import jwt
from joserfc.errors import JoseError
from starlette.datastructures import MultiDict
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bouquet.foundation.audit import Auditor
from bouquet.foundation.keys import derive_key
from bouquet.sso.accounts import normalise_username
from bouquet.sso.oidc import acr, consent
from bouquet.sso.oidc.adapter import (
    AuthlibResponse,
    RequestData,
    current_session,
    read_request,
)
from bouquet.sso.oidc.claims import subject
from bouquet.sso.oidc.consent import origin_of
from bouquet.sso.oidc.grants import EndUser
from bouquet.sso.oidc.models import OidcClient
from bouquet.sso.oidc.patients import LaunchRefused, fhir_base
from bouquet.sso.oidc.scopes import LAUNCH, scope_list
from bouquet.sso.oidc.server import AUTHORIZE, Provider, provider_of
from bouquet.web.context import RequestContext, get_context
from bouquet.web.routing import provider_page, public
from bouquet.web.sessions import cookie_name
from bouquet.web.ui import render

REAUTH = "bq_reauth"
# As long as a sign-in may take (bouquet.sso.flow.PENDING_LIFETIME).
MARKER_LIFETIME = 600
UNKNOWN_CLIENT = ("L'application qui vous a dirigé vers Bouquet n'est pas enregistrée. Par sécurité, "
                  "aucune information ne lui a été transmise et vous n'y êtes pas renvoyé.")
BAD_REDIRECT = ("L'adresse de retour demandée par l'application n'est pas l'une de celles qu'elle a déclarées. "
                "Par sécurité, Bouquet ne vous y renvoie pas. Signalez ce problème à l'éditeur de l'application.")
MISSING_REDIRECT = ("L'application n'a pas indiqué l'adresse où revenir après la connexion (redirect_uri), "
                    "obligatoire. Par sécurité, Bouquet ne vous renvoie nulle part. Signalez ce problème à "
                    "l'éditeur de l'application.")
BAD_REQUEST = "La demande de connexion envoyée par l'application n'est pas valide. Retournez à l'application et recommencez."


@dataclass
class Outcome:
    """What the endpoint answers: exactly one of the fields is set."""

    redirect: str | None = None          # to the client (code or error)
    interstitial: bool = False           # send it through a page rather than a 302
    sign_in: str | None = None           # to /login?next=…
    reauthenticate: str | None = None    # to /account/confirm?next=…
    error_page: str | None = None        # French message, the client being untrusted
    consent: dict[str, Any] = field(default_factory=dict)
    other_account: dict[str, Any] = field(default_factory=dict)  # login_hint names someone else
    login_hint: str | None = None        # prefills the sign-in page (with `sign_in`)


def end_user_of(ctx: RequestContext) -> EndUser | None:
    """The signed-in person of this browser, as the authorization sees them."""
    if ctx.account is None or ctx.session is None:
        return None
    row = ctx.session.row
    return EndUser(ctx.account, ctx.acting_for, row.sid, row.authenticated_at or row.created_at, list(row.amr))


def _local_authorize_url(provider: Provider, data: RequestData) -> str:
    """This request again, marked with when the portal sent the person to (re)authenticate."""
    params = [(key, value) for key, value in data.values.multi_items() if key != REAUTH]
    now = str(int(time.time()))
    params.append((REAUTH, f"{now}.{_seal(provider, now, data.values.get('client_id', ''))}"))
    return f"{AUTHORIZE}?{urlencode(params)}"


def _seal(provider: Provider, moment: str, client_id: str) -> str:

    key = derive_key(provider.settings.secret_key, "oidc-reauth-marker")
    return hmac.new(key, f"{moment}:{client_id}".encode(), hashlib.sha256).hexdigest()[:32]


def _marker(provider: Provider, value: str | None, client_id: str) -> int | None:
    """When the portal asked for the authentication this request comes back from; None unless we
    sealed the value ourselves, recently (a marker cannot be forged, nor replayed from an old URL)."""
    moment, _, seal = (value or "").partition(".")
    if not moment.isdigit() or not hmac.compare_digest(seal, _seal(provider, moment, client_id)):
        return None
    return int(moment) if time.time() - int(moment) <= MARKER_LIFETIME else None


def _client_error(provider: Provider, request: Any, error: OAuth2Error) -> Outcome:
    if not error.redirect_uri:
        description = (error.description or "").lower()
        if error.error == "invalid_client":
            return Outcome(error_page=UNKNOWN_CLIENT)
        if "missing 'redirect_uri'" in description:
            return Outcome(error_page=MISSING_REDIRECT)
        if "redirect" in description:
            return Outcome(error_page=BAD_REDIRECT)
        return Outcome(error_page=BAD_REQUEST)
    response: AuthlibResponse = provider.server.handle_error_response(request, error)
    provider.rfc9207.add_issuer_parameter(provider.server, response)
    return Outcome(redirect=response.location)


def _hint_subject(provider: Provider, hint: str) -> str:
    """The `sub` of an ID token we issued (expired ones too); raises InvalidRequestError otherwise."""
    try:
        token = jwt.decode(hint, provider.keyring.public_keyset(), algorithms=["RS256", "ES256"])
    except (JoseError, ValueError) as exc:
        raise InvalidRequestError("Invalid 'id_token_hint'.") from exc
    if token.claims.get("iss") != provider.issuer or not isinstance(token.claims.get("sub"), str):
        raise InvalidRequestError("Invalid 'id_token_hint'.")
    return token.claims["sub"]


def _hint_matches(hint: str, account: Any) -> bool:
    """Whether `login_hint` names this account: its identifier, IdNat_PS, `sub` or e-mail address."""

    wanted = hint.strip()
    return (normalise_username(wanted) == account.username or wanted == subject(account)
            or (account.idnat_ps is not None and wanted == account.idnat_ps)
            or (bool(account.email) and wanted.lower() == str(account.email).lower()))


def _decide(provider: Provider, data: RequestData, user: EndUser | None, decision: str | None = None,
            audit: Auditor | None = None) -> Outcome:
    outcome = _answer(provider, data, user, decision, audit)
    # Back from a sign-in form, any redirect to the client (code or error) goes through a page.
    # (Not to the portal's own callback: same origin, nothing for form-action to block.)
    outcome.interstitial = (outcome.redirect is not None and REAUTH in data.values
                            and origin_of(outcome.redirect) != origin_of(provider.issuer))
    return outcome


def _answer(provider: Provider, data: RequestData, user: EndUser | None, decision: str | None,
            audit: Auditor | None) -> Outcome:
    server = provider.server
    request = server.create_oauth2_request(data)
    try:
        grant = server.get_consent_grant(request, end_user=user)
    except OAuth2Error as error:
        return _client_error(provider, request, error)
    except ValueError:
        # authlib refuses to echo a value (e.g. response_type='"') in an error description: say it without it.
        return _client_error(provider, request, InvalidRequestError("Malformed authorization request parameter."))
    client: OidcClient = grant.client
    values = request.payload.data
    prompts = (values.get("prompt") or "").split()
    marker = _marker(provider, values.get(REAUTH), client.client_id)

    def refuse(error: OAuth2Error) -> Outcome:
        error.redirect_uri, error.state = grant.redirect_uri, request.payload.state
        return _client_error(provider, request, error)

    if values.get("request"):
        return refuse(OAuth2Error("Request objects are not supported.", error="request_not_supported"))
    if values.get("request_uri"):
        return refuse(OAuth2Error("Request objects are not supported.", error="request_uri_not_supported"))
    if values.get("response_mode", "query") != "query":
        return refuse(InvalidRequestError("Only response_mode=query is supported."))
    max_age = values.get("max_age")
    if max_age is not None and _int(max_age) is None:
        return refuse(InvalidRequestError("Invalid 'max_age'."))
    login_hint = (values.get("login_hint") or "").strip()[:200] or None
    if user is None:
        # authlib already answered login_required to prompt=none.
        return Outcome(sign_in=_local_authorize_url(provider, data), login_hint=login_hint)
    if hint := values.get("id_token_hint"):
        try:
            if _hint_subject(provider, hint) != subject(user.account):
                return refuse(LoginRequiredError("The signed-in user is not the one of 'id_token_hint'."))
        except InvalidRequestError as error:
            return refuse(error)
    if login_hint is not None and not _hint_matches(login_hint, user.account):
        if "none" in prompts:
            return refuse(LoginRequiredError("The signed-in user is not the one of 'login_hint'."))
        without_hint = [(key, value) for key, value in data.values.multi_items() if key not in ("login_hint", REAUTH)]
        return Outcome(other_account={"client": client, "login_hint": login_hint, "account": user.account,
                                      "query": urlencode(list(data.values.multi_items())),
                                      "continue_url": f"{AUTHORIZE}?{urlencode(without_hint)}"})

    wanted_acr = values.get("acr_values")
    auth_time = user.auth_time.timestamp()
    fresh = marker is not None and auth_time >= marker
    stale = ("login" in prompts or (max_age is not None and time.time() - auth_time > int(max_age))
             or acr.choose(wanted_acr, user.amr) is None)
    if stale and not fresh:
        if "none" in prompts:
            return refuse(LoginRequiredError("The user must authenticate again."))
        return Outcome(reauthenticate=_local_authorize_url(provider, data))
    user.acr = acr.choose(wanted_acr, user.amr)
    if user.acr is None:
        return refuse(OAuth2Error("The requested authentication level was not met.",
                                  error="unmet_authentication_requirements"))

    scope = request.scope or ""
    if values.get("launch") is not None or LAUNCH in scope_list(scope):
        try:
            user.patient_context_id = _launch(provider, values, client, user, scope, consume=False)
        except OAuth2Error as error:
            return refuse(error)
    if decision == "deny":
        if audit is not None:
            audit.write_in(current_session(), "oidc.consent_refused", resource=f"client:{client.client_id}",
                           details={"scope": scope})
        return refuse(OAuth2Error("The user refused.", error="access_denied"))
    if decision == "allow" and not client.first_party:
        consent.remember(user.account, client, scope)
        if audit is not None:
            audit.write_in(current_session(), "oidc.consent_granted", resource=f"client:{client.client_id}",
                           details={"scope": scope})
    elif not client.first_party and ("consent" in prompts or not consent.covers(user.account, client, scope)):
        if "none" in prompts:
            return refuse(ConsentRequiredError())
        return Outcome(consent={"client": client, "scope": scope, "redirect_uri": grant.redirect_uri,
                                "query": urlencode(list(data.values.multi_items())),
                                "patient": provider.patients.label(current_session(), user.patient_context_id)
                                if user.patient_context_id else None})

    if user.patient_context_id is not None:
        try:  # consumed now, once, whichever worker gets there first
            _launch(provider, values, client, user, scope, consume=True)
        except OAuth2Error as error:
            return refuse(error)
    # The grant was validated above: issue the code without authlib validating it all over again.
    response = server.handle_response(*grant.create_authorization_response(grant.redirect_uri, user))
    provider.rfc9207.add_issuer_parameter(server, response)
    return Outcome(redirect=response.location)


def _launch(provider: Provider, values: dict[str, str], client: OidcClient, user: EndUser, scope: str,
            consume: bool) -> str:
    """The patient context of this SMART launch, checked (and consumed if asked); OAuth errors otherwise."""
    handle = values.get("launch")
    if LAUNCH not in scope_list(scope):
        raise InvalidScopeError("A 'launch' handle needs the scope 'launch', which this client may not ask for.")
    if not handle:
        raise InvalidRequestError("Scope 'launch' needs the 'launch' handle Bouquet gave the application "
                                  "(standalone launch is not supported).")
    aud = values.get("aud")
    if aud is not None and aud.rstrip("/") != fhir_base(provider.issuer):
        raise InvalidRequestError("Unknown 'aud': it must be the 'iss' the application was launched with.")
    assert user.account.id is not None
    try:
        return provider.patients.check_launch(
            current_session(), handle, client_id=client.client_id, account_id=user.account.id,
            acting_for_id=user.acting_for.id if user.acting_for else None, consume=consume)
    except LaunchRefused as exc:
        raise InvalidRequestError(f"Invalid 'launch': {exc}.") from exc


def _int(value: str | None) -> int | None:
    try:
        number = int(value) if value is not None else None
    except ValueError:
        return None
    return number if number is None or number >= 0 else None


async def _respond(request: Request, outcome: Outcome) -> Response:
    if outcome.error_page:
        return await render(request, "oidc/error.html", {"message": outcome.error_page}, status_code=400)
    if outcome.sign_in:
        hint = f"&login_hint={quote(outcome.login_hint, safe='')}" if outcome.login_hint else ""
        return RedirectResponse(f"/login?next={quote(outcome.sign_in, safe='')}{hint}", status_code=303)
    if outcome.other_account:
        return await render(request, "oidc/other_account.html", outcome.other_account)
    if outcome.reauthenticate:
        return RedirectResponse(f"/account/confirm?next={quote(outcome.reauthenticate, safe='')}", status_code=303)
    if outcome.consent:
        return await consent.page(request, **outcome.consent)
    assert outcome.redirect is not None
    if outcome.interstitial:
        return await render(request, "oidc/continue.html", {"target": outcome.redirect})
    return RedirectResponse(outcome.redirect, status_code=302)


@public
async def authorize(request: Request) -> Response:
    """GET or POST /authorize: the OpenID Connect authentication request.

    A POST from another site carries no SameSite=Lax session cookie: it is answered with a 303 to
    the same request as a GET, on which the browser sends its cookie.
    """
    ctx = get_context(request)
    provider = provider_of(request.app)
    try:
        data = await read_request(request, provider.url(AUTHORIZE))
    except ValueError:
        return await render(request, "oidc/error.html", {"message": BAD_REQUEST}, status_code=400)
    if request.method == "POST" and cookie_name(ctx.settings.https) not in request.cookies:
        return RedirectResponse(f"{AUTHORIZE}?{urlencode(list(data.values.multi_items()))}", status_code=303)
    outcome = await provider.run(_decide, provider, data, end_user_of(ctx))
    return await _respond(request, outcome)


@provider_page
async def decide_consent(request: Request) -> Response:
    """POST /authorize/consent: the person allowed or refused (CSRF-checked like every form)."""
    ctx = get_context(request)
    provider = provider_of(request.app)
    form = await request.form(max_files=0, max_fields=10)
    decision = "allow" if form.get("decision") == "allow" else "deny"
    query = str(form.get("query", ""))[:16_000]
    data = RequestData("GET", provider.url(AUTHORIZE), request.headers, MultiDict(parse_qsl(query, keep_blank_values=True)))
    outcome = await provider.run(_decide, provider, data, end_user_of(ctx), decision, ctx.audit)
    return await _respond(request, outcome)


@provider_page
async def switch_account(request: Request) -> Response:
    """POST /authorize/switch-account: `login_hint` named someone else; sign out (every relying
    party is told), then sign in again, the identifier prefilled, and carry on with the request."""
    ctx = get_context(request)
    form = await request.form(max_files=0, max_fields=10)
    values = MultiDict(parse_qsl(str(form.get("query", ""))[:16_000], keep_blank_values=True))
    hint = (values.get("login_hint") or "").strip()[:200]
    # Marked like any request sent to sign in, so that the way back goes through the interstitial page.
    again = _local_authorize_url(provider_of(request.app), RequestData("GET", "", request.headers, values))
    if ctx.session is not None and ctx.account is not None:
        session_id = ctx.session.row.id

        def end() -> None:
            ctx.app_state.sessions.end(session_id, "logout")
            ctx.audit.write("session.ended", details={"reason": "logout", "session_id": session_id,
                                                      "initiated_by": "switch_account"})

        await ctx.db.run(end)
        ctx.session = None
        request.scope["state"]["browser_session"] = None
    target = f"/login?next={quote(again, safe='')}" + (f"&login_hint={quote(hint, safe='')}" if hint else "")
    response = RedirectResponse(target, status_code=303)
    https = ctx.settings.https
    response.delete_cookie(cookie_name(https), path="/", secure=https, httponly=True, samesite="lax")
    return response
