"""A real daemon whose state directory is a small tmpfs of its own, for tests that fill it."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import Daemon, cleanup, make_daemon
from tests.api.session_fixture import CONFIG

__all__ = [
    "audit_lines",
    "fill",
    "poll",
    "small_disk_daemon",
]

_CHUNK = 65536


@pytest.fixture
def small_disk_daemon() -> Iterator[Daemon]:
    """A daemon, not started, whose state directory is a 2 MiB tmpfs (unmounted afterwards)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs for the daemon's state directory needs root")
    daemon = make_daemon()
    daemon.state_dir.mkdir(mode=0o700)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "skillrt-test", str(daemon.state_dir)],
        check=True,
    )
    (daemon.root / "skillrt.toml").write_text(CONFIG)
    try:
        yield daemon
    finally:
        if daemon.process is not None:
            daemon.stop(signal.SIGKILL)
        subprocess.run(["umount", "--lazy", str(daemon.state_dir)], check=True)
        cleanup(daemon)


def fill(directory: Path) -> Path:
    """A file that takes every free byte of ``directory``'s filesystem (again, if called again)."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        block = b"\0" * _CHUNK
        while True:
            try:
                os.write(fd, block)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
    finally:
        os.close(fd)
    return filler


def audit_lines(daemon: Daemon) -> tuple[list[dict[str, Any]], bytes]:
    """The log's complete entries, parsed, and its torn tail (empty when there is none)."""
    data = (daemon.state_dir / "audit.log").read_bytes()
    whole, _, torn = data.rpartition(b"\n")
    return [json.loads(line) for line in whole.split(b"\n") if line], torn


def poll(what: str, check: Callable[[], bool], *, seconds: float = 60) -> None:
    """Wait until ``check`` holds; generous, since the machine is shared."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
