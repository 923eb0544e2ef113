"""The OpenID Connect provider as a built-in plugin: `bouquet keys …` and `bouquet clients …` commands,
back-channel logout when a portal session ends, the delivery loop of each worker, the admin menu.

Registered by `bouquet.plugins.manager.DEFAULT_PLUGINS`. Heavy imports happen inside the hooks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bouquet import NavEntry, hookimpl
from bouquet.foundation import audit
from bouquet.foundation.audit import cli_actor
from bouquet.foundation.db import open_database
from bouquet.foundation.keys import audit_key
from bouquet.foundation.settings import load_settings
from bouquet.plugins.manager import Plugins
from bouquet.sso.oidc import keys as signing
from bouquet.sso.oidc import logout
from bouquet.sso.oidc.clients import AUTH_METHODS, DEFAULT_SCOPE, InvalidClient, register_client
from bouquet.sso.oidc.logout import DeliveryLoop
from bouquet.sso.oidc.models import OidcClient, SigningKey
from bouquet.sso.oidc.scopes import collect

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from bouquet.foundation.db import Database
    from bouquet.web.context import RequestContext


@hookimpl
def bouquet_session_ended(db: Database, account_id: int, sid: str, reason: str) -> None:
    logout.enqueue(db, account_id, sid, reason)


@hookimpl
def bouquet_startup(app: Starlette) -> None:
    app.state.oidc_delivery = DeliveryLoop(app)
    app.state.oidc_delivery.start()


@hookimpl
async def bouquet_shutdown(app: Starlette) -> None:
    loop = getattr(app.state, "oidc_delivery", None)
    if loop is not None:
        await loop.stop()


@hookimpl
def bouquet_nav(ctx: RequestContext) -> list[NavEntry]:
    if ctx.account is not None and ctx.account.kind == "admin":
        return [NavEntry("Applications", "/admin/clients", order=91)]
    return []


def _audit(database: Any, action: str, resource: str, details: dict[str, Any]) -> None:
    settings = load_settings()
    with database.write() as session:
        audit.append(session, audit_key(settings), audit.AuditRecord(
            actor=cli_actor(), action=action, resource=resource, details=details))


@hookimpl
def bouquet_cli(group: click.Group) -> None:
    @group.group("keys")
    def keys() -> None:
        """The OpenID provider's signing keys."""

    @keys.command("rotate")
    @click.option("--publish-ahead", default=3600, show_default=True, type=click.IntRange(0),
                  help="Seconds the new keys are published before they sign (relying parties cache the JWKS).")
    def rotate_command(publish_ahead: int) -> None:
        """Add new RS256 and ES256 keys; the current ones sign until the new ones take over, and stay
        published a day longer for the tokens they signed."""
        from datetime import timedelta


        settings = load_settings()
        with open_database(load_settings().database_url) as database:
            with database.write() as session:
                signing.ensure_keys(session, settings.secret_key)
                new = signing.rotate(session, settings.secret_key, publish_ahead=timedelta(seconds=publish_ahead))
                described = [(key.alg, key.kid, key.activates_at.isoformat(timespec="seconds")) for key in new]
            _audit(database, "oidc.keys_rotated", "oidc:signing-keys", {"kids": [kid for _, kid, _ in described]})
        for alg, kid, since in described:
            click.echo(f"{alg} key {kid} published now, signs from {since}.")

    @keys.command("list")
    def list_keys() -> None:
        """Every key still published, with when it signs."""
        from sqlmodel import select


        with open_database(load_settings().database_url) as database, database.session() as session:
            for key in session.exec(select(SigningKey).order_by(SigningKey.id)).all():
                until = key.retires_at.isoformat(timespec="seconds") if key.retires_at else "…"
                gone = f", unpublished {key.unpublish_at.isoformat(timespec='seconds')}" if key.unpublish_at else ""
                click.echo(f"{key.alg} {key.kid}: signs {key.activates_at.isoformat(timespec='seconds')} → {until}{gone}")

    @group.group("clients")
    def clients_group() -> None:
        """OpenID Connect clients (relying parties and backends)."""

    @clients_group.command("add")
    @click.option("--name", required=True, help="Shown to people on the consent page.")
    @click.option("--redirect-uri", "redirect_uris", multiple=True, help="Exact redirect URI (repeat for several).")
    @click.option("--auth-method", type=click.Choice(list(AUTH_METHODS)),
                  default="client_secret_basic", show_default=True)
    @click.option("--jwks", "jwks_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                  help="The client's public JWKS (for private_key_jwt).")
    @click.option("--grant-type", "grant_types", multiple=True,
                  type=click.Choice(["authorization_code", "refresh_token", "client_credentials",
                                     "urn:ietf:params:oauth:grant-type:token-exchange"]),
                  help="Default: authorization_code and refresh_token. Token exchange (RFC 8693) lets a "
                       "confidential backend narrow its users' access tokens to one plugin API.")
    @click.option("--scope", default=None, help="Scopes it may ask for, space-separated.")
    @click.option("--post-logout-redirect-uri", "post_logout_redirect_uris", multiple=True)
    @click.option("--backchannel-logout-uri", default=None)
    @click.option("--first-party", is_flag=True, help="Operated with the portal: no consent page.")
    @click.option("--introspect", is_flag=True, help="A resource server that may introspect any token.")
    @click.option("--alg", type=click.Choice(["RS256", "ES256"]), default="RS256", show_default=True,
                  help="ID token signing algorithm.")
    @click.option("--client-id", default=None, help="Choose the client_id (default: generated).")
    @click.option("--legacy-without-pkce", is_flag=True,
                  help="A legacy confidential client that cannot send PKCE (e.g. the OpenID conformance suite's).")
    def add_command(name: str, redirect_uris: tuple[str, ...], auth_method: str, jwks_file: Path | None,
                    grant_types: tuple[str, ...], scope: str | None, post_logout_redirect_uris: tuple[str, ...],
                    backchannel_logout_uri: str | None, first_party: bool, introspect: bool, alg: str,
                    client_id: str | None, legacy_without_pkce: bool) -> None:
        """Register a client; prints its client_id and, once, its secret. Its scopes may be the core's
        and those the plugins loaded by BOUQUET_PLUGINS declare."""

        jwks = json.loads(jwks_file.read_text(encoding="utf-8")) if jwks_file else None
        known = collect(Plugins(load_settings().plugin_names))
        try:
            with open_database(load_settings().database_url) as database:
                with database.write() as session:
                    registered = register_client(
                        session, name=name, redirect_uris=list(redirect_uris), token_endpoint_auth_method=auth_method,
                        jwks=jwks, grant_types=list(grant_types) or None, scope=scope or DEFAULT_SCOPE,
                        post_logout_redirect_uris=list(post_logout_redirect_uris),
                        backchannel_logout_uri=backchannel_logout_uri, first_party=first_party,
                        may_introspect=introspect, id_token_signed_response_alg=alg, created_by=cli_actor(),
                        client_id=client_id, known_scopes=known, pkce_required=not legacy_without_pkce)
                    client_id, secret = registered.client.client_id, registered.secret
                _audit(database, "oidc.client_registered", f"client:{client_id}", {"name": name})
        except InvalidClient as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"client_id: {client_id}")
        if secret:
            click.echo(f"client_secret: {secret}")
            click.echo("Keep the secret now: it is stored hashed and will not be shown again.")

    @clients_group.command("list")
    def list_clients() -> None:
        """Every registered client."""
        from sqlmodel import select


        with open_database(load_settings().database_url) as database, database.session() as session:
            for client in session.exec(select(OidcClient).order_by(OidcClient.name)).all():
                state = "" if client.active else " (disabled)"
                click.echo(f"{client.client_id}\t{client.name}\t{client.token_endpoint_auth_method}{state}")
