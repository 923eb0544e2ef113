"""What the page benchmarks share (`bench_pages`, `bench_region`, `bench_load`): the portal's fixture
(a professional, a practice software's client, a relying party, signed-in browser sessions), a
practice-software launch, the patient page with its panels as a browser loads it (the page, then
every `hx-get` panel in parallel), an SSO round trip into an app, and latency percentiles.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from _common import SECRET, new_sessions, pkce
from bouquet.foundation.db import Database
from bouquet.patient.demo import DEMO_PATIENTS
from bouquet.sso.accounts import Account
from bouquet.sso.oidc import keys
from bouquet.sso.oidc.clients import register_client
from sqlmodel import select

REDIRECT = "http://localhost:9/callback"
#: The plugins the measured portal runs (the pages of the issue's mix).
PLUGINS = "dmp,prevention,catalog,eparcours"
UNAVAILABLE = re.compile(r"indisponible", re.I)
PANEL = re.compile(r'hx-get="([^"]+)"[^>]*hx-trigger="load')
#: A request not answered within this budget counts as a timeout (the issue's load runs used 30 s).
TIMEOUT = 30.0


@dataclass
class Fixture:
    """A professional's signed-in sessions and the clients they use."""

    doctor_id: int
    idnat: str
    launch_client: tuple[str, str]
    app_client: tuple[str, str]
    session_tokens: list[str]


def prepare(db: Database, sessions: int, *, idnat: str = "810000000009", username: str = "bench.doctor") -> Fixture:
    """The professional `username` (created if missing), a practice software's client (client
    credentials, `launch`), a first-party relying party, signing keys, and `sessions` signed-in sessions."""
    with db.write() as session:
        doctor = session.exec(select(Account).where(Account.username == username)).first()
        if doctor is None:
            doctor = Account(kind="professional", username=username, given_name="Jean", family_name="BENCH",
                             idnat_ps=idnat, profession_code="10", profession_label="Médecin", profession_category="C",
                             practice_sites=[{"structure_id": "R1", "name": "Cabinet"}])
            session.add(doctor)
            session.flush()
        software = register_client(session, name="Logiciel Bench", redirect_uris=["https://lgc.example/cb"],
                                   grant_types=["authorization_code", "client_credentials"], scope="openid launch",
                                   first_party=True)
        app = register_client(session, name="Application Bench", redirect_uris=[REDIRECT], first_party=True,
                              scope="openid profile scope_all")
        keys.ensure_keys(session, SECRET)
        doctor_id, idnat = doctor.id, doctor.idnat_ps
    tokens = [token for token in new_sessions(db, doctor_id, sessions) if token]
    assert software.secret is not None and app.secret is not None
    return Fixture(doctor_id, idnat, (software.client.client_id, software.secret),
                   (app.client.client_id, app.secret), tokens)


def browser(base: str, session_token: str) -> httpx.AsyncClient:
    """A signed-in browser: its session cookie, HTML wanted, htmx-like timeouts."""
    return httpx.AsyncClient(base_url=base, timeout=TIMEOUT, headers={"Cookie": f"bouquet_session={session_token}",
                                                                      "Accept": "text/html"},
                             limits=httpx.Limits(max_connections=8))


async def software_token(base: str, fixture: Fixture) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT) as http:
        answer = await http.post("/token", data={"grant_type": "client_credentials", "scope": "launch"},
                                 auth=fixture.launch_client)
        answer.raise_for_status()
        return answer.json()["access_token"]


def launch_payload(idnat: str, patient: dict[str, Any] | None = None, n: int = 0) -> dict[str, Any]:
    patient = dict(patient or DEMO_PATIENTS[n % len(DEMO_PATIENTS)].to_dict())
    patient.pop("source", None)
    patient.pop("established_at", None)
    return {"professional": idnat, "patient": patient}


async def launch(api: httpx.AsyncClient, tab: httpx.AsyncClient, payload: dict[str, Any]) -> int:
    """« Ouvrir dans le Bouquet »: the software's POST /api/launch, then the browser following the
    link; the status of the step that failed, or 303 when the patient is open."""
    created = await api.post("/api/launch", json=payload)
    if created.status_code != 201:
        return created.status_code
    opened = await tab.get("/launch?" + created.json()["launch_url"].split("?", 1)[1])
    if opened.status_code == 303 and opened.headers.get("location") == "/patient":
        return 303
    return opened.status_code or 599


@dataclass
class Timings:
    """Latencies (ms) per route, statuses, timeouts."""

    ms: dict[str, list[float]] = field(default_factory=dict)
    statuses: dict[str, dict[int, int]] = field(default_factory=dict)
    timeouts: dict[str, int] = field(default_factory=dict)
    #: Answers (200) in which a panel or the alerts say their information is unavailable (degraded visibly).
    unavailable: dict[str, int] = field(default_factory=dict)

    def add(self, route: str, ms: float, status: int) -> None:
        self.ms.setdefault(route, []).append(ms)
        counts = self.statuses.setdefault(route, {})
        counts[status] = counts.get(status, 0) + 1

    def timeout(self, route: str) -> None:
        self.timeouts[route] = self.timeouts.get(route, 0) + 1

    def errors(self, route: str | None = None) -> int:
        """Answers other than 2xx/3xx, requests without an answer (status 0), and timeouts."""
        routes = [route] if route else list(self.statuses.keys() | self.timeouts.keys())
        return sum(sum(n for status, n in self.statuses.get(r, {}).items() if status >= 400 or status == 0)
                   + self.timeouts.get(r, 0) for r in routes)

    def no_answer(self, route: str) -> int:
        """Requests refused, or whose connection closed before an answer."""
        return self.statuses.get(route, {}).get(0, 0)

    def server_errors(self) -> int:
        return sum(n for counts in self.statuses.values() for status, n in counts.items() if status >= 500)


async def timed_get(http: httpx.AsyncClient, path: str, route: str, timings: Timings) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        answer = await http.get(path)
    except httpx.TimeoutException:
        timings.timeout(route)
        return None
    except httpx.TransportError:  # refused, or the connection closed before an answer
        timings.add(route, (time.perf_counter() - started) * 1000, 0)
        return None
    timings.add(route, (time.perf_counter() - started) * 1000, answer.status_code)
    return answer


async def patient_page(tab: httpx.AsyncClient, timings: Timings, *, panels_route: str = "panels") -> float | None:
    """GET /patient, then its alerts and panels in parallel, as htmx loads them; the whole in ms."""
    started = time.perf_counter()
    page = await timed_get(tab, "/patient", "/patient", timings)
    if page is None or page.status_code != 200:
        return None
    urls = PANEL.findall(page.text)
    answers = await asyncio.gather(*(timed_get(tab, url, _route(url, panels_route), timings) for url in urls))
    for url, answer in zip(urls, answers, strict=True):
        if answer is not None and answer.status_code == 200 and UNAVAILABLE.search(answer.text):
            route = _route(url, panels_route)
            timings.unavailable[route] = timings.unavailable.get(route, 0) + 1
    if any(answer is None or answer.status_code >= 400 for answer in answers):
        return None
    return (time.perf_counter() - started) * 1000


def _route(url: str, panels_route: str) -> str:
    path = urlsplit(url).path
    return path if panels_route == "each" else panels_route


async def sso_round_trip(http: httpx.AsyncClient, fixture: Fixture, timings: Timings) -> bool:
    """A signed-in browser's SSO into an app: /authorize → code → /token → /userinfo."""
    verifier, challenge = pkce()
    client_id, client_secret = fixture.app_client
    started = time.perf_counter()
    try:
        authorized = await http.get("/authorize", params={
            "response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT,
            "scope": "openid profile scope_all", "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(12),
            "code_challenge": challenge, "code_challenge_method": "S256"})
        code = parse_qs(urlsplit(authorized.headers.get("location", "")).query).get("code", [None])[0]
        if authorized.status_code != 302 or code is None:
            timings.add("SSO round trip", (time.perf_counter() - started) * 1000, authorized.status_code or 599)
            return False
        token = await http.post("/token", data={"grant_type": "authorization_code", "code": code,
                                                "redirect_uri": REDIRECT, "code_verifier": verifier},
                                auth=(client_id, client_secret), headers={"Cookie": ""})
        if token.status_code != 200:
            timings.add("SSO round trip", (time.perf_counter() - started) * 1000, token.status_code)
            return False
        info = await http.get("/userinfo", headers={"Authorization": f"Bearer {token.json()['access_token']}",
                                                    "Cookie": ""})
    except httpx.TimeoutException:
        timings.timeout("SSO round trip")
        return False
    except httpx.TransportError:  # refused, or the connection closed before an answer
        timings.add("SSO round trip", (time.perf_counter() - started) * 1000, 0)
        return False
    timings.add("SSO round trip", (time.perf_counter() - started) * 1000, info.status_code)
    return info.status_code == 200


def percentile(values: list[float], p: float) -> float:
    """The `p` percentile (nearest rank) of `values`, 0 if none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered) + 0.5)) - 1))]


def worker_rss_mb(leader_pid: int) -> list[float]:
    """Resident memory (MB) of each process in the server's process group but its leader (the workers;
    with one worker, the leader itself)."""
    rss, workers = {}, []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.getpgid(int(pid)) != leader_pid:
                continue
            status = Path(f"/proc/{pid}/status").read_text()
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ProcessLookupError):
            continue
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        if match:
            rss[int(pid)] = int(match.group(1)) / 1024
            if b"spawn_main" in command:  # a uvicorn worker (the resource tracker is not one)
                workers.append(rss[int(pid)])
    if not workers and leader_pid in rss:  # one worker: the server process itself
        workers = [rss[leader_pid]]
    return workers
