"""The OpenID Connect provider's tables: clients, codes, tokens, consents, keys, assertion ids, logout outbox.

Nothing the provider needs lives in process memory: every worker reads and writes these rows, so
any worker can finish a flow another one started. Codes and tokens are stored as SHA-256 hashes
of 256-bit random values (what is stored cannot be replayed); secrets the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, String, Text, UniqueConstraint, true
from sqlmodel import Field, SQLModel

from bouquet.foundation import generations
from bouquet.foundation.db import UtcDateTime, utcnow
from bouquet.sso.oidc.scopes import OFFLINE_ACCESS, scope_list
from bouquet.sso.oidc.secrets import secret_matches


class OidcClient(SQLModel, table=True):
    """A relying party (or a backend using client credentials), and authlib's `ClientMixin` over it.

    `token_endpoint_auth_method` is `client_secret_basic` (secret stored hashed), `private_key_jwt`
    (keys in `jwks`) or `none` (a public client: PKCE is then required).
    """

    __tablename__ = "oidc_client"

    id: int | None = Field(default=None, primary_key=True)
    client_id: str = Field(sa_column=Column(String(100), unique=True, nullable=False))
    name: str = Field(max_length=200, description="Shown to people on the consent page")
    client_uri: str | None = Field(default=None, max_length=500, description="Home page of the application")
    secret_hash: str | None = Field(default=None, max_length=64)
    token_endpoint_auth_method: str = Field(default="client_secret_basic", max_length=40)
    jwks: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    redirect_uris: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    post_logout_redirect_uris: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    backchannel_logout_uri: str | None = Field(default=None, max_length=1000)
    grant_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    scope: str = Field(default="openid", max_length=1000, description="Scopes it may ask for, space-separated")
    first_party: bool = Field(default=False, description="Operated with the portal: no consent page")
    may_introspect: bool = Field(default=False, description="A resource server: may introspect any token")
    pkce_required: bool = Field(default=True, sa_column_kwargs={"server_default": true()},
                                description="False only for a legacy confidential client that cannot send PKCE")
    id_token_signed_response_alg: str = Field(default="RS256", max_length=10)
    owner: str | None = Field(default=None, max_length=200, description="Who asked for it (catalogue entry, vendor)")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    created_by: str = Field(default="", max_length=200)
    updated_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UtcDateTime)

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == "none"

    @property
    def client_metadata(self) -> dict[str, Any]:
        """What authlib's endpoints read from client metadata (RP-initiated logout)."""
        return {"post_logout_redirect_uris": list(self.post_logout_redirect_uris)}

    # --- authlib.oauth2.rfc6749.ClientMixin ---
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # Never: OpenID Connect Core §3.1.2.1 makes redirect_uri REQUIRED, even with one registered.
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        """The asked scopes this client may have; others (unknown ones included) are dropped, as
        OpenID Connect Core §3.1.2.1 asks. `offline_access` comes with the `refresh_token` grant."""
        allowed = scope_list(self.scope)
        if "refresh_token" in self.grant_types:
            allowed.append(OFFLINE_ACCESS)
        if not scope:
            return " ".join(value for value in allowed if value != OFFLINE_ACCESS)
        return " ".join(value for value in scope_list(scope) if value in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris  # exact string match, nothing else

    def check_client_secret(self, client_secret: str) -> bool:

        return self.secret_hash is not None and secret_matches(self.secret_hash, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


class AuthorizationCode(SQLModel, table=True):
    """A code handed to a client's redirect URI; usable once, for a short time."""

    __tablename__ = "oidc_authorization_code"
    __table_args__ = (Index("ix_oidc_authorization_code_client_nonce", "client_id", "nonce"),)

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    client_id: str = Field(max_length=100)
    account_id: int = Field(foreign_key="account.id")
    acting_for_id: int | None = Field(default=None, foreign_key="account.id")
    redirect_uri: str = Field(max_length=2000)
    scope: str = Field(max_length=1000)
    nonce: str | None = Field(default=None, max_length=255)
    code_challenge: str | None = Field(default=None, max_length=128)
    code_challenge_method: str | None = Field(default=None, max_length=10)
    sid: str = Field(max_length=64)
    auth_time: datetime = Field(sa_type=UtcDateTime)
    acr: str | None = Field(default=None, max_length=200)
    amr: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime, index=True)
    used_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    patient_context_id: str | None = Field(default=None, max_length=64,
                                           description="The patient context a SMART launch bound to the code")

    # --- authlib.oidc.core.AuthorizationCodeMixin ---
    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return int(self.auth_time.timestamp())

    def get_acr(self) -> str | None:
        return self.acr

    def get_amr(self) -> list[str]:
        return list(self.amr)


class Token(SQLModel, table=True):
    """An access token and, for user grants, its refresh token.

    Every row issued from one authorization shares a `grant_id`: refreshing adds a row and marks the
    old one's refresh token used; presenting a used refresh token again revokes the whole grant.
    """

    __tablename__ = "oidc_token"

    id: int | None = Field(default=None, primary_key=True)
    grant_id: str = Field(max_length=64, index=True)
    client_id: str = Field(max_length=100, index=True)
    account_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    acting_for_id: int | None = Field(default=None, foreign_key="account.id")
    scope: str = Field(default="", max_length=1000)
    access_token_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    refresh_token_hash: str | None = Field(default=None, sa_column=Column(String(64), unique=True, nullable=True))
    issued_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    access_expires_at: datetime = Field(sa_type=UtcDateTime)
    refresh_expires_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    refresh_used_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    revoked_reason: str | None = Field(default=None, max_length=100)
    code_id: int | None = Field(default=None, index=True, description="The authorization code the grant began with")
    sid: str | None = Field(default=None, max_length=64, index=True, description="The portal sign-in it came from")
    auth_time: datetime | None = Field(default=None, sa_type=UtcDateTime)
    acr: str | None = Field(default=None, max_length=200)
    amr: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    patient_context_id: str | None = Field(default=None, max_length=64,
                                           description="The patient context the token is bound to (SMART launch, exchange)")
    audience: str | None = Field(default=None, max_length=200,
                                 description="The only API that accepts it (token exchange); None: any Bouquet API")


class Consent(SQLModel, table=True):
    """A person let a third-party client receive these scopes; remembered until revoked."""

    __tablename__ = "oidc_consent"
    __table_args__ = (UniqueConstraint("account_id", "client_id", name="uq_oidc_consent_account_client"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    client_id: str = Field(max_length=100)
    scope: str = Field(max_length=1000)
    granted_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class SigningKey(SQLModel, table=True):
    """A key pair that signs ID tokens and logout tokens. The private half is sealed (AES-GCM).

    It is published in the JWKS from `created_at` to `unpublish_at`, and signs from `activates_at`
    to `retires_at`, so relying parties see a key before it is used and after it stops being used.
    """

    __tablename__ = "oidc_signing_key"

    id: int | None = Field(default=None, primary_key=True)
    kid: str = Field(sa_column=Column(String(100), unique=True, nullable=False))
    alg: str = Field(max_length=10, index=True)
    public_jwk: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    sealed_private_jwk: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    activates_at: datetime = Field(sa_type=UtcDateTime)
    retires_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    unpublish_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class ClientAssertionJti(SQLModel, table=True):
    """A `private_key_jwt` assertion already used (its `jti`), kept until it expires: no replay."""

    __tablename__ = "oidc_assertion_jti"
    __table_args__ = (UniqueConstraint("client_id", "jti", name="uq_oidc_assertion_jti"),)

    id: int | None = Field(default=None, primary_key=True)
    client_id: str = Field(max_length=100)
    jti: str = Field(max_length=255)
    expires_at: datetime = Field(sa_type=UtcDateTime, index=True)


class BackchannelLogout(SQLModel, table=True):
    """One logout token to deliver to one client (the outbox of back-channel logout).

    Any worker may deliver it: it first claims the row (`claimed_until`), so two workers never send
    the same one at once; failures are retried with a growing delay, then given up and recorded.
    """

    __tablename__ = "oidc_backchannel_logout"

    id: int | None = Field(default=None, primary_key=True)
    client_id: str = Field(max_length=100)
    uri: str = Field(max_length=1000)
    sub: str = Field(max_length=100)
    sid: str = Field(max_length=64)
    reason: str = Field(default="", max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    claimed_by: str | None = Field(default=None, max_length=100)
    claimed_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    abandoned_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_status: int | None = None
    last_error: str | None = Field(default=None, max_length=500)


# Workers cache clients and keys; any change of them moves these counters in its own transaction.
CLIENTS_GENERATION, KEYS_GENERATION = "oidc_clients", "signing_keys"
generations.watch(OidcClient, CLIENTS_GENERATION)
generations.watch(SigningKey, KEYS_GENERATION)

TABLES = (OidcClient, AuthorizationCode, Token, Consent, SigningKey, ClientAssertionJti, BackchannelLogout)
