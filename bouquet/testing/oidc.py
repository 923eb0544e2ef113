"""Test helpers for the OpenID provider: a live portal, registered clients, a browser made of httpx
(the portal session cookie set directly), and relying parties driven by authlib's OAuth2 client.

    portal = Portal(server.url, server.app)
    rp = make_relying_party(portal, scope="openid scope_all")
    token = rp.sign_in(Browser(portal).sign_in(doctor))
    claims = portal.id_claims(token["id_token"], rp.client_id, nonce=rp.nonce)
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet

from bouquet.sso.oidc.clients import register_client
from bouquet.web.sessions import cookie_name

REDIRECT = "http://localhost:9/callback"  # never contacted: the tests read the redirect themselves
AMR_TOTP = ("pwd", "otp", "mfa")


@dataclass
class Portal:
    """A live Bouquet and what a test needs from it."""

    url: str
    app: Any

    @property
    def db(self) -> Any:
        return self.app.state.db

    def endpoint(self, name: str) -> str:
        return httpx.get(f"{self.url}/.well-known/openid-configuration").json()[name]

    def register(self, **fields: Any) -> tuple[str, str | None]:
        fields.setdefault("name", "Application de test")
        fields.setdefault("redirect_uris", [REDIRECT])
        with self.db.write() as session:
            registered = register_client(session, **fields)
            return registered.client.client_id, registered.secret

    def jwks(self) -> KeySet:
        return KeySet.import_key_set(httpx.get(f"{self.url}/jwks").json())

    def id_claims(self, id_token: str, audience: str, nonce: str | None = None) -> dict[str, Any]:
        """Validate an ID token as a relying party would (signature by the JWKS, iss, aud, exp, nonce)."""
        token = jwt.decode(id_token, self.jwks(), algorithms=["RS256", "ES256"])
        registry = jwt.JWTClaimsRegistry(iss={"essential": True, "value": self.url},
                                         aud={"essential": True, "value": audience},
                                         exp={"essential": True}, iat={"essential": True}, sub={"essential": True})
        registry.validate(token.claims)
        if nonce is not None:
            assert token.claims["nonce"] == nonce
        return dict(token.claims)


@dataclass
class Browser:
    """A browser that follows nothing by itself: each step's response is checked by the test."""

    portal: Portal
    token: str | None = None
    session_row: Any = None
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.portal.url, follow_redirects=False, timeout=20)

    def sign_in(self, account: Any, amr: tuple[str, ...] = AMR_TOTP, acting_for: Any = None) -> Browser:
        """Signed in (to the provider, and to the portal's own pages) as through the sign-in pages."""
        from bouquet.testing.fixtures import signed_in_session

        browser = signed_in_session(self.portal.app, account, amr=amr, acting_for=acting_for)
        self.token, self.session_row = browser.new_token, browser.row
        return self

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        if self.token:
            headers["Cookie"] = f"{cookie_name(False)}={self.token}"
        headers.setdefault("Accept", "text/html")
        return self.http.get(url, headers=headers, **kwargs)

    def post(self, url: str, data: dict[str, str], **kwargs: Any) -> httpx.Response:
        from bouquet.web import csrf
        from bouquet.web.sessions import hash_token

        assert self.token
        payload = {**data, csrf.FIELD: csrf.token_for(self.portal.app.state.csrf_key, hash_token(self.token))}
        return self.http.post(url, data=payload, headers={"Cookie": f"{cookie_name(False)}={self.token}",
                                                          "Accept": "text/html"}, **kwargs)

    def close(self) -> None:
        self.http.close()


def query_of(location: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


@dataclass
class RelyingParty:
    """A client of the portal, with authlib's OAuth2Client doing the protocol."""

    portal: Portal
    client_id: str
    oauth: OAuth2Client
    redirect_uri: str = REDIRECT
    verifier: str = ""
    nonce: str = ""
    state: str = ""

    def authorization_url(self, pkce: bool = True, **params: Any) -> str:
        self.verifier = secrets.token_urlsafe(48) if pkce else ""
        self.nonce = params.pop("nonce", secrets.token_urlsafe(12))
        url, self.state = self.oauth.create_authorization_url(
            self.portal.endpoint("authorization_endpoint"), code_verifier=self.verifier or None, nonce=self.nonce,
            **params)
        return url

    def sign_in(self, browser: Browser, **params: Any) -> dict[str, Any]:
        """The whole code flow from the browser's session: authorize, check the redirect, get tokens."""
        response = browser.get(self.authorization_url(**params))
        assert response.status_code == 302, response.text[:500]
        return self.exchange(response.headers["location"])

    def exchange(self, location: str, **kwargs: Any) -> dict[str, Any]:
        assert location.startswith(self.redirect_uri), location
        assert query_of(location)["iss"] == self.portal.url  # RFC 9207
        kwargs.setdefault("code_verifier", self.verifier or None)
        return dict(self.oauth.fetch_token(self.portal.endpoint("token_endpoint"), authorization_response=location,
                                           **{k: v for k, v in kwargs.items() if v is not None}))




def make_relying_party(portal: Portal, scope: str = "openid profile scope_all", auth: Any = None,
                       **fields: Any) -> RelyingParty:
    """Register a client (first-party unless told otherwise) and give an authlib client for it."""
    fields.setdefault("first_party", True)
    client_id, secret = portal.register(scope=scope, **fields)
    method = fields.get("token_endpoint_auth_method", "client_secret_basic")
    oauth = OAuth2Client(client_id, secret if auth is None else auth, token_endpoint_auth_method=method,
                         redirect_uri=fields.get("redirect_uris", [REDIRECT])[0], scope=scope,
                         code_challenge_method="S256", timeout=20)
    if method == "private_key_jwt":
        from authlib.oauth2.rfc7523 import PrivateKeyJWT

        oauth.register_client_auth_method(PrivateKeyJWT(portal.endpoint("token_endpoint"), alg="ES256"))
    return RelyingParty(portal, client_id, oauth)


def reauthenticate(browser: Browser, amr: tuple[str, ...] = AMR_TOTP) -> Browser:
    """What `/account/confirm` does after the factors are given again: a new session, same `sid`."""
    from bouquet.web.sessions import BrowserSession

    row = browser.session_row
    new = browser.portal.app.state.sessions.rotate(BrowserSession(row), account_id=row.account_id, amr=list(amr),
                                                   acting_for_id=row.acting_for_id, keep=tuple(row.data))
    browser.token, browser.session_row = new.new_token, new.row
    return browser


class LogoutReceiver:
    """A relying party's back-channel logout endpoint on a port of its own: it keeps every logout
    token POSTed to it, after refusing the first `fail_first` deliveries with a 503."""

    def __init__(self, fail_first: int = 0) -> None:
        from starlette.applications import Starlette
        from starlette.routing import Route

        self.tokens: list[str] = []
        self.failures_left = fail_first
        self.app = Starlette(routes=[Route("/backchannel", self._receive, methods=["POST"])])
        self.uri = ""
        self._stop: Any = None

    async def _receive(self, request: Any) -> Any:
        from starlette.responses import Response

        form = await request.form()
        if self.failures_left > 0:
            self.failures_left -= 1
            return Response("indisponible", status_code=503)
        self.tokens.append(str(form["logout_token"]))
        return Response(status_code=200, headers={"Cache-Control": "no-store"})

    def start(self) -> LogoutReceiver:
        from bouquet.testing.fixtures import free_port, serve

        port = free_port()
        self._stop = serve(self.app, port)
        self.uri = f"http://localhost:{port}/backchannel"
        return self

    def stop(self) -> None:
        if self._stop is not None:
            self._stop()

    def wait_for(self, count: int, timeout: float = 15.0) -> list[str]:
        """The logout tokens received, once there are `count` of them (fails after `timeout` s)."""
        import time

        deadline = time.monotonic() + timeout
        while len(self.tokens) < count:
            assert time.monotonic() < deadline, f"{len(self.tokens)} logout tokens received, {count} expected"
            time.sleep(0.05)
        return list(self.tokens)


def logout_claims(portal: Portal, logout_token: str, audience: str) -> dict[str, Any]:
    """Validate a logout token as Back-Channel Logout 1.0 §2.6 asks a relying party to."""
    import base64
    import json

    header = json.loads(base64.urlsafe_b64decode(logout_token.split(".")[0] + "==="))
    assert header["typ"] == "logout+jwt"
    claims = portal.id_claims(logout_token, audience)
    assert claims["events"] == {"http://schemas.openid.net/event/backchannel-logout": {}}
    assert "nonce" not in claims and claims["jti"] and claims["sid"]
    return claims
