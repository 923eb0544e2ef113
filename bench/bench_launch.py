"""Launches per second from a practice software, and the single-use guarantee under load: against
`bouquet serve --workers 2`, on SQLite and PostgreSQL, each run bounded in time.

    .venv/bin/python bench/bench_launch.py                    # 10 s per run, 8 concurrent software sessions
    .venv/bin/python bench/bench_launch.py --seconds 5 --backends sqlite

One launch is what « Ouvrir dans le Bouquet » costs the portal: `POST /api/launch` with a cached
client-credentials token (the INS and traits validated, the handle stored hashed, audited), then the
professional's browser following the link — **twice at once**, as two tabs or a double click
would, each request free to land on either worker. Exactly one of the two must open the patient
(303 to /patient) and the other get 409; any other outcome is counted as a double use or an error.
Prints a Markdown table and writes it into the "Practice-software launch" section of
docs/benchmarks.md (`--no-write` to leave the file alone).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402  # the same server harness as the SSO benchmark
    SECRET,
    arguments,
    backend_name,
    database,
    machine,
    markdown_table,
    new_sessions,
    report,
    served,
    timed,
    write_section,
)

from bouquet.foundation.db import Database  # noqa: E402
from bouquet.migrations import upgrade  # noqa: E402
from bouquet.patient.demo import DEMO_PATIENTS  # noqa: E402
from bouquet.plugins import Plugins  # noqa: E402
from bouquet.sso.accounts import Account  # noqa: E402
from bouquet.sso.oidc import keys  # noqa: E402
from bouquet.sso.oidc.clients import register_client  # noqa: E402

SECTION = "## Practice-software launch"
IDNAT = "810000000009"  # "8" + an RPPS number with its Luhn key


@dataclass
class Fixture:
    client_id: str
    secret: str
    session_tokens: list[str]


def prepare(url: str, browsers: int) -> Fixture:
    """Migrate, and add a professional, the practice software's client, signing keys and sessions."""
    db = Database(url)
    try:
        upgrade(db.engine, Plugins(None))
        with db.write() as session:
            doctor = Account(kind="professional", username="bench.doctor", given_name="Jean", family_name="MARTIN",
                             idnat_ps=IDNAT, profession_code="10", profession_label="Médecin", profession_category="C")
            session.add(doctor)
            session.flush()
            registered = register_client(session, name="Logiciel Bench", redirect_uris=["https://lgc.example/cb"],
                                         grant_types=["authorization_code", "client_credentials"],
                                         scope="openid launch", first_party=True)
            keys.ensure_keys(session, SECRET)
        tokens = new_sessions(db, doctor.id, browsers)
        assert registered.secret is not None
        return Fixture(registered.client.client_id, registered.secret, [t for t in tokens if t])
    finally:
        db.dispose()


def _payload(n: int) -> dict[str, object]:
    patient = DEMO_PATIENTS[n % len(DEMO_PATIENTS)].to_dict()
    patient.pop("source")
    return {"professional": IDNAT, "patient": patient}


async def launches(base: str, token: str, session_token: str, until: float, counts: dict[str, int]) -> None:
    api = httpx.AsyncClient(base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"})
    tabs = [httpx.AsyncClient(base_url=base, timeout=30, headers={"Cookie": f"bouquet_session={session_token}",
                                                                   "Accept": "text/html"}) for _ in range(2)]
    n = 0
    try:
        while time.monotonic() < until:
            n += 1
            created = await api.post("/api/launch", json=_payload(n))
            if created.status_code != 201:
                counts["errors"] += 1
                if os.environ.get("BENCH_DEBUG"):
                    print(created.status_code, created.text[:300], file=sys.stderr)
                continue
            path = "/launch?" + created.json()["launch_url"].split("?", 1)[1]
            answers = await asyncio.gather(*(tab.get(path) for tab in tabs))
            statuses = sorted(answer.status_code for answer in answers)
            opened = sum(answer.status_code == 303 and answer.headers.get("location") == "/patient" for answer in answers)
            if statuses == [303, 409] and opened == 1:
                counts["ok"] += 1
            elif opened == 2:
                counts["double"] += 1
            else:
                counts["errors"] += 1
                if os.environ.get("BENCH_DEBUG"):
                    print(statuses, [a.text[:300] for a in answers], file=sys.stderr)
    finally:
        await api.aclose()
        for tab in tabs:
            await tab.aclose()


async def load(base: str, fixture: Fixture, seconds: float, concurrency: int) -> tuple[dict[str, int], float]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        answer = await http.post("/token", data={"grant_type": "client_credentials", "scope": "launch"},
                                 auth=(fixture.client_id, fixture.secret))
        answer.raise_for_status()
        token = answer.json()["access_token"]  # 5 minutes: longer than any run, as the software caches it
    return await timed(lambda s, until, counts: launches(base, token, s, until, counts),
                       fixture.session_tokens[:concurrency], seconds, keys=("ok", "double", "errors"))


def write_docs(table: str, args: argparse.Namespace) -> None:
    section = f"""{SECTION}

« Ouvrir dans le Bouquet », end to end over HTTP: `POST /api/launch` (bearer token, INS and traits
validated, handle stored hashed, audited), then the professional's browser following the link twice
at once (two tabs), each request free to land on either worker: one must open the patient (303,
patient context established and audited), the other get 409. {args.concurrency} practice-software
sessions in parallel, {args.seconds:g} s per run after a 1 s warm-up, against `bouquet serve --workers 2`;
the load generator runs on the same machine.

```
.venv/bin/python bench/bench_launch.py     # --seconds S, --backends sqlite,postgresql
```

{machine()}; SQLite file database (WAL) and a throw-away local PostgreSQL (`bouquet.testing.postgres`).
The machine was shared with other work: 1-minute load average {args.load_before:.1f} before the runs,
{args.load_after:.1f} after them.

{table}

"double uses" counts links that opened the patient twice: the conditional update that consumes a
handle must keep it at 0 whatever the load. A launch is three requests and four write transactions
(the handle; its consumption; the patient context; the link between them), each audited.
"""
    write_section(SECTION, section)


def main() -> None:
    args = arguments(__doc__, workers=2, workers_type=int)
    rows = []
    for backend in args.backends.split(","):
        with database(backend) as url:
            fixture = prepare(url, args.concurrency)
            with served(url, args.workers) as base:
                counts, elapsed = asyncio.run(load(base, fixture, args.seconds, args.concurrency))
        name = backend_name(backend)
        ok = counts["ok"]
        rows.append((name, args.workers, ok, counts["double"], counts["errors"], ok / elapsed,
                     elapsed / ok * 1000 * args.concurrency if ok else 0))
        print(f"{name}: {ok / elapsed:.1f} launches/s ({ok} in {elapsed:.1f} s, {counts['double']} double uses, "
              f"{counts['errors']} errors)", flush=True)
    table = markdown_table(["database", "workers", "launches", "double uses", "errors", "launches/s", "mean latency (ms)"],
                           [f"| {name} | {workers} | {ok:,} | {double} | {errors} | {rate:,.1f} | {latency:,.0f} |"
                            for name, workers, ok, double, errors, rate, latency in rows])
    report(table, args, write_docs)


if __name__ == "__main__":
    main()
