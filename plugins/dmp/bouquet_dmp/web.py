"""What every DMP page needs: the permission check, the patient in context, the client, template values."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException

from bouquet.api.patient import audit_ins
from bouquet.api.web import RequestContext
from bouquet_dmp import display
from bouquet_dmp.mhd_client import (
    DmpError,
    DmpInvalidAnswer,
    DmpRefused,
    DmpUnavailable,
    MhdClient,
    client_for,
)

READ, UPLOAD, EMERGENCY, REGULATION = "dmp.read", "dmp.upload", "dmp.emergency_access", "dmp.regulation"


def require(ctx: RequestContext, action: str = READ) -> MhdClient:
    """A client for the patient in context, once `ctx` may do `action`; else 403 / 409."""
    if not ctx.can(action):
        raise HTTPException(403, {READ: "Votre compte ne permet pas de consulter le DMP.",
                                  UPLOAD: "Votre compte ne permet pas d'alimenter le DMP.",
                                  EMERGENCY: "Votre compte ne permet pas l'accès en urgence au DMP.",
                                  REGULATION: "Seul un médecin peut accéder au DMP en régulation (SAMU – centre 15)."}[action])
    if ctx.patient is None:
        raise HTTPException(409, "Aucun patient n'est ouvert : ouvrez d'abord le dossier d'un patient.")
    return client_for(ctx)


def patient_ins(ctx: RequestContext) -> str:
    assert ctx.patient is not None
    return audit_ins(ctx.patient)


def problem(exc: DmpError) -> dict[str, str]:
    """What to tell the user about a failed DMP call: a title, the detail, an alert level."""
    if isinstance(exc, DmpRefused):
        return {"title": "Accès au DMP refusé", "detail": exc.message, "level": "warning", "reason": exc.reason}
    if isinstance(exc, DmpInvalidAnswer):
        return {"title": "DMP indisponible / réponse invalide", "detail": exc.message, "level": "error"}
    assert isinstance(exc, DmpUnavailable)
    return {"title": "DMP indisponible", "detail": exc.message, "level": "error"}


def outcome_of(exc: DmpError) -> str:
    return "denied" if isinstance(exc, DmpRefused) else "failure"


def page(**values: Any) -> dict[str, Any]:
    """Template values, nested under the plugin's key."""
    return {"dmp": {"fmt": display, **values}}
