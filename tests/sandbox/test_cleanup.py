"""However a run ends, no process of it survives and its cgroup is removed before it returns."""

from __future__ import annotations

import asyncio
import secrets
import textwrap

import pytest

from runtime.sandbox.launcher import Launcher
from runtime.sandbox.result import Status
from tests.timing import scaled

from .probes import (
    Jail,
    explain,
    leftover_cgroup_dirs,
    sandbox_processes_with,
    script,
    unique_token,
)

# Double fork and setsid: the grandchild is reparented and in a session of its own, the way a
# daemon escapes its parent. Its command line carries the marker the test looks for, after
# "python3" (its parents' start with /usr/bin/python3). It is looked for until it has exec'd,
# and the answer is the last look's: a second look could land in the middle of its exec, and a
# parent may vanish between listing /proc and reading its command line.
_DAEMONIZE = textwrap.dedent("""\
    import os, sys, time
    marker, wait = sys.argv[1].encode(), float(sys.argv[2])
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv("/usr/bin/python3", ["python3", "-c", "import time; time.sleep(60)", marker])
        os._exit(0)
    os.wait()
    def daemon_running():
        for pid in (p for p in os.listdir("/proc") if p.isdigit() and p != "1"):
            try:
                argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\\0")
            except OSError:
                continue
            if argv[0] == b"python3" and marker in argv:
                return True
        return False
    deadline = time.monotonic() + wait
    running = daemon_running()
    while not running and time.monotonic() < deadline:
        time.sleep(0.01)
        running = daemon_running()
    print("daemon running" if running else "no daemon", flush=True)
""")


# How long the sandbox waits for its daemon to start (seconds, as its argument).
_WAIT = str(scaled(5))


@pytest.fixture
def name() -> str:
    return f"test-{secrets.token_hex(6)}"


def _assert_nothing_left(launcher: Launcher, name: str, marker: str) -> None:
    assert sandbox_processes_with(marker) == [], "a sandbox process outlived its run"
    assert leftover_cgroup_dirs(launcher, name) == [], "the run's cgroup was not removed"


def test_daemon_is_gone_after_normal_exit(jail: Jail, name: str) -> None:
    """A double-forked, setsid daemon does not outlive a run that exits normally."""
    marker = unique_token()
    argv = ["/usr/bin/python3", "-c", script(_DAEMONIZE), marker, _WAIT]
    result = jail.run(argv, name=name)
    assert result.status is Status.OK, explain(result)
    assert result.stdout == b"daemon running\n"
    _assert_nothing_left(jail.launcher, name, marker)


def test_daemon_is_gone_after_timeout(jail: Jail, name: str) -> None:
    """A daemon and its parent are gone, and the cgroup removed, after a timeout kill."""
    marker = unique_token()
    code = script(_DAEMONIZE + "time.sleep(60)\n")
    # Time enough to start two interpreters on a loaded machine before the kill.
    argv = ["/usr/bin/python3", "-c", code, marker, _WAIT]
    result = jail.run(argv, name=name, wall_time_ms=int(scaled(4000)))
    assert result.status is Status.TIMEOUT, explain(result)
    assert result.stdout == b"daemon running\n"
    _assert_nothing_left(jail.launcher, name, marker)


def test_daemon_is_gone_after_cancellation(jail: Jail, name: str) -> None:
    """Cancelling the task that runs a sandbox kills everything in it and removes its cgroup."""
    marker = unique_token()
    code = script(_DAEMONIZE + "time.sleep(60)\n")
    spec = jail.spec(["/usr/bin/python3", "-c", code, marker, _WAIT])

    async def go() -> bytes:
        lines: list[bytes] = []
        running = asyncio.Event()

        async def on_output(stream: str, chunk: bytes) -> None:
            lines.append(chunk)
            if b"daemon running" in b"".join(lines):
                running.set()

        sandbox = await jail.launcher.start(spec, name=name)
        task = asyncio.create_task(sandbox.run(b"", on_output=on_output))
        await asyncio.wait_for(running.wait(), timeout=scaled(10))
        assert sandbox_processes_with(marker) != [], "the daemon should be running by now"
        assert leftover_cgroup_dirs(jail.launcher, name) != [], "the cgroup should exist by now"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return b"".join(lines)

    assert asyncio.run(go()) == b"daemon running\n"
    _assert_nothing_left(jail.launcher, name, marker)


def test_unused_sandbox_is_gone_after_close(jail: Jail, name: str) -> None:
    """A started sandbox discarded with close() leaves no process and no cgroup."""
    marker = unique_token()
    spec = jail.spec(["/usr/bin/python3", "-c", "import sys; sys.stdin.read()", marker])

    async def go() -> None:
        sandbox = await jail.launcher.start(spec, name=name)
        await asyncio.sleep(0.2)  # let the jailed process start and wait on stdin
        assert sandbox_processes_with(marker) != [], "the warm sandbox should be waiting"
        assert leftover_cgroup_dirs(jail.launcher, name) != [], "the cgroup should exist by now"
        await sandbox.close()

    asyncio.run(go())
    _assert_nothing_left(jail.launcher, name, marker)


@pytest.mark.parametrize(
    ("status", "code", "limits"),
    [
        (Status.MEMORY_LIMIT, "b = [bytearray(2**20) for _ in range(99)]", {"memory_bytes": 2**25}),
        (Status.CPU_LIMIT, "while True: pass", {"cpu_time_ms": 500}),
        (Status.OUTPUT_LIMIT, "while True: print('x' * 4096)", {"output_bytes": 8192}),
        (Status.SECCOMP_VIOLATION, "import ctypes; ctypes.CDLL(None).unshare(0)", {}),
    ],
    ids=["memory", "cpu", "output", "seccomp"],
)
def test_cgroup_is_gone_after_a_limit_kill(
    jail: Jail, name: str, status: Status, code: str, limits: dict[str, int]
) -> None:
    """After the run is stopped by a limit its cgroup is removed."""
    marker = unique_token()
    result = jail.run(["/usr/bin/python3", "-c", code, marker], name=name, **limits)
    assert result.status is status, explain(result)
    _assert_nothing_left(jail.launcher, name, marker)


def test_cancelled_start_leaves_nothing(jail: Jail) -> None:
    """A start cancelled at any moment (a client's deadline) leaves no cgroup and no process."""
    names = [f"test-{secrets.token_hex(6)}" for _ in range(8)]
    marker = unique_token()
    spec = jail.spec(["/usr/bin/python3", "-c", "import sys; sys.stdin.read()", marker])

    async def go() -> None:
        for index, name in enumerate(names):
            task = asyncio.create_task(jail.launcher.start(spec, name=name))
            await asyncio.sleep(index * 0.004)
            task.cancel()
            try:
                sandbox = await task
            except asyncio.CancelledError:
                continue
            await sandbox.close()

    asyncio.run(go())
    for name in names:
        _assert_nothing_left(jail.launcher, name, marker)
