"""Micro-benchmark of the prevention engine: the shipped rule set on 10,000 synthetic patients.

    .venv/bin/python plugins/prevention/bench/bench_engine.py            # --patients N --runs N
    .venv/bin/python plugins/prevention/bench/bench_engine.py --backends sqlite,postgresql

Patients are drawn with a fixed seed: ages 0 to 100, both sexes, one in ten with a condition,
0 to 8 acts each. Each run indexes every patient's acts and evaluates every rule, as the
population view does; the best of the runs is reported (the machine may be shared). With
`--backends`, the acts are also stored in `prevention_act` (a migrated database: a temporary
SQLite file, a throw-away PostgreSQL) and each run first reads them back for all the patients.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable from a checkout without install

from bouquet_prevention.catalogue import default_catalogue  # noqa: E402
from bouquet_prevention.engine import Act, Engine, PatientFacts, Status, index_acts  # noqa: E402
from bouquet_prevention.rulesets import default_rules  # noqa: E402

ON = date(2026, 11, 28)


def population(size: int, seed: int = 2026) -> list[tuple[PatientFacts, list[Act]]]:
    rng = random.Random(seed)
    codes = list(default_catalogue().acts)
    conditions = list(default_catalogue().conditions)
    patients = []
    for _ in range(size):
        birth = ON - timedelta(days=rng.randrange(0, 100 * 365))
        facts = PatientFacts(birth, rng.choice(("F", "M")),
                             frozenset({rng.choice(conditions)}) if rng.random() < 0.1 else frozenset())
        span = max(1, (ON - birth).days)
        acts = [Act(rng.choice(codes), birth + timedelta(days=rng.randrange(span))) for _ in range(rng.randrange(9))]
        patients.append((facts, acts))
    return patients


def with_database(url: str, patients: list[tuple[PatientFacts, list[Act]]], engine: Engine, runs: int) -> tuple[float, float]:
    """Store the acts, then time (best of `runs`) reading them back for every patient, and read + evaluate."""
    from bouquet_prevention.history import acts_by_patient
    from bouquet_prevention.models import PreventionAct
    from sqlalchemy import insert

    from bouquet.api.db import Database
    from bouquet.api.migrations import upgrade
    from bouquet.api.plugins import Plugins

    db = Database(url)
    try:
        upgrade(db.engine, Plugins(["prevention"]))
        ins = [f"1.2.250.1.213.1.4.10|{n:015d}" for n in range(len(patients))]
        rows = [{"patient_ins": who, "act_code": act.code, "performed_on": act.performed_on, "source": "portal",
                 "recorded_at": _now()} for who, (_, acts) in zip(ins, patients, strict=True) for act in acts]
        with db.write() as session:
            session.execute(insert(PreventionAct), rows)
        read_best = total_best = float("inf")
        for _ in range(runs):
            started = time.perf_counter()
            with db.session() as session:
                found = acts_by_patient(session, ins)
            read = time.perf_counter() - started
            for who, (facts, _) in zip(ins, patients, strict=True):
                engine.evaluate(facts, index_acts(found[who]), ON)
            read_best, total_best = min(read_best, read), min(total_best, time.perf_counter() - started)
        return read_best, total_best
    finally:
        db.dispose()


def _now():  # noqa: ANN202 - an aware datetime
    from bouquet.api.db import utcnow

    return utcnow()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--backends", default="", help="sqlite,postgresql: also read the acts from a database")
    args = parser.parse_args()
    rules = default_rules()
    engine = Engine(rules)
    patients = population(args.patients)
    best = float("inf")
    counts: dict[Status, int] = {}
    for _ in range(args.runs):
        started = time.perf_counter()
        results = [engine.evaluate(facts, index_acts(acts), ON) for facts, acts in patients]
        best = min(best, time.perf_counter() - started)
    for outcomes in results:
        for outcome in outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
    per_patient = best / args.patients
    print(f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"{platform.machine()}; {len(rules)} rules, {args.patients} patients, "
          f"{sum(len(acts) for _, acts in patients)} acts, best of {args.runs} runs")
    print(f"engine only: total {best * 1000:.1f} ms; per patient {per_patient * 1e6:.1f} µs; "
          f"per patient and rule {per_patient / len(rules) * 1e6:.2f} µs")
    print("outcomes: " + ", ".join(f"{status.value} {count}" for status, count in sorted(counts.items())))
    for backend in filter(None, args.backends.split(",")):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory(prefix="bench-prevention-") as tmp:
                read, total = with_database(f"sqlite:///{tmp}/bench.db", patients, engine, args.runs)
        else:
            from bouquet.testing.postgres import ThrowawayPostgres

            with ThrowawayPostgres() as server:
                read, total = with_database(server.url, patients, engine, args.runs)
        print(f"{backend}: reading every patient's acts {read * 1000:.0f} ms; reading and evaluating {total * 1000:.0f} ms")


if __name__ == "__main__":
    main()
