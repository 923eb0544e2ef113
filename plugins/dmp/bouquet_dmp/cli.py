"""`bouquet dmp-service --port N`: the embedded DMP service on its own, on the portal's database.
`bouquet dmp-matrix check FILE` / `bouquet dmp-matrix show`: an access-matrix version checked before an
operator points `BOUQUET_DMP_MATRIX` at it, and the version in force, with its unsourced cells counted.

The portal then reaches it with `BOUQUET_DMP_URL=http://host:N`, both sharing `BOUQUET_SECRET_KEY`
(the service checks the identities the portal signs with a key derived from it).
"""

from __future__ import annotations

from pathlib import Path

import click

from bouquet_dmp import matrix


def add_commands(group: click.Group) -> None:
    @group.command(name="dmp-service")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", type=int, default=8100, show_default=True)
    def dmp_service(host: str, port: int) -> None:
        """Serve the DMP (FHIR R4, IHE MHD) alone, on the portal's database."""
        import uvicorn

        from bouquet.api.db import Database
        from bouquet.api.plugins import Plugins
        from bouquet.api.settings import load_settings
        from bouquet_dmp.care_team import source_of
        from bouquet_dmp.service import create_service

        settings = load_settings()
        app = create_service(Database(settings.database_url), settings.secret_key,
                             care_team=source_of(Plugins(settings.plugin_names)))
        click.echo(f"DMP (FHIR R4) : http://{host}:{port}/")
        uvicorn.run(app, host=host, port=port, log_config=None)


    @group.group(name="dmp-matrix")
    def dmp_matrix() -> None:
        """The DMP's access matrix (arrêté of 26 October 2023): check a version, show the one in force."""

    def _summary(found: matrix.Matrix) -> None:
        counts = found.counts()
        click.echo(f"version {found.version_id} — {found.title}" + (f" ({found.date_signed})" if found.date_signed else ""))
        click.echo(f"fichier : {found.path}")
        click.echo(f"{len(found.cells)} cellules : {counts.get(matrix.YES, 0)} autorisées, {counts.get(matrix.NO, 0)} refusées, "
                   f"{counts.get(matrix.UNSOURCED, 0)} sans source (refusées : {matrix.UNDETERMINED})")
        click.echo(f"professions : {', '.join(found.professions())}")

    @dmp_matrix.command(name="check")
    @click.argument("file", type=click.Path(path_type=Path))
    def check(file: Path) -> None:
        """Check FILE (and FILE's .meta.json) before pointing BOUQUET_DMP_MATRIX at it."""
        try:
            found = matrix.read(file)
        except matrix.MatrixError as exc:
            for problem in exc.problems:
                click.echo(f"erreur : {problem}", err=True)
            raise SystemExit(1) from None
        _summary(found)
        click.echo(f"Pour l'appliquer : BOUQUET_DMP_MATRIX={file.resolve()}")

    @dmp_matrix.command(name="show")
    def show() -> None:
        """The matrix version in force (BOUQUET_DMP_MATRIX, or the bundled one)."""
        found = matrix.current()
        if isinstance(found, matrix.MatrixError):
            for problem in found.problems:
                click.echo(f"erreur : {problem}", err=True)
            click.echo("Matrice inutilisable : tout accès aux documents est refusé.", err=True)
            raise SystemExit(1)
        _summary(found)
