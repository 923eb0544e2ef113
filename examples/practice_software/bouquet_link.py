"""Everything this practice software does with Bouquet, in one place a vendor can copy.

- sign the professional in with Bouquet: OpenID Connect code flow, PKCE (S256), `state`, `nonce`,
  the issuer checked on the way back (RFC 9207), the ID token checked against Bouquet's JWKS;
- get a service token with `client_credentials` and scope `launch`, kept until shortly before it
  expires;
- ask `POST /api/launch` for a single-use link that opens Bouquet on a patient.

authlib does the OAuth protocol and joserfc checks the signatures; nothing here is Bouquet-specific
beyond the launch call, which is documented in docs/integration.md.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet

SIGN_IN_SCOPE = "openid profile scope_all"
LAUNCH_SCOPE = "launch"
# A cached service token is renewed this many seconds before Bouquet says it expires.
TOKEN_MARGIN_SECONDS = 30


class BouquetError(Exception):
    """Bouquet refused or could not answer; `message` is French and may be shown to the user."""

    def __init__(self, message: str, *, status: int = 502, field: str | None = None) -> None:
        super().__init__(message)
        self.message, self.status, self.field = message, status, field


@dataclass(frozen=True)
class PendingSignIn:
    """What the browser's session keeps between the redirect to Bouquet and the way back."""

    state: str
    verifier: str
    nonce: str


class BouquetLink:
    """The connection of one practice software (one OAuth client) to one Bouquet."""

    def __init__(self, issuer: str, client_id: str, client_secret: str, redirect_uri: str, *,
                 timeout: float = 10.0) -> None:
        self.issuer, self.client_id, self.client_secret = issuer.rstrip("/"), client_id, client_secret
        self.redirect_uri, self.timeout = redirect_uri, timeout
        self._metadata: dict[str, Any] | None = None
        self._service_token: tuple[str, float] | None = None  # (access token, monotonic expiry)
        self._token_lock = asyncio.Lock()

    # --- discovery -----------------------------------------------------------------------------

    async def metadata(self) -> dict[str, Any]:
        """Bouquet's OpenID configuration (fetched once)."""
        if self._metadata is None:
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                response = await http.get(f"{self.issuer}/.well-known/openid-configuration")
            if response.status_code != 200:
                raise BouquetError("Bouquet ne répond pas : réessayez dans quelques instants.")
            metadata = response.json()
            if metadata.get("issuer") != self.issuer:
                raise BouquetError("La configuration de Bouquet ne correspond pas à l'adresse configurée.")
            self._metadata = metadata
        return self._metadata

    # --- signing the professional in ---------------------------------------------------------

    def _oauth(self, scope: str) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(self.client_id, self.client_secret, scope=scope, redirect_uri=self.redirect_uri,
                                 code_challenge_method="S256", timeout=self.timeout)

    async def start_sign_in(self) -> tuple[str, PendingSignIn]:
        """The URL to send the browser to, and what to keep in its session until it comes back."""
        metadata = await self.metadata()
        verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
        async with self._oauth(SIGN_IN_SCOPE) as oauth:
            url, state = oauth.create_authorization_url(metadata["authorization_endpoint"], code_verifier=verifier,
                                                        nonce=nonce)
        return url, PendingSignIn(state, verifier, nonce)

    async def finish_sign_in(self, callback_url: str, query: dict[str, str], pending: PendingSignIn) -> dict[str, Any]:
        """Exchange the code and return the checked ID token claims; BouquetError otherwise."""
        if query.get("error"):
            raise BouquetError("La connexion avec Bouquet a été annulée ou refusée.", status=400)
        if query.get("state") != pending.state:
            raise BouquetError("Réponse de connexion inattendue : recommencez la connexion.", status=400)
        if query.get("iss") != self.issuer:  # RFC 9207: the answer comes from the Bouquet we asked
            raise BouquetError("Réponse de connexion d'un émetteur inattendu.", status=400)
        metadata = await self.metadata()
        async with self._oauth(SIGN_IN_SCOPE) as oauth:
            token = await oauth.fetch_token(metadata["token_endpoint"], authorization_response=callback_url,
                                            code_verifier=pending.verifier)
        claims = await self._id_claims(token["id_token"])
        if claims.get("nonce") != pending.nonce:
            raise BouquetError("Réponse de connexion rejouée : recommencez la connexion.", status=400)
        return claims

    async def _id_claims(self, id_token: str) -> dict[str, Any]:
        metadata = await self.metadata()
        async with httpx.AsyncClient(timeout=self.timeout) as http:
            keys = KeySet.import_key_set((await http.get(metadata["jwks_uri"])).json())
        token = jwt.decode(id_token, keys, algorithms=["RS256", "ES256"])
        jwt.JWTClaimsRegistry(iss={"essential": True, "value": self.issuer},
                              aud={"essential": True, "value": self.client_id},
                              exp={"essential": True}, sub={"essential": True}).validate(token.claims)
        return dict(token.claims)

    # --- the launch API ----------------------------------------------------------------------

    async def service_token(self) -> str:
        """A `client_credentials` access token with scope `launch`, reused until shortly before it expires."""
        async with self._token_lock:
            cached = self._service_token
            if cached is not None and time.monotonic() < cached[1]:
                return cached[0]
            metadata = await self.metadata()
            async with self._oauth(LAUNCH_SCOPE) as oauth:
                token = await oauth.fetch_token(metadata["token_endpoint"], grant_type="client_credentials",
                                                scope=LAUNCH_SCOPE)
            lifetime = float(token.get("expires_in", 60))
            self._service_token = (token["access_token"], time.monotonic() + max(0.0, lifetime - TOKEN_MARGIN_SECONDS))
            return token["access_token"]

    def forget_service_token(self) -> None:
        self._service_token = None

    async def launch(self, professional: str, patient: dict[str, Any], *, encounter: str | None = None,
                     return_url: str | None = None) -> str:
        """The single-use URL that opens Bouquet on `patient` for `professional` (IdNat_PS)."""
        body: dict[str, Any] = {"professional": professional, "patient": patient}
        if encounter:
            body["encounter"] = encounter
        if return_url:
            body["return_url"] = return_url
        for attempt in (1, 2):
            token = await self.service_token()
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                response = await http.post(f"{self.issuer}/api/launch", json=body,
                                           headers={"Authorization": f"Bearer {token}"})
            if response.status_code == 401 and attempt == 1:
                self.forget_service_token()  # revoked or expired early: one new token, one retry
                continue
            break
        if response.status_code == 201:
            return str(response.json()["launch_url"])
        answer = _json_or_empty(response)
        if response.status_code == 400:
            raise BouquetError(answer.get("message") or "Bouquet a refusé la demande.", status=400,
                               field=answer.get("field"))
        raise BouquetError(answer.get("error_description") or answer.get("message")
                           or f"Bouquet a répondu {response.status_code}.", status=502)


def professional_of(claims: dict[str, Any]) -> str | None:
    """The IdNat_PS a launch is for: the professional signed in, or the one a secretary acts for."""
    if claims.get("account_kind") == "secretary":
        acting_for = claims.get("acting_for") or {}
        return acting_for.get("SubjectNameID")
    return claims.get("SubjectNameID") if claims.get("account_kind") == "professional" else None


def _json_or_empty(response: httpx.Response) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
