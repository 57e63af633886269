"""A sandbox that exhausts a per-user kernel quota exhausts its own uid's, no one else's.

Each attack fills a quota the kernel keeps per user (inotify instances, queued real-time
signals), then holds it until its stdin closes; meanwhile a root process on the host and a
second sandbox must still get what the attacker was refused.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from runtime.sandbox.launcher import Launcher
from runtime.sandbox.result import SandboxResult, Status

from .probes import Jail, explain, script

_DEADLINE_SECONDS = 120

# Takes one quota until refused, says how far it got and why, then holds it until stdin closes.
_ATTACK = script("""
    import ctypes, os, signal, sys
    libc = ctypes.CDLL(None, use_errno=True)

    class Value(ctypes.Union):
        _fields_ = [("int", ctypes.c_int), ("ptr", ctypes.c_void_p)]

    libc.sigqueue.argtypes = [ctypes.c_int, ctypes.c_int, Value]
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGRTMIN])

    def take(kind):
        if kind == "inotify":
            return libc.inotify_init1(0) >= 0
        return libc.sigqueue(os.getpid(), signal.SIGRTMIN, Value(int=1)) == 0

    kind = sys.argv[1]
    taken = 0
    while take(kind):
        taken += 1
    print(kind, taken, errno.errorcode[ctypes.get_errno()], flush=True)
    print("holding", flush=True)
    sys.stdin.read()
""")

# One of each, as any process would need: prints "ok" or the errno that refused it.
_ONE_OF_EACH = script("""
    import ctypes, os, signal
    libc = ctypes.CDLL(None, use_errno=True)

    class Value(ctypes.Union):
        _fields_ = [("int", ctypes.c_int), ("ptr", ctypes.c_void_p)]

    libc.sigqueue.argtypes = [ctypes.c_int, ctypes.c_int, Value]
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGRTMIN])

    def outcome(ok):
        return "ok" if ok else errno.errorcode[ctypes.get_errno()]

    print("inotify", outcome(libc.inotify_init1(0) >= 0))
    print("signals", outcome(libc.sigqueue(os.getpid(), signal.SIGRTMIN, Value(int=1)) == 0))
""")


async def _host_root_probe() -> str:
    """What a root process on the host gets: one inotify instance, one queued signal."""
    process = await asyncio.create_subprocess_exec(
        "/usr/bin/python3", "-c", _ONE_OF_EACH, stdout=asyncio.subprocess.PIPE
    )
    stdout, _ = await process.communicate()
    return stdout.decode().strip()


async def _sandbox_probe(launcher: Launcher, jail: Jail) -> str:
    sandbox = await launcher.start(jail.spec(["/usr/bin/python3", "-c", _ONE_OF_EACH]))
    result = await sandbox.run(b"")
    assert result.status is Status.OK, explain(result)
    return result.stdout.decode().strip()


async def _during_attack(jail: Jail, kind: str) -> tuple[SandboxResult, str, str]:
    """The attacker's result, and what host root and a second sandbox got while it held on."""
    launcher = jail.launcher
    attacker = await launcher.start(jail.spec(["/usr/bin/python3", "-c", _ATTACK, kind]))
    seen = bytearray()
    holding, release = asyncio.Event(), asyncio.Event()

    async def on_output(name: str, chunk: bytes) -> None:
        seen.extend(chunk)
        if b"holding" in seen:
            holding.set()

    async def stdin() -> AsyncIterator[bytes]:
        await release.wait()
        yield b""

    run = asyncio.create_task(attacker.run(stdin(), on_output=on_output))
    try:
        await asyncio.wait_for(holding.wait(), _DEADLINE_SECONDS)
        host = await _host_root_probe()
        other = await _sandbox_probe(launcher, jail)
    finally:
        release.set()
    return await run, host, other


@pytest.mark.parametrize("kind", ["inotify", "signals"])
def test_exhausting_a_user_quota_leaves_root_and_other_sandboxes_unaffected(
    jail: Jail, kind: str
) -> None:
    """The attacker is refused past its own uid's quota, while host root and a concurrent
    sandbox still get an inotify instance and a queued signal."""
    result, host, other = asyncio.run(_during_attack(jail, kind))
    assert result.status is Status.OK, explain(result)
    name, taken, refusal = result.stdout.decode().splitlines()[0].split()
    assert (name, refusal) == (kind, "EMFILE" if kind == "inotify" else "EAGAIN"), explain(result)
    assert int(taken) > 0
    assert host == "inotify ok\nsignals ok", f"host root was starved: {host}"
    assert other == "inotify ok\nsignals ok", f"another sandbox was starved: {other}"
