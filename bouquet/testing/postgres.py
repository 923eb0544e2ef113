"""A throwaway PostgreSQL server for tests and local development.

``ThrowawayPostgres`` runs ``initdb`` into a fresh temporary folder, starts a private server
on a free TCP port of 127.0.0.1 (its unix socket stays inside that folder, so it never
meets a system cluster), and deletes everything again on exit. Durability is switched off
(``fsync``, ``synchronous_commit``, ``full_page_writes``): the data is meant to die with it.

    with ThrowawayPostgres() as pg:
        engine = sqlalchemy.create_engine(pg.url)
        other_url = pg.create_database("test_one")

``python -m bouquet.testing.postgres`` starts one, prints its URL and waits for Ctrl-C.
"""

from __future__ import annotations

import argparse
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from types import TracebackType

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

__all__ = ["ThrowawayPostgres", "find_bindir", "main"]

MISSING_BINARIES = (
    "PostgreSQL server binaries not found: run `make test` (installs Debian's postgresql)"
)
# PostgreSQL refuses to run as root; when we are root the server runs as this system user.
SERVER_OS_USER = "postgres"
# Messages in the server log meaning "someone else took the port": worth another try.
PORT_TAKEN_MARKERS = ("could not bind", "Address already in use")
PORT_ATTEMPTS = 5
# Names that need no quoting in SQL nor in a URL; 63 bytes is PostgreSQL's identifier limit.
DATABASE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def _has_server_binaries(bindir: Path) -> bool:
    return (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file()


def find_bindir() -> Path:
    """Return the folder holding ``initdb`` and ``pg_ctl``.

    Looks, in order, at the ``BOUQUET_PG_BINDIR`` environment variable, at
    ``pg_config --bindir``, then at the newest ``/usr/lib/postgresql/<version>/bin``.
    Raises ``RuntimeError`` when none of them has the server binaries.
    """
    configured = os.environ.get("BOUQUET_PG_BINDIR")
    if configured:
        if _has_server_binaries(Path(configured)):
            return Path(configured)
        # An explicit setting that is wrong must not be silently replaced by a guess.
        raise RuntimeError(
            f"BOUQUET_PG_BINDIR={configured!r} has no initdb and pg_ctl. {MISSING_BINARIES}"
        )

    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        )
        if result.returncode == 0 and result.stdout.strip():
            candidates.append(Path(result.stdout.strip()))
    # Debian installs one folder per major version; sort numerically so 16 beats 9.6.
    versioned = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += [
        Path(p)
        for p in sorted(versioned, key=lambda p: _version_key(Path(p).parent.name), reverse=True)
    ]
    for candidate in candidates:
        if _has_server_binaries(candidate):
            return candidate
    raise RuntimeError(MISSING_BINARIES)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else -1 for part in version.split("."))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_os_user() -> pwd.struct_passwd:
    """Return the ``postgres`` system user, creating it if this machine has none."""
    try:
        return pwd.getpwnam(SERVER_OS_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd", "--system", "--user-group", "--no-create-home",
                "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", SERVER_OS_USER,
            ],
            check=True,
        )
        return pwd.getpwnam(SERVER_OS_USER)


class ThrowawayPostgres:
    """A private PostgreSQL server living in a temporary folder, for one ``with`` block.

    On entry the server is running and the database ``dbname`` exists; ``url`` is its
    SQLAlchemy URL ``postgresql+psycopg://USER@127.0.0.1:PORT/DBNAME``. The superuser
    ``user`` connects without password (trust authentication; the server listens on
    127.0.0.1 only). On exit, even after an error, the server is stopped immediately and
    the folder deleted. ``start()``/``stop()`` do the same for callers that cannot use
    ``with`` (e.g. a session-scoped pytest fixture); ``stop()`` may be called twice.

    When the process runs as root, initdb and the server run as the ``postgres`` system
    user through ``runuser`` (it is created if missing), and the folder is given to it.
    """

    def __init__(self, dbname: str = "bouquet", user: str = "postgres", startup_timeout: int = 30):
        self.dbname = dbname
        self.user = user
        self.startup_timeout = startup_timeout
        self.port: int | None = None
        self.folder: Path | None = None
        self._bindir: Path | None = None
        self._as_other_user: list[str] = []

    # -- lifecycle -----------------------------------------------------------------

    def __enter__(self) -> ThrowawayPostgres:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Create the cluster, start the server, create ``dbname``; clean up if a step fails."""
        if self.folder is not None:
            raise RuntimeError("this ThrowawayPostgres is already started")
        self._bindir = find_bindir()
        # /tmp, not $TMPDIR: the postgres user must be able to reach the folder.
        self.folder = Path(tempfile.mkdtemp(prefix="bouquet-pg-", dir="/tmp"))
        try:
            self._prepare_folder()
            self._initdb()
            self._start_server()
            self.create_database(self.dbname)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server (``pg_ctl stop -m immediate``) and delete its folder."""
        if self.folder is None:
            return
        try:
            if (self._data_dir / "postmaster.pid").exists():
                self._run_pg("pg_ctl", "stop", "-D", str(self._data_dir), "-m", "immediate", "-w")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
            self.port = None

    # -- public API ------------------------------------------------------------------

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the database created at start."""
        return self.url_for(self.dbname)

    def url_for(self, dbname: str) -> str:
        """SQLAlchemy URL (psycopg 3 driver) of database ``dbname`` on this server."""
        self._require_running()
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        """Create the empty database ``name`` and return its SQLAlchemy URL.

        Meant for isolated per-test databases. ``name`` must be a plain identifier
        (letters, digits, underscores, at most 63 characters) so that it needs no quoting
        in SQL or URLs; anything else raises ``ValueError``. Raises
        ``psycopg.errors.DuplicateDatabase`` if it already exists.
        """
        if not DATABASE_NAME.fullmatch(name):
            raise ValueError(
                f"database name {name!r} must match {DATABASE_NAME.pattern} "
                "(e.g. derive it from the test name with re.sub(r'\\W', '_', ...)[:63])"
            )
        self._require_running()
        # CREATE DATABASE cannot run inside a transaction, hence autocommit.
        with psycopg.connect(self._conninfo("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url_for(name)

    # -- internals -------------------------------------------------------------------

    @property
    def _data_dir(self) -> Path:
        assert self.folder is not None
        return self.folder / "data"

    @property
    def _socket_dir(self) -> Path:
        assert self.folder is not None
        return self.folder / "socket"

    @property
    def _log_file(self) -> Path:
        assert self.folder is not None
        return self.folder / "postgres.log"

    def _conninfo(self, dbname: str) -> str:
        return make_conninfo(host="127.0.0.1", port=self.port, user=self.user, dbname=dbname)

    def _require_running(self) -> None:
        if self.folder is None or self.port is None:
            raise RuntimeError(
                "ThrowawayPostgres is not running: use `with ThrowawayPostgres() as pg:` or start()"
            )

    def _prepare_folder(self) -> None:
        assert self.folder is not None
        self._socket_dir.mkdir()
        if os.geteuid() == 0:
            owner = _server_os_user()
            for path in (self.folder, self._socket_dir):
                os.chown(path, owner.pw_uid, owner.pw_gid)
            self._as_other_user = ["runuser", "-u", owner.pw_name, "--"]

    def _initdb(self) -> None:
        self._run_pg(
            "initdb", "-D", str(self._data_dir), "--username", self.user,
            "--auth", "trust", "--encoding", "UTF8", "--no-locale",
            # The cluster is thrown away: skipping fsync saves seconds.
            "--no-sync",
        )
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self._socket_dir}'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        with open(self._data_dir / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write("\n# bouquet.testing.postgres\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    def _start_server(self) -> None:
        for _ in range(PORT_ATTEMPTS):
            port = _free_port()
            log_start = len(self._read_log())
            try:
                self._run_pg(
                    "pg_ctl", "start", "-D", str(self._data_dir), "-l", str(self._log_file),
                    "-w", "-t", str(self.startup_timeout), "-o", f"-p {port}",
                )
            except RuntimeError:
                # Another process may have taken the port between probe and bind: retry.
                new_log = self._read_log()[log_start:]
                if any(marker in new_log for marker in PORT_TAKEN_MARKERS):
                    continue
                raise
            self.port = port
            return
        raise RuntimeError(f"PostgreSQL found no free port in {PORT_ATTEMPTS} attempts")

    def _read_log(self) -> str:
        try:
            return self._log_file.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def _run_pg(self, program: str, *args: str) -> None:
        assert self._bindir is not None and self.folder is not None
        command = [*self._as_other_user, str(self._bindir / program), *args]
        # Inherited PG* variables (PGPORT, PGHOST…) must not redirect the private server.
        env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        result = subprocess.run(
            command, cwd=self.folder, env=env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            log_tail = "\n".join(self._read_log().splitlines()[-20:])
            raise RuntimeError(
                f"{program} failed with exit code {result.returncode}: {' '.join(command)}\n"
                f"--- stdout ---\n{result.stdout}--- stderr ---\n{result.stderr}"
                f"--- server log (last lines) ---\n{log_tail}"
            )


def main(argv: list[str] | None = None) -> None:
    """Start a throwaway server, print its URL, and stop it on Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="python -m bouquet.testing.postgres",
        description="Run a throwaway PostgreSQL server until Ctrl-C; its data is deleted.",
    )
    parser.add_argument("--dbname", default="bouquet", help="database to create (default: bouquet)")
    options = parser.parse_args(argv)

    # SIGTERM, and SIGINT even when a background shell ignores it, exit like Ctrl-C so the
    # folder is always removed.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.default_int_handler)
    with ThrowawayPostgres(dbname=options.dbname) as pg:
        print(f"BOUQUET_DATABASE_URL={pg.url}", flush=True)
        print("PostgreSQL is running; press Ctrl-C to stop it and delete its data.", flush=True)
        try:
            signal.pause()
        except KeyboardInterrupt:
            print("\nstopping PostgreSQL", file=sys.stderr)


if __name__ == "__main__":
    main()
