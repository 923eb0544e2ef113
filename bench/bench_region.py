"""A region's scale on PostgreSQL: the portal's latencies over `generate_region.py`'s data, served by
`bouquet serve --workers 2` (uvicorn) with the region's plugins, against a throw-away PostgreSQL
(`bouquet.testing.postgres.ThrowawayPostgres`), or `--url` a database already generated.

Measured one request at a time (latency, not throughput), each `--runs` times after a warm-up:

- launch from the practice software: `POST /api/launch` (client-credentials token), then the
  professional's browser following the link (303 to /patient) — goal p95 < 20 ms;
- the patient page: `GET /patient`, then its alerts and panels in parallel as htmx loads them, the
  whole until the last panel arrives — goal p95 < 100 ms (the page alone is shown too);
- the population view « Prévention — mes patients » of the bench doctor's 2,000 patients — goal < 200 ms;
- catalogue search (`/p/catalog/?q=…`, four queries in turn) over the region's solutions — goal < 50 ms;
- resident memory of each worker after the runs — goal < 200 MB;
- `bouquet audit verify` over every event of the region (the chain sealed by the generator).

    .venv/bin/python bench/bench_region.py                  # --scale 0.01 (make bench): 100,000 events
    .venv/bin/python bench/bench_region.py --scale 1        # the issue's region: 10 million events
    .venv/bin/python bench/bench_region.py --url postgresql+psycopg://…  --scale 1   # data generated before
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

from _common import ROOT, SECRET, machine, markdown_table, serving, write_section  # noqa: E402
from _portal import (  # noqa: E402
    PLUGINS,
    Timings,
    browser,
    launch,
    launch_payload,
    patient_page,
    percentile,
    prepare,
    software_token,
    timed_get,
    worker_rss_mb,
)
from generate_region import DOCTOR_IDNAT, DOCTOR_USERNAME, Region, generate  # noqa: E402

from bouquet.foundation.db import Database  # noqa: E402

SECTION = "## Région"
SEARCHES = ("telesurveillance", "Diabète pédiatrie", "coordination", "zzzz")
GOALS = {"launch": 20, "patient page and panels": 100, "population view (2,000 patients)": 200,
         "catalogue search": 50}


async def measure(base: str, region_population: list[dict], fixture, runs: int) -> Timings:  # noqa: ANN001
    timings = Timings()
    token = await software_token(base, fixture)
    api = httpx.AsyncClient(base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"})
    tab = browser(base, fixture.session_tokens[0])
    try:
        for n in range(runs + 3):  # three of warm-up
            payload = launch_payload(fixture.idnat, region_population[n % len(region_population)])
            started = time.perf_counter()
            status = await launch(api, tab, payload)
            elapsed = (time.perf_counter() - started) * 1000
            whole = await patient_page(tab, timings) if status == 303 else None
            if n >= 3:
                timings.add("launch", elapsed, 200 if status == 303 else status)
                if whole is not None:
                    timings.add("patient page and panels", whole, 200)
        for n in range(max(3, runs // 5) + 1):
            answer = await timed_get(tab, "/p/prevention/mes-patients", "population view (2,000 patients)", timings)
            if n == 0 and answer is not None:  # the first one is the warm-up
                timings.ms["population view (2,000 patients)"].pop()
                if answer.status_code != 200:
                    print(f"population view: {answer.status_code}", file=sys.stderr)
        for n in range(runs):
            await timed_get(tab, f"/p/catalog/?q={SEARCHES[n % len(SEARCHES)]}", "catalogue search", timings)
    finally:
        await api.aclose()
        await tab.aclose()
    return timings


def audit_verify(url: str) -> tuple[float, str]:
    """`bouquet audit verify` on the region; its time and what it printed."""
    env = {**os.environ, "BOUQUET_DATABASE_URL": url, "BOUQUET_SECRET_KEY": SECRET, "BOUQUET_PLUGINS": PLUGINS}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "bouquet", "audit", "verify"], env=env, cwd=ROOT,
                          capture_output=True, text=True, check=False)
    return time.monotonic() - started, (done.stdout + done.stderr).strip()


def run(url: str, region: Region | None, args: argparse.Namespace) -> tuple[str, dict[str, object]]:
    db = Database(url)
    try:
        fixture = prepare(db, 2, idnat=DOCTOR_IDNAT, username=DOCTOR_USERNAME)
        population = region.population if region else _population(db)
    finally:
        db.dispose()
    with serving(url, args.workers, PLUGINS) as (process, base):
        timings = asyncio.run(measure(base, population, fixture, args.runs))
        rss = worker_rss_mb(process.pid)
    seconds, verified = audit_verify(url)
    lines = []
    for label, goal in GOALS.items():
        values = timings.ms.get(label, [])
        p95 = percentile(values, 95)
        met = "yes" if values and p95 < goal and timings.errors(label) == 0 else "**no**"
        lines.append(f"| {label} | {len(values)} | {percentile(values, 50):.0f} | {p95:.0f} | {timings.errors(label)} "
                     f"| < {goal} | {met} |")
    page = timings.ms.get("/patient", [])
    lines.append(f"| (the patient page alone) | {len(page)} | {percentile(page, 50):.0f} | {percentile(page, 95):.0f} "
                 f"| {timings.errors('/patient')} | | |")
    panels = timings.ms.get("panels", [])
    lines.append(f"| (one alert or panel request) | {len(panels)} | {percentile(panels, 50):.0f} | "
                 f"{percentile(panels, 95):.0f} | {timings.errors('panels')} | | |")
    worst = max(rss) if rss else 0
    lines.append(f"| RSS per worker (MB), after the runs | {len(rss)} | {min(rss, default=0):.0f} | {worst:.0f} | | "
                 f"< 200 | {'yes' if rss and worst < 200 else '**no**'} |")
    match = re.search(r"([\d,]+) events verified", verified)
    events = int(match.group(1).replace(",", "")) if match else 0
    table = markdown_table(["measure (ms)", "samples", "p50", "p95", "errors", "goal", "met"], lines)
    table += ("\n\n" + markdown_table(["`bouquet audit verify`", "events", "time", "events/s", "result"],
                                      [f"| {os.cpu_count()} processes | {events:,} | {seconds:.1f} s | "
                                       f"{events / seconds:,.0f} | {verified.splitlines()[-1] if verified else '?'} |"]))
    return table, {"events": events, "seconds": seconds}


def _population(db: Database) -> list[dict]:
    """The bench doctor's declared patients (a region generated before)."""
    with db.engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT p.patient FROM prevention_patient p JOIN account a ON a.id = p.professional_id "
            f"WHERE a.username = '{DOCTOR_USERNAME}' ORDER BY p.id LIMIT 2000").all()
    return [row[0] for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.01, help="1 = the issue's region (default 0.01)")
    parser.add_argument("--url", help="A PostgreSQL database generated before (generate_region.py --url)")
    parser.add_argument("--runs", type=int, default=50, help="samples per measure (default 50)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-write", action="store_true", help="Print the table only.")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    generated = ""
    if args.url:
        table, _ = run(args.url, None, args)
    else:
        from bouquet.testing.postgres import ThrowawayPostgres

        with ThrowawayPostgres() as server:
            url = server.create_database("region")
            started = time.monotonic()
            region = generate(url, args.scale)
            generated = f" Generating it took {time.monotonic() - started:.0f} s."
            table, _ = run(url, region, args)
    load_after = os.getloadavg()[0]
    print()
    print(table)
    print(f"load average: {load_before:.1f} before, {load_after:.1f} after")
    if args.no_write:
        return
    scale = args.scale
    write_section(SECTION, f"""{SECTION}

The issue's region on PostgreSQL, at scale {scale:g} (1 = 1,000,000 patient contexts, 100,000 accounts,
10,000,000 audit events): `bench/generate_region.py` writes it (accounts, contexts of valid test-INS
patients, the bench doctor's 2,000 declared patients with their prevention acts and DMPs, catalogue
solutions, audit events chained as the sealer does), then `bench/bench_region.py` measures the real
portal (`bouquet serve --workers {args.workers}`, plugins {PLUGINS}) one request at a time, {args.runs}
samples each after a warm-up.{generated}

```
.venv/bin/python bench/bench_region.py --scale {scale:g} --runs {args.runs}
```

{machine()}; a throw-away local PostgreSQL; the load generator on the same machine. The machine was
shared with other engineers' test runs: 1-minute load average {load_before:.1f} before, {load_after:.1f}
after — read the figures as upper bounds.

{table}
""")
    print(f"\nWritten to {Path('docs/benchmarks.md')}")


if __name__ == "__main__":
    main()
