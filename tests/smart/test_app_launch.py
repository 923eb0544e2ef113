"""An application opened from Bouquet with the patient in context (SMART App Launch, EHR launch),
driven by authlib's client against a live portal: `iss` and `launch`, the authorization with scope
`launch`, `patient` in the token response, `/fhir/Patient/{id}`; handles that must be refused."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.practitioner import Practitioner
from sqlalchemy import update
from sqlmodel import select

from bouquet.foundation.audit import AuditEvent
from bouquet.foundation.db import utcnow
from bouquet.patient.demo import DEMO_PATIENTS
from bouquet.patient.smart import AppLaunch, create_launch, patient_context_id_of, SmartPatients
from bouquet.sso.oidc.models import Token
from bouquet.sso.oidc.server import purge
from bouquet.sso.oidc.tokens import hash_secret
from bouquet.testing.oidc import query_of

APP = "http://localhost:9/launch"


def _launch(browser, client_id: str, launch_uri: str = APP) -> dict[str, str]:
    response = browser.get(f"/p/launcher/open?client_id={client_id}&launch_uri={launch_uri}")
    assert response.status_code == 303, response.text[:300]
    return {key: values[0] for key, values in parse_qs(urlsplit(response.headers["location"]).query).items()}


def _authorize(browser, rp, params: dict[str, str], **extra: str) -> httpx.Response:
    return browser.get(rp.authorization_url(scope=rp.oauth.scope, launch=params["launch"], aud=params["iss"], **extra))


def _read(portal, patient_id: str, access_token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {access_token}"} if access_token else {}
    return httpx.get(f"{portal.url}/fhir/Patient/{patient_id}", headers=headers)


def test_a_launched_app_gets_the_patient_and_reads_it(portal, patients, smart_rp, make_account):
    doctor = make_account()
    context_id = patients.open(doctor)
    browser = patients.browser(doctor, context_id)
    # SMART apps ask for offline_access to get a refresh token (OpenID Connect Core §11).
    rp = smart_rp(grant_types=["authorization_code", "refresh_token"],
                  scope="openid profile fhirUser launch patient/Patient.read offline_access")

    params = _launch(browser, rp.client_id, APP + "?tenant=7")
    assert params["iss"] == f"{portal.url}/fhir" and params["tenant"] == "7" and len(params["launch"]) >= 43
    with portal.db.session() as session:
        row = session.exec(select(AppLaunch).where(AppLaunch.handle_hash == hash_secret(params["launch"]))).one()
    assert row.patient_context_id == context_id and row.client_id == rp.client_id and row.used_at is None

    smart = httpx.get(f"{params['iss']}/.well-known/smart-configuration").json()
    assert smart["authorization_endpoint"] == rp.portal.endpoint("authorization_endpoint")
    response = _authorize(browser, rp, params)
    assert response.status_code == 302, response.text[:300]
    token = rp.exchange(response.headers["location"])
    patient_id = token["patient"]
    nir = DEMO_PATIENTS[0].ins.matricule
    assert nir not in patient_id and patient_context_id_of(patient_id) == context_id
    claims = portal.id_claims(token["id_token"], rp.client_id, nonce=rp.nonce)
    assert claims["sub"] == doctor.idnat_ps
    assert claims["fhirUser"] == f"{portal.url}/fhir/Practitioner/{doctor.idnat_ps}"
    me = httpx.get(claims["fhirUser"], headers={"Authorization": f"Bearer {token['access_token']}"})
    practitioner = Practitioner.model_validate(me.json())
    assert practitioner.identifier[0].value == doctor.idnat_ps and practitioner.name[0].family == doctor.family_name
    someone = httpx.get(f"{portal.url}/fhir/Practitioner/810000000000",
                        headers={"Authorization": f"Bearer {token['access_token']}"})
    assert someone.status_code == 403 and someone.json()["resourceType"] == "OperationOutcome"

    read = _read(portal, patient_id, token["access_token"])
    assert read.status_code == 200 and read.headers["content-type"].startswith("application/fhir+json")
    patient = Patient.model_validate(read.json())
    assert patient.id == patient_id and patient.identifier[0].value == nir
    assert patient.identifier[0].system == "urn:oid:1.2.250.1.213.1.4.10"
    assert patient.name[0].family == "MARTIN" and patient.name[0].use == "official" and patient.gender == "female"
    assert str(patient.birthDate) == "1960-10-02" and patient.extension[0].url.endswith("patient-birthPlace")

    # Refreshing keeps the patient; the new access token reads it too.
    refreshed = rp.oauth.refresh_token(rp.portal.endpoint("token_endpoint"), refresh_token=token["refresh_token"])
    assert refreshed["patient"] == patient_id
    assert _read(portal, patient_id, refreshed["access_token"]).status_code == 200
    with portal.db.session() as session:
        rows = session.exec(select(Token).where(Token.client_id == rp.client_id).order_by(Token.id)).all()
        events = session.exec(select(AuditEvent).where(AuditEvent.action.in_(["smart.app_launch", "fhir.patient_read"]))
                                .order_by(AuditEvent.seq)).all()
    assert [r.patient_context_id for r in rows] == [context_id, context_id]
    assert [e.action for e in events] == ["smart.app_launch", "fhir.patient_read", "fhir.patient_read"]
    assert {e.patient_ins for e in events} == {f"1.2.250.1.213.1.4.10|{nir}"}
    assert all(e.actor == doctor.label and e.outcome == "success" for e in events)

    # The handle was consumed with the code: the same link cannot be used again.
    again = _authorize(browser, rp, params)
    assert query_of(again.headers["location"])["error"] == "invalid_request"


def test_launch_handles_that_are_refused(portal, patients, smart_rp, make_account):
    doctor, colleague = make_account(), make_account()
    context_id = patients.open(doctor)
    browser = patients.browser(doctor, context_id)
    rp, other_rp = smart_rp(), smart_rp()
    iss = f"{portal.url}/fhir"

    def make(client_id: str, account, expired: bool = False) -> str:
        with portal.db.write() as session:
            handle = create_launch(session, client_id=client_id, account_id=account.id, acting_for_id=None,
                                   patient_context_id=context_id)
            if expired:
                row = session.exec(select(AppLaunch).where(AppLaunch.handle_hash == hash_secret(handle))).one()
                row.expires_at = utcnow() - timedelta(seconds=1)
                session.add(row)
        return handle

    cases = {
        "unknown": {"launch": "x" * 43, "iss": iss},
        "expired": {"launch": make(rp.client_id, doctor, expired=True), "iss": iss},
        "another application's": {"launch": make(other_rp.client_id, doctor), "iss": iss},
        "another person's": {"launch": make(rp.client_id, colleague), "iss": iss},
        "wrong aud": {"launch": make(rp.client_id, doctor), "iss": "https://elsewhere.example/fhir"},
    }
    for name, params in cases.items():
        response = _authorize(browser, rp, params)
        assert response.status_code == 302, name
        answer = query_of(response.headers["location"])
        assert answer["error"] == "invalid_request" and "code" not in answer, name
        assert answer["state"] == rp.state and answer["iss"] == portal.url, name

    # Scope launch without a handle (a standalone launch), and a handle without scope launch.
    response = browser.get(rp.authorization_url(scope="openid launch patient/Patient.read"))
    assert query_of(response.headers["location"])["error"] == "invalid_request"
    response = browser.get(rp.authorization_url(scope="openid", launch=make(rp.client_id, doctor)))
    assert query_of(response.headers["location"])["error"] == "invalid_scope"
    with portal.db.session() as session:
        assert session.exec(select(AppLaunch).where(AppLaunch.used_at.is_not(None))).all() == []
    # Handles are deleted a day after they expire, by the workers' periodic purge.
    with portal.db.write() as session:
        session.execute(update(AppLaunch).values(expires_at=utcnow() - timedelta(days=1, minutes=1)))
    purge(portal.db, SmartPatients())
    with portal.db.session() as session:
        assert session.exec(select(AppLaunch)).all() == []


def test_patient_reads_are_bound_to_the_token(portal, patients, smart_rp, make_account):
    doctor = make_account()
    first, second = patients.open(doctor), patients.open(doctor, DEMO_PATIENTS[1])
    browser = patients.browser(doctor, first)
    rp = smart_rp()
    token = rp.exchange(_authorize(browser, rp, _launch(browser, rp.client_id)).headers["location"])
    other_id = second.replace("_", ".")

    refused = _read(portal, other_id, token["access_token"])
    assert refused.status_code == 403
    assert refused.json()["resourceType"] == "OperationOutcome" and refused.json()["issue"][0]["code"] == "forbidden"
    missing = _read(portal, "inconnu-0", token["access_token"])
    assert missing.status_code == 404 and missing.json()["issue"][0]["code"] == "not-found"
    anonymous = _read(portal, token["patient"], None)
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")
    assert anonymous.json()["resourceType"] == "OperationOutcome"
    assert _read(portal, token["patient"], "forged").status_code == 401

    # A token without the Patient scope, and a token whose patient context was closed.
    narrow_rp = smart_rp()
    narrow = narrow_rp.exchange(browser.get(narrow_rp.authorization_url(
        scope="openid launch", launch=_launch(browser, narrow_rp.client_id)["launch"])).headers["location"])
    assert _read(portal, narrow["patient"], narrow["access_token"]).status_code == 403
    from bouquet.patient.context import close

    close(portal.db, patients.auditor(doctor), first, doctor, None)
    assert _read(portal, token["patient"], token["access_token"]).status_code == 404
    with portal.db.session() as session:
        denied = session.exec(select(AuditEvent).where(AuditEvent.action == "fhir.patient_read",
                                                       AuditEvent.outcome == "denied")).all()
    assert [event.resource for event in denied] == [f"Patient/{other_id}"]


def test_a_secretary_launches_for_the_professional_she_acts_for(portal, patients, smart_rp, make_account):
    doctor, other_doctor, secretary = make_account(), make_account(), make_account(kind="secretary")
    context_id = patients.open(secretary, acting_for=doctor)
    acting = patients.browser(secretary, context_id, acting_for=doctor)
    rp = smart_rp()
    params = _launch(acting, rp.client_id)
    # The same secretary acting for another professional cannot use a handle made for the first one.
    elsewhere = patients.browser(secretary, None, acting_for=other_doctor)
    refused = _authorize(elsewhere, rp, params)
    assert query_of(refused.headers["location"])["error"] == "invalid_request"
    token = rp.exchange(_authorize(acting, rp, params).headers["location"])
    assert _read(portal, token["patient"], token["access_token"]).status_code == 200
    with portal.db.session() as session:
        read = session.exec(select(AuditEvent).where(AuditEvent.action == "fhir.patient_read")).one()
    assert read.actor == secretary.label and read.acting_for == doctor.label


def test_no_patient_in_context_leaves_the_launch_address_alone(portal, patients, smart_rp, make_account):
    doctor = make_account()
    browser = patients.browser(doctor, None)
    rp = smart_rp()
    response = browser.get(f"/p/launcher/open?client_id={rp.client_id}&launch_uri=http://localhost:9/app%3Fa%3D1")
    assert response.headers["location"] == "http://localhost:9/app?a=1"
    with portal.db.session() as session:
        assert session.exec(select(AppLaunch)).all() == []


def test_smart_configuration_and_capability_statement(portal):
    smart = httpx.get(f"{portal.url}/fhir/.well-known/smart-configuration")
    assert smart.status_code == 200
    config = smart.json()
    assert {"launch-ehr", "client-confidential-symmetric", "context-ehr-patient", "sso-openid-connect",
            "permission-patient"} <= set(config["capabilities"])
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert {"launch", "fhirUser", "patient/Patient.read"} <= set(config["scopes_supported"])
    assert "urn:ietf:params:oauth:grant-type:token-exchange" in config["grant_types_supported"]

    metadata = httpx.get(f"{portal.url}/fhir/metadata")
    assert metadata.headers["content-type"].startswith("application/fhir+json")
    statement = CapabilityStatement.model_validate(metadata.json())
    rest = statement.rest[0]
    assert rest.resource[0].type == "Patient" and rest.resource[0].interaction[0].code == "read"
    uris = {ext.url: ext.valueUri for ext in rest.security.extension[0].extension}
    assert uris["authorize"] == config["authorization_endpoint"] and uris["token"] == config["token_endpoint"]
