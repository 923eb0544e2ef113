"""Every hook a Bouquet plugin can implement. `docs/plugins.md` documents each with an example.

Implementations may return their value or a coroutine; the portal awaits whatever comes back.
Each implementation is called on its own: one that raises is logged with its plugin's name and
skipped, and never takes down the page or the other plugins. Hooks only ever gain arguments;
implementations may accept any subset of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click
    from starlette.applications import Starlette
    from starlette.routing import BaseRoute

    from bouquet.foundation.db import Database
    from bouquet.plugins.contributions import (
        Action,
        Alert,
        Launchable,
        NavEntry,
        Panel,
        Scope,
    )
    from bouquet.web.context import RequestContext

hookspec = pluggy.HookspecMarker("bouquet")
hookimpl = pluggy.HookimplMarker("bouquet")


@hookspec
def bouquet_routes() -> list[BaseRoute]:
    """Starlette routes, mounted under `/p/<plugin>/`."""


@hookspec
def bouquet_templates() -> str:
    """A template folder; its templates are found as `<plugin>/<name>`."""


@hookspec
def bouquet_static() -> str:
    """A folder of static files, served under `/static/<plugin>/`."""


@hookspec
def bouquet_models() -> list[type]:
    """The SQLModel table classes the plugin defines (their schema comes from its migrations)."""


@hookspec
def bouquet_migrations() -> str:
    """The folder of the plugin's Alembic revisions: one branch, labelled with the plugin's name."""


@hookspec
def bouquet_actions() -> list[Action]:
    """The permissions the plugin defines, with their default grants per role and profession."""


@hookspec
def bouquet_scopes() -> list[Scope] | dict[str, str]:
    """The OAuth scopes the plugin's APIs check, named `<plugin>.<something>`, with the French
    sentence the consent page shows for each (`Scope(name, description)`, or a dict name → sentence)."""


@hookspec
def bouquet_nav(ctx: RequestContext) -> list[NavEntry]:
    """Menu entries for the signed-in account, each with an `order`."""


@hookspec
def bouquet_patient_panels(ctx: RequestContext) -> list[Panel]:
    """Panels of the patient page for the patient in `ctx.patient`."""


@hookspec
def bouquet_alerts(ctx: RequestContext) -> list[Alert]:
    """Alerts about the patient in `ctx.patient`, shown at the top of the patient page."""


@hookspec
def bouquet_home_notices(ctx: RequestContext) -> list[Alert]:
    """Notices for the signed-in account itself (not about a patient), shown on its home page."""


@hookspec
def bouquet_launchables(ctx: RequestContext) -> list[Launchable]:
    """Applications the account can open with the patient in `ctx.patient`."""


@hookspec
def bouquet_cli(group: click.Group) -> None:
    """Add sub-commands to the `bouquet` command line (`@group.command()`)."""


@hookspec
def bouquet_demo(db: Database) -> None:
    """Load the plugin's demonstration data (`bouquet demo`); must be safe to run twice."""


@hookspec
def bouquet_session_ended(db: Database, account_id: int, sid: str, reason: str) -> None:
    """A signed-in session ended (sign-out, timeout, administrator…): `sid` names the sign-in."""


@hookspec
def bouquet_startup(app: Starlette) -> Any:
    """Called once when a worker starts serving."""


@hookspec
def bouquet_shutdown(app: Starlette) -> Any:
    """Called once when a worker stops."""
