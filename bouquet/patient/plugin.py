"""The patient context as a built-in plugin: its permission and its menu entry.

Registered by `bouquet.plugins.manager.DEFAULT_PLUGINS`, whatever BOUQUET_PLUGINS says. Kept free
of web imports, so that building the command line stays quick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bouquet import Action, NavEntry, hookimpl

if TYPE_CHECKING:
    from bouquet.web.context import RequestContext

#: Open a patient in context and see their page (a secretary: for the professional they act for).
OPEN_PATIENT = "patient.open"


@hookimpl
def bouquet_actions() -> list[Action]:
    return [Action(OPEN_PATIENT, "Ouvrir le dossier d'un patient", secretary=True)]


@hookimpl
def bouquet_nav(ctx: RequestContext) -> list[NavEntry]:
    if ctx.patient is None:
        return []
    return [NavEntry("Dossier patient", "/patient", order=10)]
