"""SSO round trips against a reference provider, in the same run: Bouquet and panva's `oidc-provider`.

One round trip is what a relying party does when a signed-in user opens it: GET the authorization
endpoint with a live session, PKCE S256 (a code), POST the token endpoint with client_secret_basic
(RS256 ID token), GET userinfo. `--concurrency` users, each with its own session, loop for
`--seconds`; the two servers are measured interleaved (Bouquet, peer, Bouquet, peer), each on a
quiet server process, and the table keeps the better of its two runs. Figures: round trips per
second, p50 and p99 latency of a round trip, and the server's CPU time per round trip (user +
system time of the server's processes, read from /proc), the ratio to the peer beside each.

The peer is `oidc-provider` 8.8.1 (OpenID Certified, Node.js), installed from npm into
`bench/oidc_peer/node_modules` on first use (`bench/oidc_peer/package.json`, `server.mjs`).

    .venv/bin/python bench/bench_sso_peer.py [--seconds 10] [--concurrency 8] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    arguments,
    backend_name,
    database,
    machine,
    markdown_table,
    pkce,
    report,
    serving,
    write_section,
)
from bench_sso import REDIRECT, prepare  # noqa: E402

from bouquet.testing.servers import free_port  # noqa: E402

PEER = Path(__file__).resolve().parent / "oidc_peer"
PEER_SECRET = "peer-client-secret-0123456789abcdef"
SECTION = "## SSO against a reference provider"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(group: int) -> float:
    """User + system CPU time of every live process of process group `group`."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:  # pgrp
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def start_peer() -> tuple[subprocess.Popen[bytes], str]:
    if not (PEER / "node_modules" / "oidc-provider").is_dir():
        subprocess.run([shutil.which("npm") or "npm", "ci", "--no-audit", "--no-fund"], cwd=PEER, check=True)
    port = free_port()
    process = subprocess.Popen(["node", "server.mjs", str(port), PEER_SECRET, REDIRECT], cwd=PEER,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    assert process.stdout is not None
    line = process.stdout.readline().decode()
    if not line.startswith("ready"):
        raise RuntimeError(f"the peer did not start: {line} {process.stderr.read().decode() if process.stderr else ''}")
    return process, f"http://127.0.0.1:{port}"


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=20)


class Bouquet:
    name = "Bouquet"

    def __init__(self, base: str, client_id: str, secret: str, session_tokens: list[str]) -> None:
        self.base, self.client_id, self.secret, self.tokens = base, client_id, secret, session_tokens

    async def client(self, n: int) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base, timeout=30,
                                 headers={"Cookie": f"bouquet_session={self.tokens[n]}"})

    async def round_trip(self, http: httpx.AsyncClient) -> bool:
        verifier, challenge = pkce()
        authorized = await http.get("/authorize", params={
            "response_type": "code", "client_id": self.client_id, "redirect_uri": REDIRECT, "scope": "openid profile",
            "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(12), "code_challenge": challenge,
            "code_challenge_method": "S256"})
        code = parse_qs(urlsplit(authorized.headers.get("location", "")).query).get("code", [None])[0]
        if code is None:
            return False
        token = await http.post("/token", data={"grant_type": "authorization_code", "code": code,
                                                "redirect_uri": REDIRECT, "code_verifier": verifier},
                                auth=(self.client_id, self.secret), headers={"Cookie": ""})
        if token.status_code != 200:
            return False
        info = await http.get("/userinfo", headers={"Authorization": f"Bearer {token.json()['access_token']}",
                                                    "Cookie": ""})
        return info.status_code == 200


class Peer:
    name = "oidc-provider"

    def __init__(self, base: str) -> None:
        self.base = base

    async def client(self, n: int) -> httpx.AsyncClient:
        http = httpx.AsyncClient(base_url=self.base, timeout=30)
        # Sign this user in once: the first authorization goes through the (instant) interaction.
        verifier, challenge = pkce()
        response = await http.get("/auth", params={
            "response_type": "code", "client_id": "bench", "redirect_uri": REDIRECT, "scope": "openid profile",
            "state": "s", "nonce": "n", "code_challenge": challenge, "code_challenge_method": "S256",
            "login_hint": f"user-{n}"})
        for _ in range(5):
            location = response.headers.get("location", "")
            if response.status_code not in (302, 303) or location.startswith(REDIRECT):
                break
            response = await http.get(location.removeprefix(self.base))
        if "code=" not in response.headers.get("location", ""):
            raise RuntimeError(f"the peer did not sign user-{n} in: {response.status_code} {response.text[:200]}")
        return http

    async def round_trip(self, http: httpx.AsyncClient) -> bool:
        verifier, challenge = pkce()
        authorized = await http.get("/auth", params={
            "response_type": "code", "client_id": "bench", "redirect_uri": REDIRECT, "scope": "openid profile",
            "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(12), "code_challenge": challenge,
            "code_challenge_method": "S256"})
        code = parse_qs(urlsplit(authorized.headers.get("location", "")).query).get("code", [None])[0]
        if code is None:
            return False
        token = await http.post("/token", data={"grant_type": "authorization_code", "code": code,
                                                "redirect_uri": REDIRECT, "code_verifier": verifier},
                                auth=("bench", PEER_SECRET))
        if token.status_code != 200:
            return False
        info = await http.get("/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"})
        return info.status_code == 200


async def measure(server: Bouquet | Peer, group: int, users: int, seconds: float) -> dict[str, float]:
    clients = [await server.client(n) for n in range(users)]
    latencies: list[float] = []
    errors = 0

    async def user(http: httpx.AsyncClient, until: float, record: bool) -> None:
        nonlocal errors
        while time.monotonic() < until:
            started = time.monotonic()
            ok = await server.round_trip(http)
            if record:
                if ok:
                    latencies.append(time.monotonic() - started)
                else:
                    errors += 1

    await asyncio.gather(*(user(http, time.monotonic() + 1.0, False) for http in clients))  # warm-up
    cpu_before, started = cpu_seconds(group), time.monotonic()
    await asyncio.gather(*(user(http, started + seconds, True) for http in clients))
    elapsed, cpu = time.monotonic() - started, cpu_seconds(group) - cpu_before
    for http in clients:
        await http.aclose()
    done = len(latencies)
    quantiles = statistics.quantiles(latencies, n=100) if done >= 2 else [0.0] * 99
    return {"rate": done / elapsed, "p50": quantiles[49] * 1000, "p99": quantiles[98] * 1000,
            "cpu": cpu / done * 1000 if done else 0.0, "errors": errors, "done": done}


def best(runs: list[dict[str, float]]) -> dict[str, float]:
    return max(runs, key=lambda run: run["rate"])


def main() -> None:
    args = arguments(__doc__, workers="1")
    rows = []
    for backend in args.backends.split(","):
        workers = 1 if backend == "sqlite" else 2
        ours: list[dict[str, float]] = []
        theirs: list[dict[str, float]] = []
        with database(backend) as url:
            fixture = prepare(url, args.concurrency)
            for _ in range(2):
                with serving(url, workers) as (process, base):
                    bouquet = Bouquet(base, fixture.client_id, fixture.secret, fixture.session_tokens)
                    ours.append(asyncio.run(measure(bouquet, process.pid, args.concurrency, args.seconds)))
                peer_process, peer_base = start_peer()
                try:
                    theirs.append(asyncio.run(measure(Peer(peer_base), peer_process.pid, args.concurrency,
                                                      args.seconds)))
                finally:
                    stop(peer_process)
        a, b = best(ours), best(theirs)
        name = f"{backend_name(backend)}, {workers} worker{'s' if workers > 1 else ''}"
        rows.append(f"| {name} | {a['rate']:.1f} | {b['rate']:.1f} | {a['rate'] / b['rate']:.2f} "
                    f"| {a['p50']:.0f} / {a['p99']:.0f} | {b['p50']:.0f} / {b['p99']:.0f} "
                    f"| {a['cpu']:.1f} | {b['cpu']:.1f} | {a['cpu'] / b['cpu']:.1f}× | {int(a['errors'] + b['errors'])} |")
        print(rows[-1], flush=True)
    table = markdown_table(["Bouquet on", "Bouquet (round trips/s)", "oidc-provider (round trips/s)", "ratio",
                            "Bouquet p50 / p99 (ms)", "oidc-provider p50 / p99 (ms)", "Bouquet CPU per round trip (ms)",
                            "oidc-provider CPU (ms)", "CPU ratio", "errors"], rows)

    def write_docs(table: str, args) -> None:  # noqa: ANN001
        write_section(SECTION, f"""{SECTION}

Bouquet and the OpenID Certified `oidc-provider` 8.8.1 (Node.js {subprocess.run(['node', '--version'],
capture_output=True, text=True).stdout.strip()}, one process) measured in the same run, interleaved, the
better of two runs each: {args.concurrency} signed-in users, {args.seconds:g} s per run after a 1 s warm-up,
the same round trip (authorization with a live session and PKCE S256, token with client_secret_basic and an
RS256 ID token, userinfo). CPU is the server's user + system time per round trip. {machine()}; load average
{args.load_before:.1f} before, {args.load_after:.1f} after.

```
.venv/bin/python bench/bench_sso_peer.py
```

{table}
""")

    report(table, args, write_docs)


if __name__ == "__main__":
    main()
