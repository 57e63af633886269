"""A full disk under the state directory: nothing runs unaudited, and the log heals after."""

from __future__ import annotations

import sqlite3

import grpc
import pytest

from runtime.client import Client
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from tests.api.conftest import Daemon
from tests.faults.conftest import audit_lines, audit_verify, fill, poll

SH = "/bin/sh"
_ATTEMPTS = 200  # a full tmpfs still takes what fits in the last page of each file


def _unavailable(error: grpc.RpcError) -> str:
    assert error.code() is grpc.StatusCode.UNAVAILABLE, error.details()
    details: str = error.details()
    return details


def _full(details: str) -> bool:
    """The status names what cannot be written, and why: the audit log or the database."""
    return details in (
        "audit log cannot be written: No space left on device",
        "database skillrt.db cannot be written: database or disk is full",
    )


def _rows(daemon: Daemon) -> dict[str, tuple[str, str | None]]:
    """Every invocation the daemon recorded: its state and status."""
    db = sqlite3.connect(f"file:{daemon.state_dir / 'skillrt.db'}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT id, state, status FROM invocations").fetchall()
    finally:
        db.close()
    return {row[0]: (row[1], row[2]) for row in rows}


def test_a_full_disk_refuses_calls_and_the_log_heals_when_space_returns(
    small_disk_daemon: Daemon,
) -> None:
    """While the state dir's disk is full, Invoke, Exec and CreateSession answer UNAVAILABLE
    naming the cause and nothing runs unaudited; once space returns, the torn tail is cut with
    an audit.repaired entry, `audit verify` passes and calls run again."""
    daemon = small_disk_daemon
    daemon.start("--config", str(daemon.root / "skillrt.toml"))
    with Client(daemon.target, token=daemon.owner_token) as client:
        answered = [client.invoke("probe", "echo", {"n": 0}).id]
        session = client.create_session()
        filler = fill(daemon.state_dir)
        refused: grpc.RpcError | None = None
        for n in range(1, _ATTEMPTS):
            try:
                invocation = client.invoke("probe", "echo", {"n": n})
            except grpc.RpcError as exc:
                refused = exc
                break
            assert invocation.result.status == pb.STATUS_OK  # ran, and audited (checked below)
            answered.append(invocation.id)
        assert refused is not None, "every call ran on a full disk"
        assert _full(_unavailable(refused))

        with pytest.raises(grpc.RpcError) as exec_refused:
            client.exec(session.id, [SH, "-c", "echo ran > marker"])
        assert _full(_unavailable(exec_refused.value))
        with pytest.raises(grpc.RpcError) as session_refused:
            client.create_session()
        assert _full(_unavailable(session_refused.value))
        causes = {e.details() for e in (refused, exec_refused.value, session_refused.value)}
        assert "audit log cannot be written: No space left on device" in causes
        intact, torn = audit_lines(daemon)

        filler.unlink()
        again = client.invoke("probe", "echo", {"n": "again"})
        assert again.result.status == pb.STATUS_OK
        answered.append(again.id)
        with pytest.raises(grpc.RpcError) as absent:
            client.read_file(session.id, "marker")
        assert absent.value.code() is grpc.StatusCode.NOT_FOUND  # the refused command never ran

    def finished_audited() -> bool:
        entries, tail = audit_lines(daemon)
        ended = {e["invocation_id"] for e in entries if e["event"] == "invocation.finished"}
        return not tail and set(answered) <= ended

    poll("the last invocation's finished entry", finished_audited)
    entries, _ = audit_lines(daemon)
    repairs = [e for e in entries if e["event"] == "audit.repaired"]
    assert repairs, "no audit.repaired entry"
    assert all(r["cut_bytes"] > 0 for r in repairs)
    if torn:  # the tail seen while the disk was full was cut, and the cut says where it resumed
        last_seq = intact[-1]["seq"]
        later = [r for r in repairs if r["seq"] > last_seq]
        assert later and later[0]["resumed_after_seq"] == last_seq
        assert later[0]["cut_bytes"] >= len(torn)
    checked = audit_verify(daemon)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # No invocation ran unaudited: each one recorded was requested and started in the log,
    # and ended; the refused calls left no invocation behind.
    rows = _rows(daemon)
    assert set(rows) == set(answered)
    for event in ("invocation.requested", "invocation.started", "invocation.finished"):
        logged = {e["invocation_id"] for e in entries if e["event"] == event}
        assert set(rows) <= logged, event
    assert {state for state, _ in rows.values()} == {"finished"}
