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
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sso import machine, serve, stop  # noqa: E402  # the same server harness as the SSO benchmark

from bouquet.db import Database  # noqa: E402
from bouquet.demo_patients import DEMO_PATIENTS  # noqa: E402
from bouquet.migrations import upgrade  # noqa: E402
from bouquet.plugins import Plugins  # noqa: E402
from bouquet.sessions import SessionStore, Timeouts  # noqa: E402
from bouquet.sso.accounts import Account  # noqa: E402
from bouquet.sso.oidc import keys  # noqa: E402
from bouquet.sso.oidc.clients import register_client  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
SECRET = "bench-secret-key-0123456789abcdef-0123456789"
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
        store = SessionStore(db, Timeouts(idle=timedelta(hours=1), absolute=timedelta(hours=2)))
        tokens = [store.create(account_id=doctor.id, amr=["pwd", "otp", "mfa"]).new_token for _ in range(browsers)]
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
            if statuses == [303, 409] and any(a.headers.get("location") == "/patient" for a in answers):
                counts["ok"] += 1
            elif statuses == [303, 303]:
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
    warm = {"ok": 0, "double": 0, "errors": 0}
    await asyncio.gather(*(launches(base, token, s, time.monotonic() + 1.0, warm)
                           for s in fixture.session_tokens[:concurrency]))
    counts = {"ok": 0, "double": 0, "errors": 0}
    started = time.monotonic()
    await asyncio.gather(*(launches(base, token, s, started + seconds, counts)
                           for s in fixture.session_tokens[:concurrency]))
    return counts, time.monotonic() - started


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
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(section.rstrip() + "\n\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    DOCS.write_text(text.rstrip() + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-write", action="store_true", help="Print the table only.")
    args = parser.parse_args()
    rows = []
    args.load_before = os.getloadavg()[0]
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory() as folder:
            postgres = None
            if backend == "postgresql":
                from bouquet.testing.postgres import ThrowawayPostgres

                postgres = ThrowawayPostgres()
                postgres.start()
                url = postgres.url
            else:
                url = f"sqlite:///{folder}/bench.db"
            try:
                fixture = prepare(url, args.concurrency)
                process, base = serve(url, args.workers)
                try:
                    counts, elapsed = asyncio.run(load(base, fixture, args.seconds, args.concurrency))
                finally:
                    stop(process)
            finally:
                if postgres is not None:
                    postgres.stop()
        name = "SQLite" if backend == "sqlite" else "PostgreSQL"
        ok = counts["ok"]
        rows.append((name, args.workers, ok, counts["double"], counts["errors"], ok / elapsed,
                     elapsed / ok * 1000 * args.concurrency if ok else 0))
        print(f"{name}: {ok / elapsed:.1f} launches/s ({ok} in {elapsed:.1f} s, {counts['double']} double uses, "
              f"{counts['errors']} errors)", flush=True)
    table = "\n".join(["| database | workers | launches | double uses | errors | launches/s | mean latency (ms) |",
                       "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
                      + [f"| {name} | {workers} | {ok:,} | {double} | {errors} | {rate:,.1f} | {latency:,.0f} |"
                         for name, workers, ok, double, errors, rate, latency in rows])
    args.load_after = os.getloadavg()[0]
    print()
    print(table)
    print(f"load average: {args.load_before:.1f} before, {args.load_after:.1f} after")
    if not args.no_write:
        write_docs(table, args)
        print(f"\nWritten to {DOCS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
