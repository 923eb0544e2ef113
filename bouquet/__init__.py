"""Bouquet: the services portal for health professionals.

A plugin imports only what this module exports::

    from bouquet import hookimpl, NavEntry, Panel, Alert, Action, Scope, RequestContext
"""

from bouquet.plugins.contributions import (
    Action,
    Alert,
    Launchable,
    NavEntry,
    Panel,
    Scope,
)
from bouquet.plugins.hookspecs import hookimpl
from bouquet.web import convertors

convertors.register()  # before any route is built: `{id:int}` only matches ids a database can hold

__version__ = "0.1.0"

__all__ = [
    "Action", "Alert", "Launchable", "NavEntry", "Panel", "RequestContext", "Scope", "get_context", "hookimpl",
    "public", "render", "__version__",
]


def __getattr__(name: str) -> object:
    # The web-facing names import Starlette and the database layer; load them on first use so
    # that `from bouquet import hookimpl` stays cheap for plugins and the CLI.
    if name in {"RequestContext", "Scope", "get_context"}:
        from bouquet.web import context

        return getattr(context, name)
    if name == "public":
        from bouquet.web.routing import public

        return public
    if name == "render":
        from bouquet.web.ui import render

        return render
    raise AttributeError(name)
