"""What the HTTP benchmarks share: the server harness (`bouquet serve --workers N`), the database of a run
(a SQLite file or a throw-away PostgreSQL), portal sessions, PKCE, the timed load with its warm-up,
the command line, the result table and the section of docs/benchmarks.md it is written into.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import os
import platform
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx

from bouquet.foundation.db import Database
from bouquet.testing.fixtures import free_port
from bouquet.web.sessions import SessionStore, Timeouts

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
SECRET = "bench-secret-key-0123456789abcdef-0123456789"

T = TypeVar("T")


def serve(url: str, workers: int, plugins: str = "") -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    base = f"http://localhost:{port}"
    env = {**os.environ, "BOUQUET_DATABASE_URL": url, "BOUQUET_SECRET_KEY": SECRET, "BOUQUET_BASE_URL": base,
           "BOUQUET_PLUGINS": plugins, "BOUQUET_LOG_LEVEL": "WARNING", "BOUQUET_SESSION_IDLE_MINUTES": "60"}
    # The server's log goes to a file (a pipe nobody reads would block a server logging under load).
    log = tempfile.TemporaryFile()  # noqa: SIM115  # kept open by the process; closed when it is collected
    process = subprocess.Popen([sys.executable, "-m", "bouquet", "serve", "--port", str(port), "--workers", str(workers)],
                               env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
    process.log = log  # type: ignore[attr-defined]
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/.well-known/openid-configuration", timeout=2).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            log.seek(0)
            raise RuntimeError(f"the server did not start: {log.read().decode(errors='replace')}")
        time.sleep(0.2)


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def served(url: str, workers: int, plugins: str = "") -> Iterator[str]:
    """`bouquet serve --workers N` on `url` for the block (`plugins` as BOUQUET_PLUGINS); yields its base URL."""
    with serving(url, workers, plugins) as (_process, base):
        yield base


@contextmanager
def serving(url: str, workers: int, plugins: str = "") -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Like `served`, also yielding the server's process (the leader of its process group); `plugins`
    as BOUQUET_PLUGINS (none by default)."""
    process, base = serve(url, workers, plugins)
    try:
        yield process, base
    finally:
        stop(process)


@contextmanager
def database(backend: str) -> Iterator[str]:
    """A fresh database for one run: a SQLite file in a temporary folder, or a throw-away PostgreSQL."""
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
            yield url
        finally:
            if postgres is not None:
                postgres.stop()


def backend_name(backend: str) -> str:
    return "SQLite" if backend == "sqlite" else "PostgreSQL"


def new_sessions(db: Database, account_id: int, count: int) -> list[str | None]:
    """`count` browser sessions of a fully authenticated professional (password, OTP, MFA), signed in
    to the provider and to the portal, as after `/auth/callback`."""
    from bouquet.sso import portal
    from bouquet.sso.accounts import Account

    store = SessionStore(db, Timeouts(idle=timedelta(hours=1), absolute=timedelta(hours=2)))
    with db.session() as session:
        account = session.get(Account, account_id)
    tokens = []
    for _ in range(count):
        browser = store.create(account_id=account_id, amr=["pwd", "otp", "mfa"])
        browser.set(portal.SESSION_KEY, portal.session_for(account, browser).to_data())
        store.save(browser)
        tokens.append(browser.new_token)
    return tokens


def pkce() -> tuple[str, str]:
    """A PKCE verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


async def timed(run: Callable[[T, float, dict[str, int]], Awaitable[None]], items: Iterable[T], seconds: float,
                keys: tuple[str, ...] = ("ok", "errors")) -> tuple[dict[str, int], float]:
    """`run` on every item at once for 1 s of warm-up, then for `seconds`; the counts and the time taken."""
    items = list(items)
    warm = dict.fromkeys(keys, 0)
    await asyncio.gather(*(run(item, time.monotonic() + 1.0, warm) for item in items))
    counts = dict.fromkeys(keys, 0)
    started = time.monotonic()
    await asyncio.gather(*(run(item, started + seconds, counts) for item in items))
    return counts, time.monotonic() - started


def machine() -> str:
    return (f"CPython {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}, "
            f"{platform.system()} {platform.release().split('-')[0]}")


def arguments(doc: str, *, workers: Any = "1,2", workers_type: Callable[[str], Any] = str) -> argparse.Namespace:
    """--seconds, --concurrency, --backends, --workers and --no-write; records the load average before the runs."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--workers", type=workers_type, default=workers)
    parser.add_argument("--no-write", action="store_true", help="Print the table only.")
    args = parser.parse_args()
    args.load_before = os.getloadavg()[0]
    return args


def markdown_table(header: list[str], lines: list[str]) -> str:
    """A Markdown table: the first column left-aligned, the others right-aligned."""
    return "\n".join([f"| {' | '.join(header)} |", "| " + " | ".join(["---"] + ["---:"] * (len(header) - 1)) + " |"]
                     + lines)


def report(table: str, args: argparse.Namespace, write_docs: Callable[[str, argparse.Namespace], None]) -> None:
    """Record the load average after the runs, print the table and, unless --no-write, write the docs."""
    args.load_after = os.getloadavg()[0]
    print()
    print(table)
    print(f"load average: {args.load_before:.1f} before, {args.load_after:.1f} after")
    if not args.no_write:
        write_docs(table, args)
        print(f"\nWritten to {DOCS.relative_to(ROOT)}")


def write_section(title: str, section: str) -> None:
    """Replace the `title` section of docs/benchmarks.md with `section` (or append it)."""
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(section.rstrip() + "\n\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    DOCS.write_text(text.rstrip() + "\n", encoding="utf-8")
