"""Bouquet as Pro Santé Connect's relying party: discovery, the authorization request (code flow,
PKCE S256, `acr_values`), the code exchange, the ID token and userinfo checked like a strict RP,
refresh, RP-initiated logout and back-channel logout tokens.

Every call reads PSC's discovery document again (cached a few minutes per worker: it is PSC's
public metadata, not state another worker needs). Any failure to reach PSC is `PscUnavailable`;
anything PSC answers that a strict relying party must refuse is `PscRefused` (with the reason, for
the audit trail).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from bouquet.foundation.settings import Settings

TIMEOUT = httpx.Timeout(5.0)
METADATA_SECONDS = 300
LEEWAY = 30
ALGORITHMS = ["RS256", "ES256", "PS256"]
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
CALLBACK, BACKCHANNEL = "/login/psc/callback", "/login/psc/backchannel-logout"

_metadata: dict[str, tuple[float, dict[str, Any]]] = {}  # issuer → (fetched at, document): a cache only


class PscUnavailable(Exception):
    """PSC could not be reached, or answered with a server error."""


class PscRefused(Exception):
    """PSC's answer does not pass a strict relying party's checks; `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PscTokens:
    """What the code exchange (or a refresh) gave, once checked."""

    access_token: str
    refresh_token: str | None
    id_token: str
    expires_in: int
    refresh_expires_in: int | None
    claims: dict[str, Any]  # the ID token's


def callback_url(settings: Settings) -> str:
    return settings.base_url + CALLBACK


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


async def _get_json(http: httpx.AsyncClient, url: str, **kwargs: Any) -> Any:
    try:
        response = await http.get(url, **kwargs)
    except httpx.HTTPError as exc:
        raise PscUnavailable(f"{url}: {exc.__class__.__name__}") from exc
    if response.status_code >= 500:
        raise PscUnavailable(f"{url}: HTTP {response.status_code}")
    if response.status_code != 200:
        raise PscRefused(f"{url}: HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError as exc:
        raise PscRefused(f"{url}: not JSON") from exc


async def metadata(settings: Settings, http: httpx.AsyncClient) -> dict[str, Any]:
    """PSC's discovery document, whose `issuer` must be the configured one."""
    issuer = settings.psc_issuer.rstrip("/")
    cached = _metadata.get(issuer)
    if cached is not None and time.monotonic() - cached[0] < METADATA_SECONDS:
        return cached[1]
    document = await _get_json(http, f"{issuer}/.well-known/openid-configuration")
    if not isinstance(document, dict) or document.get("issuer") != issuer:
        raise PscRefused("discovery: issuer mismatch")
    _metadata[issuer] = (time.monotonic(), document)
    return document


def forget_metadata() -> None:
    """Drop the cached discovery documents (tests that restart a PSC stand-in on a new port)."""
    _metadata.clear()


async def authorization_url(settings: Settings, http: httpx.AsyncClient, *, state: str, nonce: str,
                            challenge: str) -> str:
    document = await metadata(settings, http)
    query = {"response_type": "code", "client_id": settings.psc_client_id, "redirect_uri": callback_url(settings),
             "scope": settings.psc_scope, "state": state, "nonce": nonce, "code_challenge": challenge,
             "code_challenge_method": "S256", "acr_values": settings.psc_acr_values}
    return f"{document['authorization_endpoint']}?{urlencode(query)}"


async def _token_request(settings: Settings, http: httpx.AsyncClient, data: dict[str, str]) -> dict[str, Any]:
    document = await metadata(settings, http)
    try:
        response = await http.post(document["token_endpoint"], data=data,
                                   auth=(settings.psc_client_id, settings.psc_client_secret))
    except httpx.HTTPError as exc:
        raise PscUnavailable(f"token: {exc.__class__.__name__}") from exc
    if response.status_code >= 500:
        raise PscUnavailable(f"token: HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError as exc:
        raise PscRefused("token: not JSON") from exc
    if response.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
        raise PscRefused(f"token: {body.get('error') if isinstance(body, dict) else response.status_code}")
    if str(body.get("token_type", "")).lower() != "bearer":
        raise PscRefused("token: not a Bearer token")
    return body


async def _keys(settings: Settings, http: httpx.AsyncClient) -> KeySet:
    document = await metadata(settings, http)
    try:
        return KeySet.import_key_set(await _get_json(http, document["jwks_uri"]))
    except (JoseError, ValueError, KeyError, TypeError) as exc:
        raise PscRefused("jwks: unreadable") from exc


async def _verified(settings: Settings, http: httpx.AsyncClient, token: str, what: str) -> dict[str, Any]:
    """A JWT from PSC, signature checked against PSC's JWKS, `iss` and `aud` checked."""
    keys = await _keys(settings, http)
    try:
        decoded = jwt.decode(token, keys, algorithms=ALGORITHMS)
    except (JoseError, ValueError) as exc:
        raise PscRefused(f"{what}: bad signature") from exc
    claims = dict(decoded.claims)
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if claims.get("iss") != settings.psc_issuer.rstrip("/"):
        raise PscRefused(f"{what}: wrong iss")
    if settings.psc_client_id not in audiences:
        raise PscRefused(f"{what}: wrong aud")
    if len(audiences) > 1 and claims.get("azp") != settings.psc_client_id:
        raise PscRefused(f"{what}: wrong azp")
    now = time.time()
    if not isinstance(claims.get("iat"), int | float) or claims["iat"] > now + LEEWAY:
        raise PscRefused(f"{what}: bad iat")
    return claims


async def exchange_code(settings: Settings, http: httpx.AsyncClient, *, code: str, verifier: str,
                        nonce: str) -> PscTokens:
    """Redeem the code, and check the ID token as OpenID Connect Core §3.1.3.7 asks (and `acr`)."""
    body = await _token_request(settings, http, {"grant_type": "authorization_code", "code": code,
                                                 "redirect_uri": callback_url(settings), "code_verifier": verifier})
    if not isinstance(body.get("id_token"), str):
        raise PscRefused("token: no id_token")
    claims = await _verified(settings, http, body["id_token"], "id_token")
    if not isinstance(claims.get("exp"), int | float) or claims["exp"] < time.time() - LEEWAY:
        raise PscRefused("id_token: expired")
    if claims.get("nonce") != nonce:
        raise PscRefused("id_token: wrong nonce")
    if not claims.get("sub"):
        raise PscRefused("id_token: no sub")
    wanted = settings.psc_acr_values.split()
    if wanted and claims.get("acr") not in wanted:
        raise PscRefused(f"id_token: acr {claims.get('acr')!r} is not {' or '.join(wanted)}")
    return _tokens(body, claims)


def _tokens(body: dict[str, Any], claims: dict[str, Any]) -> PscTokens:
    refresh_in = body.get("refresh_expires_in")
    return PscTokens(access_token=str(body["access_token"]), refresh_token=body.get("refresh_token"),
                     id_token=str(body.get("id_token") or ""), expires_in=int(body.get("expires_in") or 60),
                     refresh_expires_in=int(refresh_in) if refresh_in else None, claims=claims)


async def userinfo(settings: Settings, http: httpx.AsyncClient, access_token: str, sub: str) -> dict[str, Any]:
    """PSC's userinfo, whose `sub` must be the ID token's (OpenID Connect Core §5.3.2)."""
    document = await metadata(settings, http)
    info = await _get_json(http, document["userinfo_endpoint"], headers={"Authorization": f"Bearer {access_token}"})
    if not isinstance(info, dict) or info.get("sub") != sub:
        raise PscRefused("userinfo: sub differs from the ID token's")
    return info


async def refresh(settings: Settings, http: httpx.AsyncClient, refresh_token: str, id_token: str) -> PscTokens:
    """New PSC tokens from the refresh token (the ID token kept when PSC sends none)."""
    body = await _token_request(settings, http, {"grant_type": "refresh_token", "refresh_token": refresh_token})
    body.setdefault("refresh_token", None)
    return _tokens({**body, "id_token": body.get("id_token") or id_token}, {})


async def end_session_url(settings: Settings, http: httpx.AsyncClient, *, id_token: str, state: str,
                          post_logout_redirect_uri: str) -> str | None:
    """PSC's RP-initiated logout URL for this sign-in; None if PSC publishes no end-session endpoint."""
    document = await metadata(settings, http)
    endpoint = document.get("end_session_endpoint")
    if not endpoint:
        return None
    query = {"id_token_hint": id_token, "post_logout_redirect_uri": post_logout_redirect_uri, "state": state,
             "client_id": settings.psc_client_id}
    return f"{endpoint}?{urlencode(query)}"


async def logout_claims(settings: Settings, http: httpx.AsyncClient, logout_token: str) -> dict[str, Any]:
    """A back-channel logout token checked as Back-Channel Logout 1.0 §2.6 asks."""
    claims = await _verified(settings, http, logout_token, "logout_token")
    events = claims.get("events")
    if not isinstance(events, dict) or BACKCHANNEL_EVENT not in events:
        raise PscRefused("logout_token: no back-channel logout event")
    if "nonce" in claims:
        raise PscRefused("logout_token: has a nonce")
    if not (claims.get("sid") or claims.get("sub")):
        raise PscRefused("logout_token: neither sid nor sub")
    if not claims.get("jti"):
        raise PscRefused("logout_token: no jti")
    return claims
