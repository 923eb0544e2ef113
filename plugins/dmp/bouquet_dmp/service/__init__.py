"""The embedded DMP service: a FHIR R4 server for IHE MHD, storing documents in the database.

    GET  /metadata                                   CapabilityStatement
    GET  /Patient?identifier=urn:oid:<oid>|<ins>     does this patient have a DMP (TD0.2); 403 if the caller is blocked
    POST /Patient/$bris-de-glace                     emergency access (Parameters: reason)
    POST /Patient/$regulation                        the SAMU's regulating doctor's access (Parameters: reason)
    POST /Patient/$consentement                      the patient's consent (Parameters: scope, how)
    GET  /DocumentReference?patient.identifier=…     ITI-67 find (TD3.1): status, identifier, type, category, period, date,
                                                     author.identifier, security-label (any other refused)
    GET  /DocumentReference/{id}                     one DocumentReference
    GET  /Binary/{id}                                ITI-68 retrieve (TD3.2): the document's bytes
    POST /                                           ITI-65 provide (TD2.1): a transaction Bundle
    GET  /AuditEvent?patient.identifier=…            the patient's access history

Every request carries the caller's signed identity (`identity.HEADER`) naming the one patient it
is about; the service enforces the access rules itself (`access`) and traces every access.

Mounted in the portal at `/p/dmp/fhir` (when `BOUQUET_DMP_URL` is unset), or run alone with
`bouquet dmp-service --port N`.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from bouquet.api.db import Database
from bouquet_dmp.care_team import CareTeamSource, source_of
from bouquet_dmp.config import DmpSettings
from bouquet_dmp.identity import key_for
from bouquet_dmp.service import endpoints


def create_service(db: Database, secret: str, settings: DmpSettings | None = None,
                   care_team: CareTeamSource | None = None) -> Starlette:
    """A DMP service on `db`, trusting identities signed with the key derived from `secret`; `care_team`:
    the care teams other plugins know of (`care_team.source_of(plugins)`)."""
    app = Starlette(routes=endpoints.routes, exception_handlers=endpoints.exception_handlers)
    app.state.db = db
    app.state.identity_key = key_for(secret)
    app.state.dmp = settings or DmpSettings()
    app.state.care_team = care_team
    return app


def service_for(state: Any) -> Starlette:
    """The embedded service of the portal whose `app.state` is `state` (made on first use)."""
    service = getattr(state, "dmp_service", None)
    if service is None:
        service = state.dmp_service = create_service(state.db, state.settings.secret_key,
                                                     care_team=source_of(getattr(state, "plugins", None)))
    return service


class EmbeddedService:
    """The ASGI app mounted at `/p/dmp/fhir`: hands each request to the portal's embedded service."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from starlette.responses import JSONResponse

        from bouquet_dmp.config import dmp_settings
        from bouquet_dmp.service.resources import outcome

        state = scope["app"].state
        if dmp_settings().url is not None:
            await JSONResponse(outcome("not-found", "disabled", "Le service DMP embarqué est désactivé : "
                                       "le portail utilise le DMP de BOUQUET_DMP_URL."), status_code=404)(scope, receive, send)
            return
        await service_for(state)(scope, receive, send)
