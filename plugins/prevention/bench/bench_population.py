"""Benchmark of « Prévention — mes patients » for a professional with 10,000 patients, on SQLite and
PostgreSQL: the computation (read the list and every patient's acts, evaluate every rule) and the
view and CSV export over HTTP, through the whole app (session, permissions, audit, rendering).

    .venv/bin/python plugins/prevention/bench/bench_population.py      # --patients N --runs N --backends sqlite,postgresql

The doctor's list: `--patients` declared patients (fixed seed: born 1930 to 2019, both sexes,
0 to 8 recorded acts each) plus 1,000 patient contexts the doctor opened (half of them declared
patients opened again, half patients only opened). The evaluation date is pinned to 28 November
2026. Best of `--runs` runs for each measure (the machine may be shared).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable from a checkout without install

from bouquet_prevention import clock  # noqa: E402
from bouquet_prevention.catalogue import default_catalogue  # noqa: E402
from bouquet_prevention.testing import synthetic_patients  # noqa: E402

ON = date(2026, 11, 28)
OPENED = 1000


def _best(runs: int, work: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - started)
    return best, result


def _fill(app: Any, size: int) -> int:
    """The doctor, their declared patients, their acts and opened contexts; returns the doctor's id."""
    from bouquet_prevention.models import PreventionAct
    from bouquet_prevention.population import declare
    from sqlalchemy import insert

    from bouquet.api.accounts import Account
    from bouquet.api.db import utcnow
    from bouquet.api.patient import PatientContextRecord

    rng = random.Random(2026)
    codes = list(default_catalogue().acts)
    patients = synthetic_patients(size + OPENED // 2)
    declared, only_opened = patients[:size], patients[size:]
    db = app.state.db
    with db.write() as session:
        doctor = Account(kind="professional", username="dr.bench", given_name="Alice", family_name="BENCH",
                         idnat_ps="810000099995", profession_code="10", profession_label="Médecin")
        session.add(doctor)
        session.flush()
        doctor_id = doctor.id
        declare(session, doctor_id, declared)
        now = utcnow()
        acts = []
        for patient in patients:
            born = patient.traits.birth_date
            span = max(1, (ON - born).days)
            ins = f"{patient.ins.oid}|{patient.ins.matricule}"
            acts += [{"patient_ins": ins, "act_code": rng.choice(codes), "performed_on": born + timedelta(
                days=rng.randrange(span)), "source": "portal", "recorded_at": now} for _ in range(rng.randrange(9))]
        session.execute(insert(PreventionAct), acts)
        contexts = [{"id": secrets.token_urlsafe(24), "patient": p.to_dict(), "patient_ins": f"{p.ins.oid}|{p.ins.matricule}",
                     "source": "manual", "established_at": now, "established_by_id": doctor_id, "acting_for_id": None}
                    for p in [*declared[:OPENED // 2], *only_opened]]
        session.execute(insert(PatientContextRecord), contexts)
    print(f"  {len(declared)} declared + {len(only_opened)} only opened patients, {len(acts)} acts, "
          f"{len(contexts)} opened contexts")
    return doctor_id  # type: ignore[return-value]


def measure(url: str, size: int, runs: int) -> dict[str, float]:
    from bouquet_prevention import population
    from bouquet_prevention.hooks import engine_for

    from bouquet.api.db import Database
    from bouquet.api.migrations import upgrade
    from bouquet.api.plugins import Plugins, create_app
    from bouquet.api.settings import Settings
    from bouquet.testing.fixtures import BouquetClient

    fresh = Database(url)
    upgrade(fresh.engine, Plugins(["prevention"]))
    fresh.dispose()
    app = create_app(Settings(database_url=url, base_url="http://testserver", secret_key="b" * 40, log_json=False,
                              plugins="prevention"))
    try:
        doctor_id = _fill(app, size)
        engine = engine_for(app.state.plugins)

        def compute() -> tuple[int, int]:
            with app.state.db.session() as session:
                patients = population.patients_of(session, doctor_id)
                rows = population.evaluate(session, engine, patients, ON, population.STATUS_FILTERS[""])
            return len(patients), len(rows)

        results: dict[str, float] = {}
        results["compute"], (listed, rows) = _best(runs, compute)
        print(f"  list of {listed} patients, {rows} acts due or overdue")
        with app.state.db.session() as session:
            results["read list"], _ = _best(runs, lambda: population.patients_of(session, doctor_id))
        with BouquetClient(app, base_url="http://testserver", follow_redirects=False) as client:
            from bouquet.api.accounts import Account

            with app.state.db.session() as session:
                doctor = session.get(Account, doctor_id)
            client.login(doctor)

            def get(path: str, **params: str) -> Any:
                response = client.get(path, params=params)
                assert response.status_code == 200, response.text[:300]
                return response

            results["view, page 1"], _ = _best(runs, lambda: get("/p/prevention/mes-patients"))
            results["view, one rule"], _ = _best(runs, lambda: get("/p/prevention/mes-patients", rule="grippe-65-ans"))
            results["CSV export"], csv_response = _best(runs, lambda: get("/p/prevention/mes-patients.csv"))
            print(f"  CSV: {len(csv_response.content) / 1e6:.1f} MB, {csv_response.text.count(chr(10)) - 1} rows")
        return results
    finally:
        app.state.db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    clock.today = lambda: ON  # type: ignore[assignment]  # the pinned evaluation date
    print(f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"{platform.machine()}; load average {os.getloadavg()[0]:.1f}; best of {args.runs} runs")
    for backend in filter(None, args.backends.split(",")):
        print(f"{backend}:")
        if backend == "sqlite":
            with tempfile.TemporaryDirectory(prefix="bench-population-") as tmp:
                results = measure(f"sqlite:///{tmp}/bench.db", args.patients, args.runs)
        else:
            from bouquet.testing.postgres import ThrowawayPostgres

            with ThrowawayPostgres() as server:
                results = measure(server.url, args.patients, args.runs)
        for name, seconds in results.items():
            print(f"  {name}: {seconds * 1000:.0f} ms")


if __name__ == "__main__":
    main()
