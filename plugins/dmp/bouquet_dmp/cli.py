"""`bouquet dmp-service --port N`: the embedded DMP service on its own, on the portal's database.

The portal then reaches it with `BOUQUET_DMP_URL=http://host:N`, both sharing `BOUQUET_SECRET_KEY`
(the service checks the identities the portal signs with a key derived from it).
"""

from __future__ import annotations

import click


def add_commands(group: click.Group) -> None:
    @group.command(name="dmp-service")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", type=int, default=8100, show_default=True)
    def dmp_service(host: str, port: int) -> None:
        """Serve the DMP (FHIR R4, IHE MHD) alone, on the portal's database."""
        import uvicorn

        from bouquet.api.db import Database
        from bouquet.api.settings import load_settings
        from bouquet_dmp.service import create_service

        settings = load_settings()
        app = create_service(Database(settings.database_url), settings.secret_key)
        click.echo(f"DMP (FHIR R4) : http://{host}:{port}/")
        uvicorn.run(app, host=host, port=port, log_config=None)
