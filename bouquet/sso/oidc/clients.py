"""The client registry: who may ask Bouquet to sign people in, and how they prove who they are.

Clients are registered by an administrator (`/admin/clients`), at the command line
(`bouquet clients add`), or by code — the catalogue plugin calls, when it approves a solution:

    from bouquet.sso.oidc import register_client

    with db.write() as session:
        registered = register_client(session, name="Agenda Santé", redirect_uris=["https://agenda.example/cb"],
                                     backchannel_logout_uri="https://agenda.example/logout/backchannel",
                                     owner="catalogue:42", created_by=ctx.account.label)
    registered.client.client_id, registered.secret   # the secret exists only here: hand it over once

`register_client` raises `InvalidClient` (field → French message) for bad values. Its scopes must be
known to the provider: the core's are, always; a plugin's (declared with `bouquet_scopes`) only
when the caller passes the app's registry, `known_scopes=known_scopes(request.app)` (from
`bouquet.sso.oidc.scopes`) — a session alone does not tell which plugins the app loaded.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from bouquet.foundation.db import utcnow
from bouquet.sso.oidc import tokens
from bouquet.sso.oidc.models import OidcClient
from bouquet.sso.oidc.scopes import CORE, KnownScopes, scope_list
from bouquet.web.origins import UrlProblem, check_web_url

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
SECRET_METHODS = ("client_secret_basic", "client_secret_post")  # a secret is made for these
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # RFC 8693 (bouquet.sso.oidc.exchange)
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials", TOKEN_EXCHANGE)
ALGORITHMS = ("RS256", "ES256")
DEFAULT_SCOPE = "openid profile email scope_all"
CLIENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{2,99}")


class InvalidClient(ValueError):
    """Some values of a client registration are invalid; `problems` maps each field to its French error."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in problems.items()))
        self.problems = problems


@dataclass(frozen=True)
class RegisteredClient:
    """A new client, and its secret in clear (None for public and private_key_jwt clients): shown once."""

    client: OidcClient
    secret: str | None


def uri_problem(uri: str, *, native: bool = False) -> str | None:
    """Why a redirect, logout or launch URI is refused: https (or http on this machine for development),
    a real host, no user name, no character that could break a header (`bouquet.web.origins`)."""
    scheme = uri.split(":", 1)[0].lower()
    if native and scheme not in {"http", "https"} and "." in scheme:
        # A native application's private-use scheme (RFC 8252 §7.1), e.g. fr.editeur.app:/cb
        if not re.fullmatch(r"[a-z][a-z0-9+.-]*:[A-Za-z0-9\-._~:/?\[\]@!$&()*+=%]*", uri):
            return f"« {uri} » n'est pas une adresse valide."
        return None
    try:
        check_web_url(uri)
    except UrlProblem as problem:
        return str(problem)
    return None


def _problems(values: dict[str, Any], known_scopes: KnownScopes) -> dict[str, str]:
    problems: dict[str, str] = {}
    method, grants = values["token_endpoint_auth_method"], values["grant_types"]
    if not values["name"].strip():
        problems["name"] = "Indiquez le nom de l'application, tel qu'il sera montré aux professionnels."
    if method not in AUTH_METHODS:
        problems["token_endpoint_auth_method"] = "Choisissez comment l'application s'authentifie."
    if not grants or any(grant not in GRANT_TYPES for grant in grants):
        problems["grant_types"] = "Choisissez au moins un usage : connexion des utilisateurs ou appels de service."
    elif "refresh_token" in grants and "authorization_code" not in grants:
        problems["grant_types"] = "Le renouvellement des jetons n'a de sens qu'avec la connexion des utilisateurs."
    elif method == "none" and "client_credentials" in grants:
        problems["grant_types"] = "Une application publique (sans secret) ne peut pas appeler les services en son nom."
    elif method == "none" and TOKEN_EXCHANGE in grants:
        problems["grant_types"] = "Une application publique (sans secret) ne peut pas échanger de jetons."
    if "authorization_code" in grants and not values["redirect_uris"]:
        problems["redirect_uris"] = "Indiquez au moins une adresse de retour."
    for field, native in (("redirect_uris", True), ("post_logout_redirect_uris", True)):
        for uri in values[field]:
            if problem := uri_problem(uri, native=native):
                problems[field] = problem
                break
    if values["backchannel_logout_uri"] and (problem := uri_problem(values["backchannel_logout_uri"])):
        problems["backchannel_logout_uri"] = problem
    unknown = [scope for scope in scope_list(values["scope"]) if scope not in known_scopes]
    if unknown:
        problems["scope"] = f"Portée inconnue : {', '.join(unknown)}."
    if values["id_token_signed_response_alg"] not in ALGORITHMS:
        problems["id_token_signed_response_alg"] = "Choisissez RS256 ou ES256."
    if method == "private_key_jwt":
        keys = (values["jwks"] or {}).get("keys") if isinstance(values["jwks"], dict) else None
        if not keys or not isinstance(keys, list) or not all(isinstance(key, dict) for key in keys):
            problems["jwks"] = "Collez le jeu de clés publiques (JWKS) de l'application."
        elif any("d" in key or "k" in key for key in keys):
            problems["jwks"] = "Ce jeu de clés contient une clé privée : ne transmettez que les clés publiques."
    if not values["pkce_required"] and (method == "none" or "authorization_code" not in grants):
        problems["pkce_required"] = ("Seule une ancienne application confidentielle (avec secret ou clé) peut être "
                                     "dispensée de PKCE ; une application publique doit toujours l'envoyer.")
    if values["client_id"] and not CLIENT_ID.fullmatch(values["client_id"]):
        problems["client_id"] = "L'identifiant compte 3 à 100 caractères : lettres, chiffres, point, tiret, tiret bas."
    return problems


def register_client(session: Session, *, name: str, redirect_uris: list[str] | tuple[str, ...] = (),
                    token_endpoint_auth_method: str = "client_secret_basic", grant_types: list[str] | None = None,
                    scope: str = DEFAULT_SCOPE, post_logout_redirect_uris: list[str] | tuple[str, ...] = (),
                    backchannel_logout_uri: str | None = None, jwks: dict[str, Any] | None = None,
                    first_party: bool = False, may_introspect: bool = False,
                    id_token_signed_response_alg: str = "RS256", client_uri: str | None = None,
                    owner: str | None = None, created_by: str = "", client_id: str | None = None,
                    known_scopes: KnownScopes | None = None, pkce_required: bool = True) -> RegisteredClient:
    """Register a client in the caller's transaction and return it with its secret (once).

    `known_scopes` is what `scope` may contain: the app's `KnownScopes` (`known_scopes(app)`, core
    and plugin scopes); by default the core's alone.
    `grant_types` defaults to the code flow with refresh tokens (issued when the client asks for
    `offline_access`). A `client_secret_basic` or `client_secret_post` client gets a new 256-bit
    secret, stored hashed. PKCE is required from every client; `pkce_required=False` is the
    exception for a legacy confidential client that cannot send it (the OpenID conformance suite's
    clients, docs/oidc.md). Raises `InvalidClient` for bad or duplicate values.
    """
    values: dict[str, Any] = {
        "name": name, "redirect_uris": [uri.strip() for uri in redirect_uris if uri.strip()],
        "token_endpoint_auth_method": token_endpoint_auth_method,
        "grant_types": list(grant_types) if grant_types is not None else ["authorization_code", "refresh_token"],
        "scope": " ".join(scope_list(scope)), "post_logout_redirect_uris": [u.strip() for u in post_logout_redirect_uris if u.strip()],
        "backchannel_logout_uri": (backchannel_logout_uri or "").strip() or None, "jwks": jwks,
        "id_token_signed_response_alg": id_token_signed_response_alg, "client_id": (client_id or "").strip(),
        "pkce_required": pkce_required,
    }
    problems = _problems(values, CORE if known_scopes is None else known_scopes)
    if values["client_id"] and "client_id" not in problems and session.exec(
            select(OidcClient.id).where(OidcClient.client_id == values["client_id"])).first():
        problems["client_id"] = "Cet identifiant est déjà celui d'une autre application."
    if problems:
        raise InvalidClient(problems)
    secret = tokens.new_secret() if token_endpoint_auth_method in SECRET_METHODS else None
    client = OidcClient(
        client_id=values["client_id"] or f"bq-{secrets.token_urlsafe(12)}", name=name.strip(),
        client_uri=(client_uri or "").strip() or None, secret_hash=tokens.hash_secret(secret) if secret else None,
        token_endpoint_auth_method=token_endpoint_auth_method, jwks=jwks if token_endpoint_auth_method == "private_key_jwt" else None,
        redirect_uris=values["redirect_uris"], post_logout_redirect_uris=values["post_logout_redirect_uris"],
        backchannel_logout_uri=values["backchannel_logout_uri"], grant_types=values["grant_types"],
        scope=values["scope"], first_party=first_party, may_introspect=may_introspect,
        id_token_signed_response_alg=id_token_signed_response_alg, owner=owner, created_by=created_by[:200],
        pkce_required=pkce_required,
    )
    session.add(client)
    session.flush()
    return RegisteredClient(client, secret)


def find_client(session: Session, client_id: str) -> OidcClient | None:
    return session.exec(select(OidcClient).where(OidcClient.client_id == client_id)).first()


def new_secret(session: Session, client: OidcClient) -> str:
    """Replace a `client_secret_basic` or `client_secret_post` client's secret; the old one stops working at once."""
    secret = tokens.new_secret()
    client.secret_hash, client.updated_at = tokens.hash_secret(secret), utcnow()
    session.add(client)
    return secret


def set_active(session: Session, client: OidcClient, active: bool) -> int:
    """Enable or disable a client; disabling revokes its tokens. Returns how many were revoked."""
    client.disabled_at, client.updated_at = (None if active else utcnow()), utcnow()
    session.add(client)
    return 0 if active else tokens.revoke_client(session, client.client_id, "client_disabled")
