"""RFC 8693 token exchange against a live portal: the practice software's backend narrows a
professional's access token to one plugin API (audience, scope, patient), never widens it."""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import select

from bouquet.foundation.audit import AuditEvent, verify
from bouquet.patient.demo import DEMO_PATIENTS
from bouquet.patient.smart import patient_resource_id
from bouquet.sso.oidc import InvalidClient, register_client

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS = "urn:ietf:params:oauth:token-type:access_token"
AUDIENCE = "bouquet:plugin:launcher"
SCOPE = "openid profile scope_all patient/Patient.read"


@pytest.fixture
def software(portal, smart_rp):
    """The practice software: a confidential client allowed to exchange tokens."""
    return smart_rp(scope=SCOPE, grant_types=["authorization_code", "refresh_token", EXCHANGE])


def _exchange(portal, rp, subject: str, **params: str) -> httpx.Response:
    secret = rp.oauth.client_secret
    return httpx.post(f"{portal.url}/token", auth=(rp.client_id, secret), data={
        "grant_type": EXCHANGE, "subject_token": subject, "subject_token_type": ACCESS, **params})


def _api(portal, token: str) -> httpx.Response:
    return httpx.get(f"{portal.url}/p/launcher/api", headers={"Authorization": f"Bearer {token}"})


def test_a_token_narrowed_to_one_plugin_api_and_one_patient(portal, patients, software, make_account):
    doctor = make_account()
    context_id = patients.open(doctor)
    subject = software.sign_in(patients.browser(doctor, None), scope=SCOPE)

    narrowed = _exchange(portal, software, subject["access_token"], audience=AUDIENCE, scope="openid",
                         patient=patient_resource_id(context_id))
    assert narrowed.status_code == 200, narrowed.text
    token = narrowed.json()
    assert token["issued_token_type"] == ACCESS and token["token_type"] == "Bearer" and "refresh_token" not in token
    assert token["scope"] == "openid" and 0 < token["expires_in"] <= 300
    assert token["patient"] == patient_resource_id(context_id)

    # The plugin API sees the audience, the scope and the patient; other APIs refuse the token.
    seen = _api(portal, token["access_token"])
    assert seen.status_code == 200
    assert seen.json() == {"client_id": software.client_id, "scopes": ["openid"], "audience": AUDIENCE,
                           "patient_context_id": context_id, "account_id": doctor.id}
    assert httpx.get(f"{portal.url}/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"}).status_code == 401
    assert httpx.get(f"{portal.url}/fhir/Patient/{token['patient']}",
                     headers={"Authorization": f"Bearer {token['access_token']}"}).status_code == 401
    # The subject token itself (no audience) is accepted by any Bouquet API.
    assert _api(portal, subject["access_token"]).json()["audience"] is None
    introspected = httpx.post(f"{portal.url}/introspect", auth=(software.client_id, software.oauth.client_secret),
                              data={"token": token["access_token"]}).json()
    assert introspected["active"] and introspected["aud"] == AUDIENCE and introspected["patient"] == token["patient"]

    # For the FHIR base, with the patient as a resource URL: the Patient can be read.
    fhir = f"{portal.url}/fhir"
    for_fhir = _exchange(portal, software, subject["access_token"], audience=fhir, scope="patient/Patient.read",
                         resource=f"{fhir}/Patient/{patient_resource_id(context_id)}").json()
    read = httpx.get(f"{fhir}/Patient/{for_fhir['patient']}", headers={"Authorization": f"Bearer {for_fhir['access_token']}"})
    assert read.status_code == 200 and read.json()["identifier"][0]["value"] == DEMO_PATIENTS[0].ins.matricule
    with portal.db.session() as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "oidc.token_exchanged")).all()
        chain = verify(session, portal.app.state.audit_key)
    assert len(events) == 2 and all(event.actor == doctor.label and event.patient_ins for event in events)
    assert chain.ok  # events written by the token endpoint and /fhir keep the chain sealed

    # Revoking the subject's grant revokes what was exchanged from it.
    httpx.post(f"{portal.url}/revoke", auth=(software.client_id, software.oauth.client_secret),
               data={"token": subject["access_token"]})
    assert _api(portal, token["access_token"]).status_code == 401


def test_exchanges_that_are_refused(portal, patients, software, smart_rp, make_account):
    doctor, colleague = make_account(), make_account()
    colleague_patient = patients.open(colleague, DEMO_PATIENTS[2])
    subject = software.sign_in(patients.browser(doctor, None), scope="openid profile")["access_token"]
    refusals = {
        "invalid_scope": {"scope": "openid scope_all"},
        "invalid_target": {"audience": "bouquet:plugin:nowhere"},
    }
    for error, params in refusals.items():
        answer = _exchange(portal, software, subject, **params)
        assert (answer.status_code, answer.json()["error"]) == (400, error), params
    another = _exchange(portal, software, subject, audience=AUDIENCE, patient=patient_resource_id(colleague_patient))
    assert (another.status_code, another.json()["error"]) == (400, "invalid_target")
    wrong_resource = _exchange(portal, software, subject, resource="https://elsewhere.example/fhir/Patient/x")
    assert wrong_resource.json()["error"] == "invalid_target"
    assert _exchange(portal, software, subject, subject_token_type="urn:ietf:params:oauth:token-type:id_token"
                     ).json()["error"] == "invalid_request"
    assert _exchange(portal, software, "not-a-token").json()["error"] == "invalid_grant"

    # An exchanged token cannot be exchanged again; nor can another client's token.
    exchanged = _exchange(portal, software, subject, audience=AUDIENCE).json()["access_token"]
    assert _exchange(portal, software, exchanged).json()["error"] == "invalid_grant"
    other = smart_rp(scope="openid profile", grant_types=["authorization_code", EXCHANGE])
    assert _exchange(portal, other, subject).json()["error"] == "invalid_grant"
    # A client not registered for the grant type may not exchange at all.
    plain = smart_rp(scope="openid profile")
    own = plain.sign_in(patients.browser(doctor, None), scope="openid profile")["access_token"]
    assert _exchange(portal, plain, own).json()["error"] == "unauthorized_client"


def test_a_public_client_may_not_be_registered_for_token_exchange(portal):
    with portal.db.write() as session, pytest.raises(InvalidClient) as refused:
        register_client(session, name="Appli publique", redirect_uris=["http://localhost:9/cb"],
                        token_endpoint_auth_method="none", grant_types=["authorization_code", EXCHANGE])
    assert "grant_types" in refused.value.problems
