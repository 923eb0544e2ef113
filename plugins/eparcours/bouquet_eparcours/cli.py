"""`bouquet eparcours-pathways`: what the installed packages offer, and why a definition was refused.

A region's developers run it after `pip install` of their package, before any server starts.
"""

from __future__ import annotations

import click


def add_commands(group: click.Group) -> None:
    """Add the e-parcours sub-commands to the `bouquet` command line."""

    @group.command(name="eparcours-pathways")
    def eparcours_pathways() -> None:
        """List the installed care pathways; exit 1 if a definition is refused."""
        from bouquet.api.plugins import Plugins
        from bouquet.api.settings import load_settings
        from bouquet_eparcours.catalogue import load

        catalogue = load(Plugins(load_settings().plugin_names))
        for loaded in catalogue.offered():
            definition = loaded.definition
            click.echo(f"{definition.id} {definition.version} — {definition.title} "
                       f"({len(definition.steps)} étapes ; module {loaded.plugin}, {loaded.source})")
        for problem in catalogue.problems:
            click.echo(f"REFUSÉ : {problem}", err=True)
        if catalogue.problems:
            raise SystemExit(1)
