"""Schema migrations with Alembic: the core's branch plus one branch per plugin (`bouquet_migrations`).

Each plugin's branch starts from its own root (`down_revision = None`, `branch_labels =
("<plugin>",)`) and never uses `depends_on`: the branches stay independent heads in the
database, so a plugin can be disabled without hiding the others' revisions. `upgrade` applies
the core's branch before the plugins'.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

HERE = Path(__file__).parent


class UnmigratedDatabase(RuntimeError):
    """The database schema is behind the code; `bouquet db upgrade` fixes it."""


def alembic_config(engine: Engine, plugins: object | None) -> Config:
    """An Alembic configuration covering the core and every loaded plugin's migration folder."""
    config = Config()
    config.set_main_option("script_location", str(HERE))
    locations = [str(HERE / "versions")]
    if plugins is not None:
        for result in plugins.call("bouquet_migrations"):  # type: ignore[attr-defined]
            locations.append(str(result.value))
    # A path separator that cannot occur in the paths themselves.
    config.set_main_option("path_separator", "newline")
    config.set_main_option("version_locations", "\n".join(locations))
    config.attributes["engine"] = engine
    config.attributes["plugins"] = plugins
    return config


def upgrade(engine: Engine, plugins: object | None) -> None:
    """Apply every pending migration: the core's branch first (plugins' tables may refer to
    it), then every plugin's branch."""
    config = alembic_config(engine, plugins)
    command.upgrade(config, "bouquet@heads")
    command.upgrade(config, "heads")


_SCRIPTS: dict[str, ScriptDirectory] = {}


def _scripts(config: Config) -> ScriptDirectory:
    # Reading every revision file takes tens of milliseconds; each app checks its database when it
    # starts, so the revisions of one set of folders are read once per process.
    locations = config.get_main_option("version_locations") or ""
    script = _SCRIPTS.get(locations)
    if script is None:
        script = _SCRIPTS[locations] = ScriptDirectory.from_config(config)
    return script


def pending_heads(engine: Engine, plugins: object | None) -> list[str]:
    """The branch heads the database has not reached yet (empty when the schema is current)."""
    script = _scripts(alembic_config(engine, plugins))
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    missing = []
    for head in script.get_heads():
        if head in current:
            continue
        # A database further along a branch than this head is fine only if the head is an ancestor.
        if not any(_is_ancestor(script, head, rev) for rev in current):
            missing.append(head)
    return sorted(missing)


def _is_ancestor(script: ScriptDirectory, ancestor: str, rev: str) -> bool:
    try:
        return any(r.revision == ancestor for r in script.iterate_revisions(rev, "base"))
    except Exception:
        return False  # the database holds a revision of a plugin that is not loaded now


def check(engine: Engine, plugins: object | None) -> None:
    """Refuse to run on a database whose schema is not current."""
    missing = pending_heads(engine, plugins)
    if missing:
        raise UnmigratedDatabase(
            f"The database at {engine.url.render_as_string(hide_password=True)} is not migrated "
            f"(missing: {', '.join(missing)}). Run `bouquet db upgrade` first."
        )
