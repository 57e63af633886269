"""The SQLite access layer: migrations by user_version, transactions, work off the event loop."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from runtime.errors import ConfigError
from runtime.state.db import Database, Migration
from runtime.state.schema import MAIN, open_main

FIRST = Migration(version=1, description="t", sql="CREATE TABLE t (a INTEGER);")
SECOND = Migration(version=2, description="t.b", sql="ALTER TABLE t ADD COLUMN b TEXT;")


def _version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def test_new_database_gets_every_migration(tmp_path: Path) -> None:
    """A new file is created at the last schema version."""
    with Database(tmp_path / "x.db", (FIRST, SECOND)) as db:
        db.execute("INSERT INTO t (a, b) VALUES (1, 'one')")
    assert _version(tmp_path / "x.db") == 2


def test_older_database_is_brought_up_to_date(tmp_path: Path) -> None:
    """Opening a file written at version 1 applies only the later migrations, keeping its rows."""
    with Database(tmp_path / "x.db", (FIRST,)) as db:
        db.execute("INSERT INTO t (a) VALUES (7)")
    with Database(tmp_path / "x.db", (FIRST, SECOND)) as db:
        assert db.execute("SELECT a, b FROM t").rows == [(7, None)]
    assert _version(tmp_path / "x.db") == 2


def test_newer_database_is_refused(tmp_path: Path) -> None:
    """A file from a later skillrt is refused with its path named, not misread."""
    Database(tmp_path / "x.db", (FIRST, SECOND)).close()
    with pytest.raises(ConfigError, match=r"x\.db: schema version 2 is newer"):
        Database(tmp_path / "x.db", (FIRST,))


def test_failed_migration_changes_nothing(tmp_path: Path) -> None:
    """A migration that fails half-way is rolled back whole and the version stays."""
    broken = Migration(version=2, description="bad", sql="CREATE TABLE u (a); SELECT nope FROM t;")
    Database(tmp_path / "x.db", (FIRST,)).close()
    with pytest.raises(sqlite3.OperationalError):
        Database(tmp_path / "x.db", (FIRST, broken))
    assert _version(tmp_path / "x.db") == 1
    with sqlite3.connect(tmp_path / "x.db") as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"t"}


def test_migrations_out_of_order_are_refused(tmp_path: Path) -> None:
    """A migration list with a gap is a programming error caught at open."""
    with pytest.raises(ConfigError, match="out of order"):
        Database(tmp_path / "x.db", (SECOND,))


def test_legacy_unversioned_database_is_adopted(tmp_path: Path) -> None:
    """A database written before schemas were versioned keeps its rows and gets version 1."""
    path = tmp_path / "skillrt.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE tokens (id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT"
            " NOT NULL, hash BLOB NOT NULL, created_ms INTEGER NOT NULL, expires_ms"
            " INTEGER, revoked_ms INTEGER, replaced_by TEXT)"
        )
        conn.execute("INSERT INTO tokens VALUES ('t1', 'n', 'agent', x'00', 1, NULL, NULL, NULL)")
    with open_main(path) as db:
        assert db.execute("SELECT id FROM tokens").rows == [("t1",)]
    assert _version(path) == len(MAIN)


def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    """Statements in a transaction that raises are all undone."""
    with Database(tmp_path / "x.db", (FIRST,)) as db:
        with pytest.raises(RuntimeError), db.transaction():
            db.execute("INSERT INTO t (a) VALUES (1)")
            raise RuntimeError("boom")
        assert db.execute("SELECT COUNT(*) FROM t").rows == [(0,)]


def test_call_runs_off_the_event_loop_thread(tmp_path: Path) -> None:
    """call() runs the work on the database's own thread, not the event loop's."""
    with Database(tmp_path / "x.db", (FIRST,)) as db:

        async def main() -> tuple[str, str]:
            here = threading.current_thread().name
            there = await db.call(lambda: threading.current_thread().name)
            return here, there

        here, there = asyncio.run(main())
    assert here != there and there.startswith("skillrt-sqlite")


def test_database_file_is_private(tmp_path: Path) -> None:
    """The database file is readable by its owner only."""
    Database(tmp_path / "x.db", (FIRST,)).close()
    assert (tmp_path / "x.db").stat().st_mode & 0o777 == 0o600
