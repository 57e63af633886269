"""A sandbox's host uid stays held while its jail lives, and the jail dies with its launcher."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from runtime.sandbox.identity import HostIdentity
from runtime.sandbox.launcher import Launcher
from runtime.util import paths

from .probes import Jail

_LOCKS = Path("/run/skillrt-uids")
_DEADLINE_S = 60.0


def _status(pid: int) -> dict[str, str]:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


def _pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def _of_uid(uid: int) -> list[int]:
    """Live (not zombie) processes whose real uid is ``uid``."""
    found = []
    for pid in _pids():
        status = _status(pid)
        if status.get("Uid", "").split("\t")[:1] == [str(uid)] and not status["State"].startswith(
            "Z"
        ):
            found.append(pid)
    return found


def _holds(pid: int, path: Path) -> bool:
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == str(path):
                    return True
    return False


def _lock_is_free(uid: int) -> bool:
    fd = os.open(_LOCKS / str(uid), os.O_RDWR | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def _poll(what: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + _DEADLINE_S
    while not check():
        assert time.monotonic() < deadline, f"not within {_DEADLINE_S} s: {what}"
        time.sleep(0.05)


def _jail_of(parent: int) -> tuple[int, int, int]:
    """(nsjail's pid, the jailed process's pid, its host uid) once ``parent``'s jail runs."""
    found: list[tuple[int, int, int]] = []

    def running() -> bool:
        for pid in _pids():
            status = _status(pid)
            if status.get("PPid") == str(parent) and status.get("Name") == "nsjail":
                uid = int(status["Uid"].split("\t")[0])
                jailed = [p for p in _of_uid(uid) if _status(p).get("PPid") == str(pid)]
                if jailed:
                    found.append((pid, jailed[0], uid))
                    return True
        return False

    _poll(f"pid {parent} starts a jail", running)
    return found[0]


def _cgroups_of(pid: int) -> Iterator[Path]:
    """The cgroup directories ``pid`` is in (to remove once it is gone)."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        base = Path("/sys/fs/cgroup")
        for controller in controllers.split(",") if controllers else [""]:
            yield base / controller.removeprefix("name=") / path.lstrip("/")


@pytest.fixture
def cli_jail(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], tuple[int, int, int]]]:
    """``skillrt exec -- sleep`` in a process of its own, with its running jail; whatever the
    test leaves (processes of the uid, the CLI's cgroups) is removed after it. The jail's wall
    time limit is far beyond the test's deadlines: only its launcher's death can end it early."""
    default = (paths.profiles_dir() / "default.toml").read_text()
    assert 'wall_time = "30s"' in default
    (tmp_path / "long.toml").write_text(default.replace('wall_time = "30s"', 'wall_time = "1h"'))
    argv = ["--profiles", str(tmp_path), "exec", "--profile", "long", "--", "/bin/sleep", "3600"]
    cli = subprocess.Popen(
        [sys.executable, "-m", "runtime.cli.main", *argv],
        cwd=paths.PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    groups: list[Path] = []
    uid = None
    try:
        jail = _jail_of(cli.pid)
        uid = jail[2]
        groups = list(_cgroups_of(jail[0]))
        yield cli, jail
    finally:
        cli.kill()
        cli.wait()
        if uid is not None:
            for pid in _of_uid(uid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            _poll(f"uid {uid} runs nothing", lambda: not _of_uid(uid))
        for group in sorted(groups, key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                group.rmdir()


def test_nsjail_holds_the_uid_lock_and_the_jail_does_not(
    cli_jail: tuple[subprocess.Popen[bytes], tuple[int, int, int]],
) -> None:
    """nsjail has the uid's lock open (the jail never does), so the uid is held as it runs."""
    nsjail, jailed, uid = cli_jail[1]
    assert _holds(nsjail, _LOCKS / str(uid))
    assert not _holds(jailed, _LOCKS / str(uid))


def test_the_jail_dies_with_the_cli_and_then_frees_its_uid(
    cli_jail: tuple[subprocess.Popen[bytes], tuple[int, int, int]],
) -> None:
    """SIGKILL of the CLI ends its jail (the sleep does not run on); the uid then is free."""
    cli, (_, _, uid) = cli_jail
    cli.kill()
    cli.wait()
    _poll(f"the jail of uid {uid} ends with its CLI", lambda: not _of_uid(uid))
    _poll(f"the lock of uid {uid} is free", lambda: _lock_is_free(uid))


def test_a_session_sandbox_holds_the_session_uid_lock(
    launcher: Launcher, jail: Jail, identity: HostIdentity
) -> None:
    """A session's command's nsjail holds the session's uid lock too, so the uid outlives a
    dead daemon for as long as any command of it runs."""

    async def go() -> bool:
        sandbox = await launcher.start(replace(jail.spec(["/bin/sleep", "600"]), identity=identity))
        try:
            return _holds(sandbox.pid, _LOCKS / str(identity.uid))
        finally:
            await sandbox.close()

    assert asyncio.run(go())
