"""Care-team fixtures shared by plugins' tests: a doctor, a nurse and a secretary, and `open_patient`.

Import them into a `conftest.py` (`from bouquet.testing.care_team import doctor, nurse, …`); they rest
on the core's `make_account` and its patient context (`/patient`, the demo patients).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bouquet.patient.demo import DEMO_PATIENTS

MARTIN = DEMO_PATIENTS[0]


@pytest.fixture
def doctor(make_account: Callable[..., Any]) -> Any:
    return make_account(given_name="Alice", family_name="MARTIN")


@pytest.fixture
def nurse(make_account: Callable[..., Any]) -> Any:
    return make_account(given_name="Léa", family_name="DURAND", profession_code="60", profession_label="Infirmier")


@pytest.fixture
def secretary(make_account: Callable[..., Any]) -> Any:
    return make_account(kind="secretary", given_name="Sophie", family_name="BERNARD")


@pytest.fixture
def open_patient() -> Callable[..., None]:
    """`open_patient(client, patient=MARTIN)`: make a demo patient the client's patient in context."""
    def open_(client: Any, patient: Any = MARTIN) -> None:
        response = client.submit("/patient", {"demo": patient.ins.matricule})
        assert response.status_code == 303, response.text

    return open_
