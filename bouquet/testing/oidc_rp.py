"""A small web application that signs its users in with Bouquet, for end-to-end tests.

Each relying party it hosts (`/<name>/…`) is one registered client: `/login` starts the code flow
(PKCE, state, nonce), `/callback` exchanges the code with authlib's async client and validates the
ID token against the JWKS, `/` says who is signed in, and `/backchannel` validates logout tokens
and ends the sessions of their `sid`. Sessions live in memory: it is a test double, not a pattern.

`/launch?iss=…&launch=…` is a SMART App Launch (EHR launch): it reads `<iss>/.well-known/smart-configuration`,
authorizes with scope `launch openid fhirUser patient/Patient.read` (plus `profile`), the `launch`
handle and `aud=<iss>`, keeps the token response (with its `patient`) in `client.launches`, reads
`<iss>/Patient/<patient>` with the access token, and shows the patient on `/` (`rp-patient`).

    rp = RelyingPartyApp(portal_url)
    rp.add("agenda", client_id, secret)          # redirect URI: rp.url + "/agenda/callback"
    rp.start()
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
SMART_SCOPE = "launch openid fhirUser profile patient/Patient.read"


@dataclass
class _Client:
    name: str
    client_id: str
    secret: str | None
    pending: dict[str, dict[str, str]] = field(default_factory=dict)   # state → nonce, verifier
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)  # cookie → ID token claims
    logouts: list[dict[str, Any]] = field(default_factory=list)        # validated logout token claims
    launches: list[dict[str, Any]] = field(default_factory=list)       # SMART: token response + Patient read


class RelyingPartyApp:
    """Relying parties of the portal at `portal_url`, served together on one port."""

    def __init__(self, portal_url: str) -> None:
        self.portal_url = portal_url
        self.url = ""
        self.clients: dict[str, _Client] = {}
        self.app = Starlette(routes=[
            Route("/{name}/", self.home), Route("/{name}/login", self.login), Route("/{name}/callback", self.callback),
            Route("/{name}/launch", self.launch),
            Route("/{name}/backchannel", self.backchannel, methods=["POST"]),
        ])
        self._stop: Any = None

    def add(self, name: str, client_id: str, secret: str | None) -> _Client:
        self.clients[name] = client = _Client(name, client_id, secret)
        return client

    def redirect_uri(self, name: str) -> str:
        return f"{self.url}/{name}/callback"

    def start(self, port: int) -> RelyingPartyApp:
        from bouquet.testing.fixtures import serve

        self.url = f"http://localhost:{port}"
        self._stop = serve(self.app, port)
        return self

    def stop(self) -> None:
        if self._stop is not None:
            self._stop()

    async def _discovery(self) -> dict[str, Any]:
        async with httpx.AsyncClient() as http:
            return (await http.get(f"{self.portal_url}/.well-known/openid-configuration")).json()

    async def _jwks(self, uri: str) -> KeySet:
        async with httpx.AsyncClient() as http:
            return KeySet.import_key_set((await http.get(uri)).json())

    def _oauth(self, client: _Client, scope: str = "openid profile scope_all") -> AsyncOAuth2Client:
        return AsyncOAuth2Client(client.client_id, client.secret, scope=scope,
                                 redirect_uri=self.redirect_uri(client.name), code_challenge_method="S256")

    async def home(self, request: Request) -> Response:
        import html

        client = self.clients[request.path_params["name"]]
        claims = client.sessions.get(request.cookies.get(f"{client.name}_session", ""))
        text = f"Connecté : {claims['given_name']} {claims['family_name']}" if claims else "Non connecté"
        patient = (claims or {}).get("_patient")
        shown = (f'<p data-testid="rp-patient">Patient : {html.escape(patient["name"][0]["family"])} '
                 f'{html.escape(" ".join(patient["name"][0]["given"]))} ({html.escape(patient["birthDate"])})</p>'
                 if patient else "")
        return HTMLResponse(f'<!doctype html><html lang="fr"><title>{client.name}</title>'
                            f'<main><h1 data-testid="rp-status">{text}</h1>{shown}</main></html>')

    async def launch(self, request: Request) -> Response:
        """SMART EHR launch: discover `iss`, then authorize with the `launch` handle."""
        client = self.clients[request.path_params["name"]]
        iss, handle = request.query_params.get("iss", ""), request.query_params.get("launch", "")
        if not iss.startswith(self.portal_url) or not handle:
            return HTMLResponse("iss ou launch manquant ou inattendu", status_code=400)
        async with httpx.AsyncClient() as http:
            smart = (await http.get(f"{iss}/.well-known/smart-configuration")).json()
        verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
        async with self._oauth(client, SMART_SCOPE) as oauth:
            url, state = oauth.create_authorization_url(smart["authorization_endpoint"], code_verifier=verifier,
                                                        nonce=nonce, launch=handle, aud=iss)
        client.pending[state] = {"verifier": verifier, "nonce": nonce, "iss": iss}
        return RedirectResponse(url, status_code=302)

    async def login(self, request: Request) -> Response:
        client = self.clients[request.path_params["name"]]
        metadata = await self._discovery()
        verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
        async with self._oauth(client) as oauth:
            url, state = oauth.create_authorization_url(metadata["authorization_endpoint"], code_verifier=verifier,
                                                        nonce=nonce)
        client.pending[state] = {"verifier": verifier, "nonce": nonce}
        return RedirectResponse(url, status_code=302)

    async def callback(self, request: Request) -> Response:
        client = self.clients[request.path_params["name"]]
        pending = client.pending.pop(request.query_params.get("state", ""), None)
        if pending is None or request.query_params.get("iss") != self.portal_url:
            return HTMLResponse("état ou émetteur inattendu", status_code=400)
        metadata = await self._discovery()
        async with self._oauth(client, SMART_SCOPE if "iss" in pending else "openid profile scope_all") as oauth:
            token = await oauth.fetch_token(metadata["token_endpoint"], authorization_response=str(request.url),
                                            code_verifier=pending["verifier"])
        claims = self._validate(token["id_token"], await self._jwks(metadata["jwks_uri"]), client)
        if claims.get("nonce") != pending["nonce"]:
            return HTMLResponse("nonce inattendu", status_code=400)
        if "iss" in pending:
            async with httpx.AsyncClient() as http:
                read = await http.get(f"{pending['iss']}/Patient/{token.get('patient', '')}",
                                      headers={"Authorization": f"Bearer {token['access_token']}"})
            client.launches.append({"token": dict(token), "patient_status": read.status_code, "patient": read.json()})
            if read.status_code != 200:
                return HTMLResponse("lecture du patient refusée", status_code=502)
            claims["_patient"] = read.json()
        cookie = secrets.token_urlsafe(16)
        client.sessions[cookie] = claims
        response = RedirectResponse(f"/{client.name}/", status_code=303)
        response.set_cookie(f"{client.name}_session", cookie, httponly=True, samesite="lax")
        return response

    def _validate(self, value: str, keys: KeySet, client: _Client) -> dict[str, Any]:
        token = jwt.decode(value, keys, algorithms=["RS256", "ES256"])
        jwt.JWTClaimsRegistry(iss={"essential": True, "value": self.portal_url},
                              aud={"essential": True, "value": client.client_id},
                              exp={"essential": True}).validate(token.claims)
        return dict(token.claims)

    async def backchannel(self, request: Request) -> Response:
        client = self.clients[request.path_params["name"]]
        form = await request.form()
        metadata = await self._discovery()
        try:
            claims = self._validate(str(form.get("logout_token", "")), await self._jwks(metadata["jwks_uri"]), client)
        except Exception:
            return Response(status_code=400)
        if LOGOUT_EVENT not in claims.get("events", {}) or "nonce" in claims or not claims.get("sid"):
            return Response(status_code=400)
        client.logouts.append(claims)
        for cookie, session in list(client.sessions.items()):
            if session.get("sid") == claims["sid"]:
                del client.sessions[cookie]
        return Response(status_code=200, headers={"Cache-Control": "no-store"})
