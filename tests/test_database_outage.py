"""A database restart costs at most the requests in flight: 503 with `Retry-After` (a French page or
JSON) while it is away, `/readyz` says so, and everything works again afterwards without restarting
the app."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from bouquet import hookimpl
from bouquet.foundation.db import RETRY_AFTER_SECONDS
from bouquet.testing.fixtures import BouquetClient


def _assert_unavailable_page(response: Any) -> None:
    assert response.status_code == 503
    assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    assert "text/html" in response.headers["content-type"]
    assert "momentanément indisponible" in response.text
    assert "Réessayez dans quelques secondes" in response.text


def _assert_unavailable_json(response: Any) -> None:
    assert response.status_code == 503
    assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    assert response.json()["error"] == "Service momentanément indisponible"


def _walk_outage(client: BouquetClient, outage: Any, back: Any) -> None:
    """Before, during and after an outage: the same browser session throughout."""
    html = {"Accept": "text/html"}
    assert client.get("/", headers=html).status_code == 200
    assert client.get("/readyz").status_code == 200
    outage()
    try:
        _assert_unavailable_page(client.get("/", headers=html))
        _assert_unavailable_json(client.get("/", headers={"Accept": "application/json"}))
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
        assert ready.json()["database"] == "unreachable"
        assert client.get("/healthz").status_code == 200  # liveness: the process itself is fine
        # A write is never retried: refused with 503 too, nothing half done.
        _assert_unavailable_page(client.submit("/account/applications/nobody/revoke", headers=html))
    finally:
        back()
    # No restart of the app: the same session, signed in, works again.
    assert client.get("/readyz").status_code == 200
    again = client.get("/", headers=html)
    assert again.status_code == 200 and "Connectez-vous" not in again.text


@pytest.mark.backends("sqlite")
def test_sqlite_file_unusable_then_back(app, make_account, database_url):
    path = Path(make_url(database_url).database or "")
    away = path.with_suffix(".away")

    def outage() -> None:
        app.state.db.engine.dispose()  # the connections die with the "server" (WAL checkpointed)
        os.rename(path, away)
        path.write_bytes(b"this is not a database file" * 100)

    def back() -> None:
        path.unlink()
        os.rename(away, path)

    with BouquetClient(app, base_url="http://testserver.local", follow_redirects=False) as client:
        client.login(make_account())
        _walk_outage(client, outage, back)


@pytest.mark.backends("postgresql")
def test_postgresql_restart_mid_run(app, make_account, postgres_server):
    server = postgres_server
    port = server.port

    def outage() -> None:
        server._run_pg("pg_ctl", "stop", "-D", str(server._data_dir), "-m", "fast", "-w")

    def back() -> None:
        server._run_pg("pg_ctl", "start", "-D", str(server._data_dir), "-l", str(server._log_file), "-w",
                       "-o", f"-p {port}")

    with BouquetClient(app, base_url="http://testserver.local", follow_redirects=False) as client:
        client.login(make_account())
        _walk_outage(client, outage, back)


class _Flaky:
    """A plugin whose routes lose their database connection the first time (a restart mid-request)."""

    def __init__(self) -> None:
        self.calls = {"GET": 0, "POST": 0}

    @hookimpl
    def bouquet_routes(self) -> list[Any]:
        from sqlalchemy.exc import OperationalError
        from starlette.responses import PlainTextResponse
        from starlette.routing import Route

        async def flaky(request: Any) -> Any:
            self.calls[request.method] += 1
            if self.calls[request.method] == 1:
                raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"),
                                       connection_invalidated=True)
            return PlainTextResponse("lu")

        return [Route("/read", flaky, methods=["GET", "POST"])]


def test_a_read_whose_connection_dropped_is_retried_once_and_a_write_is_not(make_app, make_account):
    flaky = _Flaky()
    app = make_app(extra_plugins=[("flaky", flaky)])
    with BouquetClient(app, base_url="http://testserver.local", follow_redirects=False) as client:
        client.login(make_account())
        read = client.get("/p/flaky/read")
        assert read.status_code == 200 and read.text == "lu" and flaky.calls["GET"] == 2
        written = client.submit("/p/flaky/read", headers={"Accept": "text/html"})
        _assert_unavailable_page(written)
        assert flaky.calls["POST"] == 1  # never run twice
        assert client.submit("/p/flaky/read").status_code == 200  # the person sends it again: done
