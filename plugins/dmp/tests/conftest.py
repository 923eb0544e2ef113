"""Fixtures of the DMP plugin's tests: a portal with the demo DMPs loaded, the people who read them,
and helpers to open a patient and to sign an identity for the service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from bouquet_dmp import demo
from bouquet_dmp.testing import MARTIN, identity_header

from bouquet.api.patient import DEMO_PATIENTS
from bouquet.testing.care_team import doctor, nurse, open_patient, secretary  # noqa: F401 (fixtures)
from bouquet.testing.fixtures import TEST_SECRET


@pytest.fixture(autouse=True)
def embedded_dmp(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts on the embedded service unless it points BOUQUET_DMP_URL elsewhere."""
    monkeypatch.delenv("BOUQUET_DMP_URL", raising=False)


@pytest.fixture
def app(make_app: Callable[..., Any]) -> Any:
    app = make_app()
    demo.load(app.state.db, DEMO_PATIENTS)   # the core's five; tests about the others load them
    return app


@pytest.fixture
def identity() -> Callable[..., dict[str, str]]:
    """`identity(account, patient=MARTIN, acting_for=None)`: the signed header the test portal sends."""
    return lambda account, patient=MARTIN, acting_for=None: identity_header(account, TEST_SECRET, patient, acting_for)
