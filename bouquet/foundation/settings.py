"""Settings, read from the environment (`BOUQUET_` prefix) and validated once at start."""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

VAR_DIR = Path("var")


class SettingsError(Exception):
    """A setting has a value the portal cannot run with; the message says which and why."""


class Settings(BaseSettings):
    """Everything an operator can set. Each field maps to `BOUQUET_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="BOUQUET_", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{VAR_DIR}/bouquet.foundation.db",
        description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://user:pw@host/db",
    )
    base_url: str = Field(
        default="http://localhost:8000",
        description="Public origin of the portal (scheme://host[:port]); WebAuthn and OIDC derive from it",
    )
    secret_key: str = Field(
        default="",
        description="At least 32 characters, the same on every worker; derived keys sign CSRF tokens and seal the audit chain",
    )
    audit_key: str = Field(default="", description="Key of the audit hash chain; defaults to one derived from secret_key")
    plugins: str | None = Field(
        default=None,
        description="Comma-separated entry-point names to load; unset loads all, empty loads none",
    )
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_absolute_hours: int = Field(default=12, ge=1, le=24 * 7)
    signin_lock_minutes: int = Field(default=15, ge=1, le=24 * 60,
                                     description="How long guessing is locked after 10 consecutive failures")
    signin_source_free_failures: int = Field(
        default=50, ge=3, le=10_000,
        description="Failed guesses one source address gets before it is slowed (locked after 20 times as many): "
                    "size it for everyone behind your largest NAT")
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated addresses or networks (CIDR) of the reverse proxies whose X-Forwarded-For is "
                    "believed; empty: none, the peer address is the source")
    metrics_token: str = Field(
        default="",
        description="Bearer token the Prometheus scraper sends to GET /metrics (at least 32 characters); "
                    "empty: /metrics is for administrators only")
    panel_timeout_seconds: float = Field(default=4.0, gt=0, le=60)
    launch_handle_seconds: int = Field(default=300, ge=10, le=3600,
                                       description="How long a launch link from the practice software stays usable")
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024,
                                description="Largest body of a request that is not an upload (JSON, forms), unless its route declares more")
    max_upload_bytes: int = Field(default=25 * 1024 * 1024, ge=1024, le=512 * 1024 * 1024,
                                  description="Largest body of any request: file uploads (multipart) and routes that declare more")
    max_json_depth: int = Field(default=32, ge=4, le=256, description="Deepest nesting of arrays and objects a JSON body may have")
    log_level: str = Field(default="INFO")
    log_json: bool = Field(default=True, description="One JSON object per log line")
    check_migrations: bool = Field(default=True, description="Refuse to start on a database that is not migrated")
    # Pro Santé Connect, as an upstream identity provider (docs/psc.md). Unset issuer: no PSC button.
    psc_issuer: str = Field(default="", description="PSC's issuer, e.g. https://auth.esante.gouv.fr/auth/realms/esante-wallet")
    psc_client_id: str = Field(default="", description="Bouquet's client_id at PSC")
    psc_client_secret: str = Field(default="", description="Bouquet's client secret at PSC (client_secret_basic)")
    psc_scope: str = Field(default="openid scope_all", description="Scopes asked of PSC")
    psc_acr_values: str = Field(default="eidas1", description="The authentication level asked of PSC, and required")
    psc_create_accounts: bool = Field(default=False,
                                      description="Create the account of a professional PSC knows and Bouquet does not")
    psc_only_professions: str = Field(default="", description="Comma-separated profession codes (e.g. 10,21) whose "
                                                               "professionals may sign in only through PSC")

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        scheme = value.split("://", 1)[0]
        if scheme not in {"sqlite", "postgresql+psycopg", "postgresql"}:
            raise ValueError("must start with sqlite:/// or postgresql+psycopg://")
        if scheme == "postgresql":
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an absolute http(s) URL such as https://bouquet.example.fr")
        if parts.path not in {"", "/"} or parts.query or parts.fragment:
            raise ValueError("must be an origin only, without path, query or fragment")
        return f"{parts.scheme}://{parts.netloc}"

    @field_validator("secret_key", "audit_key")
    @classmethod
    def _key(cls, value: str) -> str:
        if value and len(value) < 32:
            raise ValueError("must be at least 32 characters long (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies(cls, value: str) -> str:
        for item in (part.strip() for part in value.split(",")):
            if item:
                try:
                    ipaddress.ip_network(item, strict=False)
                except ValueError:
                    raise ValueError(f"{item!r} is not an IP address or network (e.g. 10.0.0.5, 10.0.0.0/24)") from None
        return value

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token(cls, value: str) -> str:
        if value and len(value) < 32:
            raise ValueError("must be at least 32 characters long")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return value.upper()

    @property
    def https(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or "localhost"

    @property
    def psc_enabled(self) -> bool:
        return bool(self.psc_issuer and self.psc_client_id)

    @property
    def psc_only(self) -> frozenset[str]:
        """Profession codes for which the password sign-in is turned off (PSC only)."""
        return frozenset(code.strip() for code in self.psc_only_professions.split(",") if code.strip())

    @property
    def plugin_names(self) -> list[str] | None:
        """The plugins asked for, or None for "every installed plugin"."""
        if self.plugins is None:
            return None
        return [name.strip() for name in self.plugins.split(",") if name.strip()]

    @property
    def proxy_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        """The networks of the trusted reverse proxies (`trusted_proxies`)."""
        return [ipaddress.ip_network(item.strip(), strict=False) for item in self.trusted_proxies.split(",")
                if item.strip()]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(**overrides: object) -> Settings:
    """Read the environment, apply `overrides`, and fail with one readable message per bad value."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = "BOUQUET_" + str(error["loc"][0]).upper() if error["loc"] else "BOUQUET_?"
            lines.append(f"  {name}: {error['msg'].removeprefix('Value error, ')}")
        raise SettingsError("Invalid settings:\n" + "\n".join(lines)) from None
    if not settings.secret_key:
        settings.secret_key = _local_secret_key()
    return settings


def _local_secret_key() -> str:
    """A development key kept in ./var so that every worker on this host shares it."""
    path = VAR_DIR / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        draft = path.with_name(f"secret_key.{secrets.token_hex(8)}")
        draft.write_text(secrets.token_urlsafe(48), encoding="ascii")
        draft.chmod(0o600)
        try:
            # link() is atomic: two workers starting together end up with the same key.
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text(encoding="ascii").strip()
