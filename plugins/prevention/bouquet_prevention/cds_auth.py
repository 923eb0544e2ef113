"""Who is calling the CDS Hooks service: a trusted CDS client's signed JWT (CDS Hooks 2.0, "Trusting
CDS Clients"), or later a Bouquet access token.

A CDS client sends `Authorization: Bearer <JWT>`, signed with its private key (asymmetric
algorithms only), header `kid`, claims `iss`, `aud` (the URL of the endpoint it calls), `exp`,
`iat`, `jti`. The service checks the signature against the JWK Set registered for that `iss`
(table `prevention_cds_client`, see `cds_clients.py`; a `jku` header is never fetched, so a
token cannot point at keys of its own choosing), the audience, the times (at most
`MAX_LIFETIME_SECONDS` ahead, `LEEWAY_SECONDS` of clock skew), and refuses a `jti` already seen
(table `prevention_cds_jti`, shared by every worker).
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import JSONResponse

from bouquet.db import utcnow
from bouquet_prevention.models import CdsClient, CdsJwtId

if TYPE_CHECKING:
    from bouquet.context import RequestContext
    from bouquet.db import Database

__all__ = ["ALGORITHMS", "CdsAuthError", "CdsCaller", "authenticate", "authenticate_bouquet_access_token"]

#: Asymmetric JWS algorithms only (CDS Hooks forbids `none` and shared-secret HMAC).
ALGORITHMS = ("ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA")
MAX_LIFETIME_SECONDS = 300
LEEWAY_SECONDS = 60


class CdsAuthError(Exception):
    """The caller is not authenticated: 401 with an OAuth-style error code and a French reason."""

    def __init__(self, error: str, reason: str) -> None:
        super().__init__(reason)
        self.error, self.reason = error, reason

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.error, "reason": self.reason}, status_code=401,
                            headers={"WWW-Authenticate": f'Bearer realm="bouquet-prevention", error="{self.error}"'})


@dataclass(frozen=True)
class CdsCaller:
    """An authenticated caller: `iss` of a CDS client (or the client id of a Bouquet access token)."""

    iss: str
    name: str
    kind: str = "cds-client"
    tenant: str | None = None

    @property
    def audit_actor(self) -> str:
        return f"cds-client:{self.iss}" if self.kind == "cds-client" else f"oauth-client:{self.iss}"


async def authenticate(request: Request, ctx: RequestContext, audiences: Collection[str]) -> CdsCaller:
    """The caller of this request, or CdsAuthError. `audiences`: the URLs `aud` may name (the endpoint called)."""
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise CdsAuthError("invalid_request", "En-tête « Authorization: Bearer <JWT> » manquant.")
    token = token.strip()
    unverified = _peek(token)
    if unverified is None:
        caller = await authenticate_bouquet_access_token(request, ctx, token)
        if caller is not None:
            return caller
        raise CdsAuthError("invalid_token", "Jeton illisible : un JWT signé (JWS compact) est attendu.")
    header, claims = unverified
    iss = claims.get("iss")
    if not isinstance(iss, str) or not iss:
        raise CdsAuthError("invalid_token", "Le JWT n'a pas de champ « iss ».")
    if not isinstance(header.get("kid"), str):
        raise CdsAuthError("invalid_token", "L'en-tête du JWT n'a pas de champ « kid ».")
    client = await ctx.db.run(_client, ctx.db, iss)
    if client is None:
        raise CdsAuthError("invalid_client", f"Client CDS inconnu ou désactivé (iss « {iss[:200]} »).")
    try:
        keys = KeySet.import_key_set(client.jwks)
        verified = jwt.decode(token, keys, algorithms=list(ALGORITHMS)).claims
    except JoseError as exc:
        raise CdsAuthError("invalid_token", f"Signature du JWT refusée ({exc.error}).") from None
    expires = _check_claims(verified, audiences, time.time())
    if not await ctx.db.run(_remember, ctx.db, iss, str(verified["jti"]), expires):
        raise CdsAuthError("invalid_token", "Ce JWT a déjà été utilisé (jti rejoué).")
    tenant = verified.get("tenant")
    return CdsCaller(iss, client.name, tenant=tenant if isinstance(tenant, str) else None)


async def authenticate_bouquet_access_token(request: Request, ctx: RequestContext, token: str) -> CdsCaller | None:
    """EXTENSION POINT: accept a Bouquet OAuth 2.0 access token (opaque, issued by the portal's OIDC
    provider) from software acting for a signed-in professional.

    Returns None today, so only CDS client JWTs are accepted. When the provider offers plugins a
    public way to validate access tokens (scope "prevention" or similar), check the token here and
    return `CdsCaller(iss=<client_id>, name=<client name>, kind="bouquet-token")`.
    """
    return None


def _peek(token: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The header and claims of a compact JWS, unverified (to find the client and its keys); None if not one."""
    try:
        compact = jws.extract_compact(token.encode())
        claims = json.loads(compact.payload)
    except (JoseError, ValueError, TypeError):
        return None
    return (compact.headers(), claims) if isinstance(claims, dict) else None


def _check_claims(claims: dict[str, Any], audiences: Collection[str], now: float) -> datetime:
    """Check aud, exp, iat and jti; return the expiry (when the jti may be forgotten)."""
    for name in ("aud", "exp", "iat", "jti"):
        if claims.get(name) in (None, "", []):
            raise CdsAuthError("invalid_token", f"Le JWT n'a pas de champ « {name} ».")
    audience = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if not any(value in audiences for value in audience):
        raise CdsAuthError("invalid_token", "Le champ « aud » du JWT ne désigne pas ce service "
                                            f"(attendu : {sorted(audiences)[0]}).")
    exp, iat = claims["exp"], claims["iat"]
    if not isinstance(exp, int | float) or not isinstance(iat, int | float) or isinstance(exp, bool):
        raise CdsAuthError("invalid_token", "Les champs « exp » et « iat » du JWT doivent être des nombres.")
    if exp <= now - LEEWAY_SECONDS:
        raise CdsAuthError("invalid_token", "Le JWT a expiré.")
    if iat > now + LEEWAY_SECONDS:
        raise CdsAuthError("invalid_token", "Le JWT est daté du futur (champ « iat »).")
    if exp > now + MAX_LIFETIME_SECONDS + LEEWAY_SECONDS:
        raise CdsAuthError("invalid_token", f"Le JWT vit trop longtemps (au plus {MAX_LIFETIME_SECONDS} s).")
    if not isinstance(claims["jti"], str) or len(claims["jti"]) > 255:
        raise CdsAuthError("invalid_token", "Le champ « jti » du JWT doit être une chaîne d'au plus 255 caractères.")
    return datetime.fromtimestamp(exp, UTC)


def _client(db: Database, iss: str) -> CdsClient | None:
    with db.session() as session:
        return session.exec(select(CdsClient).where(CdsClient.iss == iss, col(CdsClient.disabled_at).is_(None))).first()


def _remember(db: Database, iss: str, jti: str, expires_at: datetime) -> bool:
    """Store the jti; False when it was already there (a replay), even if another worker stored it just now."""
    try:
        with db.write() as session:
            forgotten = utcnow() - timedelta(seconds=LEEWAY_SECONDS)
            session.execute(delete(CdsJwtId).where(col(CdsJwtId.expires_at) < forgotten))
            if session.exec(select(CdsJwtId.id).where(CdsJwtId.iss == iss, CdsJwtId.jti == jti)).first() is not None:
                return False
            session.add(CdsJwtId(iss=iss, jti=jti, expires_at=expires_at + timedelta(seconds=LEEWAY_SECONDS)))
    except IntegrityError:
        return False  # the unique constraint caught a concurrent use of the same jti
    return True
