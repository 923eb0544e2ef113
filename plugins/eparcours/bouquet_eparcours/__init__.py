"""bouquet-eparcours: regional care-coordination pathways (e-parcours), published by regions as plugins.

A professional includes the patient in context in a pathway (with their consent); the plan's
care team then works its tasks (FHIR Task statuses) from « Mes tâches », the plan page and the
patient page's panel; overdue tasks are alerts. Pathways come from any installed package through
this plugin's own hook, `eparcours_pathways` (see `hookspecs`).

The hook implementations below stay thin: each concept lives in its own module.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from bouquet import Action, NavEntry, Panel, hookimpl

if TYPE_CHECKING:
    import click
    from starlette.applications import Starlette

    from bouquet.api.web import RequestContext

__version__ = "0.1.0"

HERE = Path(__file__).parent
INCLUDE, SCHEDULE, COMPLETE = "eparcours.include", "eparcours.task.schedule", "eparcours.task.complete"


@hookimpl
def bouquet_actions() -> list[Action]:
    return [
        Action(INCLUDE, "Inclure un patient dans un parcours"),
        # Coordination accounts (social workers, DAC coordinators, carers) organise; they never do a clinical step.
        Action(SCHEDULE, "Planifier et réaffecter les tâches d'un parcours", secretary=True,
               roles=frozenset({"professional", "coordination"})),
        Action(COMPLETE, "Réaliser une étape clinique d'un parcours"),
    ]


@hookimpl
def bouquet_routes() -> list[Any]:
    from starlette.routing import Route

    from bouquet_eparcours import catalogue_pages, panel, plan_pages, task_pages

    return [
        Route("/tasks", task_pages.my_tasks, methods=["GET"]),
        Route("/tasks/{task_id:int}", task_pages.task_page, methods=["GET"]),
        Route("/tasks/{task_id:int}/status", task_pages.change_status, methods=["POST"]),
        Route("/tasks/{task_id:int}/assign", task_pages.assign, methods=["POST"]),
        Route("/tasks/{task_id:int}/schedule", task_pages.schedule, methods=["POST"]),
        Route("/tasks/{task_id:int}/notes", task_pages.add_note, methods=["POST"]),
        Route("/include", plan_pages.include_form, methods=["GET"]),
        Route("/plans", plan_pages.include, methods=["POST"]),
        Route("/plans/{plan_id:int}", plan_pages.plan_page, methods=["GET"]),
        Route("/plans/{plan_id:int}/fhir", plan_pages.plan_fhir, methods=["GET"]),
        Route("/plans/{plan_id:int}/status", plan_pages.change_plan_status, methods=["POST"]),
        Route("/plans/{plan_id:int}/consent-withdrawal", plan_pages.withdraw_consent, methods=["POST"]),
        Route("/plans/{plan_id:int}/team", plan_pages.add_member, methods=["POST"]),
        Route("/plans/{plan_id:int}/team/{member_id:int}/remove", plan_pages.remove_member, methods=["POST"]),
        Route("/plans/{plan_id:int}/notes", plan_pages.add_liaison_note, methods=["POST"]),
        Route("/plans/{plan_id:int}/ppcs", plan_pages.update_ppcs, methods=["POST"]),
        Route("/plans/{plan_id:int}/messages", plan_pages.send_message, methods=["POST"]),
        Route("/plans/{plan_id:int}/documents", plan_pages.attach_document, methods=["POST"]),
        Route("/plans/{plan_id:int}/documents/{document_id:int}", plan_pages.plan_document, methods=["GET"]),
        Route("/panel", panel.panel, methods=["GET"]),
        Route("/pathways", catalogue_pages.pathways_page, methods=["GET"]),
        Route("/pathways/{pathway_id:str}", catalogue_pages.pathway, methods=["GET"]),
    ]


@hookimpl
def bouquet_templates() -> str:
    return str(HERE / "templates")


@hookimpl
def bouquet_models() -> list[type]:
    from bouquet_eparcours.models import MODELS

    return MODELS


@hookimpl
def bouquet_migrations() -> str:
    return str(HERE / "migrations")


@hookimpl
def bouquet_nav(ctx: RequestContext) -> list[NavEntry]:
    if ctx.account is not None and (ctx.can(SCHEDULE) or ctx.can(COMPLETE)):
        return [NavEntry("Mes tâches", "/p/eparcours/tasks", order=200)]
    return []


@hookimpl
def bouquet_patient_panels(ctx: RequestContext) -> list[Panel]:
    if ctx.patient is not None and (ctx.can(INCLUDE) or ctx.can(SCHEDULE) or ctx.can(COMPLETE)):
        return [Panel("Parcours de soins coordonnés", "/p/eparcours/panel", order=300)]
    return []


@hookimpl
async def bouquet_alerts(ctx: RequestContext) -> list[Any]:
    from bouquet_eparcours import panel

    return await panel.alerts(ctx)


@hookimpl
def dmp_care_team(session: Any, patients: list[str], idnat_ps: str) -> dict[str, str]:
    """The DMP plugin's hook (declared by it; implemented here by name): this patient's active plans' care teams.
    (Its module is not named after the hook: importing it would replace this function on the package.)"""
    from bouquet_eparcours.dmp_care_relationship import care_team_reasons

    return care_team_reasons(session, patients, idnat_ps)


@hookimpl
async def bouquet_startup(app: Starlette) -> None:
    # Every plugin is registered by now: declare our hook, then load (and report on) the pathways.
    from starlette.concurrency import run_in_threadpool

    from bouquet_eparcours.catalogue import catalogue_of
    from bouquet_eparcours.hookspecs import ensure_hookspecs

    ensure_hookspecs(app.state.plugins.pm)
    await run_in_threadpool(catalogue_of, app.state)


@hookimpl
def bouquet_cli(group: click.Group) -> None:
    from bouquet_eparcours.cli import add_commands

    add_commands(group)
