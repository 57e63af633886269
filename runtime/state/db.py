"""The one SQLite access layer of skillrt.

Each database file is opened once, as a ``Database``: one connection, shared by the stores that
keep their tables in that file, guarded by one lock so that a statement and the reading of its
rows are never interleaved with another's. Its schema is a list of numbered migrations, applied
in order inside a transaction and recorded in ``PRAGMA user_version``, so an older file is brought
up to date when it is opened and a newer one (from a later skillrt) is refused rather than
misread. The daemon reaches SQLite through ``call``, which runs the work on the database's own
worker thread: the event loop never waits on a disk. A disk that is full or fails writes is
``StateUnwritable`` naming the file, and a transaction it interrupts is rolled back whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from runtime.errors import ConfigError, StateUnwritable

__all__ = ["Database", "Migration", "Rows"]

_P = ParamSpec("_P")
_T = TypeVar("_T")
Params = Sequence[Any]
# A full disk, or one that fails writes: the state cannot be written, nothing is wrong with it.
_UNWRITABLE = frozenset({sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR})


@dataclass(frozen=True, kw_only=True)
class Migration:
    """One step of a database's schema; ``version`` counts up from 1 without gaps."""

    version: int
    description: str
    sql: str


@dataclass(frozen=True)
class Rows:
    """What a statement returned, read in full while the connection was held."""

    rows: list[tuple[Any, ...]]
    rowcount: int
    columns: tuple[str, ...]

    def one(self) -> tuple[Any, ...] | None:
        return self.rows[0] if self.rows else None

    def dicts(self) -> Iterator[dict[str, Any]]:
        return (dict(zip(self.columns, row, strict=True)) for row in self.rows)


class Database:
    def __init__(
        self, path: Path, migrations: Sequence[Migration], *, durable: bool = False
    ) -> None:
        """Open (creating if needed) ``path`` and bring its schema to the last migration.

        ``durable`` makes every commit wait for the disk (a rollback journal, synchronous=FULL);
        otherwise a commit survives a crash of the process but not necessarily a power cut (WAL,
        synchronous=NORMAL), and readers never block the writer.
        """
        _check_migrations(path, migrations)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._worker: ThreadPoolExecutor | None = None
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            with self._writable():
                self._conn.execute("PRAGMA busy_timeout=5000")
                # What a statement deletes or overwrites is zeroed, not left in free pages.
                self._conn.execute("PRAGMA secure_delete=ON")
                if durable:
                    self._conn.execute("PRAGMA synchronous=FULL")
                else:
                    self._conn.execute("PRAGMA journal_mode=WAL")
                    self._conn.execute("PRAGMA synchronous=NORMAL")
                self._migrate(migrations)
        except BaseException:
            self._conn.close()
            raise
        path.chmod(0o600)

    def execute(self, sql: str, params: Params = ()) -> Rows:
        with self._lock, self._writable():
            cursor = self._conn.execute(sql, params)
            rows = cursor.fetchall()
            columns = tuple(d[0] for d in cursor.description or ())
            return Rows(rows, cursor.rowcount, columns)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Database]:
        """Statements run as one: all of them are committed, or none (on any exception)."""
        with self._lock, self._writable():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self
                self._conn.execute("COMMIT")
            except BaseException:
                # After some errors (a full disk) SQLite has rolled back already.
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def scrub(self) -> None:
        """Copy the WAL into the file and empty it: the old versions of pages it holds (content
        just deleted, say) are then gone from disk too. A no-op without a WAL."""
        with self._lock, self._writable():
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    @contextlib.contextmanager
    def _writable(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF in _UNWRITABLE:
                raise StateUnwritable(
                    f"database {self.path.name} cannot be written: {exc}"
                ) from exc
            raise

    async def call(self, fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """Run ``fn`` (a store method) on the database's worker thread and wait for it."""
        if self._worker is None:
            # One thread: SQLite has one writer anyway, and work keeps its order.
            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="skillrt-sqlite")
        loop = asyncio.get_running_loop()
        # The caller's context (request id, principal) goes along, for the logs it writes.
        context = contextvars.copy_context()
        work = functools.partial(context.run, fn, *args, **kwargs)
        return await loop.run_in_executor(self._worker, work)

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._worker is not None:
            self._worker.shutdown(wait=True)
        with self._lock:
            self._conn.close()

    def _migrate(self, migrations: Sequence[Migration]) -> None:
        with self._lock:
            current = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
            if current > len(migrations):
                raise ConfigError(
                    f"{self.path}: schema version {current} is newer than this skillrt knows "
                    f"({len(migrations)}); use the skillrt that wrote it"
                )
            for migration in migrations[current:]:
                with self.transaction():
                    for statement in _statements(migration.sql):
                        self._conn.execute(statement)
                    # PRAGMA takes no parameters; the version is an int from our own list.
                    self._conn.execute(f"PRAGMA user_version = {int(migration.version)}")


def _check_migrations(path: Path, migrations: Sequence[Migration]) -> None:
    for number, migration in enumerate(migrations, start=1):
        if migration.version != number:
            raise ConfigError(f"{path}: migration {migration.version} is out of order")


def _statements(script: str) -> Iterator[str]:
    """The statements of a script, so that they run inside the migration's transaction
    (``executescript`` would commit first)."""
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):  # a ';' inside a string literal is not an end
            if pending.strip(" \n;"):
                yield pending.strip()
            pending = ""
