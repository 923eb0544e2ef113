"""The `bouquet` command line. Plugins add sub-commands with the `bouquet_cli` hook."""

from __future__ import annotations

import sys

import click

from bouquet import migrations
from bouquet.foundation import audit as trail
from bouquet.foundation.db import open_database
from bouquet.foundation.keys import audit_key
from bouquet.foundation.settings import SettingsError, load_settings
from bouquet.plugins import Plugins


@click.group()
def cli() -> None:
    """Bouquet: services portal for health professionals."""


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, help="Worker processes (they share nothing but the database).")
@click.option("--reload", is_flag=True, help="Restart when the code changes (development).")
def serve(host: str, port: int, workers: int, reload: bool) -> None:
    """Serve the portal with uvicorn."""
    import uvicorn

    load_settings()  # fail here, readably, rather than inside every worker
    uvicorn.run("bouquet.app:create_app", factory=True, host=host, port=port, workers=workers, reload=reload,
                proxy_headers=False, log_config=None)  # X-Forwarded-For: BOUQUET_TRUSTED_PROXIES (bouquet.web.proxies)


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (core and plugins)."""

    with open_database(load_settings().database_url) as database:
        migrations.upgrade(database.engine, Plugins(load_settings().plugin_names))
        click.echo(f"Database {database.engine.url.render_as_string(hide_password=True)} is up to date.")


@cli.group()
def audit() -> None:
    """The audit trail."""


@audit.command("verify")
@click.option("--processes", type=click.IntRange(min=1), default=None,
              help="Worker processes checking ranges of the chain side by side (default: every CPU once the "
                   f"chain holds {trail.PARALLEL_FROM:,} events, otherwise 1).")
def audit_verify(processes: int | None) -> None:
    """Chain the pending events, then check the whole chain; exit 1 naming the first broken event."""
    settings = load_settings()
    with open_database(settings.database_url) as database:
        trail.seal_all(database, audit_key(settings))
        with database.session() as session:
            result = trail.verify(session, audit_key(settings), processes=processes)
    if result.ok:
        pending = f" ({result.pending} appended meanwhile, their MAC checked)" if result.pending else ""
        click.echo(f"Audit trail intact: {result.checked} events verified{pending}.")
        return
    click.echo(f"Audit trail BROKEN at event #{result.broken_seq}: {result.reason} "
               f"({result.checked} events verified before it).", err=True)
    sys.exit(1)


@cli.command()
def demo() -> None:
    """Load the demonstration data of the core and of every plugin (safe to run twice)."""
    plugins = Plugins(load_settings().plugin_names)
    with open_database(load_settings().database_url) as database:
        plugins.call("bouquet_demo", db=database)
    for name, info in plugins.info.items():
        if "bouquet_demo" in info.failures:
            raise click.ClickException(f"demo data of plugin {name} failed: {info.last_error}")
    click.echo("Demonstration data loaded.")


def build_cli() -> click.Group:
    """The command group with every plugin's sub-commands added."""
    try:
        plugins = Plugins(load_settings().plugin_names)
    except SettingsError:
        return cli  # `main` reports the settings error when a command runs
    plugins.call("bouquet_cli", group=cli)
    return cli


def main() -> None:
    try:
        build_cli()(prog_name="bouquet")
    except SettingsError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
