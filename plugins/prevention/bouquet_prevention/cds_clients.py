"""The CDS clients trusted to call the CDS Hooks service: stored in `prevention_cds_client` (shared
by every worker, changed without a restart) and managed with `bouquet prevention cds-clients …`.

A client is its JWT issuer (`iss`, exact string) and its public JWK Set, exchanged out of band
as CDS Hooks allows; keys must be public, asymmetric and carry a `kid`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlmodel import col, select

from bouquet.api.db import utcnow
from bouquet_prevention.models import CdsClient

if TYPE_CHECKING:
    from bouquet.api.db import Database

__all__ = ["ClientError", "add_commands", "check_jwks", "disable_client", "list_clients", "register_client"]

log = logging.getLogger("bouquet.prevention")


class ClientError(ValueError):
    """A client registration was refused; the message says why."""


def check_jwks(jwks: Any) -> dict[str, Any]:
    """`jwks` if it is a usable public JWK Set (asymmetric keys with a `kid`, no private part); ClientError otherwise."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        raise ClientError('the JWK Set must be an object with a non-empty "keys" list')
    for index, key in enumerate(jwks["keys"]):
        if not isinstance(key, dict):
            raise ClientError(f"key #{index + 1} is not an object")
        if key.get("kty") not in {"RSA", "EC", "OKP"}:
            raise ClientError(f"key #{index + 1}: only public RSA, EC or OKP keys are accepted (kty {key.get('kty')!r})")
        if "d" in key or "p" in key:
            raise ClientError(f"key #{index + 1} contains a private part: register the public key only")
        if not isinstance(key.get("kid"), str) or not key["kid"]:
            raise ClientError(f"key #{index + 1} has no kid (CDS Hooks JWTs name their key with kid)")
    try:
        KeySet.import_key_set(jwks)
    except (JoseError, ValueError, TypeError) as exc:
        raise ClientError(f"the JWK Set cannot be read: {exc}") from None
    return jwks


def register_client(db: Database, iss: str, name: str, jwks: Any) -> CdsClient:
    """Trust `iss` with these public keys (replacing the keys of an existing client, enabling it again)."""
    if not iss or len(iss) > 500:
        raise ClientError("iss must be 1 to 500 characters")
    checked = check_jwks(jwks)
    with db.write() as session:
        client = session.exec(select(CdsClient).where(CdsClient.iss == iss)).first()
        if client is None:
            client = CdsClient(iss=iss, name=name[:200], jwks=checked)
        else:
            client.name, client.jwks, client.disabled_at = name[:200], checked, None
        session.add(client)
        session.flush()
        session.refresh(client)
    log.info("CDS client %s registered (%d key(s))", iss, len(checked["keys"]))
    return client


def disable_client(db: Database, iss: str) -> bool:
    """Stop trusting `iss`; False if it was unknown or already disabled."""
    with db.write() as session:
        client = session.exec(select(CdsClient).where(CdsClient.iss == iss, col(CdsClient.disabled_at).is_(None))).first()
        if client is None:
            return False
        client.disabled_at = utcnow()
        session.add(client)
    log.info("CDS client %s disabled", iss)
    return True


def list_clients(db: Database) -> list[CdsClient]:
    """Every registered client, enabled or not, by issuer."""
    with db.session() as session:
        return list(session.exec(select(CdsClient).order_by(col(CdsClient.iss))).all())


def add_commands(group: click.Group) -> click.Group:
    """`bouquet prevention cds-clients add|list|disable`; returns the `prevention` group."""

    @group.group("prevention")
    def prevention() -> None:
        """Prevention: CDS Hooks clients, declared patient lists."""

    @prevention.group("cds-clients")
    def cds_clients() -> None:
        """The CDS clients (practice software) trusted to call the CDS Hooks service."""

    @cds_clients.command("add")
    @click.option("--iss", required=True, help="The `iss` of the client's JWTs, exactly.")
    @click.option("--name", required=True, help="Who it is (shown to operators).")
    @click.option("--jwks", "jwks_file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
                  help="A JSON file with the client's public JWK Set.")
    def add(iss: str, name: str, jwks_file: Path) -> None:
        """Trust a CDS client (or replace its keys)."""
        try:
            jwks = json.loads(jwks_file.read_text(encoding="utf-8"))
            with _database() as db:
                register_client(db, iss, name, jwks)
        except (ValueError, ClientError) as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"CDS client {iss} trusted.")

    @cds_clients.command("list")
    def list_command() -> None:
        """List the registered CDS clients."""
        with _database() as db:
            for client in list_clients(db):
                state = "disabled" if client.disabled_at else "active"
                click.echo(f"{client.iss}\t{client.name}\t{state}\t{len(client.jwks.get('keys', []))} key(s)")

    @cds_clients.command("disable")
    @click.argument("iss")
    def disable(iss: str) -> None:
        """Stop trusting a CDS client."""
        with _database() as db:
            if not disable_client(db, iss):
                raise click.ClickException(f"no active CDS client {iss}")
        click.echo(f"CDS client {iss} disabled.")

    return prevention


class _database:  # noqa: N801 - used as a context manager, like the core's own CLI helper
    """The portal's database, from the same settings as `bouquet serve`."""

    def __enter__(self) -> Database:
        from bouquet.api.db import Database
        from bouquet.api.settings import load_settings

        self.db = Database(load_settings().database_url)
        return self.db

    def __exit__(self, *exc: object) -> None:
        self.db.dispose()
