"""The plugin's Alembic branch: its own root, labelled "prevention", and tables that match the models."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from bouquet_prevention import bouquet_migrations, bouquet_models
from sqlalchemy import inspect

MIGRATIONS = Path(bouquet_migrations())


def _revision(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_branch_has_its_own_root_and_one_line_of_revisions() -> None:
    first, second, third, fourth = (_revision(path) for path in sorted(MIGRATIONS.glob("*.py")))
    assert (first.revision, first.down_revision, first.branch_labels, first.depends_on) == (
        "prevention_0001", None, ("prevention",), None)
    assert (second.revision, second.down_revision, second.branch_labels) == ("prevention_0002", "prevention_0001", None)
    assert (third.revision, third.down_revision, third.branch_labels) == ("prevention_0003", "prevention_0002", None)
    assert (fourth.revision, fourth.down_revision, fourth.branch_labels) == ("prevention_0004", "prevention_0003", None)


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
