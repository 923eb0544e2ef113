"""Fuzzing the vendor API from its own OpenAPI document (schemathesis generates the requests, valid and
invalid, for every operation): no 5xx, JSON answers, and a refusal stores nothing (issue 13,
"Fuzzing, in the suite")."""

from __future__ import annotations

import re
from typing import Any

import pytest
import schemathesis
from bouquet_catalog import openapi
from hypothesis import given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from starlette.testclient import TestClient

from bouquet.testing.fuzz import StateWatch, assert_sound, fuzzing

OPERATIONS = [result.ok() for result in schemathesis.openapi.from_dict(openapi.document("http://localhost")).get_all_operations()]
DRIVEN = {"Connection", "Accept-Encoding", "User-Agent"}  # the test client's own business


def _token(app: Any, client_id: str, secret: str) -> str:
    response = TestClient(app, base_url="http://localhost").post(
        "/token", data={"grant_type": "client_credentials", "scope": "catalog.submit"}, auth=(client_id, secret))
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture
def bearer(app: Any, clients: Any, vendor: Any) -> dict[str, str]:
    shown = clients(vendor).submit("/p/catalog/vendor/api-clients")
    client_id = re.search(r'data-testid="client-id">([^<]+)<', shown.text).group(1)  # type: ignore[union-attr]
    secret = re.search(r'data-testid="client-secret">([^<]+)<', shown.text).group(1)  # type: ignore[union-attr]
    return {"Authorization": f"Bearer {_token(app, client_id, secret)}"}


@pytest.fixture
def software(app: Any) -> Any:
    """The vendor's software: its own HTTP client, without a browser's cookies (and no second lifespan)."""
    return TestClient(app, base_url="http://localhost", follow_redirects=False)


def test_every_operation_is_fuzzed() -> None:
    assert {(op.method, op.path) for op in OPERATIONS} >= {
        ("get", "/p/catalog/api/solutions"), ("post", "/p/catalog/api/solutions"),
        ("put", "/p/catalog/api/solutions/{solution_id}"), ("post", "/p/catalog/api/solutions/{solution_id}/submit")}


@fuzzing
@given(data=st.data(), operation=st.sampled_from(OPERATIONS),
       mode=st.sampled_from([GenerationMode.POSITIVE, GenerationMode.NEGATIVE]), authenticated=st.booleans())
def test_vendor_api(software: Any, bearer: dict[str, str], data: st.DataObject, operation: Any, mode: GenerationMode,
                    authenticated: bool) -> None:
    case = data.draw(operation.as_strategy(generation_mode=mode))
    request = case.as_transport_kwargs(base_url="http://localhost", headers=bearer if authenticated else {})
    request["headers"] = {k: v for k, v in request["headers"].items() if k not in DRIVEN}
    request.pop("cookies", None)
    if isinstance(request.get("data"), (bytes, str)):
        request["content"] = request.pop("data")  # raw bytes: what httpx calls `content`
    with StateWatch(software.app) as watch:
        response = software.request(**request)
    assert_sound(response, "json", what=f"{case.method} {request['url']} ({mode.value})")
    if response.status_code >= 400:
        watch.assert_unchanged(f"{case.method} {case.path}")
