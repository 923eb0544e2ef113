"""bouquet-dmp: the patient's shared medical record (DMP), read and fed from the portal through IHE MHD.

The portal talks to the DMP only through `mhd_client` (ITI-65/67/68 on FHIR R4), against
`BOUQUET_DMP_URL` or, when unset, the embedded service (`service`, mounted at `/p/dmp/fhir`),
which enforces the access rules itself (`access`). The hook implementations stay thin: each
concept lives in its own module.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from bouquet import Action, Alert, NavEntry, Panel, hookimpl

if TYPE_CHECKING:
    import click

    from bouquet.api.db import Database
    from bouquet.api.patient import PatientContext
    from bouquet.api.web import RequestContext

__version__ = "0.1.0"

HERE = Path(__file__).parent
#: Professions that may open a DMP in an emergency: médecins, sages-femmes, infirmiers.
EMERGENCY_PROFESSIONS = frozenset({"10", "50", "60"})
#: Who may open a DMP as the SAMU's regulating doctor: médecins.
REGULATION_PROFESSIONS = frozenset({"10"})


@hookimpl
def bouquet_actions() -> list[Action]:
    return [
        # A secretary reaches the DMP's pages, and the DMP tells them why it shows them nothing (CSP L. 1111-17 III).
        Action("dmp.read", "Consulter le DMP du patient", secretary=True),
        Action("dmp.upload", "Alimenter le DMP du patient"),
        Action("dmp.emergency_access", "Accéder au DMP en urgence (bris de glace)", professions=EMERGENCY_PROFESSIONS),
        # The SAMU's regulating doctor (CSP L. 1111-17 I): médecins only, as the DMP itself checks.
        Action("dmp.regulation", "Accéder au DMP en régulation (SAMU – centre 15)", professions=REGULATION_PROFESSIONS),
    ]


@hookimpl
def bouquet_routes() -> list[Any]:
    from starlette.routing import Mount, Route

    from bouquet import public
    from bouquet_dmp import consent, emergency, history, pages, panel, upload
    from bouquet_dmp.service import EmbeddedService

    return [
        Route("/panel", panel.panel, methods=["GET"]),
        Route("/documents", pages.documents, methods=["GET"]),
        Route("/documents/{document_id:str}", pages.viewer, methods=["GET"]),
        Route("/documents/{document_id:str}/content", pages.content, methods=["GET"]),
        Route("/upload", upload.form, methods=["GET"]),
        Route("/upload", upload.submit, methods=["POST"]),
        Route("/emergency", emergency.form, methods=["GET"]),
        Route("/emergency", emergency.submit, methods=["POST"]),
        Route("/regulation", emergency.regulation_form, methods=["GET"]),
        Route("/regulation", emergency.regulation_submit, methods=["POST"]),
        Route("/history", history.history, methods=["GET"]),
        Route("/consent", consent.form, methods=["GET"]),
        Route("/consent", consent.submit, methods=["POST"]),
        # Callers authenticate with their signed identity (`identity`), not the browser's session.
        Mount("/fhir", app=public(EmbeddedService())),
    ]


@hookimpl
def bouquet_templates() -> str:
    return str(HERE / "templates")


@hookimpl
def bouquet_static() -> str:
    return str(HERE / "static")


@hookimpl
def bouquet_models() -> list[type]:
    from bouquet_dmp.models import MODELS

    return MODELS


@hookimpl
def bouquet_migrations() -> str:
    return str(HERE / "migrations")


@hookimpl
def bouquet_nav(ctx: RequestContext) -> list[NavEntry]:
    if ctx.patient is not None and ctx.can("dmp.read"):
        return [NavEntry("DMP du patient", "/p/dmp/documents", order=150)]
    return []


@hookimpl
async def bouquet_home_notices(ctx: RequestContext) -> list[Alert]:
    """The médecin traitant reads here that a patient's DMP was opened in an emergency (the outbox's messages)."""
    from bouquet_dmp.notices import emergency_notices

    return await emergency_notices(ctx)


@hookimpl
def bouquet_patient_panels(ctx: RequestContext) -> list[Panel]:
    if ctx.patient is not None and ctx.can("dmp.read"):
        return [Panel("Dossier médical partagé (DMP)", "/p/dmp/panel", order=100)]
    return []


@hookimpl
async def prevention_external_acts(ctx: RequestContext, patient: PatientContext) -> list[dict[str, Any]]:
    """The prevention plugin's hook (declared by it; implemented here by name, without importing it)."""
    from bouquet_dmp.vaccinations import external_acts

    return await external_acts(ctx, patient)


@hookimpl
async def prevention_external_acts_bulk(ctx: RequestContext, patients: list[PatientContext]) -> dict[str, list[dict[str, Any]]]:
    """The DMP's vaccinations for a whole list (the prevention plugin's « mes patients »), by '<oid>|<matricule>'."""
    from bouquet_dmp.vaccinations import external_acts_bulk

    return await external_acts_bulk(ctx, patients)


@hookimpl
async def prevention_share_vaccination(ctx: RequestContext, patient: PatientContext,
                                       vaccination: dict[str, Any]) -> dict[str, Any]:
    """The prevention plugin's hook: a recorded vaccination sent to the DMP as a vaccination note."""
    from bouquet_dmp.vaccination_note import share

    return await share(ctx, patient, vaccination)


@hookimpl
def bouquet_startup(app: Any) -> None:
    """Declare `dmp_care_team`, the hook other plugins answer to put a professional in a patient's care team."""
    from bouquet_dmp.hookspecs import ensure_hookspecs

    ensure_hookspecs(app.state.plugins.pm)


@hookimpl
def bouquet_demo(db: Database) -> None:
    from bouquet_dmp.demo import load

    load(db)


@hookimpl
def bouquet_cli(group: click.Group) -> None:
    from bouquet_dmp.cli import add_commands

    add_commands(group)
