"""A full disk under the state directory: nothing runs unaudited, and the log heals after."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import grpc

from runtime.client import Client
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from tests.api.conftest import Daemon
from tests.faults.conftest import audit_lines, fill, poll

SH = "/bin/sh"
_ATTEMPTS = 50
_HELD = 4  # commands held for approval before the disk fills


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


def _until_refused(daemon: Daemon, call: Callable[[int], object], attempts: int) -> int:
    """Take what the daemon's state freed, then make ``call`` until it is refused; returns which
    attempt was. A full tmpfs still takes what fits in the last page of a file, so a call may
    pass: it ran audited (checked at the end)."""
    for n in range(attempts):
        fill(daemon.state_dir)
        try:
            call(n)
        except grpc.RpcError as exc:
            assert exc.code() is grpc.StatusCode.UNAVAILABLE, exc.details()
            assert _full(exc.details()), exc.details()
            return n
    raise AssertionError("every call went ahead on a full disk")


def _has(client: Client, session_id: str, path: str, content: bytes) -> bool:
    try:
        return client.read_file(session_id, path) == content
    except grpc.RpcError as exc:
        assert exc.code() is grpc.StatusCode.NOT_FOUND, exc.details()
        return False


def test_a_full_disk_refuses_calls_and_the_log_heals_when_space_returns(
    small_disk_daemon: Daemon,
) -> None:
    """While the state dir's disk is full, Invoke, Exec, CreateSession and approval decisions
    answer UNAVAILABLE naming the cause and nothing runs unaudited; once space returns, the torn
    tail is cut with an audit.repaired entry, `audit verify` passes and calls run again."""
    daemon = small_disk_daemon
    daemon.start("--config", str(daemon.root / "skillrt.toml"))
    with Client(daemon.target, token=daemon.owner_token) as owner:
        approver_token = owner.create_token("approver-1", "approver").token
    with (
        Client(daemon.target, token=daemon.owner_token) as client,
        Client(daemon.target, token=approver_token) as approver,
    ):
        answered = [client.invoke("probe", "echo", {"n": 0}).id]
        session = client.create_session()
        held = [  # each needs a person before it writes its file
            client.exec(session.id, [SH, "-c", f"echo git push > pushed{n}"]) for n in range(_HELD)
        ]
        assert all(h.approval_id for h in held)
        answered += [h.exec_id for h in held]

        def invoke(n: int) -> None:
            invocation = client.invoke("probe", "echo", {"n": n})
            assert invocation.result.status == pb.STATUS_OK
            answered.append(invocation.id)

        def run(n: int) -> None:
            answered.append(client.exec(session.id, [SH, "-c", f"echo ran > ran{n}"]).exec_id)

        def decide(n: int) -> None:
            approver.decide(held[n].approval_id, approve=True, reason="ok")

        _until_refused(daemon, invoke, _ATTEMPTS)
        not_run = _until_refused(daemon, run, _ATTEMPTS)
        _until_refused(daemon, lambda _: client.create_session(), _ATTEMPTS)
        not_approved = _until_refused(daemon, decide, _HELD)
        intact, torn = audit_lines(daemon)

        (daemon.state_dir / "filler").unlink()
        again = client.invoke("probe", "echo", {"n": "again"})
        assert again.result.status == pb.STATUS_OK
        answered.append(again.id)
        # The refused command never ran; the held one whose approval was refused did not either.
        assert not _has(client, session.id, f"ran{not_run}", b"ran\n")
        assert not _has(client, session.id, f"pushed{not_approved}", b"git push\n")
        for n in range(not_approved, _HELD):
            decide(n)
        for n in range(_HELD):
            poll(
                f"approved command {n}",
                lambda n=n: _has(client, session.id, f"pushed{n}", b"git push\n"),
            )

    def finished_audited() -> bool:
        entries, tail = audit_lines(daemon)
        ended = {e["invocation_id"] for e in entries if e["event"] == "invocation.finished"}
        return not tail and set(answered) <= ended

    poll("every invocation's finished entry", finished_audited)
    entries, _ = audit_lines(daemon)
    repairs = [e for e in entries if e["event"] == "audit.repaired"]
    assert repairs, "no audit.repaired entry"
    assert all(r["cut_bytes"] > 0 for r in repairs)
    if torn:  # the tail seen while the disk was full was cut, and the cut says where it resumed
        last_seq = intact[-1]["seq"]
        later = [r for r in repairs if r["seq"] > last_seq]
        assert later and later[0]["resumed_after_seq"] == last_seq
        assert later[0]["cut_bytes"] >= len(torn)
    checked = daemon.audit_verify()
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # No invocation ran unaudited: each one recorded was requested and started in the log,
    # and ended; the refused calls left no invocation behind.
    rows = _rows(daemon)
    assert set(rows) == set(answered)
    for event in ("invocation.requested", "invocation.started", "invocation.finished"):
        logged = {e["invocation_id"] for e in entries if e["event"] == event}
        assert set(rows) <= logged, event
    assert {state for state, _ in rows.values()} == {"finished"}
