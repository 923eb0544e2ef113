"""Fuzzing the CDS Hooks service (what a practice software reaches): no 5xx, a refusal stores nothing
and writes no read of a patient, answers always in JSON (issue 13, "Fuzzing, in the suite")."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

from bouquet_prevention.testing import MARTIN
from hypothesis import given
from hypothesis import strategies as st

from bouquet.testing.fuzz import StateWatch, assert_sound, fuzzing, json_values, mutated

SERVICE = "/p/prevention/cds-services/bouquet-prevention"


def _valid() -> dict[str, Any]:
    return {"hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", "hook": "patient-view",
            "fhirServer": "https://lgc.example.fr/fhir", "context": {"userId": "PractitionerRole/x", "patientId": "pat-1"},
            "prefetch": {"patient": MARTIN.to_fhir_patient("pat-1"),
                         "immunizations": {"resourceType": "Bundle", "type": "searchset", "entry": []}}}


@fuzzing
@given(data=st.data(), path=st.sampled_from(["", "/feedback"]))
def test_cds_service(client: Any, cds_client: str, make_jwt: Callable[..., str], today: date, data: st.DataObject,
                     path: str) -> None:
    body = data.draw(mutated(_valid()) if path == "" else json_values())
    headers = {"Authorization": f"Bearer {make_jwt()}", "Content-Type": "application/json"}
    with StateWatch(client.app) as watch:
        response = client.post(SERVICE + path, content=json.dumps(body).encode(), headers=headers)
    assert_sound(response, "json")
    if response.status_code >= 400:
        watch.assert_unchanged("CDS Hooks")


@fuzzing
@given(token=st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=300), body=json_values())
def test_cds_service_unauthenticated(client: Any, cds_client: str, token: str, body: Any) -> None:
    with StateWatch(client.app) as watch:
        response = client.post(SERVICE, json=body, headers={"Authorization": f"Bearer {token}"})
    assert_sound(response, "json")
    assert response.status_code in {400, 401}
    watch.assert_unchanged("CDS Hooks without a valid token")
