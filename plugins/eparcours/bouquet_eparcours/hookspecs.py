"""The hook e-parcours declares for other packages: `eparcours_pathways()`.

Any installed package registered in the `bouquet` entry-point group (a region, a GRADeS, a
network of professionals) contributes pathway definitions by implementing it; it never imports
this plugin::

    from pathlib import Path
    from bouquet import hookimpl

    @hookimpl
    def eparcours_pathways():
        return [Path(__file__).parent / "pathways"]     # a folder of .yaml / .json files

Registration: the core's `Plugins` registers every plugin first, then the app calls
`bouquet_startup(app)`; that is where `ensure_hookspecs` adds this specification to
`app.state.plugins.pm`. pluggy accepts implementations of a hook it has no specification for
yet and checks them when `add_hookspecs` arrives, so the order in which packages load does not
matter. The catalogue also calls `ensure_hookspecs` on first use, for apps started without
their lifespan (command line, some tests).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import pluggy

log = logging.getLogger("bouquet.eparcours")

hookspec = pluggy.HookspecMarker("bouquet")
HOOK = "eparcours_pathways"


@hookspec
def eparcours_pathways() -> list[Any]:  # type: ignore[empty-body]
    """Pathway definitions: paths to .yaml/.yml/.json files or folders of them, or mappings."""


def ensure_hookspecs(pm: pluggy.PluginManager) -> None:
    """Make `eparcours_pathways` a specified hook of `pm` (idempotent).

    An implementation whose arguments the specification does not offer is logged; the core's
    failure record catches it again when the hook is called, and the others are unaffected.
    """
    caller = getattr(pm.hook, HOOK, None)
    if caller is not None and caller.has_spec():
        return
    try:
        pm.add_hookspecs(sys.modules[__name__])
    except pluggy.PluginValidationError as exc:
        # The specification is in place by now; only this implementation is at fault.
        log.error("plugin %s implements %s with arguments it cannot receive: %s",
                  pm.get_name(exc.plugin) or "?", HOOK, exc)
