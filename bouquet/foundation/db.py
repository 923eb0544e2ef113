"""The database: one engine per app, short transactions, run off the event loop."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import DateTime, event, exc
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, create_engine
from starlette.concurrency import run_in_threadpool

T = TypeVar("T")

#: Seconds a client is asked to wait (`Retry-After`) while the database is away.
RETRY_AFTER_SECONDS = 5
# SQLite's errors that mean "the file cannot be used now", not "this statement is wrong".
_SQLITE_UNAVAILABLE = ("unable to open database", "disk i/o error", "database is locked", "not a database",
                       "readonly database", "database disk image is malformed")


def utcnow() -> datetime:
    """Now, in UTC, as an aware datetime (every timestamp in the database is UTC)."""
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Stores UTC without a zone (the same on SQLite and PostgreSQL), gives back aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware datetime (bouquet.foundation.db.utcnow())")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def make_engine(url: str) -> Engine:
    """An engine tuned for the backend: WAL and a busy timeout on SQLite, pre-ping on PostgreSQL."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; we emit it ourselves so that
        # `Database.write()` can take the write lock up front (BEGIN IMMEDIATE).
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # pre-ping: a connection the server dropped (a restart) is replaced before a statement runs on it;
    # a short connect timeout: while the server is away, requests fail fast (503) rather than queue.
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, pool_timeout=10,
                         connect_args={"connect_timeout": 5})


def is_unavailable(error: BaseException) -> bool:
    """Whether `error` says the database is away (down, restarting, unreachable, its file unusable),
    as opposed to a bad statement: the request may succeed again in a few seconds (503, not 500)."""
    if isinstance(error, exc.TimeoutError):  # no connection free in the pool: the server is not answering
        return True
    if not isinstance(error, exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if isinstance(error, exc.OperationalError | exc.InterfaceError):
        module = type(error.orig).__module__ if error.orig is not None else ""
        if module.startswith("sqlite3"):
            return any(marker in str(error.orig).lower() for marker in _SQLITE_UNAVAILABLE)
        return True  # psycopg: connection refused, server closed the connection, admin shutdown…
    if isinstance(error, exc.DatabaseError) and "not a database" in str(error.orig).lower():
        return True
    return False


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    immediate = connection.get_execution_options().get("sqlite_begin_immediate", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """The app's database. Use `session()` in sync code and `run()` from async code."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on any error."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def write(self) -> Iterator[Session]:
        """Like `session()`, but takes the write lock first on SQLite so concurrent writers queue
        instead of failing with "database is locked" on a read-then-write upgrade."""
        with Session(self.engine, expire_on_commit=False) as session:
            if self.is_sqlite:
                session.connection(execution_options={"sqlite_begin_immediate": True})
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking database work in the thread pool, never on the event loop."""
        return await run_in_threadpool(fn, *args, **kwargs)

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def open_database(url: str) -> Iterator[Database]:
    """A `Database` on `url` for a command-line command, disposed of when the block ends."""
    database = Database(url)
    try:
        yield database
    finally:
        database.dispose()
