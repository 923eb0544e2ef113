"""Tests of bouquet.testing.postgres: a real server is started, used and thrown away."""

import socket
import tempfile
from pathlib import Path

import psycopg
import pytest
import sqlalchemy

from bouquet.testing import postgres
from bouquet.testing.postgres import ThrowawayPostgres


def test_server_serves_sqlalchemy_and_psycopg_and_is_gone_afterwards():
    with ThrowawayPostgres() as pg:
        assert pg.url == f"postgresql+psycopg://postgres@127.0.0.1:{pg.port}/bouquet"
        folder = pg.folder
        engine = sqlalchemy.create_engine(pg.url)
        with engine.connect() as conn:
            assert conn.scalar(sqlalchemy.text("SELECT current_database()")) == "bouquet"
            assert conn.scalar(sqlalchemy.text("SHOW listen_addresses")) == "127.0.0.1"
            assert conn.scalar(sqlalchemy.text("SHOW fsync")) == "off"
        engine.dispose()

        second_url = pg.create_database("second_db")
        assert second_url == pg.url_for("second_db")
        # psycopg takes the same URL once the SQLAlchemy driver suffix is dropped.
        with psycopg.connect(second_url.replace("+psycopg", "")) as conn:
            conn.execute("CREATE TABLE note (body text)")
            conn.execute("INSERT INTO note VALUES ('isolated')")
        with psycopg.connect(pg.url.replace("+psycopg", "")) as conn:
            # The second database is separate: its table is not visible from the first.
            assert conn.execute("SELECT to_regclass('note')").fetchone() == (None,)

        with pytest.raises(psycopg.errors.DuplicateDatabase):
            pg.create_database("second_db")
        with pytest.raises(ValueError, match="must match"):
            pg.create_database("bad name; DROP")
        dead_url = pg.url.replace("+psycopg", "")

    assert not folder.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(dead_url, connect_timeout=2)


def test_failure_during_start_stops_server_and_deletes_folder(monkeypatch):
    created = []
    real_mkdtemp = tempfile.mkdtemp

    def recording_mkdtemp(*args, **kwargs):
        created.append(real_mkdtemp(*args, **kwargs))
        return created[-1]

    monkeypatch.setattr(postgres.tempfile, "mkdtemp", recording_mkdtemp)
    # The server starts, then creating this invalid database fails.
    with pytest.raises(ValueError), ThrowawayPostgres(dbname="not a valid name"):
        pass
    assert len(created) == 1
    assert not Path(created[0]).exists()


def test_port_taken_between_probe_and_bind_is_retried(monkeypatch):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        offered = []
        real_free_port = postgres._free_port

        def first_a_taken_port():
            offered.append(real_free_port() if offered else taken)
            return offered[-1]

        monkeypatch.setattr(postgres, "_free_port", first_a_taken_port)
        with ThrowawayPostgres() as pg:
            assert offered[0] == taken
            assert pg.port == offered[1]
            with psycopg.connect(pg.url.replace("+psycopg", "")) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)


def test_missing_binaries_raise_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("BOUQUET_PG_BINDIR", str(tmp_path))
    with pytest.raises(RuntimeError, match="PostgreSQL server binaries not found: run `make test`"):
        ThrowawayPostgres().start()


def test_bindir_is_found_without_configuration(monkeypatch):
    monkeypatch.delenv("BOUQUET_PG_BINDIR", raising=False)
    bindir = postgres.find_bindir()
    assert (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file()
