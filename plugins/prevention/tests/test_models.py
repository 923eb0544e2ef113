"""The plugin's Alembic branch: its own root, labelled "prevention", and tables that match the models."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from sqlalchemy import inspect

from bouquet_prevention import bouquet_migrations, bouquet_models

MIGRATIONS = Path(bouquet_migrations())


def test_the_branch_has_its_own_root() -> None:
    [first] = [path for path in MIGRATIONS.glob("*.py")]
    spec = importlib.util.spec_from_file_location("prevention_0001", first)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (module.revision, module.down_revision, module.branch_labels, module.depends_on) == (
        "prevention_0001", None, ("prevention",), None)


def test_the_migrated_tables_match_the_models(app: Any) -> None:
    inspector = inspect(app.state.db.engine)
    for model in bouquet_models():
        table = model.__table__
        columns = {column["name"]: column for column in inspector.get_columns(table.name)}
        assert set(columns) == {column.name for column in table.columns}, table.name
        for column in table.columns:
            assert columns[column.name]["nullable"] == column.nullable, f"{table.name}.{column.name}"
    indexes = {index["name"] for index in inspector.get_indexes("prevention_act")}
    assert "ix_prevention_act_patient" in indexes
