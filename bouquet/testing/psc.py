"""A Pro Santé Connect stand-in for tests: an OpenID provider with PSC's discovery paths (Keycloak's,
realm `esante-wallet`), claims (`SubjectNameID`, `SubjectRefPro`, `Secteur_Activite`,
`Palier_Authentification`, `codeCivilite`…), `acr` `eidas1` and 2-minute access tokens.

    standin = PscStandin().start()
    standin.identity = psc_userinfo("810000000003", "Jean", "MARTIN")
    app settings: standin.settings()  (psc_issuer, psc_client_id, psc_client_secret)
    callback = standin.authorize(url_bouquet_redirected_to)      # what the CPS card holder approves
    standin.backchannel_logout(psc_sid, "http://localhost:PORT/login/psc/backchannel-logout")

Knobs a test turns: `acr` (what the ID token says), `forge` (sign with a key not in the JWKS),
`down` (every endpoint answers 503). It keeps its state in memory: it stands for a remote service.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from bouquet.testing.servers import free_port, serve

REALM = "/auth/realms/esante-wallet"
OIDC = f"{REALM}/protocol/openid-connect"
CLIENT_ID, CLIENT_SECRET = "bouquet-test", "secret-de-test-psc"
ACCESS_SECONDS, REFRESH_SECONDS = 120, 1800  # PSC's access tokens live 2 minutes
SUB_PREFIX = "f:550dc1c8-d97b-4b1e-ac8c-8eb4471cf9dd:"  # PSC's sub: Keycloak's federated form + IdNat
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


def psc_userinfo(idnat: str, given_name: str, family_name: str, *, profession: str = "10", civility: str = "M",
                 specialty: str = "SM54", sector: str = "SA07", structure_id: str = "R10000", site: str = "CABINET DU PARC",
                 postal_code: str = "69002") -> dict[str, Any]:
    """A userinfo answer in PSC's shape (as ANS's own code samples show it, docs/psc.md)."""
    return {
        "sub": SUB_PREFIX + idnat, "SubjectNameID": idnat, "preferred_username": idnat,
        "given_name": given_name, "family_name": family_name, "email_verified": False,
        "Secteur_Activite": f"{sector}^1.2.250.1.71.4.2.4", "SubjectOrganization": site,
        "SubjectOrganizationID": structure_id, "Mode_Acces_Raison": "", "Acces_Regulation_Medicale": "FAUX",
        "UITVersion": "1.0", "Palier_Authentification": "APPPRIP3^1.2.250.1.213.1.5.1.1.1",
        "SubjectRole": [f"{profession}^1.2.250.1.213.1.1.5.5"], "PSI_Locale": "1.2.250.1.213.1.3.1.1",
        "otherIds": [{"identifiant": idnat, "origine": "RPPS", "qualite": 1}], "authMode": "CARD",
        "SubjectRefPro": {"codeCivilite": civility, "exercices": [{
            "codeProfession": profession, "codeCategorieProfessionnelle": "C", "codeCiviliteDexercice": "DR",
            "nomDexercice": family_name, "prenomDexercice": given_name, "codeTypeSavoirFaire": "S",
            "codeSavoirFaire": specialty, "activities": [{
                "codeModeExercice": "L", "codeSecteurDactivite": sector, "codeSectionPharmacien": "", "codeRole": "",
                "numeroSiretSite": "", "numeroSirenSite": "", "numeroFinessSite": "",
                "numeroFinessetablissementJuridique": "", "identifiantTechniqueDeLaStructure": structure_id,
                "raisonSocialeSite": site, "enseigneCommercialeSite": "", "complementDestinataire": "",
                "complementPointGeographique": "", "numeroVoie": "12", "indiceRepetitionVoie": "", "codeTypeDeVoie": "R",
                "libelleVoie": "DE LA REPUBLIQUE", "mentionDistribution": "", "bureauCedex": "", "codePostal": postal_code,
                "codeCommune": "", "codePays": "99000", "telephone": "", "telephone2": "", "telecopie": "",
                "adresseEMail": "", "codeDepartement": "", "ancienIdentifiantDeLaStructure": "",
                "autoriteDenregistrement": ""}]}]},
    }


@dataclass
class _Grant:
    sid: str
    info: dict[str, Any]
    nonce: str | None = None
    challenge: str | None = None
    redirect_uri: str = ""
    expires: float = 0.0


@dataclass
class PscStandin:
    """The stand-in; `start()` serves it on a free port of 127.0.0.1."""

    identity: dict[str, Any] | None = None
    acr: str = "eidas1"
    forge: bool = False
    down: bool = False
    url: str = ""
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)  # PSC sid → {"sub", "ended"}
    _codes: dict[str, _Grant] = field(default_factory=dict)
    _access: dict[str, _Grant] = field(default_factory=dict)
    _refresh: dict[str, _Grant] = field(default_factory=dict)
    _pending: dict[str, dict[str, str]] = field(default_factory=dict)
    _stop: Any = None

    def __post_init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "psc-1", "alg": "RS256", "use": "sig"}, private=True)
        self.stranger = RSAKey.generate_key(2048, parameters={"kid": "psc-1", "alg": "RS256"}, private=True)

    # --- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> PscStandin:
        port = free_port()
        self.url = f"http://localhost:{port}"
        self._stop = serve(self._app(), port)
        return self

    def stop(self) -> None:
        if self._stop is not None:
            self._stop()

    @property
    def issuer(self) -> str:
        return self.url + REALM

    def settings(self, **more: Any) -> dict[str, Any]:
        """The Bouquet settings that make this stand-in its PSC."""
        return {"psc_issuer": self.issuer, "psc_client_id": CLIENT_ID, "psc_client_secret": CLIENT_SECRET, **more}

    # --- what tests do -----------------------------------------------------------------------------------------
    def authorize(self, url: str) -> str:
        """The card holder approves the authorization request at `url`: the callback URL PSC sends back."""
        page = httpx.get(url)
        assert page.status_code == 200, page.text
        request_id = page.text.split('name="request" value="', 1)[1].split('"', 1)[0]
        answer = httpx.post(f"{self.url}{OIDC}/auth/approve", data={"request": request_id})
        assert answer.status_code == 302, answer.text
        return answer.headers["location"]

    def backchannel_logout(self, psc_sid: str, uri: str, *, sub: str | None = None) -> httpx.Response:
        """PSC's back-channel logout of session `psc_sid` POSTed to a relying party."""
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 120, "jti": str(uuid.uuid4()),
                  "sid": psc_sid, "events": {BACKCHANNEL_EVENT: {}}}
        if sub:
            claims["sub"] = sub
        token = jwt.encode({"alg": "RS256", "kid": "psc-1", "typ": "logout+jwt"}, claims,
                           self.stranger if self.forge else self.key)
        return httpx.post(uri, data={"logout_token": token})

    # --- the provider --------------------------------------------------------------------------------------------
    def _app(self) -> Starlette:
        return Starlette(routes=[
            Route(f"{REALM}/.well-known/openid-configuration", self._discovery),
            Route(f"{OIDC}/certs", self._jwks),
            Route(f"{OIDC}/auth", self._auth),
            Route(f"{OIDC}/auth/approve", self._approve, methods=["POST"]),
            Route(f"{OIDC}/token", self._token, methods=["POST"]),
            Route(f"{OIDC}/userinfo", self._userinfo, methods=["GET", "POST"]),
            Route(f"{OIDC}/logout", self._logout),
        ])

    def _unavailable(self) -> Response | None:
        return Response("Service indisponible", status_code=503) if self.down else None

    async def _discovery(self, request: Request) -> Response:
        if (down := self._unavailable()) is not None:
            return down
        base = self.url + OIDC
        return JSONResponse({
            "issuer": self.issuer, "authorization_endpoint": f"{base}/auth", "token_endpoint": f"{base}/token",
            "userinfo_endpoint": f"{base}/userinfo", "end_session_endpoint": f"{base}/logout",
            "jwks_uri": f"{base}/certs", "response_types_supported": ["code"], "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"], "scopes_supported": ["openid", "scope_all"],
            "acr_values_supported": ["eidas1"], "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "backchannel_logout_supported": True, "backchannel_logout_session_supported": True,
        })

    async def _jwks(self, request: Request) -> Response:
        return JSONResponse(KeySet([self.key]).as_dict(private=False))

    async def _auth(self, request: Request) -> Response:
        if (down := self._unavailable()) is not None:
            return down
        query = request.query_params
        if query.get("client_id") != CLIENT_ID or query.get("code_challenge_method") != "S256" \
                or not query.get("code_challenge") or query.get("response_type") != "code":
            return HTMLResponse("Requête invalide", status_code=400)
        request_id = secrets.token_urlsafe(16)
        self._pending[request_id] = dict(query)
        return HTMLResponse(
            "<!doctype html><html lang=fr><title>Pro Santé Connect (simulateur)</title><h1>Pro Santé Connect</h1>"
            f"<p>Carte CPS de {html.escape(str((self.identity or {}).get('family_name', '?')))}</p>"
            f'<form method=post action="{OIDC}/auth/approve"><input type=hidden name="request" value="{request_id}">'
            "<button type=submit>Valider avec ma carte CPS</button></form></html>")

    async def _approve(self, request: Request) -> Response:
        form = await request.form()
        query = self._pending.pop(str(form.get("request", "")), None)
        if query is None or self.identity is None:
            return HTMLResponse("Demande expirée", status_code=400)
        sid = request.cookies.get("PSC_SESSION") or str(uuid.uuid4())
        if self.sessions.get(sid, {}).get("ended", True):
            sid = str(uuid.uuid4())
        self.sessions[sid] = {"sub": self.identity["sub"], "ended": False}
        code = secrets.token_urlsafe(24)
        self._codes[code] = _Grant(sid, dict(self.identity), query.get("nonce"), query.get("code_challenge"),
                                   query.get("redirect_uri", ""), time.time() + 60)
        target = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query.get('state', ''), 'session_state': sid})}"
        response = RedirectResponse(target, status_code=302)
        response.set_cookie("PSC_SESSION", sid, httponly=True, samesite="lax")
        return response

    def _client_ok(self, request: Request, form: Any) -> bool:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        else:
            client_id, secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
        return client_id == CLIENT_ID and secret == CLIENT_SECRET

    async def _token(self, request: Request) -> Response:
        if (down := self._unavailable()) is not None:
            return down
        form = await request.form()
        if not self._client_ok(request, form):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if form.get("grant_type") == "authorization_code":
            grant = self._codes.pop(str(form.get("code", "")), None)
            verifier = str(form.get("code_verifier", ""))
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if grant is None or grant.expires < time.time() or grant.challenge != challenge \
                    or grant.redirect_uri != form.get("redirect_uri"):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            return JSONResponse(self._issue(grant, with_id_token=True), headers={"Cache-Control": "no-store"})
        if form.get("grant_type") == "refresh_token":
            grant = self._refresh.pop(str(form.get("refresh_token", "")), None)
            if grant is None or grant.expires < time.time() or self.sessions.get(grant.sid, {}).get("ended"):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            return JSONResponse(self._issue(grant, with_id_token=False), headers={"Cache-Control": "no-store"})
        return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)

    def _issue(self, grant: _Grant, *, with_id_token: bool) -> dict[str, Any]:
        now = time.time()
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self._access[access] = _Grant(grant.sid, grant.info, expires=now + ACCESS_SECONDS)
        self._refresh[refresh] = _Grant(grant.sid, grant.info, expires=now + REFRESH_SECONDS)
        body: dict[str, Any] = {"access_token": access, "token_type": "Bearer", "expires_in": ACCESS_SECONDS,
                                "refresh_token": refresh, "refresh_expires_in": REFRESH_SECONDS,
                                "scope": "openid scope_all", "session_state": grant.sid}
        if with_id_token:
            claims = {"iss": self.issuer, "aud": CLIENT_ID, "azp": CLIENT_ID, "sub": grant.info["sub"],
                      "iat": int(now), "exp": int(now) + 300, "auth_time": int(now), "acr": self.acr,
                      "sid": grant.sid, "session_state": grant.sid, "authMode": grant.info.get("authMode", "CARD"),
                      "preferred_username": grant.info.get("preferred_username")}
            if grant.nonce:
                claims["nonce"] = grant.nonce
            key = self.stranger if self.forge else self.key
            body["id_token"] = jwt.encode({"alg": "RS256", "kid": "psc-1", "typ": "JWT"}, claims, key)
        return body

    async def _userinfo(self, request: Request) -> Response:
        if (down := self._unavailable()) is not None:
            return down
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        grant = self._access.get(token)
        if grant is None or grant.expires < time.time() or self.sessions.get(grant.sid, {}).get("ended"):
            return JSONResponse({"error": "invalid_token"}, status_code=401,
                                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return JSONResponse(grant.info)

    async def _logout(self, request: Request) -> Response:
        """RP-initiated logout: the session named by the ID token hint (or the cookie) ends."""
        query = request.query_params
        sid = request.cookies.get("PSC_SESSION")
        hint = query.get("id_token_hint")
        if hint:
            sid = jwt.decode(hint, KeySet([self.key])).claims.get("sid") or sid
        if sid in self.sessions:
            self.sessions[sid]["ended"] = True
        target = query.get("post_logout_redirect_uri")
        if target:
            separator = "&" if "?" in target else "?"
            return RedirectResponse(f"{target}{separator}{urlencode({'state': query.get('state', '')})}", status_code=302)
        return HTMLResponse("<!doctype html><p>Vous êtes déconnecté de Pro Santé Connect.</p>")


def give_psc_tokens(app: Any, session_token: str, access_token: str, *, expires_in: int = ACCESS_SECONDS) -> None:
    """Make the browser session `session_token` (a test client's `session_token`) one signed in through
    PSC, holding `access_token`: what the PSC callback would have stored (for plugins' tests)."""
    from sqlmodel import select

    from bouquet.sso.psc import tokens
    from bouquet.sso.psc.client import PscTokens
    from bouquet.web.sessions import WebSession, hash_token

    with app.state.db.write() as session:
        row = session.exec(select(WebSession).where(WebSession.token_hash == hash_token(session_token))).one()
        tokens.store(session, app.state.settings, sid=row.sid, account_id=row.account_id, tokens=PscTokens(
            access_token, None, "", expires_in, None, {"sub": SUB_PREFIX + "test", "sid": f"psc-{row.sid}"}))
