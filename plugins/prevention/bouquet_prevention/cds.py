"""The CDS Hooks 2.0 service: discovery, the `bouquet-prevention` patient-view service, its feedback.

    GET  /p/prevention/cds-services                               discovery (public)
    POST /p/prevention/cds-services/bouquet-prevention            cards for the patient in the request
    POST /p/prevention/cds-services/bouquet-prevention/feedback   what the user did with a card

The service endpoints are `@public` for the portal (no browser session) and authenticate their
callers themselves (`cds_auth.py`); they take JSON without a cookie, which the core's CSRF
middleware lets through, and `bouquet_startup` also lists them as CSRF-exempt. The cards are
computed from the prefetched resources plus the acts recorded in Bouquet for the patient's INS;
every call is audited with the patient's INS.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bouquet import get_context, public
from bouquet.api.web import JsonBodyError, body_limit, read_json
from bouquet_prevention import clock
from bouquet_prevention.catalogue import default_catalogue
from bouquet_prevention.cds_auth import CdsAuthError, CdsCaller, authenticate
from bouquet_prevention.cds_cards import cards_for
from bouquet_prevention.cds_request import (
    HOOK,
    PREFETCH,
    CdsRequestError,
    PatientView,
    parse_patient_view,
)
from bouquet_prevention.condition_declarations import declared_conditions, declared_reported
from bouquet_prevention.history import recorded_acts
from bouquet_prevention.hooks import engine_for
from bouquet_prevention.models import CdsFeedback
from bouquet_prevention.pregnancy import Reported, resolve

__all__ = ["BASE_PATH", "SERVICE_ID", "routes"]

SERVICE_ID = "bouquet-prevention"
BASE_PATH = "/p/prevention/cds-services"
MAX_BODY_BYTES = 5 * 1024 * 1024


def _discovery_document() -> dict[str, Any]:
    return {"services": [{
        "hook": HOOK,
        "id": SERVICE_ID,
        "title": "Bouquet – prévention personnalisée",
        "description": ("Vaccinations, dépistages organisés et bilans de prévention recommandés en France "
                        "pour le patient ouvert, selon son âge, son sexe et les actes connus "
                        "(calendrier des vaccinations, programmes de dépistage, Mon bilan prévention)."),
        "prefetch": dict(PREFETCH),
        "usageRequirements": ("JWT signé par le client CDS (iss enregistré auprès de Bouquet) ou jeton d'accès "
                              "Bouquet portant le scope « launch » ; le Patient préchargé doit porter son INS."),
    }]}


@public
async def discovery(request: Request) -> Response:
    """The services this CDS server offers (CDS Hooks discovery); public."""
    return JSONResponse(_discovery_document())


@public
@body_limit(MAX_BODY_BYTES)
async def call_service(request: Request) -> Response:
    """Cards for a patient-view request: 401 for a caller not authenticated, 400 naming a malformed field."""
    if request.path_params["service_id"] != SERVICE_ID:
        return JSONResponse({"error": "not_found", "reason": "Service CDS inconnu."}, status_code=404)
    ctx = get_context(request)
    endpoint = f"{ctx.settings.base_url}{BASE_PATH}/{SERVICE_ID}"
    try:
        caller = await authenticate(request, ctx, {endpoint})
        view = parse_patient_view(await _json_body(request), default_catalogue())
    except CdsAuthError as exc:
        return exc.response()
    except CdsRequestError as exc:
        return JSONResponse(exc.as_json(), status_code=400)
    if not caller.may_ask_about(view.patient_ins):
        # A token bound to one patient (SMART launch, token exchange) asks about another: as /fhir/Patient/{id}.
        await _audit(ctx, caller, "prevention.cds_patient_view", view,
                     {"hook_instance": view.hook_instance, "reason": "patient_not_bound"}, outcome="denied")
        return JSONResponse({"error": "forbidden", "reason": "Ce jeton d'accès est lié à un autre patient que "
                                                             "celui de la requête."}, status_code=403)

    def known() -> tuple[list[Any], Reported]:
        with ctx.db.session() as session:
            declared = declared_reported(declared_conditions(session, view.patient_ins))
            return recorded_acts(session, view.patient_ins), declared

    recorded, declared = await ctx.db.run(known)
    acts = [*view.acts, *recorded]
    # Conditions: what professionals declared in Bouquet, then the prefetched problem list (a
    # pregnancy's term: the declaration's first, else the pregnancy Condition's onset).
    on = clock.today()
    conditions, pregnancy_start = resolve([declared, view.reported], on)
    facts = replace(view.facts, conditions=conditions, pregnancy_start=pregnancy_start)
    outcomes = engine_for(ctx.plugins).evaluate(facts, acts, on)
    cards = cards_for(outcomes, hook_instance=view.hook_instance, base_url=ctx.settings.base_url)
    await _audit(ctx, caller, "prevention.cds_patient_view", view, {
        "hook_instance": view.hook_instance, "user": view.user_id[:200], "cards": len(cards),
        "acts_received": len(view.acts), **({"conditions": sorted(facts.conditions)} if facts.conditions else {})})
    return JSONResponse({"cards": cards})


@public
async def feedback(request: Request) -> Response:
    """Store what the user did with cards (CDS Hooks feedback): 200, or 400 naming a malformed field."""
    service_id = request.path_params["service_id"]
    if service_id != SERVICE_ID:
        return JSONResponse({"error": "not_found", "reason": "Service CDS inconnu."}, status_code=404)
    ctx = get_context(request)
    endpoint = f"{ctx.settings.base_url}{BASE_PATH}/{SERVICE_ID}"
    try:
        caller = await authenticate(request, ctx, {f"{endpoint}/feedback", endpoint})
        items = _feedback_items(await _json_body(request))
    except CdsAuthError as exc:
        return exc.response()
    except CdsRequestError as exc:
        return JSONResponse(exc.as_json(), status_code=400)

    def store() -> None:
        with ctx.db.write() as session:
            for item in items:
                session.add(CdsFeedback(service_id=service_id, iss=caller.iss, **item))

    await ctx.db.run(store)
    return JSONResponse({})


async def _json_body(request: Request) -> Any:
    try:
        return await read_json(request, max_bytes=MAX_BODY_BYTES)
    except JsonBodyError as refused:
        raise CdsRequestError("(body)", refused.message) from None


def _feedback_items(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("feedback"), list) or not body["feedback"]:
        raise CdsRequestError("feedback", "Une liste « feedback » non vide est attendue.")
    items = []
    for index, entry in enumerate(body["feedback"]):
        path = f"feedback[{index}]"
        if not isinstance(entry, dict):
            raise CdsRequestError(path, "Chaque retour doit être un objet.")
        card, outcome = entry.get("card"), entry.get("outcome")
        if not isinstance(card, str) or not card or len(card) > 100:
            raise CdsRequestError(f"{path}.card", "L'uuid de la carte (« card ») est obligatoire.")
        if outcome not in {"accepted", "overridden"}:
            raise CdsRequestError(f"{path}.outcome", "outcome doit valoir « accepted » ou « overridden ».")
        accepted = entry.get("acceptedSuggestions", [])
        if outcome == "accepted" and (not isinstance(accepted, list) or not accepted
                                      or not all(isinstance(s, dict) and isinstance(s.get("id"), str) for s in accepted)):
            raise CdsRequestError(f"{path}.acceptedSuggestions",
                                  "Un retour « accepted » doit lister les suggestions acceptées ({\"id\": …}).")
        reason = entry.get("overrideReason")
        if reason is not None and not isinstance(reason, dict):
            raise CdsRequestError(f"{path}.overrideReason", "overrideReason doit être un objet.")
        timestamp = entry.get("outcomeTimestamp")
        try:
            outcome_at = datetime.fromisoformat(timestamp) if isinstance(timestamp, str) else None
        except ValueError:
            outcome_at = None
        if outcome_at is None or outcome_at.utcoffset() is None:
            raise CdsRequestError(f"{path}.outcomeTimestamp", "Horodatage ISO 8601 avec fuseau (UTC) obligatoire.")
        items.append({"card": card, "outcome": outcome, "outcome_at": outcome_at,
                      "accepted_suggestions": [s["id"] for s in accepted] if outcome == "accepted" else [],
                      "override_reason": reason})
    return items


async def _audit(ctx: Any, caller: CdsCaller, action: str, view: PatientView, details: dict[str, Any],
                 outcome: str = "success") -> None:
    auditor = ctx.audit
    # A machine caller has no portal account: name the client, and the person it calls for.
    auditor.actor = caller.audit_actor
    await auditor.log(action, patient_ins=view.patient_ins, resource=f"cds/{SERVICE_ID}", outcome=outcome,
                      details={**details, "client": caller.name})


routes = [
    Route("/cds-services", discovery, methods=["GET"]),
    Route("/cds-services/{service_id}", call_service, methods=["POST"]),
    Route("/cds-services/{service_id}/feedback", feedback, methods=["POST"]),
]
