"""A full disk under the daemon's database: a clear status, and no invocation left unended."""

from __future__ import annotations

import os
import sqlite3

import grpc

from runtime.client import Client
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from tests.api.conftest import Daemon
from tests.faults.conftest import audit_lines, fill, poll

_ATTEMPTS = 50
_ROOM = 64 * 1024  # enough for a new row, not for its result
_BIG = "x" * 200_000  # echoed back: the result row outgrows what the disk has left


def _states(daemon: Daemon) -> dict[str, str]:
    db = sqlite3.connect(f"file:{daemon.state_dir / 'skillrt.db'}?mode=ro", uri=True)
    try:
        return dict(db.execute("SELECT id, state FROM invocations").fetchall())
    finally:
        db.close()


def test_a_full_database_is_unavailable_and_leaves_no_invocation_unended(
    small_disk_daemon: Daemon,
) -> None:
    """With only the database's disk full (the audit log elsewhere), Invoke answers UNAVAILABLE
    naming the database, never INTERNAL; an invocation whose row was written but whose end
    could not be is ended, and audited, once space returns."""
    daemon = small_disk_daemon
    elsewhere = daemon.root / "audit.log"
    elsewhere.touch(mode=0o600)
    (daemon.state_dir / "audit.log").symlink_to(elsewhere)
    daemon.start("--config", str(daemon.root / "skillrt.toml"))
    with Client(daemon.target, token=daemon.owner_token) as client:
        assert client.invoke("probe", "echo", {"n": 0}).result.status == pb.STATUS_OK
        filler = fill(daemon.state_dir)
        os.truncate(filler, filler.stat().st_size - _ROOM)
        refusals: list[grpc.RpcError] = []
        for n in range(1, _ATTEMPTS):
            try:
                client.invoke("probe", "echo", {"n": n, "pad": _BIG})
            except grpc.RpcError as exc:
                refusals.append(exc)
                if len(refusals) == 3:
                    break
        assert refusals, "every call was recorded on a full disk"
        for refused in refusals:
            assert refused.code() is grpc.StatusCode.UNAVAILABLE, refused.details()
            assert refused.details() == (
                "database skillrt.db cannot be written: database or disk is full"
            )
        left = {i for i, state in _states(daemon).items() if state != "finished"}
        assert left, "no invocation was recorded before the disk refused its end"
        filler.unlink()

        def all_ended() -> bool:
            return set(_states(daemon).values()) == {"finished"}

        poll("every invocation to end", all_ended)
        assert client.invoke("probe", "echo", {"n": "again"}).result.status == pb.STATUS_OK
    entries, _ = audit_lines(daemon)
    audited = {e["invocation_id"] for e in entries if e["event"] == "invocation.finished"}
    assert left <= audited  # their ends are audited too, once recorded
