"""Bouquet access tokens on the CDS Hooks service: a real token from the portal's provider (client
credentials) with the `launch` scope is accepted instead of a client JWT; others are refused."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from bouquet_prevention.testing import MARTIN, MARTIN_INS
from sqlmodel import select

from bouquet.api.audit import AuditEvent
from bouquet.api.oauth import register_client

SERVICE = "/p/prevention/cds-services/bouquet-prevention"


@pytest.fixture
def client(make_app: Any) -> Any:
    """The portal at http://localhost: the OAuth server (authlib) refuses plain http anywhere else."""
    from bouquet.testing.fixtures import BouquetClient

    with BouquetClient(make_app(base_url="http://localhost"), base_url="http://localhost") as local:
        yield local


def backend_token(client: Any, scope: str) -> tuple[str, tuple[str, str]]:
    """An access token the practice software's backend gets from Bouquet with client credentials."""
    with client.app.state.db.write() as session:
        registered = register_client(session, name="Logiciel de cabinet", grant_types=["client_credentials"],
                                     scope=scope, redirect_uris=[])
        client_id, secret = registered.client.client_id, registered.secret
    token_url = client.get("/.well-known/openid-configuration").json()["token_endpoint"]
    answer = client.post(token_url, data={"grant_type": "client_credentials", "scope": scope}, auth=(client_id, secret))
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"], (client_id, secret)


def body() -> dict[str, Any]:
    return {"hookInstance": "0b5e5b3c-4f6e-4a1a-9a43-1c1f4d0e9a11", "hook": "patient-view",
            "context": {"userId": "PractitionerRole/dr-alice", "patientId": "pat-1"},
            "prefetch": {"patient": MARTIN.to_fhir_patient("pat-1")}}


def call(client: Any, token: str) -> Any:
    return client.post(SERVICE, content=json.dumps(body()).encode(),
                       headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})


def test_a_bouquet_access_token_with_the_launch_scope_gets_the_cards(client: Any, today: date) -> None:
    token, _ = backend_token(client, "launch")
    answer = call(client, token)
    assert answer.status_code == 200, answer.text
    summaries = [card["summary"] for card in answer.json()["cards"]]
    assert "Vaccination contre la grippe saisonnière" in " ".join(summaries)
    with client.app.state.db.session() as session:
        [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "prevention.cds_patient_view")).all()
    assert event.actor.startswith("oauth-client:bq-") and event.patient_ins == MARTIN_INS
    assert event.details["client"] == "Logiciel de cabinet"


def test_other_tokens_are_refused(client: Any, today: date) -> None:
    without_scope, _ = backend_token(client, "profile")
    refused = call(client, without_scope)
    assert refused.status_code == 403 and refused.json()["error"] == "insufficient_scope"
    assert "launch" in refused.json()["reason"]
    unknown = call(client, "x" * 43)
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_token"
    assert "jeton d'accès Bouquet" in unknown.json()["reason"]
    assert call(client, "y" * 300).status_code == 401

    token, credentials = backend_token(client, "launch")
    assert call(client, token).status_code == 200
    revoke_url = client.get("/.well-known/openid-configuration").json()["revocation_endpoint"]
    assert client.post(revoke_url, data={"token": token}, auth=credentials).status_code == 200
    assert call(client, token).status_code == 401
