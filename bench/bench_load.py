"""Load: `--users` signed-in professionals (default 500) looping a realistic mix for `--seconds`
(default 60) against `bouquet serve --workers 2` (`--workers`) with its plugins, on a throw-away
PostgreSQL; then `bouquet audit verify`, to prove no audit event was lost.

Each user has a browser session of their own (password, OTP, MFA) and a patient opened by a
practice-software launch before the run; then, over and over, with no think time:

1. the home page `/`;
2. the patient page `/patient`, then its alerts and panels in parallel, as htmx loads them;
3. the DMP's document list `/p/dmp/documents`;
4. « Prévention — mes patients » `/p/prevention/mes-patients`;
5. an SSO round trip into an app (`/authorize` with the session → code → `/token` → `/userinfo`).

Counted: answers per route, 5xx, other errors, timeouts (30 s, as the issue's runs), p50/p95/p99 per
route. The load generator (httpx, one client per user) runs on the same machine and takes CPU too.

    .venv/bin/python bench/bench_load.py                       # 500 users, 60 s, 2 workers (the issue's run)
    .venv/bin/python bench/bench_load.py --users 50 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, SECRET, database, machine, markdown_table, serving, write_section  # noqa: E402
from _portal import (  # noqa: E402
    PLUGINS,
    TIMEOUT,
    Timings,
    browser,
    launch,
    launch_payload,
    patient_page,
    percentile,
    prepare,
    software_token,
    sso_round_trip,
    timed_get,
    worker_rss_mb,
)

from bouquet.foundation.db import Database  # noqa: E402
from bouquet.migrations import upgrade  # noqa: E402
from bouquet.plugins import Plugins  # noqa: E402

SECTION = "## Load"


async def open_patients(base: str, fixture, tabs: list[httpx.AsyncClient], parallel: int = 16) -> int:  # noqa: ANN001
    """A practice-software launch in every session, `parallel` at a time; how many failed."""
    token = await software_token(base, fixture)
    gate = asyncio.Semaphore(parallel)
    failed = 0
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT, headers={"Authorization": f"Bearer {token}"},
                                 limits=httpx.Limits(max_connections=parallel)) as api:
        async def one(n: int, tab: httpx.AsyncClient) -> None:
            nonlocal failed
            async with gate:
                try:
                    if await launch(api, tab, launch_payload(fixture.idnat, n=n)) != 303:
                        failed += 1
                except httpx.TransportError:
                    failed += 1

        await asyncio.gather(*(one(n, tab) for n, tab in enumerate(tabs)))
    return failed


async def user(tab: httpx.AsyncClient, fixture, until: float, timings: Timings) -> None:  # noqa: ANN001
    while time.monotonic() < until:
        await timed_get(tab, "/", "/", timings)
        await patient_page(tab, timings, panels_route="each")
        await timed_get(tab, "/p/dmp/documents", "/p/dmp/documents", timings)
        await timed_get(tab, "/p/prevention/mes-patients", "/p/prevention/mes-patients", timings)
        await sso_round_trip(tab, fixture, timings)


async def load(base: str, fixture, seconds: float) -> tuple[Timings, float, int]:  # noqa: ANN001
    tabs = [browser(base, token) for token in fixture.session_tokens]
    try:
        failed = await open_patients(base, fixture, tabs)
        timings = Timings()
        started = time.monotonic()
        await asyncio.gather(*(user(tab, fixture, started + seconds, timings) for tab in tabs))
        return timings, time.monotonic() - started, failed
    finally:
        await asyncio.gather(*(tab.aclose() for tab in tabs))


def audit_verify(url: str) -> str:
    env = {**os.environ, "BOUQUET_DATABASE_URL": url, "BOUQUET_SECRET_KEY": SECRET, "BOUQUET_PLUGINS": PLUGINS}
    done = subprocess.run([sys.executable, "-m", "bouquet", "audit", "verify"], env=env, cwd=ROOT,
                          capture_output=True, text=True, check=False)
    return (done.stdout + done.stderr).strip().splitlines()[-1] if (done.stdout + done.stderr).strip() else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-write", action="store_true", help="Print the table only.")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with database("postgresql") as url:
        db = Database(url)
        try:
            plugins = Plugins(PLUGINS.split(","))
            upgrade(db.engine, plugins)
            plugins.call("bouquet_demo", db=db)
            fixture = prepare(db, args.users)
        finally:
            db.dispose()
        with serving(url, args.workers, PLUGINS) as (process, base):
            timings, elapsed, failed_launches = asyncio.run(load(base, fixture, args.seconds))
            rss = worker_rss_mb(process.pid)
        verified = audit_verify(url)
    load_after = os.getloadavg()[0]
    routes = sorted(timings.ms.keys() | timings.timeouts.keys(), key=lambda r: ("panel" in r or "alerts" in r, r))
    lines, total = [], 0
    for route in routes:
        statuses = timings.statuses.get(route, {})
        values = timings.ms.get(route, [])
        total += len(values) - timings.no_answer(route)  # answered requests
        server = sum(n for status, n in statuses.items() if status >= 500)
        other = sum(n for status, n in statuses.items() if 400 <= status < 500)
        lines.append(f"| {route} | {len(values):,} | {len(values) / elapsed:,.1f} | {server} | {other} | "
                     f"{timings.no_answer(route)} | {timings.timeouts.get(route, 0)} | {timings.unavailable.get(route, 0)} | {percentile(values, 50):,.0f} | {percentile(values, 95):,.0f} | "
                     f"{percentile(values, 99):,.0f} |")
    table = markdown_table(["route", "requests", "per s", "5xx", "4xx", "no answer", "timeouts", "said « indisponible »", "p50 (ms)", "p95 (ms)", "p99 (ms)"],
                           lines)
    summary = (f"{args.users} users, {args.workers} workers, {elapsed:.0f} s: {total:,} answers ({total / elapsed:,.1f}/s), "
               f"{timings.server_errors()} × 5xx, {sum(timings.timeouts.values())} timeouts, "
               f"{sum(timings.no_answer(route) for route in routes)} requests without an answer (refused or "
               "connection closed), "
               f"{failed_launches} launches refused before the run; RSS per worker after the run: "
               f"{', '.join(f'{value:.0f} MB' for value in rss)}. `bouquet audit verify` afterwards: {verified}")
    print()
    print(table)
    print(summary)
    print(f"load average: {load_before:.1f} before, {load_after:.1f} after")
    if args.no_write:
        return
    write_section(SECTION, f"""{SECTION}

{args.users} signed-in professionals, each with a session of their own and a patient opened by a
practice-software launch, looping without think time over the issue's mix — home, the patient page
and its alerts and panels (in parallel, as htmx loads them), the DMP's document list, « Prévention —
mes patients », an SSO round trip into an app — for {args.seconds:g} s against `bouquet serve --workers
{args.workers}` with its plugins ({PLUGINS}) and demo data, on a throw-away PostgreSQL. Then
`bouquet audit verify` over every event the run wrote. Timeouts at {TIMEOUT:g} s.

```
.venv/bin/python bench/bench_load.py      # --users 500 --seconds 60 --workers 2
```

{machine()}. The load generator (httpx, one client per user) runs on the same machine, and the
machine was shared with other engineers' test runs: 1-minute load average {load_before:.1f} before,
{load_after:.1f} after.

{summary}

{table}
""")
    print(f"\nWritten to {Path('docs/benchmarks.md')}")


if __name__ == "__main__":
    main()
