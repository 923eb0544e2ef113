"""Fixtures of the DMP plugin's tests: a portal with the demo DMPs loaded, the people who read them,
and helpers to open a patient and to sign an identity for the service.

The official matrix's cells are not loaded yet (its annex was not found: every cell is `unsourced`,
so it denies everything). The tests enforce `data/matrix-test.csv` instead: a matrix version written
for them, labelled so, never presented as the official one. The doctor and the nurse are members of
the demo patients' care team, who gave their initial consent; `outsider` is not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from bouquet_dmp import demo
from bouquet_dmp.testing import MARTIN, TEST_MATRIX, identity_header, in_care_team

from bouquet.api.patient import DEMO_PATIENTS
from bouquet.testing.care_team import open_patient, secretary  # noqa: F401 (fixtures)
from bouquet.testing.fixtures import TEST_SECRET


@pytest.fixture(autouse=True)
def embedded_dmp(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts on the embedded service unless it points BOUQUET_DMP_URL elsewhere."""
    monkeypatch.delenv("BOUQUET_DMP_URL", raising=False)


@pytest.fixture(autouse=True)
def test_matrix(monkeypatch: pytest.MonkeyPatch) -> None:
    """The matrix version written for the tests (the official cells are not loaded yet)."""
    monkeypatch.setenv("BOUQUET_DMP_MATRIX", str(TEST_MATRIX))


@pytest.fixture
def doctor(make_account: Callable[..., Any], app: Any) -> Any:
    account = make_account(given_name="Alice", family_name="MARTIN")
    in_care_team(app.state.db, account)
    return account


@pytest.fixture
def nurse(make_account: Callable[..., Any], app: Any) -> Any:
    account = make_account(given_name="Léa", family_name="DURAND", profession_code="60", profession_label="Infirmier")
    in_care_team(app.state.db, account)
    return account


@pytest.fixture
def outsider(make_account: Callable[..., Any]) -> Any:
    """A doctor outside the demo patients' care team."""
    return make_account(given_name="Paul", family_name="EXTERNE")


@pytest.fixture
def app(make_app: Callable[..., Any]) -> Any:
    app = make_app()
    demo.load(app.state.db, DEMO_PATIENTS)   # the core's five; tests about the others load them
    return app


@pytest.fixture
def identity() -> Callable[..., dict[str, str]]:
    """`identity(account, patient=MARTIN, acting_for=None)`: the signed header the test portal sends."""
    return lambda account, patient=MARTIN, acting_for=None: identity_header(account, TEST_SECRET, patient, acting_for)
