"""The embedded DMP service on its own (as `bouquet dmp-service` runs it), read by an independent
FHIR client (fhirpy); its answers validate against the FHIR R4B models, and it checks who asks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest
from bouquet_dmp.identity import HEADER, Caller
from bouquet_dmp.mhd_client import provide_bundle
from bouquet_dmp.service import create_service
from bouquet_dmp.testing import LEFEBVRE, MARTIN, MARTIN_INS
from click.testing import CliRunner
from fhir.resources.R4B.auditevent import AuditEvent
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.documentreference import DocumentReference
from fhirpy import SyncFHIRClient

from bouquet.testing.fixtures import TEST_SECRET, free_port, serve

TOKEN = f"urn:oid:{MARTIN.ins.oid}|{MARTIN.ins.matricule}"


@pytest.fixture
def service_url(app: Any) -> Iterator[str]:
    port = free_port()
    stop = serve(create_service(app.state.db, TEST_SECRET), port)
    yield f"http://127.0.0.1:{port}"
    stop()


def test_fhirpy_reads_mhd_searches(service_url, doctor, identity):
    fhir = SyncFHIRClient(service_url, extra_headers=identity(doctor))
    references = fhir.resources("DocumentReference").search(**{"patient.identifier": TOKEN, "status": "current"}).fetch_all()
    assert len(references) == 7
    for reference in references:
        parsed = DocumentReference.model_validate(reference.serialize())
        assert parsed.subject.identifier.value == MARTIN.ins.matricule and parsed.status == "current"
    prescriptions = fhir.resources("DocumentReference").search(**{"patient.identifier": TOKEN, "category": "42"}).fetch_all()
    assert [r["type"]["coding"][0]["code"] for r in prescriptions] == ["57833-6"]
    patients = fhir.resources("Patient").search(identifier=TOKEN).fetch_all()
    assert patients[0]["name"][0]["family"] == "MARTIN"
    # ITI-68: the attachment URL is retrievable as is.
    pdf = next(r for r in references if r["content"][0]["attachment"]["contentType"] == "application/pdf")
    retrieved = httpx.get(pdf["content"][0]["attachment"]["url"], headers=identity(doctor))
    assert retrieved.status_code == 200 and retrieved.content.startswith(b"%PDF-")
    history = fhir.resources("AuditEvent").search(**{"patient.identifier": TOKEN}).fetch_all()
    assert {e["subtype"][0]["code"] for e in history} >= {"search", "patient", "retrieve"}
    for event in history:
        AuditEvent.model_validate(event.serialize())


def test_raw_bundles_validate_and_provide_round_trips(service_url, doctor, identity):
    headers = identity(doctor) | {"Accept": "application/fhir+json"}
    search = httpx.get(f"{service_url}/DocumentReference", params={"patient.identifier": TOKEN}, headers=headers)
    assert search.headers["content-type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate(search.json())
    assert bundle.type == "searchset" and bundle.total == 7
    caller = Caller(sub="x", name=doctor.display_name, kind="professional", patient=MARTIN_INS, idnat=doctor.idnat_ps)
    body = provide_bundle(caller, TOKEN, type_code="11488-4", title="CR de test", content_type="text/plain",
                          data="Compte rendu".encode(), service_date=date(2026, 11, 1))
    created = httpx.post(f"{service_url}/", content=json.dumps(body), headers=headers | {"Content-Type": "application/fhir+json"})
    assert created.status_code == 200, created.text
    response = Bundle.model_validate(created.json())
    assert response.type == "transaction-response"
    assert [e.response.status for e in response.entry] == ["201 Created"] * 3
    after = Bundle.model_validate(httpx.get(f"{service_url}/DocumentReference", params={"patient.identifier": TOKEN}, headers=headers).json())
    assert after.total == 8


@pytest.mark.backends("sqlite")
def test_service_checks_who_asks(service_url, doctor, identity):
    url = f"{service_url}/DocumentReference"
    params = {"patient.identifier": TOKEN}
    missing = httpx.get(url, params=params)
    assert missing.status_code == 401 and missing.json()["resourceType"] == "OperationOutcome"
    forged = identity(doctor)
    forged[HEADER] = forged[HEADER][:-4] + "AAAA"
    assert httpx.get(url, params=params, headers=forged).status_code == 401
    other_patient = httpx.get(url, params=params, headers=identity(doctor, LEFEBVRE))
    assert other_patient.status_code == 403
    assert other_patient.json()["issue"][0]["details"]["coding"][0]["code"] == "patient-mismatch"
    bad_bundle = httpx.post(f"{service_url}/", content=b'{"resourceType": "Bundle", "type": "transaction", "entry": [{}]}',
                            headers=identity(doctor) | {"Content-Type": "application/fhir+json"})
    assert bad_bundle.status_code == 400 and "lot de soumission" in bad_bundle.json()["issue"][0]["diagnostics"]


@pytest.mark.backends("sqlite")
def test_embedded_service_is_mounted_in_the_portal(client, doctor, identity, monkeypatch):
    metadata = client.get("/p/dmp/fhir/metadata")                # public: callers bring their own identity
    assert metadata.status_code == 200 and metadata.json()["resourceType"] == "CapabilityStatement"
    search = client.get("/p/dmp/fhir/DocumentReference", params={"patient.identifier": TOKEN}, headers=identity(doctor))
    assert Bundle.model_validate(search.json()).total == 7
    monkeypatch.setenv("BOUQUET_DMP_URL", "http://dmp.example")
    assert client.get("/p/dmp/fhir/metadata").status_code == 404


def test_cli_offers_the_standalone_service():
    from bouquet.api.plugins import build_cli

    result = CliRunner().invoke(build_cli(), ["dmp-service", "--help"])
    assert result.exit_code == 0 and "--port" in result.output


@pytest.mark.parametrize("path", ["/p/dmp/fhir/", "/p/dmp/fhir/Patient/$bris-de-glace"])
def test_deeply_nested_json_is_refused_with_400(client, doctor, identity, path):
    # Issue 13, item 4: deep nesting gave a 500 (RecursionError); now an OperationOutcome, 400.
    headers = identity(doctor) | {"Content-Type": "application/fhir+json"}
    response = client.post(path, content=b"[" * 100_000 + b"]" * 100_000, headers=headers)
    assert response.status_code == 400
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "trop imbriqué" in outcome["issue"][0]["diagnostics"]
    search = client.get("/p/dmp/fhir/DocumentReference", params={"patient.identifier": TOKEN}, headers=identity(doctor))
    assert Bundle.model_validate(search.json()).total == 7  # nothing was stored
    assert search.headers["cache-control"] == "no-store"  # the patient's documents (issue 13, item 10)


def test_capability_statement_declares_every_search_parameter(service_url):
    """An MHD Document Responder declares the search parameters it supports (ITI-67), and the service supports each."""
    from fhir.resources.R4B.capabilitystatement import CapabilityStatement

    statement = httpx.get(f"{service_url}/metadata").json()
    CapabilityStatement.model_validate(statement)
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    declared = {p["name"] for p in resources["DocumentReference"]["searchParam"]}
    assert {"patient.identifier", "status", "type", "category", "date", "period", "author.identifier"} <= declared
    assert {p["name"] for p in resources["Patient"]["searchParam"]} == {"identifier"}


def test_search_by_indexing_date_and_security_label(service_url, doctor, identity):
    headers = identity(doctor)
    everything = httpx.get(f"{service_url}/DocumentReference", params={"patient.identifier": TOKEN}, headers=headers).json()
    indexed = httpx.get(f"{service_url}/DocumentReference", params=[("patient.identifier", TOKEN), ("date", "ge2000-01-01")],
                        headers=headers).json()
    assert indexed["total"] == everything["total"] == 7
    future = httpx.get(f"{service_url}/DocumentReference", params=[("patient.identifier", TOKEN), ("date", "ge2999-01-01")],
                       headers=headers).json()
    assert future["total"] == 0
    masked = httpx.get(f"{service_url}/DocumentReference", params={"patient.identifier": TOKEN, "security-label": "R"},
                       headers=headers).json()
    assert masked["total"] == 0          # MARTIN masked nothing
    bad = httpx.get(f"{service_url}/DocumentReference", params=[("patient.identifier", TOKEN), ("date", "hier")], headers=headers)
    assert bad.status_code == 400 and "date" in bad.json()["issue"][0]["diagnostics"]


def test_every_declared_search_parameter_works_and_an_undeclared_one_is_refused(service_url, doctor, identity):
    """ITI-67: what /metadata declares is what the service filters on; anything else is a 400 naming it, never
    silently ignored (which would answer more documents than the consumer asked for)."""
    headers = identity(doctor)
    statement = httpx.get(f"{service_url}/metadata").json()
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert {"regulation", "bris-de-glace", "consentement"} <= {o["name"] for o in resources["Patient"]["operation"]}
    every = httpx.get(f"{service_url}/DocumentReference", params={"patient.identifier": TOKEN}, headers=headers).json()
    first = every["entry"][0]["resource"]
    values = {"patient.identifier": TOKEN, "status": "current", "identifier": first["masterIdentifier"]["value"],
              "type": first["type"]["coding"][0]["code"], "category": first["category"][0]["coding"][0]["code"],
              "period": "ge2000-01-01", "date": "ge2000-01-01", "author.identifier": "810000000000", "security-label": "N"}
    declared = [p["name"] for p in resources["DocumentReference"]["searchParam"]]
    assert set(declared) == set(values)
    for name in declared:
        answer = httpx.get(f"{service_url}/DocumentReference", params={"patient.identifier": TOKEN, name: values[name]},
                           headers=headers)
        assert answer.status_code == 200, (name, answer.text)
    one = httpx.get(f"{service_url}/DocumentReference", params={"patient.identifier": TOKEN, "identifier": values["identifier"]},
                    headers=headers).json()
    assert [e["resource"]["id"] for e in one["entry"] if e["resource"]["resourceType"] == "DocumentReference"] == [first["id"]]
    refused = httpx.get(f"{service_url}/DocumentReference", params={"patient.identifier": TOKEN, "author.family": "MARTIN"},
                        headers=headers)
    assert refused.status_code == 400 and "author.family" in refused.json()["issue"][0]["diagnostics"]
