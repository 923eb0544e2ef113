"""bouquet-catalog: the catalogue of referenced solutions, registered by vendors, reviewed by the operator, launched with SSO.

Vendors file solutions (forms or the JSON API); the operator moves them through the review
workflow (`workflow`); approval gives a launchable solution its OIDC client; professionals search
the referenced ones and open them with SSO and the patient in context. The referenced list is
open data. The hook implementations below stay thin: each concept lives in its own module.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from bouquet import Action, Launchable, NavEntry, Scope, hookimpl

if TYPE_CHECKING:
    import click

    from bouquet.api.db import Database
    from bouquet.api.web import RequestContext

__version__ = "0.1.0"

HERE = Path(__file__).parent

# The OAuth scope of the vendor API (`api`): a vendor's software filing its solutions with a
# client-credentials token. Declared to the provider by `bouquet_scopes` below.
SUBMIT_SCOPE = "catalog.submit"


@hookimpl
def bouquet_actions() -> list[Action]:
    return [
        Action("catalog.browse", "Consulter le catalogue des solutions référencées",
               roles=frozenset({"professional", "secretary", "vendor", "admin"}), secretary=True),
        Action("catalog.submit", "Déposer une solution au référencement", roles=frozenset({"vendor"})),
        Action("catalog.review", "Instruire les demandes de référencement", roles=frozenset({"admin"})),
    ]


@hookimpl
def bouquet_scopes() -> list[Scope]:
    return [Scope(SUBMIT_SCOPE, "Déposer et mettre à jour les solutions de l'éditeur au catalogue")]


@hookimpl
def bouquet_routes() -> list[Any]:
    from starlette.routing import Route

    from bouquet_catalog import (
        api,
        catalogue_pages,
        evidence_pages,
        opendata,
        review_pages,
        vendor_pages,
    )

    return [
        Route("/", catalogue_pages.search_page, methods=["GET"]),
        Route("/solutions/{solution_id:int}", catalogue_pages.solution_page, methods=["GET"]),
        Route("/solutions/{solution_id:int}/open", catalogue_pages.open_solution, methods=["POST"]),
        Route("/images/{image_id:int}", catalogue_pages.image, methods=["GET"]),
        Route("/vendor", vendor_pages.home, methods=["GET"]),
        Route("/vendor/new", vendor_pages.new_form, methods=["GET"]),
        Route("/vendor/solutions", vendor_pages.create, methods=["POST"]),
        Route("/vendor/solutions/{solution_id:int}", vendor_pages.solution_page, methods=["GET"]),
        Route("/vendor/solutions/{solution_id:int}", vendor_pages.update, methods=["POST"]),
        Route("/vendor/solutions/{solution_id:int}/transition", vendor_pages.change_state, methods=["POST"]),
        Route("/vendor/solutions/{solution_id:int}/secret", vendor_pages.client_secret, methods=["POST"]),
        Route("/vendor/solutions/{solution_id:int}/evidence", evidence_pages.upload, methods=["POST"]),
        Route("/evidence/{document_id:int}", evidence_pages.document, methods=["GET"]),
        Route("/review/{solution_id:int}/requirements", evidence_pages.decide, methods=["POST"]),
        Route("/vendor/api-clients", vendor_pages.create_api_client, methods=["POST"]),
        Route("/review", review_pages.queue, methods=["GET"]),
        Route("/review/{solution_id:int}", review_pages.review_page, methods=["GET"]),
        Route("/review/{solution_id:int}/transition", review_pages.change_state, methods=["POST"]),
        Route("/api/solutions", api.list_solutions, methods=["GET"]),
        Route("/api/solutions", api.create_solution, methods=["POST"]),
        Route("/api/solutions/{solution_id:int}", api.get_solution, methods=["GET"]),
        Route("/api/solutions/{solution_id:int}", api.update_solution, methods=["PUT"]),
        Route("/api/solutions/{solution_id:int}/submit", api.submit_solution, methods=["POST"]),
        Route("/api/openapi.json", api.openapi, methods=["GET"]),
        Route("/opendata/solutions.json", opendata.solutions_json, methods=["GET"]),
        Route("/opendata/solutions.csv", opendata.solutions_csv, methods=["GET"]),
    ]


@hookimpl
def bouquet_templates() -> str:
    return str(HERE / "templates")


@hookimpl
def bouquet_static() -> str:
    return str(HERE / "static")  # catalog.css: the size of logos and screenshots (the CSP forbids inline styles)


@hookimpl
def bouquet_models() -> list[type]:
    from bouquet_catalog.models import MODELS

    return MODELS


@hookimpl
def bouquet_migrations() -> str:
    return str(HERE / "migrations")


@hookimpl
def bouquet_nav(ctx: RequestContext) -> list[NavEntry]:
    entries = []
    if ctx.account is not None and ctx.can("catalog.browse"):
        entries.append(NavEntry("Catalogue", "/p/catalog/", order=400))
    if ctx.account is not None and ctx.can("catalog.submit"):
        entries.append(NavEntry("Espace éditeur", "/p/catalog/vendor", order=410))
    if ctx.account is not None and ctx.can("catalog.review"):
        entries.append(NavEntry("Instruction du catalogue", "/p/catalog/review", order=420))
    return entries


@hookimpl
async def bouquet_launchables(ctx: RequestContext) -> list[Launchable]:
    """The referenced solutions that open with SSO, for the patient page (each links to its page and « Ouvrir »)."""
    if ctx.account is None or not ctx.can("catalog.browse"):
        return []
    from bouquet_catalog.launchables import launchables

    # A secretary has no profession of their own: they see what their principal would.
    professional = ctx.acting_for or ctx.account
    return await ctx.db.run(launchables, ctx.db, professional.profession_code)


@hookimpl
def bouquet_demo(db: Database) -> None:
    from bouquet_catalog.demo import load

    load(db)


@hookimpl
def bouquet_cli(group: click.Group) -> None:
    from bouquet_catalog.cli import add_commands

    add_commands(group)
