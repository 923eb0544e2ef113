"""Page views with a session against bare Starlette on the same uvicorn settings, 32 connections.

Three servers, one worker each, `uvicorn.run` with the settings `bouquet serve` uses: a bare Starlette
app (`bare_starlette.py`: one route, a small page, no middleware, no database), then the portal with
its plugins (dmp, prevention, catalog, eparcours) on SQLite and on PostgreSQL. Against each, 32
keep-alive connections (`--concurrency`) loop for `--seconds` after a 1 s warm-up:

- the home page `/` with a signed-in session (8 sessions, 4 connections each) — goal ≥ 10 % of bare
  Starlette's requests/s;
- the patient page with its panels: each connection requests `/patient`, `/patient/alerts` and every
  panel the page loads, in turn; a session's four connections therefore ask for its page and panels
  at the same time, as a browser does — goal ≥ 5 % of bare Starlette's requests/s;
- errors (any 4xx/5xx, refused or timed-out request) — goal 0.

The load generator (`_loadgen.py`, plain asyncio streams) runs on the same machine and takes CPU
from the server, bare Starlette most: the ratios are therefore on the favourable side.

    .venv/bin/python bench/bench_pages.py            # --seconds 5 --concurrency 32 --backends sqlite,postgresql
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _loadgen  # noqa: E402
from _common import (  # noqa: E402
    arguments,
    backend_name,
    database,
    machine,
    markdown_table,
    report,
    served,
    stop,
    write_section,
)
from _portal import PANEL, PLUGINS, browser, launch, launch_payload, prepare, software_token  # noqa: E402

from bouquet.foundation.db import Database  # noqa: E402
from bouquet.migrations import upgrade  # noqa: E402
from bouquet.plugins import Plugins  # noqa: E402
from bouquet.testing.fixtures import free_port  # noqa: E402

SECTION = "## Pages against bare Starlette"
HERE = Path(__file__).resolve().parent
CONNECTIONS_PER_SESSION = 4


def bare(seconds: float, concurrency: int) -> tuple[float, int]:
    """Bare Starlette's requests/s and errors."""
    port = free_port()
    process = subprocess.Popen([sys.executable, str(HERE / "bare_starlette.py"), str(port)], cwd=HERE,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("bare Starlette did not start")
            time.sleep(0.2)
        counts, elapsed = asyncio.run(_loadgen.run("127.0.0.1", port, [(["/"], "")] * concurrency, seconds))
        return counts.ok / elapsed, counts.errors
    finally:
        stop(process)


async def _open_patients(base: str, fixture, tokens: list[str]) -> list[str]:  # noqa: ANN001
    """Open a demo patient in each session (a practice-software launch); the page's panel URLs."""
    token = await software_token(base, fixture)
    async with httpx.AsyncClient(base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"}) as api:
        for n, session_token in enumerate(tokens):
            async with browser(base, session_token) as tab:
                status = await launch(api, tab, launch_payload(fixture.idnat, n=n))
                if status != 303:
                    raise RuntimeError(f"launch refused: {status}")
        async with browser(base, tokens[0]) as tab:
            page = await tab.get("/patient")
            page.raise_for_status()
            return ["/patient", *PANEL.findall(page.text)]


def portal(backend: str, seconds: float, concurrency: int) -> dict[str, tuple[float, int, dict[int, int]]]:
    """The portal's requests/s, errors and statuses: home with a session, patient page with its panels."""
    sessions = max(1, concurrency // CONNECTIONS_PER_SESSION)
    out = {}
    with database(backend) as url:
        db = Database(url)
        try:
            plugins = Plugins(PLUGINS.split(","))
            upgrade(db.engine, plugins)
            plugins.call("bouquet_demo", db=db)
            fixture = prepare(db, sessions)
        finally:
            db.dispose()
        with served(url, 1, PLUGINS) as base:
            paths = asyncio.run(_open_patients(base, fixture, fixture.session_tokens))
            port = urlsplit(base).port
            assert port is not None
            cookies = [f"Cookie: bouquet_session={token}\r\nAccept: text/html\r\n" for token in fixture.session_tokens]
            home_users = [(["/"], cookies[n % sessions]) for n in range(concurrency)]
            # Each connection starts at a different request of the page, so a session's connections overlap.
            page_users = [(paths[n % len(paths):] + paths[:n % len(paths)], cookies[n % sessions])
                          for n in range(concurrency)]
            for label, users in (("home `/` with a session", home_users),
                                 (f"patient page and its panels ({len(paths)} requests)", page_users)):
                counts, elapsed = asyncio.run(_loadgen.run("localhost", port, users, seconds))
                out[label] = (counts.ok / elapsed, counts.errors, counts.statuses)
                print(f"{backend_name(backend)}, {label}: {counts.ok / elapsed:,.0f} req/s, {counts.errors} errors "
                      f"{counts.statuses}", flush=True)
    return out


def main() -> None:
    args = arguments(__doc__, workers="1")
    args.concurrency = 32 if "--concurrency" not in sys.argv else args.concurrency
    args.seconds = 5.0 if "--seconds" not in sys.argv else args.seconds
    lines = []
    for backend in args.backends.split(","):
        reference, reference_errors = bare(args.seconds, args.concurrency)
        print(f"bare Starlette: {reference:,.0f} req/s, {reference_errors} errors", flush=True)
        lines.append(f"| bare Starlette (reference, before {backend_name(backend)}) | — | {reference:,.0f} | "
                     f"{reference_errors} | 100 % | | |")
        for (label, (rate, errors, statuses)), goal in zip(portal(backend, args.seconds, args.concurrency).items(),
                                                             (10, 5), strict=True):
            ratio = rate / reference * 100
            met = "yes" if ratio >= goal and errors == 0 else "**no**"
            shown = ", ".join(f"{n} × {status or 'no answer'}" for status, n in sorted(statuses.items()) if status >= 400
                              or status == 0)
            lines.append(f"| {label} | {backend_name(backend)} | {rate:,.0f} | {errors}{f' ({shown})' if shown else ''} "
                         f"| {ratio:.1f} % | ≥ {goal} %, 0 errors | {met} |")
    table = markdown_table(["page", "database", "requests/s", "errors", "of bare Starlette", "goal", "met"], lines)

    def write_docs(table: str, args) -> None:  # noqa: ANN001
        write_section(SECTION, f"""{SECTION}

A page view with a signed-in session, and the patient page with its panels, against a bare Starlette
app on the same uvicorn settings (`uvicorn.run`, one worker, proxy headers off, no log config), with
{args.concurrency} keep-alive connections for {args.seconds:g} s after a 1 s warm-up; the portal runs its plugins
({PLUGINS}) and its demo data, the patient opened by a practice-software launch in each session. The
load generator (`bench/_loadgen.py`: plain asyncio streams, far cheaper than httpx) shares the machine
with the server, so bare Starlette's figure is held down by it most and the ratios lean favourable.

```
.venv/bin/python bench/bench_pages.py      # --seconds 5 --concurrency 32 --backends sqlite,postgresql
```

{machine()}; SQLite file database (WAL) and a throw-away local PostgreSQL. The machine was shared with
other engineers' test runs: 1-minute load average {args.load_before:.1f} before, {args.load_after:.1f} after.

{table}
""")

    report(table, args, write_docs)


if __name__ == "__main__":
    main()
