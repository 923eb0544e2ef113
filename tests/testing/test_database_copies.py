"""Tests of the PostgreSQL copies the fixtures make ahead of the tests (`_Templates`): a server that
restarts mid-run (tests/test_database_outage.py restarts the run's own) must not end the copies for
every later test of the process — it once did: 130 errors « the test databases could not be copied »."""

from __future__ import annotations

import psycopg

from bouquet.testing.fixtures import _Templates
from bouquet.testing.postgres import ThrowawayPostgres


class _Request:
    def __init__(self, server: ThrowawayPostgres) -> None:
        self.server = server

    def getfixturevalue(self, name: str) -> ThrowawayPostgres:
        assert name == "postgres_server"
        return self.server


def _usable(url: str) -> bool:
    with psycopg.connect(url.replace("+psycopg", "")) as connection:
        return connection.execute("SELECT count(*) FROM alembic_version").fetchone()[0] >= 1


def test_copies_go_on_after_the_server_restarts(tmp_path):
    with ThrowawayPostgres() as server:
        templates = _Templates(tmp_path, _Request(server))
        try:
            first = templates.url_for_test("postgresql")
            assert _usable(first)
            templates.done_with(first)
            server._run_pg("pg_ctl", "stop", "-D", str(server._data_dir), "-m", "fast", "-w")
            server._run_pg("pg_ctl", "start", "-D", str(server._data_dir), "-l", str(server._log_file), "-w",
                           "-o", f"-p {server.port}")
            # More than the copies kept ready: some are made after the restart, by a new connection.
            urls = [templates.url_for_test("postgresql") for _ in range(_Templates.READY + 3)]
            assert len(set(urls)) == len(urls) and all(_usable(url) for url in urls)
        finally:
            templates.close()
