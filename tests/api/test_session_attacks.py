"""The sandbox attack battery, run through a session's Exec: a command is contained like a tool.

Each test runs one attack as a command of a real session of the real daemon and asserts that it
fails with the status a tool call gets (see tests/sandbox for the same attacks on the launcher).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from runtime.client import Client, ExecOutcome
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.sandbox.profiles import LimitOverrides
from tests.api.session_fixture import SessionDaemon, session_daemon

__all__ = ["session_daemon"]

PY = "/usr/bin/python3"


@pytest.fixture(scope="module")
def client(session_daemon: SessionDaemon) -> Iterator[Client]:
    with session_daemon.client() as opened:
        yield opened


@pytest.fixture(scope="module")
def session_id(client: Client) -> str:
    return str(client.create_session().id)


def _python(client: Client, session_id: str, code: str, **limits: int) -> ExecOutcome:
    overrides = LimitOverrides(**limits)  # type: ignore[arg-type]
    return client.exec(session_id, [PY, "-c", code], limits=overrides)


def _says(outcome: ExecOutcome) -> str:
    return outcome.stdout.decode().strip()


@pytest.mark.parametrize(
    "path",
    ["/root", "/home", "/var/lib", "/run/skillrt-sessions", "/etc/shadow", "/sys", "/boot"],
)
def test_host_paths_are_absent(client: Client, session_id: str, path: str) -> None:
    """Host directories and files outside the profile's binds do not exist in a command."""
    outcome = _python(client, session_id, f"import os; print(os.path.lexists({path!r}))")
    assert _says(outcome) == "False"


@pytest.mark.parametrize("directory", ["/usr/bin", "/usr/lib", "/etc", "/"])
def test_system_is_read_only(client: Client, session_id: str, directory: str) -> None:
    """Nothing but /workspace and /tmp can be written."""
    code = (
        "import errno\n"
        f"try: open({directory!r}.rstrip('/') + '/owned', 'w')\n"
        "except OSError as exc: print(errno.errorcode[exc.errno])\n"
        "else: print('wrote')"
    )
    assert _says(_python(client, session_id, code)) in {"EROFS", "EACCES"}


def test_cannot_become_root(client: Client, session_id: str) -> None:
    """setuid(0) is refused: the command is nobody, without capabilities."""
    code = (
        "import os\n"
        "try: os.setuid(0)\n"
        "except OSError: print('refused')\n"
        "print(open('/proc/self/status').read().split('CapEff:')[1].split()[0])"
    )
    assert _says(_python(client, session_id, code)).split() == ["refused", "0000000000000000"]


def test_host_processes_are_invisible(client: Client, session_id: str) -> None:
    """/proc shows the command's own processes only, and PID 1 is the command."""
    code = "import os; print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))"
    assert _says(_python(client, session_id, code)) == "[1]"


def test_host_loopback_is_unreachable(client: Client, session_id: str) -> None:
    """A server on the host's loopback cannot be reached: the command has its own network."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    code = (
        "import socket\n"
        f"try: socket.create_connection(('127.0.0.1', {port}), 2); print('reached')\n"
        "except OSError: print('refused')"
    )
    try:
        assert _says(_python(client, session_id, code)) == "refused"
    finally:
        server.close()


def test_only_loopback_interface(client: Client, session_id: str) -> None:
    """The command's network namespace holds the loopback interface and nothing else."""
    # Netlink (if_nameindex) is itself refused by the seccomp policy; /proc/self/net/dev lists them.
    code = "print([l.split(':')[0].strip() for l in open('/proc/self/net/dev').readlines()[2:]])"
    assert _says(_python(client, session_id, code)) == "['lo']"


@pytest.mark.parametrize(
    "call",
    [
        "ctypes.CDLL(None).unshare(0)",
        "ctypes.CDLL(None).mount(b'none', b'/tmp', b'tmpfs', 0, None)",
        "ctypes.CDLL(None).ptrace(0, 0, 0, 0)",
        "ctypes.CDLL(None).syscall(321, 0, 0, 0)",  # bpf
    ],
)
def test_forbidden_syscalls_are_seccomp_violations(
    client: Client, session_id: str, call: str
) -> None:
    """The profile's seccomp policy kills a command that makes a forbidden system call."""
    outcome = _python(client, session_id, f"import ctypes; {call}")
    assert outcome.result.status == pb.STATUS_SECCOMP_VIOLATION


def test_memory_bomb_is_memory_limit(client: Client, session_id: str) -> None:
    """Memory past the limit ends the command as memory_limit, not a bare kill."""
    outcome = _python(
        client, session_id, "b = bytearray(512 * 1024 * 1024)", memory_bytes=64 * 1024 * 1024
    )
    assert outcome.result.status == pb.STATUS_MEMORY_LIMIT


def test_fork_bomb_is_contained(client: Client, session_id: str) -> None:
    """A fork bomb hits the pids limit and the command still ends."""
    outcome = client.exec(
        session_id,
        ["/bin/sh", "-c", "b() { b | b & }; b; sleep 2"],
        limits=LimitOverrides(pids=32, wall_time_ms=10_000),
    )
    assert outcome.result.status in {pb.STATUS_OK, pb.STATUS_NONZERO_EXIT, pb.STATUS_TIMEOUT}
    assert outcome.result.usage.wall_ms < 15_000


def test_busy_loop_is_cpu_limit(client: Client, session_id: str) -> None:
    """A command past its CPU time is stopped as cpu_limit."""
    outcome = _python(client, session_id, "while True: pass", cpu_time_ms=1000)
    assert outcome.result.status == pb.STATUS_CPU_LIMIT


def test_output_flood_is_output_limit(client: Client, session_id: str) -> None:
    """Output past the limit is cut and reported as output_limit."""
    outcome = _python(
        client,
        session_id,
        "import sys\nwhile True: sys.stdout.write('y' * 65536)",
        output_bytes=100_000,
    )
    assert outcome.result.status == pb.STATUS_OUTPUT_LIMIT


def test_other_sessions_are_out_of_reach(client: Client, session_id: str) -> None:
    """A command sees its own workspace only: another session's files are nowhere in reach."""
    other = client.create_session()
    client.exec(other.id, ["/bin/sh", "-c", "echo secret-of-other > /workspace/s"])
    code = (
        "import os\n"
        "found = []\n"
        "for top in ('/workspace', '/tmp', '/run', '/'):\n"
        "    for root, dirs, files in os.walk(top):\n"
        "        dirs[:] = [d for d in dirs if d not in ('proc', 'usr', 'dev')]\n"
        "        for f in files:\n"
        "            try:\n"
        "                if b'secret-of-other' in open(os.path.join(root, f), 'rb').read():\n"
        "                    found.append(os.path.join(root, f))\n"
        "            except OSError: pass\n"
        "print(found)"
    )
    assert _says(_python(client, session_id, code)) == "[]"
    client.destroy_session(other.id)
