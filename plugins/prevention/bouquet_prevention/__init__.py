"""bouquet-prevention: personalised prevention alerts for one patient and for a patient list, and a CDS Hooks service.

The core's hooks this plugin implements are all here; each concept lives in its own module:
rules as data (`rules.py`, `rulesets.py`, `data/`), the engine (`engine.py`), the acts history
(`models.py`, `history.py`, `recording.py`), the patient's statuses (`patient_status.py`,
`panel.py`), the CDS Hooks service (`cds*.py`) and the hooks it offers other plugins
(`hookspecs.py`, `hooks.py`). See the plugin's README.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.routing import Route

from bouquet import Action, Alert, NavEntry, Panel, hookimpl

if TYPE_CHECKING:
    import click
    from starlette.applications import Starlette

    from bouquet.api.db import Database
    from bouquet.api.web import RequestContext

__version__ = "0.1.0"

HERE = Path(__file__).parent


@hookimpl
def bouquet_actions() -> list[Action]:
    return [
        Action("prevention.read", "Consulter les actions de prévention du patient", secretary=True),
        Action("prevention.record", "Enregistrer un acte de prévention"),
        Action("prevention.population", "Consulter la prévention de ses patients (liste et export)", secretary=True),
    ]


@hookimpl
def bouquet_routes() -> list[Any]:
    from bouquet_prevention import (
        act_corrections,
        cds,
        condition_declarations,
        panel,
        patient_status,
        population_pages,
        recording,
    )

    return [
        Route("/panel", panel.panel, methods=["GET"]),
        Route("/mes-patients", population_pages.view, methods=["GET"]),
        Route("/mes-patients.csv", population_pages.export_csv, methods=["GET"]),
        Route("/mes-patients/open", population_pages.open_patient, methods=["POST"]),
        Route("/acts", recording.record_act, methods=["POST"]),
        Route("/acts/new", recording.new_act, methods=["GET"]),
        Route("/acts/{act_id}/correct", act_corrections.correct, methods=["POST"]),
        Route("/acts/{act_id}/delete", act_corrections.delete, methods=["POST"]),
        Route("/acts/{act_id}/share", act_corrections.share, methods=["POST"]),
        Route("/patient.json", patient_status.patient_status, methods=["GET"]),
        Route("/conditions", condition_declarations.conditions_page, methods=["GET"]),
        Route("/conditions", condition_declarations.declare, methods=["POST"]),
        Route("/conditions/{declaration_id}/withdraw", condition_declarations.withdraw, methods=["POST"]),
        *cds.routes,
    ]


@hookimpl
def bouquet_templates() -> str:
    return str(HERE / "templates")


@hookimpl
def bouquet_models() -> list[type]:
    from bouquet_prevention import models

    return [models.PreventionAct, models.CdsClient, models.CdsJwtId, models.CdsFeedback, models.DeclaredCondition]


@hookimpl
def bouquet_migrations() -> str:
    return str(HERE / "migrations")


@hookimpl
def bouquet_nav(ctx: RequestContext) -> list[NavEntry]:
    if ctx.account is not None and ctx.can("prevention.population"):
        return [NavEntry("Prévention — mes patients", "/p/prevention/mes-patients", order=250)]
    return []


@hookimpl
def bouquet_patient_panels(ctx: RequestContext) -> list[Panel]:
    if ctx.patient is not None and ctx.can("prevention.read"):
        return [Panel("Prévention", "/p/prevention/panel", order=250)]
    return []


@hookimpl
async def bouquet_alerts(ctx: RequestContext) -> list[Alert]:
    from bouquet_prevention import panel

    return await panel.alerts(ctx)


@hookimpl(trylast=True)
def bouquet_demo(db: Database) -> None:
    # After the core's demo accounts (trylast): dr.martin is the médecin traitant of the demo patients.
    from bouquet_prevention import demo

    for line in demo.load(db):
        print(line)


@hookimpl
def bouquet_startup(app: Starlette) -> None:
    from bouquet_prevention import cds, hooks

    # The prevention_* hooks other plugins implement are checked now, as this worker starts.
    hooks.register_hookspecs(app.state.plugins.pm)
    hooks.rules_for(app.state.plugins)  # a refused rule contribution is logged at start, not at first use
    # Callers authenticate with their own JWT: no browser session, so no CSRF token either.
    exempt = getattr(app.state, "csrf_exempt", None)
    if isinstance(exempt, list) and cds.BASE_PATH not in exempt:
        exempt.append(cds.BASE_PATH)


@hookimpl
def bouquet_cli(group: click.Group) -> None:
    from bouquet_prevention import cds_clients, evaluate_cli, patients_cli

    prevention = cds_clients.add_commands(group)
    patients_cli.add_commands(prevention)
    evaluate_cli.add_commands(prevention)
