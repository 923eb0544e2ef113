"""Generation counters: per-process caches of rarely changing rows that stay right across workers and hosts.

One row of `cache_generation` per cached kind (`oidc_clients`, `signing_keys`) holds a number that is
bumped **in the same transaction** as any change of those rows: `watch(Model, name)` installs it as a
flush listener, so no code path that changes a client or a key through the ORM can forget it. A worker
reads the counters once per request (one small table, no ORM objects) and trusts its cached copies only
while the counter it cached them under has not moved. A change committed through any worker on any
host is therefore seen by every other one on its very next request: no TTL window, no message bus.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy import event, text
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlmodel import Field, SQLModel

K = TypeVar("K")
V = TypeVar("V")

_WATCHED: dict[type, str] = {}
_INFO_KEY = "bouquet_generations"


class CacheGeneration(SQLModel, table=True):
    """How many times the rows of one cached kind have changed (the migration seeds each kind at 0)."""

    __tablename__ = "cache_generation"

    name: str = Field(primary_key=True, max_length=50)
    generation: int = Field(default=0)


def watch(model: type, name: str) -> None:
    """Bump generation `name` in the transaction of every ORM change (insert, update, delete) of `model`."""
    _WATCHED[model] = name


def bump(session: Session, name: str) -> None:
    """Move generation `name` on, in `session`'s transaction (committed or rolled back with the change)."""
    connection = session.connection()
    moved = connection.execute(text("UPDATE cache_generation SET generation = generation + 1 WHERE name = :name"),
                               {"name": name}).rowcount
    if not moved:
        connection.execute(text("INSERT INTO cache_generation (name, generation) VALUES (:name, 1)"), {"name": name})
    session.info.pop(_INFO_KEY, None)


def current(session: Session) -> dict[str, int]:
    """Every generation as this transaction sees it; read once per transaction."""
    known = session.info.get(_INFO_KEY)
    if known is None:
        rows = session.connection().execute(text("SELECT name, generation FROM cache_generation")).all()
        known = session.info[_INFO_KEY] = {name: generation for name, generation in rows}
    return known


@event.listens_for(Session, "after_flush")
def _bump_after_flush(session: Session, _flush: UOWTransaction) -> None:
    if not _WATCHED:
        return
    names = {_WATCHED[type(obj)] for obj in (*session.new, *session.dirty, *session.deleted) if type(obj) in _WATCHED
             and (obj not in session.dirty or session.is_modified(obj))}
    for name in sorted(names):
        bump(session, name)


@event.listens_for(Session, "do_orm_execute")
def _bump_on_bulk_change(state: ORMExecuteState) -> None:
    # `update(Model)` / `delete(Model)` statements bypass the flush.
    if (state.is_update or state.is_delete) and state.bind_mapper is not None:
        name = _WATCHED.get(state.bind_mapper.class_)
        if name is not None:
            bump(state.session, name)


class GenerationCache(Generic[K, V]):
    """A per-process cache whose entries hold while generation `name` keeps the value they were read under.

    Entries are shared by the threads of a worker: store values nobody mutates (detached rows, tuples).
    """

    def __init__(self, name: str, max_entries: int = 10_000) -> None:
        self.name, self.max_entries = name, max_entries
        self._lock = threading.Lock()
        self._generation: int | None = None
        self._entries: dict[K, V] = {}

    def get(self, session: Session, key: K, load: Callable[[], V | None]) -> V | None:
        """The cached value of `key`, or `load()`'s (cached when not None) if the generation moved or it is new."""
        generation = current(session).get(self.name, 0)
        with self._lock:
            if self._generation != generation:
                self._generation, self._entries = generation, {}
            elif key in self._entries:
                return self._entries[key]
        value = load()
        if value is not None:
            with self._lock:
                # Read under `generation`: kept only if no newer generation was seen meanwhile.
                if self._generation == generation and len(self._entries) < self.max_entries:
                    self._entries[key] = value
        return value

    def clear(self) -> None:
        with self._lock:
            self._generation, self._entries = None, {}

