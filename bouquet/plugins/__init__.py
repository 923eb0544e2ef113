"""The plugin system: hook specifications, the shapes hooks return, and loading."""

from bouquet.plugins.contributions import (
           Action,
           Alert,
           Launchable,
           NavEntry,
           Panel,
           Scope,
)
from bouquet.plugins.hookspecs import hookimpl
from bouquet.plugins.manager import HookResult, PluginInfo, Plugins

__all__ = ["Action", "Alert", "HookResult", "Launchable", "NavEntry", "Panel", "PluginInfo", "Plugins", "Scope",
           "hookimpl"]
