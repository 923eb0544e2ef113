"""`bouquet catalog-export`: the referenced solutions as open data, on standard output;
`bouquet catalog import-referenced FILE`: the ANS's list of referenced solutions, and what it confirms."""

from __future__ import annotations

import json
from pathlib import Path

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

    @group.group(name="catalog")
    def catalog() -> None:
        """The catalogue of referenced solutions."""

    @catalog.command(name="import-referenced")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--database-url", envvar="BOUQUET_DATABASE_URL", default=None, help="Par défaut : celle des réglages.")
    def import_referenced(file: Path, database_url: str | None) -> None:
        """Import the ANS's list of referenced solutions (CSV or JSON) and list the catalogue entries it confirms."""
        from bouquet.api.db import Database
        from bouquet.api.settings import Settings
        from bouquet_catalog import official_list

        try:
            lines = official_list.parse(file)
        except official_list.ListRefused as refused:
            raise click.ClickException(refused.message) from None
        db = Database(database_url or Settings().database_url)
        try:
            with db.write() as session:
                count = official_list.replace(session, lines, file.name)
                confirmed = official_list.confirmations(session)
                click.echo(f"{count} solution(s) référencée(s) importée(s) depuis {file.name}.")
                for found in confirmed:
                    click.echo(f"Confirmée : {found.name} (n° {found.solution_id}) — {found.listing.solution_name} "
                               f"{found.listing.software_version}, {official_list.wave_label(found.listing)}")
                if not confirmed:
                    click.echo("Aucune entrée du catalogue n'est confirmée par cette liste.")
        finally:
            db.dispose()
