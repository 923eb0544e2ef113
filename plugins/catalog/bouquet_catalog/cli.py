"""`bouquet catalog-export`: the referenced solutions as open data, on standard output."""

from __future__ import annotations

import json

import click


def add_commands(group: click.Group) -> None:
    @group.command(name="catalog-export")
    @click.option("--database-url", envvar="BOUQUET_DATABASE_URL", default=None, help="Par défaut : celle des réglages.")
    def export(database_url: str | None) -> None:
        """Print the referenced solutions (JSON, as /p/catalog/opendata/solutions.json gives them)."""
        from bouquet.api.db import Database
        from bouquet.api.settings import Settings
        from bouquet_catalog.opendata import rows

        db = Database(database_url or Settings().database_url)
        try:
            click.echo(json.dumps(rows(db), ensure_ascii=False, indent=1))
        finally:
            db.dispose()
