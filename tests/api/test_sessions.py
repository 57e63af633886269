"""Agent sessions over the real daemon: a workspace that persists, each command a new sandbox."""

from __future__ import annotations

import threading
import time

import grpc
import pytest

from runtime.audit.entry import Entry
from runtime.audit.query import entries
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.sandbox.profiles import LimitOverrides
from tests.api.session_fixture import SessionDaemon, mounts_under, session_daemon

__all__ = ["session_daemon"]

SH = "/bin/sh"


def _code(call: object) -> grpc.StatusCode:
    assert isinstance(call, grpc.RpcError)
    code: grpc.StatusCode = call.code()  # type: ignore[attr-defined]
    return code


def test_workspace_and_tmp_persist_between_commands(session_daemon: SessionDaemon) -> None:
    """A file written in /workspace and /tmp by one command is there for the next one."""
    with session_daemon.client() as client:
        session = client.create_session()
        first = client.exec(session.id, [SH, "-c", "echo one > /workspace/a; echo two > /tmp/b"])
        second = client.exec(session.id, [SH, "-c", "cat /workspace/a /tmp/b"])
    assert (first.exit_status, second.exit_status) == (0, 0)
    assert second.stdout == b"one\ntwo\n"


def test_each_command_runs_in_a_fresh_sandbox_as_nobody(session_daemon: SessionDaemon) -> None:
    """Commands run as uid 65534, as PID 1 of their own namespace, every time a new one."""
    with session_daemon.client() as client:
        session = client.create_session()
        outcome = client.exec(session.id, [SH, "-c", "id -u; echo $$; pwd"])
    assert outcome.stdout.decode().split() == ["65534", "1", "/workspace"]


def test_exit_status_is_the_commands(session_daemon: SessionDaemon) -> None:
    """The exit code comes back as is; a child killed by a signal shows as 128 + its number."""
    with session_daemon.client() as client:
        session = client.create_session()
        exited = client.exec(session.id, [SH, "-c", "exit 3"])
        # The command itself is PID 1 of its namespace, which no signal of its own can kill.
        killed = client.exec(session.id, [SH, "-c", "sh -c 'kill -KILL $$'"])
    assert (exited.exit_status, exited.result.status) == (3, pb.STATUS_NONZERO_EXIT)
    assert killed.exit_status == 137


def test_stdin_is_streamed_to_the_command(session_daemon: SessionDaemon) -> None:
    """What the client sends as stdin reaches the command; closing it ends the input."""
    chunks = [b"line one\n", b"line two\n"]
    with session_daemon.client() as client:
        session = client.create_session()
        outcome = client.exec(session.id, ["/usr/bin/cat"], stdin=iter(chunks))
    assert outcome.stdout == b"".join(chunks)


def test_wall_time_limit_is_a_timeout(session_daemon: SessionDaemon) -> None:
    """A command past its wall time is killed and reported as a timeout."""
    with session_daemon.client() as client:
        session = client.create_session()
        outcome = client.exec(
            session.id, [SH, "-c", "sleep 30"], limits=LimitOverrides(wall_time_ms=1000)
        )
    assert outcome.result.status == pb.STATUS_TIMEOUT


def test_workspace_quota_is_enforced(session_daemon: SessionDaemon) -> None:
    """Writing past the session's workspace size fails inside the sandbox."""
    with session_daemon.client() as client:
        session = client.create_session(workspace_bytes=2 * 1024 * 1024)
        outcome = client.exec(session.id, [SH, "-c", "head -c 4194304 /dev/zero > /workspace/big"])
    assert outcome.exit_status != 0
    assert b"No space left" in outcome.stderr


def test_attacks_fail_inside_a_command(session_daemon: SessionDaemon) -> None:
    """The system is read-only, the network absent, host secrets unreachable, as in tool calls."""
    script = (
        "touch /usr/bin/owned 2>/dev/null && echo wrote-usr;"
        "cat /etc/shadow 2>/dev/null && echo read-shadow;"
        "python3 -c 'import socket; socket.create_connection((\"1.1.1.1\", 53), 2)' "
        "2>/dev/null && echo network;"
        "echo done"
    )
    with session_daemon.client() as client:
        session = client.create_session()
        outcome = client.exec(session.id, [SH, "-c", script])
    assert outcome.stdout == b"done\n"


def test_seccomp_applies_to_commands(session_daemon: SessionDaemon) -> None:
    """A forbidden system call kills the command and is reported as a seccomp violation."""
    with session_daemon.client() as client:
        session = client.create_session()
        outcome = client.exec(
            session.id, ["/usr/bin/python3", "-c", "import ctypes; ctypes.CDLL(None).unshare(0)"]
        )
    assert outcome.result.status == pb.STATUS_SECCOMP_VIOLATION


def test_env_outside_the_allowlist_is_refused(session_daemon: SessionDaemon) -> None:
    """A variable the profile does not allow is INVALID_ARGUMENT, naming it."""
    with session_daemon.client() as client:
        session = client.create_session()
        with pytest.raises(grpc.RpcError) as raised:
            client.exec(session.id, [SH, "-c", "true"], env={"LD_PRELOAD": "/x.so"})
    assert _code(raised.value) == grpc.StatusCode.INVALID_ARGUMENT
    assert "LD_PRELOAD" in raised.value.details()  # type: ignore[attr-defined]


def test_unknown_session_is_not_found(session_daemon: SessionDaemon) -> None:
    """Exec in a session that does not exist is NOT_FOUND."""
    with session_daemon.client() as client, pytest.raises(grpc.RpcError) as raised:
        client.exec("ses_0000", [SH, "-c", "true"])
    assert _code(raised.value) == grpc.StatusCode.NOT_FOUND


def test_another_agents_session_is_invisible(session_daemon: SessionDaemon) -> None:
    """One agent cannot see, use or end another agent's session."""
    with session_daemon.client() as owner:
        session = owner.create_session()
    with session_daemon.client(session_daemon.other_agent) as other:
        for action in (
            lambda: other.get_session(session.id),
            lambda: other.exec(session.id, [SH, "-c", "true"]),
            lambda: other.destroy_session(session.id),
        ):
            with pytest.raises(grpc.RpcError) as raised:
                action()
            assert _code(raised.value) == grpc.StatusCode.NOT_FOUND
        assert session.id not in [s.id for s in other.list_sessions()]


def test_destroy_removes_the_workspace(session_daemon: SessionDaemon) -> None:
    """Destroying a session unmounts and removes its workspace; it is gone afterwards."""
    with session_daemon.client() as client:
        session = client.create_session()
        client.exec(session.id, [SH, "-c", "echo x > /workspace/f"])
        folder = session_daemon.sessions_root / session.id
        assert mounts_under(folder)
        client.destroy_session(session.id)
        with pytest.raises(grpc.RpcError) as raised:
            client.get_session(session.id)
    assert _code(raised.value) == grpc.StatusCode.NOT_FOUND
    assert not mounts_under(folder) and not folder.exists()


def test_idle_session_expires(session_daemon: SessionDaemon) -> None:
    """A session idle longer than its idle timeout ends by itself, audited as expired."""
    with session_daemon.client() as client:
        session = client.create_session(idle_timeout_ms=500)
        deadline = time.monotonic() + 10
        while session.id in [s.id for s in client.list_sessions()]:
            assert time.monotonic() < deadline, "the idle session did not expire"
            time.sleep(0.1)
    # The end is audited by the daemon's background writer, a moment after the listing drops it.
    while not (ended := _ended_entries(session_daemon, session.id)):
        assert time.monotonic() < deadline + 10, "the expiry was never audited"
        time.sleep(0.1)
    assert ended[0].fields["state"] == "expired"
    assert not mounts_under(session_daemon.sessions_root / session.id)


def _ended_entries(session_daemon: SessionDaemon, session_id: str) -> list[Entry]:
    return [
        e
        for e in entries(session_daemon.daemon.state_dir / "audit.log")
        if e.event == "session.ended" and e.fields.get("session_id") == session_id
    ]


def test_cancelled_exec_kills_the_command(session_daemon: SessionDaemon) -> None:
    """A client that gives up on Exec (its deadline) kills the command's sandbox."""
    with session_daemon.client() as client:
        session = client.create_session()
        with pytest.raises(grpc.RpcError) as raised:
            list(client.exec_stream(session.id, [SH, "-c", "sleep 60"], timeout=1.5))
        assert _code(raised.value) == grpc.StatusCode.DEADLINE_EXCEEDED
        deadline = time.monotonic() + 10
        while client.get_session(session.id).running:
            assert time.monotonic() < deadline, "the command still runs"
            time.sleep(0.1)


def test_denied_command_does_not_run(session_daemon: SessionDaemon) -> None:
    """A command the operator's policy denies is refused, and nothing ran."""
    with session_daemon.client() as client:
        session = client.create_session()
        client.exec(session.id, [SH, "-c", "echo keep > /workspace/k"])
        outcome = client.exec(session.id, [SH, "-c", "rm -rf /workspace/k"])
        kept = client.exec(session.id, [SH, "-c", "cat /workspace/k"])
    assert outcome.result.status == pb.STATUS_DENIED
    assert kept.stdout == b"keep\n"


def test_elevated_command_waits_for_approval(session_daemon: SessionDaemon) -> None:
    """A command matching an approval pattern runs only after a person approves it."""
    with session_daemon.client() as client:
        session = client.create_session()
        pending = client.exec(session.id, [SH, "-c", "echo git push origin"])
    assert pending.result.status == pb.STATUS_PENDING_APPROVAL and pending.approval_id
    results: list[object] = []

    def wait() -> None:
        with session_daemon.client() as waiting:
            results.append(
                waiting.exec(
                    session.id,
                    [SH, "-c", "echo git push origin"],
                    wait_for_approval=True,
                    timeout=60,
                )
            )

    thread = threading.Thread(target=wait)
    thread.start()
    with session_daemon.client(session_daemon.approver) as approver:
        deadline = time.monotonic() + 10
        while True:
            waiting = [
                a
                for a in approver.list_approvals(pb.APPROVAL_STATE_PENDING)
                if a.skill == session.id and a.id != pending.approval_id
            ]
            if waiting:
                break
            assert time.monotonic() < deadline, "no second approval request appeared"
            time.sleep(0.1)
        approver.decide(waiting[0].id, approve=True, reason="ok")
    thread.join(timeout=60)
    (outcome,) = results
    assert outcome.exit_status == 0 and outcome.stdout == b"git push origin\n"  # type: ignore[attr-defined]


def test_exec_is_audited_with_its_session(session_daemon: SessionDaemon) -> None:
    """Each command's request and end are in the audit log under its session's id."""
    with session_daemon.client() as client:
        session = client.create_session()
        outcome = client.exec(session.id, [SH, "-c", "true"])
    time.sleep(0.2)  # the audit writer runs off the event loop
    logged = [
        e.event
        for e in entries(session_daemon.daemon.state_dir / "audit.log")
        if e.fields.get("skill") == session.id or e.fields.get("invocation_id") == outcome.exec_id
    ]
    assert "invocation.requested" in logged and "invocation.finished" in logged


def test_files_written_over_the_api_are_seen_by_commands(session_daemon: SessionDaemon) -> None:
    """A file written through the Workspace service is read by a command, and the reverse."""
    with session_daemon.client() as client:
        session = client.create_session()
        client.write_file(session.id, "notes/in.txt", b"from the api\n")
        outcome = client.exec(session.id, [SH, "-c", "cat notes/in.txt > out.txt; id -u"])
        assert outcome.stdout == b"65534\n"
        assert client.read_file(session.id, "/workspace/out.txt") == b"from the api\n"


def test_symlink_made_by_a_command_cannot_leave_the_workspace(
    session_daemon: SessionDaemon,
) -> None:
    """A link a command plants to a host file is refused by the file service, not followed."""
    with session_daemon.client() as client:
        session = client.create_session()
        client.exec(session.id, [SH, "-c", "ln -s /etc/shadow leak; ln -s ../../.. up"])
        for path in ("leak", "up/etc/shadow", "../x", "/etc/passwd"):
            with pytest.raises(grpc.RpcError) as raised:
                client.read_file(session.id, path)
            assert _code(raised.value) == grpc.StatusCode.PERMISSION_DENIED, path


def test_file_quota_is_resource_exhausted(session_daemon: SessionDaemon) -> None:
    """Writing past the workspace's size through the file service is RESOURCE_EXHAUSTED."""
    with session_daemon.client() as client:
        session = client.create_session(workspace_bytes=2 * 1024 * 1024)
        client.write_file(session.id, "a", b"x" * 1_500_000)
        with pytest.raises(grpc.RpcError) as raised:
            client.write_file(session.id, "b", b"x" * 1_500_000)
    assert _code(raised.value) == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_bare_command_name_is_found_on_the_profiles_path(session_daemon: SessionDaemon) -> None:
    """A bare argv[0] is looked up on the profile's path; one not there is NOT_FOUND by name."""
    with session_daemon.client() as client:
        session = client.create_session()
        found = client.exec(session.id, ["echo", "found"])
        with pytest.raises(grpc.RpcError) as raised:
            client.exec(session.id, ["no-such-program-here"])
    assert found.stdout == b"found\n"
    assert _code(raised.value) == grpc.StatusCode.NOT_FOUND
    assert "no-such-program-here" in raised.value.details()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"profile": "no-such-profile"}, grpc.StatusCode.NOT_FOUND),
        ({"profile": "default"}, grpc.StatusCode.INVALID_ARGUMENT),  # not a session profile
        ({"workspace_bytes": 1 << 40}, grpc.StatusCode.INVALID_ARGUMENT),
        ({"idle_timeout_ms": 10**12}, grpc.StatusCode.INVALID_ARGUMENT),
        ({"workspace_bytes": 4096}, grpc.StatusCode.INVALID_ARGUMENT),
        ({"skills": ["no-such-skill"]}, grpc.StatusCode.NOT_FOUND),
    ],
)
def test_bad_session_requests_are_refused_by_field(
    session_daemon: SessionDaemon, options: dict[str, object], code: grpc.StatusCode
) -> None:
    """A session request the profile does not allow is refused with the right status."""
    with session_daemon.client() as client:
        before = len(client.list_sessions())
        with pytest.raises(grpc.RpcError) as raised:
            client.create_session(**options)  # type: ignore[arg-type]
        assert len(client.list_sessions()) == before
    assert _code(raised.value) == code


@pytest.mark.parametrize(
    "argv",
    [["/bin/echo", "x" * 200_000], ["/bin/echo", *(["y" * 1000] * 2000)]],
    ids=["one-huge-argument", "too-many-bytes"],
)
def test_oversized_command_is_invalid_argument(
    session_daemon: SessionDaemon, argv: list[str]
) -> None:
    """A command line the kernel could not take is refused up front, naming argv."""
    with session_daemon.client() as client:
        session = client.create_session()
        with pytest.raises(grpc.RpcError) as raised:
            client.exec(session.id, argv)
    assert _code(raised.value) == grpc.StatusCode.INVALID_ARGUMENT
    assert "argv" in raised.value.details()  # type: ignore[attr-defined]


def test_approved_command_gets_no_stdin_from_its_caller(session_daemon: SessionDaemon) -> None:
    """What a waiting caller sends as stdin never reaches the approved command: the approver
    approved a command line, and stdin was not part of it."""
    results: list[object] = []
    with session_daemon.client() as client:
        session = client.create_session()

    def wait() -> None:
        with session_daemon.client() as waiting:
            results.append(
                waiting.exec(
                    session.id,
                    [SH, "-s", "--", "git push"],
                    stdin=b"echo chosen-after-approval\n",
                    wait_for_approval=True,
                    timeout=60,
                )
            )

    thread = threading.Thread(target=wait)
    thread.start()
    with session_daemon.client(session_daemon.approver) as approver:
        deadline = time.monotonic() + 10
        while not (
            pending := [
                a
                for a in approver.list_approvals(pb.APPROVAL_STATE_PENDING)
                if a.skill == session.id
            ]
        ):
            assert time.monotonic() < deadline, "no approval request appeared"
            time.sleep(0.1)
        approver.decide(pending[0].id, approve=True, reason="ok")
    thread.join(timeout=60)
    (outcome,) = results
    assert outcome.exit_status == 0  # type: ignore[attr-defined]
    assert b"chosen-after-approval" not in outcome.stdout  # type: ignore[attr-defined]
