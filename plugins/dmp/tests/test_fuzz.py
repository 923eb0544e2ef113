"""Fuzzing the embedded DMP service (`/p/dmp/fhir`): no 5xx, a refusal stores nothing, answers in
FHIR JSON (issue 13, "Fuzzing, in the suite")."""

from __future__ import annotations

import json
from typing import Any

from bouquet_dmp.identity import HEADER
from bouquet_dmp.testing import MARTIN
from hypothesis import given
from hypothesis import strategies as st

from bouquet.testing.fuzz import StateWatch, assert_sound, fuzzing, json_values, mutated, query_params, text

BASE = "/p/dmp/fhir"
TOKEN = f"urn:oid:{MARTIN.ins.oid}|{MARTIN.ins.matricule}"
FHIR = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}


@fuzzing
@given(resource=st.sampled_from(["DocumentReference", "Patient", "AuditEvent", "Binary/x", "DocumentReference/x", "metadata"]),
       params=query_params(["patient.identifier", "identifier", "status", "type", "category", "date", "_count",
                            "author.given", "author.family", "setting", "period", "_id"]),
       signed=st.booleans())
def test_searches_and_reads(client: Any, doctor: Any, identity: Any, resource: str, params: list[tuple[str, str]],
                            signed: bool) -> None:
    headers = {**FHIR, **(identity(doctor) if signed else {})}
    with StateWatch(client.app) as watch:
        response = client.get(f"{BASE}/{resource}", params=[("patient.identifier", TOKEN), *params], headers=headers)
    assert_sound(response, "fhir")
    watch.assert_unchanged("DMP read")


@fuzzing
@given(data=st.data(), path=st.sampled_from(["/", "/Patient/$bris-de-glace"]))
def test_writes(client: Any, doctor: Any, identity: Any, data: st.DataObject, path: str) -> None:
    valid = ({"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": {"resourceType": "List"}}]}
             if path == "/" else {"resourceType": "Parameters", "parameter": [{"name": "reason", "valueString": "x"}]})
    body = data.draw(st.one_of(mutated(valid), json_values()))
    with StateWatch(client.app) as watch:
        response = client.post(BASE + path, content=json.dumps(body).encode(), headers={**FHIR, **identity(doctor)})
    assert_sound(response, "fhir")
    if response.status_code >= 400:
        watch.assert_unchanged("DMP write")


@fuzzing
@given(header=text())
def test_identity_header(client: Any, header: str) -> None:
    headers = dict(FHIR)
    if header.isascii() and "\n" not in header and "\r" not in header:
        headers[HEADER] = header
    response = client.get(f"{BASE}/DocumentReference", params={"patient.identifier": TOKEN}, headers=headers)
    assert_sound(response, "fhir")
    assert response.status_code in {400, 401, 403}
