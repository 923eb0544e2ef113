"""What the portal being a relying party of its own provider costs: the silent portal sign-in of a
browser already signed in at the provider (page → /authorize → /auth/callback → page), against a
page view with a portal session, in-process (Starlette's test client), one at a time.

    .venv/bin/python bench/bench_portal_signin.py                 # 200 sign-ins per backend
    .venv/bin/python bench/bench_portal_signin.py --rounds 50 --backends sqlite

Prints a Markdown table and writes it into the "Portal sign-in through its own provider" section of
docs/benchmarks.md (`--no-write` to leave the file alone).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")  # the test client's issuer is http://testserver

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DOCS, SECRET, backend_name  # noqa: E402

from bouquet.app import create_app  # noqa: E402
from bouquet.foundation.db import Database  # noqa: E402
from bouquet.foundation.settings import Settings  # noqa: E402
from bouquet.migrations import upgrade  # noqa: E402
from bouquet.plugins import Plugins  # noqa: E402
from bouquet.sso.accounts import Account  # noqa: E402
from bouquet.testing.fixtures import BouquetClient, signed_in_session  # noqa: E402

SECTION = "## Portal sign-in through its own provider"
HTML = {"accept": "text/html"}
PAGE = "/account/sessions"


def _measure(url: str, rounds: int) -> tuple[list[float], list[float]]:
    upgrade(Database(url).engine, Plugins(""))
    app = create_app(Settings(database_url=url, base_url="http://testserver", secret_key=SECRET, log_json=False,
                              log_level="WARNING", plugins=""))
    with app.state.db.write() as session:
        account = Account(kind="professional", username="bench", given_name="Alice", family_name="MARTIN",
                          idnat_ps="899900000011")
        session.add(account)
        session.flush()
        session.refresh(account)
    sign_ins, views = [], []
    with BouquetClient(app, base_url="http://testserver.local", follow_redirects=False) as client:
        for index in range(rounds + 5):  # the first few warm caches and create the signing keys
            provider_only = app.state.sessions.create(account_id=account.id, amr=["pwd", "otp", "mfa"])
            client._set_session(provider_only.new_token)
            started = time.perf_counter()
            to_provider = client.get(PAGE, headers=HTML)
            code = client.get(to_provider.headers["location"], headers=HTML)
            back = client.get(code.headers["location"].removeprefix("http://testserver"), headers=HTML)
            page = client.get(back.headers["location"], headers=HTML)
            elapsed = time.perf_counter() - started
            assert page.status_code == 200, (to_provider.status_code, code.status_code, back.status_code)
            client._set_session(signed_in_session(app, account).new_token)
            started = time.perf_counter()
            assert client.get(PAGE, headers=HTML).status_code == 200
            viewed = time.perf_counter() - started
            if index >= 5:
                sign_ins.append(elapsed * 1000)
                views.append(viewed * 1000)
    app.state.db.dispose()
    return sign_ins, views


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    rows = []
    for backend in args.backends.split(","):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                sign_ins, views = _measure(f"sqlite:///{tmp}/bench.db", args.rounds)
        else:
            from bouquet.testing.postgres import ThrowawayPostgres

            with ThrowawayPostgres() as server:
                sign_ins, views = _measure(server.create_database("bench"), args.rounds)
        rows.append((backend, len(sign_ins), statistics.median(sign_ins), statistics.quantiles(sign_ins, n=10)[-1],
                     statistics.median(views)))
    load = os.getloadavg()[0]
    table = ["| database | sign-ins | median (ms) | p90 (ms) | page view with a portal session, median (ms) |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for backend, count, median, p90, view in rows:
        table.append(f"| {backend_name(backend)} | {count} | {median:.1f} | {p90:.1f} | {view:.1f} |")
    text = "\n".join(table)
    print(text)
    if args.no_write:
        return
    section = f"""{SECTION}

A browser signed in at the provider (as after the sign-in pages, or from another client) opens a
page of the portal: 303 to `/authorize` for `bouquet-portal`, 302 with the code to
`/auth/callback`, which redeems it in-process (the code grant, an ES256 ID token) and validates the
ID token, 303 to the page, the page. Measured in-process with Starlette's test client, one at a
time, against a page view by a browser that already has its portal session; no plugin loaded.

```
.venv/bin/python bench/bench_portal_signin.py     # --rounds N, --backends sqlite,postgresql
```

CPython {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}, Linux {platform.release()};
1-minute load average {load:.1f} at the end (the machine was shared with other work).

{text}

The difference between the two columns is what one portal sign-in costs the server: it happens
once per sign-in and per step-up, never on ordinary page views.
"""
    content = DOCS.read_text()
    if SECTION in content:
        start = content.index(SECTION)
        following = content.find("\n## ", start + len(SECTION))
        content = content[:start] + section + (content[following + 1:] if following != -1 else "")
    else:
        content = content.rstrip("\n") + "\n\n" + section
    DOCS.write_text(content)


if __name__ == "__main__":
    sys.exit(main())
