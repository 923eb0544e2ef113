"""Core test helpers. The shared fixtures (app, client, browser…) come from `bouquet.testing`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

HERE = Path(__file__).parent


@pytest.fixture
def example_plugin(install_plugin: Callable[..., None]) -> None:
    install_plugin("bouquet-example", "1.2.3", "example", "bouquet_example", HERE / "example_plugin")


@pytest.fixture
def broken_plugins(install_plugin: Callable[..., None]) -> None:
    install_plugin("bouquet-broken", "0.0.1", "broken", "bouquet_broken", HERE / "broken_plugin")
    install_plugin("bouquet-unloadable", "0.0.1", "unloadable", "bouquet_unloadable", HERE / "broken_plugin")


@pytest.fixture
def migrated_with_plugins(database_url: str) -> Callable[[], None]:
    """Apply the migrations of every plugin installed *now* (e.g. the example's own branch)."""
    def migrate() -> None:
        from bouquet.foundation.db import Database
        from bouquet.migrations import upgrade
        from bouquet.plugins import Plugins

        db = Database(database_url)
        upgrade(db.engine, Plugins(None))
        db.dispose()

    return migrate
