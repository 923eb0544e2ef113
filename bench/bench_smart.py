"""SMART app launches per second: a signed-in browser with a patient in context opens an application,
which authorizes with the `launch` handle, gets the token response with `patient`, and reads
`/fhir/Patient/{id}` — against `bouquet serve --workers N` (1 and 2), on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_smart.py                     # 10 s per run, 8 concurrent browsers
    .venv/bin/python bench/bench_smart.py --seconds 5 --backends sqlite --workers 1

Each round trip: GET /authorize (scope `launch openid fhirUser patient/Patient.read`, `launch`,
`aud`, PKCE S256, nonce; the handle is checked and consumed, 302 with the code), POST /token
(client_secret_basic; access, refresh and ID token with `fhirUser`, and `patient`), GET
/fhir/Patient/{id} with the access token (FR Core Patient INS; one audit event). The launch handles
are made beforehand (one per round trip, as `app_launch_url` makes them), so the figure is the
application's side of a launch. Prints a Markdown table and writes it into the "SMART app launch"
section of docs/benchmarks.md (`--no-write` to leave the file alone).
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

from bouquet.foundation.audit import Auditor  # noqa: E402
from bouquet.foundation.db import Database  # noqa: E402
from bouquet.foundation.keys import derive_key  # noqa: E402
from bouquet.migrations import upgrade  # noqa: E402
from bouquet.patient.context import establish  # noqa: E402
from bouquet.patient.demo import DEMO_PATIENTS  # noqa: E402
from bouquet.patient.smart import create_launch  # noqa: E402
from bouquet.plugins import Plugins  # noqa: E402
from bouquet.sso.accounts import Account  # noqa: E402
from bouquet.sso.oidc import keys  # noqa: E402
from bouquet.sso.oidc.clients import register_client  # noqa: E402

REDIRECT = "http://localhost:9/callback"
SCOPE = "launch openid fhirUser patient/Patient.read"
SECTION = "## SMART app launch"


@dataclass
class Browser:
    session_token: str
    handles: list[str]


@dataclass
class Fixture:
    client_id: str
    secret: str
    browsers: list[Browser]


def prepare(url: str, browsers: int, handles_each: int) -> Fixture:
    """Migrate; add a professional, a patient context, a first-party SMART client, keys, sessions and handles."""
    db = Database(url)
    try:
        upgrade(db.engine, Plugins(None))
        with db.write() as session:
            doctor = Account(kind="professional", username="bench.doctor", given_name="Jean", family_name="MARTIN",
                             idnat_ps="810000000007", profession_code="10", profession_label="Médecin",
                             profession_category="C")
            session.add(doctor)
            session.flush()
            registered = register_client(session, name="Bench SMART", redirect_uris=[REDIRECT], first_party=True,
                                         scope=SCOPE)
            keys.ensure_keys(session, SECRET)
        assert doctor.id is not None and registered.secret is not None
        audit = Auditor(db, derive_key(SECRET, "audit"), actor=doctor.label)
        context_id = establish(db, audit, doctor, None, DEMO_PATIENTS[0], "bench")
        made = []
        with db.write() as session:
            for _ in range(browsers):
                handles = [create_launch(session, client_id=registered.client.client_id, account_id=doctor.id,
                                         acting_for_id=None, patient_context_id=context_id) for _ in range(handles_each)]
                made.append(handles)
        tokens = new_sessions(db, doctor.id, browsers)
        return Fixture(registered.client.client_id, registered.secret,
                       [Browser(token, handles) for token, handles in zip(tokens, made, strict=True) if token])
    finally:
        db.dispose()


async def launches(base: str, fixture: Fixture, browser: Browser, until: float, counts: dict[str, int]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30, headers={"Cookie": f"bouquet_session={browser.session_token}"}) as http:
        while time.monotonic() < until and browser.handles:
            verifier, challenge = pkce()
            authorized = await http.get("/authorize", params={
                "response_type": "code", "client_id": fixture.client_id, "redirect_uri": REDIRECT, "scope": SCOPE,
                "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(12), "launch": browser.handles.pop(),
                "aud": f"{base}/fhir", "code_challenge": challenge, "code_challenge_method": "S256"})
            code = parse_qs(urlsplit(authorized.headers.get("location", "")).query).get("code", [None])[0]
            if authorized.status_code != 302 or code is None:
                counts["errors"] += 1
                continue
            token = await http.post("/token", data={"grant_type": "authorization_code", "code": code,
                                                    "redirect_uri": REDIRECT, "code_verifier": verifier},
                                    auth=(fixture.client_id, fixture.secret), headers={"Cookie": ""})
            if token.status_code != 200 or "patient" not in token.json():
                counts["errors"] += 1
                continue
            body = token.json()
            read = await http.get(f"/fhir/Patient/{body['patient']}",
                                  headers={"Authorization": f"Bearer {body['access_token']}", "Cookie": ""})
            counts["ok" if read.status_code == 200 else "errors"] += 1


async def load(base: str, fixture: Fixture, seconds: float) -> tuple[int, int, float]:
    counts, elapsed = await timed(lambda browser, until, counts: launches(base, fixture, browser, until, counts),
                                  fixture.browsers, seconds)
    return counts["ok"], counts["errors"], elapsed


def write_docs(table: str, args: argparse.Namespace) -> None:
    section = f"""{SECTION}

An application opened from Bouquet with the patient in context, end to end over HTTP: `GET
/authorize` with scope `launch openid fhirUser patient/Patient.read`, the `launch` handle and `aud`
(PKCE S256, nonce; the handle checked and consumed; 302 with the code), `POST /token`
(client_secret_basic; access, refresh and RS256 ID token with `fhirUser`, and `patient`), `GET
/fhir/Patient/{{id}}` with the access token (FR Core Patient INS, one audit event). The launch
handles are made beforehand, so this is the application's side of a launch. {args.concurrency}
browsers in parallel (each with its own portal session), {args.seconds:g} s per run after a 1 s
warm-up, against `bouquet serve --workers N`; the load generator runs on the same machine.

```
.venv/bin/python bench/bench_smart.py     # --seconds S, --backends sqlite,postgresql, --workers 1,2
```

{machine()}; SQLite file database (WAL) and a throw-away local PostgreSQL (`bouquet.testing.postgres`).
The machine was shared with other work: 1-minute load average {args.load_before:.1f} before the runs,
{args.load_after:.1f} after them.

{table}

A launch costs one write transaction more than a plain SSO round trip (the Patient read writes its
audit event, chained, so it serialises on the audit chain), and the handle check adds two
queries to `/authorize`. As for the SSO figures, read them as a floor measured on a shared
two-CPU machine, not a capacity plan.
"""
    write_section(SECTION, section)


def main() -> None:
    args = arguments(__doc__)
    rows = []
    # More handles than a browser can use in the run (a launch takes tens of milliseconds at best).
    handles_each = int(40 * (args.seconds + 1))
    for backend in args.backends.split(","):
        for workers in [int(value) for value in args.workers.split(",")]:
            with database(backend) as url:
                fixture = prepare(url, args.concurrency, handles_each)
                with served(url, workers) as base:
                    ok, errors, elapsed = asyncio.run(load(base, fixture, args.seconds))
            name = backend_name(backend)
            rows.append((name, workers, ok, errors, ok / elapsed, elapsed / ok * 1000 * args.concurrency if ok else 0))
            print(f"{name}, {workers} worker(s): {ok / elapsed:.1f} launches/s ({ok} in {elapsed:.1f} s, "
                  f"{errors} errors)", flush=True)
    table = markdown_table(["database", "workers", "launches", "errors", "launches/s", "mean latency (ms)"],
                           [f"| {name} | {workers} | {ok:,} | {errors} | {rate:,.1f} | {latency:,.0f} |"
                            for name, workers, ok, errors, rate, latency in rows])
    report(table, args, write_docs)


if __name__ == "__main__":
    main()
