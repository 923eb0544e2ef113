"""Fixtures for the e-parcours tests: the example region's pathways, a pinned calendar, the people
of a care team, and short helpers to open a patient, include them and act on tasks."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from datetime import date
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlmodel import select

from bouquet.api.patient import DEMO_PATIENTS
from bouquet.testing.care_team import doctor, nurse, open_patient, secretary  # noqa: F401 (fixtures)

HERE = Path(__file__).parent
EXAMPLE_REGION = HERE.parent / "example_region"
#: Every test runs on this day (Europe/Paris): due dates and "overdue" are then exact.
TODAY = date(2026, 3, 2)
MARTIN = DEMO_PATIENTS[0]


def load_module(name: str, folder: Path) -> ModuleType:
    """Import package `name` from `folder` (a package checked out, not installed)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, folder / name / "__init__.py",
                                                  submodule_search_locations=[str(folder / name)])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def region_plugins() -> list[tuple[str, object]]:
    """The example region as `make_app(extra_plugins=…)` wants it, unless `pip install` already made it an entry point."""
    if any(ep.name == "eparcours_example_region" for ep in entry_points(group="bouquet")):
        return []
    return [("eparcours_example_region", load_module("bouquet_eparcours_example_region", EXAMPLE_REGION))]


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch: pytest.MonkeyPatch) -> date:
    from bouquet_eparcours import clock

    monkeypatch.setattr(clock, "today", lambda: TODAY)
    return TODAY


@pytest.fixture
def app(make_app: Callable[..., Any], region_plugins: list[tuple[str, object]]) -> Any:
    return make_app(extra_plugins=region_plugins)


@pytest.fixture
def include(open_patient: Callable[..., None]) -> Callable[..., int]:
    """`include(client, pathway, reference_date=…, members={role: account})`: the new plan's id.

    The client is signed in as the including professional; the patient is opened first.
    """
    def include_(client: Any, pathway: str = "diabete-type-2", *, reference_date: str = "2026-01-15",
                 members: dict[str, Any] | None = None, patient: Any = MARTIN, **extra: str) -> int:
        open_patient(client, patient)
        form = {"pathway": pathway, "patient_ins": f"{patient.ins.oid}|{patient.ins.matricule}",
                "reference_date": reference_date, "consent_date": "2026-01-10", "consent_method": "oral"}
        form |= {f"member_{role}": str(account.id) for role, account in (members or {}).items()}
        response = client.submit("/p/eparcours/plans", form | extra)
        assert response.status_code == 303, response.text
        return int(response.headers["location"].rsplit("/", 1)[1])

    return include_


@pytest.fixture
def tasks_of(app: Any) -> Callable[[int], dict[str, Any]]:
    """`tasks_of(plan_id)`: the plan's tasks by "step_id" (first occurrence) and "step_id#n"."""
    from bouquet_eparcours.models import Task

    def tasks(plan_id: int) -> dict[str, Any]:
        with app.state.db.session() as session:
            rows = session.exec(select(Task).where(Task.care_plan_id == plan_id).order_by(Task.id)).all()
        found: dict[str, Any] = {}
        for task in rows:
            found.setdefault(task.step_id, task)
            found[f"{task.step_id}#{task.occurrence}"] = task
        return found

    return tasks


@pytest.fixture
def load_package() -> Callable[[str, str], ModuleType]:
    """`load_package(name, folder)`: import a test package from this folder (e.g. region_x)."""
    return lambda name, folder: load_module(name, HERE / folder)


@pytest.fixture
def doctor_and_nurse_on(doctor: Any, nurse: Any) -> Iterator[Callable[[Any], tuple[Any, Any, Any]]]:
    """`doctor_and_nurse_on(app)`: a started client of `app`, signed in as the doctor, and both accounts."""
    from bouquet.testing.fixtures import BouquetClient

    clients: list[Any] = []

    def make(app: Any) -> tuple[Any, Any, Any]:
        client = BouquetClient(app, base_url="http://testserver.local", follow_redirects=False)
        client.__enter__()
        clients.append(client)
        return client.login(doctor), doctor, nurse

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def tests_dir() -> Path:
    return HERE
