"""Fixtures of the launch tests: a practice software registered as a client, with its service token."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bouquet.patient.demo import DEMO_PATIENTS
from bouquet.patient.model import PatientContext
from bouquet.testing.fixtures import BouquetClient
from bouquet.testing.practice_software import register_practice_software

SOFTWARE_URL = "https://lgc.example"


def payload_of(patient: PatientContext) -> dict[str, Any]:
    data = patient.to_dict()
    data.pop("source")
    return data


@dataclass
class Launcher:
    """A registered practice software calling the API through the test client."""

    client: Any
    client_id: str
    secret: str
    token: str

    def token_for(self, scope: str) -> str:
        response = self.client.post("/token", data={"grant_type": "client_credentials", "scope": scope},
                                    auth=(self.client_id, self.secret))
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def post(self, body: Any, token: str | None = "default", **kwargs: Any) -> Any:
        headers = kwargs.pop("headers", {})
        if token is not None:
            headers["Authorization"] = f"Bearer {self.token if token == 'default' else token}"
        return self.client.post("/api/launch", json=body, headers=headers, **kwargs)

    def body(self, professional: str, patient: PatientContext = DEMO_PATIENTS[0], **extra: Any) -> dict[str, Any]:
        return {"professional": professional, "patient": payload_of(patient), **extra}

    def launch_url(self, professional: str, patient: PatientContext = DEMO_PATIENTS[0], **extra: Any) -> str:
        response = self.post(self.body(professional, patient, **extra))
        assert response.status_code == 201, response.text
        return response.json()["launch_url"]


@pytest.fixture
def app(make_app: Any) -> Any:
    """The portal at http://localhost: the OAuth token endpoint insists on https or a loopback host."""
    return make_app(base_url="http://localhost")


@pytest.fixture
def launcher(app: Any) -> Iterator[Launcher]:
    """The software's backend: its own HTTP client (OAuth insists on https or a loopback host)."""
    client_id, secret = register_practice_software(app.state.db, SOFTWARE_URL)
    with BouquetClient(app, base_url="http://localhost", follow_redirects=False) as http:
        made = Launcher(http, client_id, secret, "")
        made.token = made.token_for("launch")
        yield made


@pytest.fixture
def doctor(make_account: Any) -> Any:
    return make_account(given_name="Jean", family_name="MARTIN")
