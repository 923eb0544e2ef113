"""Fixtures of the fuzz tests: the portal at http://localhost (OAuth insists on https or loopback),
a registered practice software with its service token, a signed-in doctor."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bouquet.testing.fixtures import BouquetClient
from bouquet.testing.practice_software import register_practice_software


@dataclass
class Software:
    client_id: str
    secret: str
    token: str


@pytest.fixture
def app(make_app: Any) -> Any:
    return make_app(base_url="http://localhost")


@pytest.fixture
def http(app: Any) -> Iterator[BouquetClient]:
    with BouquetClient(app, base_url="http://localhost", follow_redirects=False) as client:
        yield client


@pytest.fixture
def software(app: Any, http: BouquetClient) -> Software:
    client_id, secret = register_practice_software(app.state.db, "https://lgc.example")
    response = http.post("/token", data={"grant_type": "client_credentials", "scope": "launch"}, auth=(client_id, secret))
    assert response.status_code == 200, response.text
    return Software(client_id, secret, response.json()["access_token"])


@pytest.fixture
def doctor(make_account: Any) -> Any:
    return make_account(given_name="Jean", family_name="MARTIN")
