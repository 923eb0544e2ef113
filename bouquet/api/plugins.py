"""The plugin manager (to call a plugin's own hooks), and the application and command line for tests."""

from bouquet.app import create_app
from bouquet.cli import build_cli
from bouquet.plugins.manager import Plugins

__all__ = ["Plugins", "build_cli", "create_app"]
