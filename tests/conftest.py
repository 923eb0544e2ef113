"""Core test helpers. The shared fixtures (app, client, browser…) come from `bouquet.testing`."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).parent


@pytest.fixture
def install_plugin(tmp_path: Path) -> Iterator[Callable[..., None]]:
    """Make a plugin discoverable through the `bouquet` entry-point group, as `pip install` would:
    a `.dist-info` with `entry_points.txt` on sys.path, and the plugin's code importable."""
    added: list[str] = []

    def install(dist: str, version: str, entry: str, module: str, source: Path) -> None:
        site = tmp_path / f"site-{dist}"
        info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[bouquet]\n{entry} = {module}\n")
        for path in (str(site), str(source)):
            sys.path.insert(0, path)
            added.append(path)

    yield install
    # Imported modules stay in sys.modules: importing a table class twice would redefine its table.
    for path in added:
        sys.path.remove(path)


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
        from bouquet.db import Database
        from bouquet.migrations import upgrade
        from bouquet.plugins import Plugins

        db = Database(database_url)
        upgrade(db.engine, Plugins(None))
        db.dispose()

    return migrate
