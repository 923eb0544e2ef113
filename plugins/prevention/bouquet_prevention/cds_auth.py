"""Who is calling the CDS Hooks service: a trusted CDS client's signed JWT (CDS Hooks 2.0, "Trusting
CDS Clients"), or a Bouquet access token.

A CDS client sends `Authorization: Bearer <JWT>`, signed with its private key (asymmetric
algorithms only), header `kid`, claims `iss`, `aud` (the URL of the endpoint it calls), `exp`,
`iat`, `jti`. The service checks the signature against the JWK Set registered for that `iss`
(table `prevention_cds_client`, see `cds_clients.py`; a `jku` header is never fetched, so a
token cannot point at keys of its own choosing), the audience, the times (at most
`MAX_LIFETIME_SECONDS` ahead, `LEEWAY_SECONDS` of clock skew), and refuses a `jti` already seen
(table `prevention_cds_jti`, shared by every worker).

A Bouquet access token (opaque, issued by the portal's OIDC provider) is accepted instead when it
is live and carries the `launch` scope, the practice software's (its backend gets one with client
credentials; software a professional signed into gets one with the code flow); the caller is then
the OAuth client, and the professional when the token was issued for one.

A token bound to a patient context (a SMART launch, or an RFC 8693 exchange naming a patient) may
only ask about that patient (`CdsCaller.bound_patient_ins`; `cds.py` answers 403 otherwise), as
`/fhir/Patient/{id}` does. Only callers with no patient binding may ask about any patient: a
registered CDS client's JWT and the practice software's client-credentials token.
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

from bouquet.api.accounts import Account
from bouquet.api.db import utcnow
from bouquet.api.patient import PatientContextRecord
from bouquet_prevention.models import CdsClient, CdsJwtId

if TYPE_CHECKING:
    from bouquet.api.db import Database
    from bouquet.api.web import RequestContext

__all__ = ["ALGORITHMS", "CdsAuthError", "CdsCaller", "authenticate", "authenticate_bouquet_access_token"]

#: Asymmetric JWS algorithms only (CDS Hooks forbids `none` and shared-secret HMAC).
ALGORITHMS = ("ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA")
#: The scope a Bouquet access token needs here: the practice software's (SMART's `launch`).
ACCESS_TOKEN_SCOPE = "launch"
ACCESS_TOKEN_AUDIENCE = "bouquet:plugin:prevention"  # the only audience, besides none, a token may name
MAX_ACCESS_TOKEN_LENGTH = 200  # as the core's bearer helper: longer is no token of ours
MAX_LIFETIME_SECONDS = 300
LEEWAY_SECONDS = 60


class CdsAuthError(Exception):
    """The caller is not authenticated: 401 with an OAuth-style error code and a French reason."""

    def __init__(self, error: str, reason: str, status_code: int = 401) -> None:
        super().__init__(reason)
        self.error, self.reason, self.status_code = error, reason, status_code

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.error, "reason": self.reason}, status_code=self.status_code,
                            headers={"WWW-Authenticate": f'Bearer realm="bouquet-prevention", error="{self.error}"'})


@dataclass(frozen=True)
class CdsCaller:
    """An authenticated caller: `iss` of a CDS client (or the client id of a Bouquet access token)."""

    iss: str
    name: str
    kind: str = "cds-client"
    tenant: str | None = None
    account_id: int | None = None  # a Bouquet access token issued for a signed-in professional
    on_behalf_of: str | None = None  # that professional as the audit trail names them (and whom they act for)
    bound_patient_ins: str | None = None  # '<oid>|<matricule>' of the patient the token is bound to

    @property
    def audit_actor(self) -> str:
        """"client X on behalf of Y": the software that called, and the person it called for."""
        if self.kind == "cds-client":
            return f"cds-client:{self.iss}"
        if self.on_behalf_of is not None:
            return f"oauth-client:{self.iss} on behalf of {self.on_behalf_of}"
        if self.account_id is not None:
            return f"oauth-client:{self.iss} on behalf of account:{self.account_id}"
        return f"oauth-client:{self.iss}"

    def may_ask_about(self, patient_ins: str) -> bool:
        """Whether this caller may ask about `patient_ins`: any patient without a patient binding."""
        return self.bound_patient_ins is None or self.bound_patient_ins == patient_ins


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
        raise CdsAuthError("invalid_token", "Jeton refusé : ni un JWT signé de client CDS (JWS compact), "
                                            "ni un jeton d'accès Bouquet valide.")
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
    """The caller when `token` is a live Bouquet access token with the `launch` scope; None when it is
    no Bouquet token (unknown, expired, revoked); CdsAuthError (403) when it lacks the scope."""
    from bouquet.api.oauth import validate_access_token

    if len(token) >= MAX_ACCESS_TOKEN_LENGTH:
        return None

    def lookup() -> tuple[Any, str | None, str | None, str | None]:
        from bouquet.api.oauth import OidcClient

        with ctx.db.session() as session:
            grant = validate_access_token(session, token)
            if grant is None:
                return None, None, None, None
            name = session.exec(select(OidcClient.name).where(OidcClient.client_id == grant.client_id)).first()
            bound = None
            if grant.patient_context_id is not None:
                record = session.get(PatientContextRecord, grant.patient_context_id)
                # A binding to a context that no longer exists binds to no one: refuse every patient.
                bound = record.patient_ins if record is not None else _UNKNOWN_PATIENT
            return grant, name, bound, _person(session, grant.account_id, grant.acting_for_id)

    grant, name, bound, person = await ctx.db.run(lookup)
    if grant is None or getattr(grant, "audience", None) not in (None, ACCESS_TOKEN_AUDIENCE):
        return None  # a token exchanged for another API (RFC 8693 audience) is not one for this service
    if not grant.has_scope(ACCESS_TOKEN_SCOPE):
        raise CdsAuthError("insufficient_scope", f"Ce jeton d'accès ne porte pas le scope « {ACCESS_TOKEN_SCOPE} » "
                                                 "qu'exige le service CDS.", status_code=403)
    return CdsCaller(grant.client_id, name or grant.client_id, kind="bouquet-token", account_id=grant.account_id,
                     on_behalf_of=person, bound_patient_ins=bound)


_UNKNOWN_PATIENT = "(contexte patient disparu)"


def _person(session: Any, account_id: int | None, acting_for_id: int | None) -> str | None:
    """The professional a token was issued for, as the audit trail names accounts (and whom they act for)."""
    if account_id is None:
        return None
    account = session.get(Account, account_id)
    if account is None:
        return f"account:{account_id}"
    if acting_for_id is not None and (principal := session.get(Account, acting_for_id)) is not None:
        return f"{account.label} for {principal.label}"
    return account.label


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
