"""SSO round trips per second: a signed-in browser's authorize → code → token → userinfo, against
`bouquet serve --workers N` (1 and 2), on SQLite and PostgreSQL, each run bounded in time.

    .venv/bin/python bench/bench_sso.py                       # 10 s per run, 8 concurrent browsers
    .venv/bin/python bench/bench_sso.py --seconds 5 --backends sqlite --workers 1

Each round trip is what a relying party does when a signed-in professional opens it: GET
/authorize with PKCE S256 and a nonce (302 with a code), POST /token with client_secret_basic
(access, refresh and ID token, RS256-signed), GET /userinfo with the access token (PSC claims).
The load generator runs on the same machine as the server. Prints a Markdown table and writes it
into the "SSO round trips" section of docs/benchmarks.md (`--no-write` to leave the file alone).
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    SECRET,
    arguments,
    backend_name,
    database,
    machine,
    markdown_table,
    new_sessions,
    pkce,
    report,
    served,
    timed,
    write_section,
)

from bouquet.foundation.db import Database  # noqa: E402
from bouquet.migrations import upgrade  # noqa: E402
from bouquet.plugins import Plugins  # noqa: E402
from bouquet.sso.accounts import Account  # noqa: E402
from bouquet.sso.oidc import keys  # noqa: E402
from bouquet.sso.oidc.clients import register_client  # noqa: E402

REDIRECT = "http://localhost:9/callback"
SECTION = "## SSO round trips"


@dataclass
class Fixture:
    client_id: str
    secret: str
    session_tokens: list[str]


def prepare(url: str, browsers: int) -> Fixture:
    """Migrate, and add a professional, a first-party client, signing keys and `browsers` sessions."""
    db = Database(url)
    try:
        upgrade(db.engine, Plugins(None))
        with db.write() as session:
            doctor = Account(kind="professional", username="bench.doctor", given_name="Jean", family_name="MARTIN",
                             idnat_ps="810000000007", profession_code="10", profession_label="Médecin",
                             profession_category="C", practice_sites=[{"structure_id": "R1", "name": "Cabinet"}])
            session.add(doctor)
            session.flush()
            registered = register_client(session, name="Bench", redirect_uris=[REDIRECT], first_party=True,
                                         scope="openid profile scope_all")
            keys.ensure_keys(session, SECRET)
        tokens = new_sessions(db, doctor.id, browsers)
        assert registered.secret is not None
        return Fixture(registered.client.client_id, registered.secret, [t for t in tokens if t])
    finally:
        db.dispose()


async def round_trips(base: str, fixture: Fixture, session_token: str, until: float, counts: dict[str, int]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30, headers={"Cookie": f"bouquet_session={session_token}"}) as http:
        while time.monotonic() < until:
            verifier, challenge = pkce()
            authorized = await http.get("/authorize", params={
                "response_type": "code", "client_id": fixture.client_id, "redirect_uri": REDIRECT,
                "scope": "openid profile scope_all", "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(12),
                "code_challenge": challenge, "code_challenge_method": "S256"})
            code = parse_qs(urlsplit(authorized.headers.get("location", "")).query).get("code", [None])[0]
            if authorized.status_code != 302 or code is None:
                counts["errors"] += 1
                continue
            token = await http.post("/token", data={"grant_type": "authorization_code", "code": code,
                                                    "redirect_uri": REDIRECT, "code_verifier": verifier},
                                    auth=(fixture.client_id, fixture.secret), headers={"Cookie": ""})
            if token.status_code != 200:
                counts["errors"] += 1
                continue
            info = await http.get("/userinfo", headers={"Authorization": f"Bearer {token.json()['access_token']}",
                                                        "Cookie": ""})
            counts["ok" if info.status_code == 200 and "SubjectRefPro" in info.json() else "errors"] += 1


async def load(base: str, fixture: Fixture, seconds: float, concurrency: int) -> tuple[int, int, float]:
    counts, elapsed = await timed(lambda token, until, counts: round_trips(base, fixture, token, until, counts),
                                  fixture.session_tokens[:concurrency], seconds)
    return counts["ok"], counts["errors"], elapsed


def write_docs(table: str, args: argparse.Namespace) -> None:
    section = f"""{SECTION}

A signed-in browser's single sign-on into a relying party, end to end over HTTP: `GET /authorize`
(PKCE S256, nonce; 302 with the code), `POST /token` (client_secret_basic; access, refresh and
RS256 ID token), `GET /userinfo` (Pro Santé Connect claims). {args.concurrency} browsers in parallel
(each with its own portal session), {args.seconds:g} s per run after a 1 s warm-up, against
`bouquet serve --workers N`; the load generator runs on the same machine.

```
.venv/bin/python bench/bench_sso.py     # --seconds S, --backends sqlite,postgresql, --workers 1,2
```

{machine()}; SQLite file database (WAL) and a throw-away local PostgreSQL (`bouquet.testing.postgres`).
The machine was shared with other work: 1-minute load average {args.load_before:.1f} before the runs,
{args.load_after:.1f} after them.

{table}

Read these as a floor, not a capacity plan. A round trip is three requests and two write
transactions (the code; its consumption with the token pair), and it is CPU-bound: measured
in-process and one at a time, it costs about 25 ms of Python on SQLite and 30 ms on PostgreSQL
(of which one RS256 signature, under 1 ms). With two CPUs shared by the server, PostgreSQL, the
load generator and, during these runs, other test suites, a second worker process has no idle
core to use and mostly adds contention; on SQLite, every write transaction also takes the
database's single write lock (`BEGIN IMMEDIATE`). On a host with spare cores, workers scale with
PostgreSQL, whose row locks let them overlap.
"""
    write_section(SECTION, section)


def main() -> None:
    args = arguments(__doc__)
    rows = []
    for backend in args.backends.split(","):
        for workers in [int(value) for value in args.workers.split(",")]:
            with database(backend) as url:
                fixture = prepare(url, args.concurrency)
                with served(url, workers) as base:
                    ok, errors, elapsed = asyncio.run(load(base, fixture, args.seconds, args.concurrency))
            name = backend_name(backend)
            rows.append((name, workers, ok, errors, ok / elapsed, elapsed / ok * 1000 * args.concurrency if ok else 0))
            print(f"{name}, {workers} worker(s): {ok / elapsed:.1f} round trips/s ({ok} in {elapsed:.1f} s, "
                  f"{errors} errors)", flush=True)
    table = markdown_table(["database", "workers", "round trips", "errors", "round trips/s", "mean latency (ms)"],
                           [f"| {name} | {workers} | {ok:,} | {errors} | {rate:,.1f} | {latency:,.0f} |"
                            for name, workers, ok, errors, rate, latency in rows])
    report(table, args, write_docs)


if __name__ == "__main__":
    main()
