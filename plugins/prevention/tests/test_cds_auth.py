"""Bouquet access tokens on the CDS Hooks service: a real token from the portal's provider (client
credentials) with the `launch` scope is accepted instead of a client JWT; others are refused."""

from __future__ import annotations

import base64
import hashlib
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


def _patient_token(client: Any, doctor: Any, patient: Any = MARTIN) -> str:
    """An access token of an app the doctor launched on `patient` (SMART EHR launch): bound to that patient."""
    from urllib.parse import parse_qs, urlsplit

    from bouquet.api.patient import PatientContextRecord, create_launch

    client.login(doctor)
    name, session_token = next(iter(client.cookies.keys())), client.session_token or ""
    client.cookies.clear()  # the client's helpers sign in on testserver.local; this portal is http://localhost
    client.cookies.set(name, session_token, domain="localhost.local", path="/")
    assert client.submit("/patient", {"demo": patient.ins.matricule}, follow_redirects=False).status_code == 303
    with client.app.state.db.write() as session:
        registered = register_client(session, name="Appli de suivi vaccinal", redirect_uris=["http://localhost:9/cb"],
                                     grant_types=["authorization_code"], scope="openid launch", first_party=True)
        client_id, secret = registered.client.client_id, registered.secret
        context_id = session.exec(select(PatientContextRecord.id)
                                  .where(PatientContextRecord.established_by_id == doctor.id)).one()
        handle = create_launch(session, client_id=client_id, account_id=doctor.id, acting_for_id=None,
                               patient_context_id=context_id)
    configuration = client.get("/.well-known/openid-configuration").json()
    verifier = "v" * 64  # PKCE, which the provider requires from every client (RFC 9700)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    authorized = client.get(configuration["authorization_endpoint"], params={
        "response_type": "code", "client_id": client_id, "redirect_uri": "http://localhost:9/cb",
        "scope": "openid launch", "state": "s" * 16, "nonce": "n" * 16, "launch": handle,
        "code_challenge": challenge, "code_challenge_method": "S256"}, follow_redirects=False)
    assert authorized.status_code == 302, authorized.text[:500]
    code = parse_qs(urlsplit(authorized.headers["location"]).query)["code"][0]
    answer = client.post(configuration["token_endpoint"], auth=(client_id, secret), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": "http://localhost:9/cb",
        "code_verifier": verifier})
    assert answer.status_code == 200, answer.text
    assert answer.json().get("patient"), "the token is bound to the launched patient"
    return answer.json()["access_token"]


def _call_for(client: Any, token: str, patient: Any) -> Any:
    request = {**body(), "prefetch": {"patient": patient.to_fhir_patient("pat-1")}}
    return client.post(SERVICE, content=json.dumps(request).encode(),
                       headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})


def test_a_token_bound_to_a_patient_asks_only_about_that_patient(client: Any, doctor: Any, today: date) -> None:
    """Issue 13 item 2: an app launched on patient A cannot learn about patient B with its token."""
    from bouquet.api.patient import DEMO_PATIENTS

    other = DEMO_PATIENTS[1]
    token = _patient_token(client, doctor)
    refused = _call_for(client, token, other)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == "forbidden" and "autre patient" in refused.json()["reason"]
    assert "cards" not in refused.json()

    allowed = _call_for(client, token, MARTIN)
    assert allowed.status_code == 200 and allowed.json()["cards"]

    other_ins = f"{other.ins.oid}|{other.ins.matricule}"
    with client.app.state.db.session() as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "prevention.cds_patient_view")
                              .order_by(AuditEvent.seq)).all()
    assert [(e.patient_ins, e.outcome) for e in events] == [(other_ins, "denied"), (MARTIN_INS, "success")]
    # The actor is the application, on behalf of the doctor who launched it, never the doctor alone.
    assert all(e.actor.startswith("oauth-client:bq-") and f"on behalf of account:{doctor.id} (" in e.actor
               for e in events)


def test_the_practice_software_s_client_credentials_may_ask_about_any_patient(client: Any, today: date) -> None:
    from bouquet.api.patient import DEMO_PATIENTS

    token, _ = backend_token(client, "launch")
    for patient in DEMO_PATIENTS[:2]:
        assert _call_for(client, token, patient).status_code == 200
