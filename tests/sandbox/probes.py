"""Helpers for the sandbox security tests: running specs, and looking at the host afterwards."""

from __future__ import annotations

import asyncio
import os
import secrets
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import pyseccomp

from runtime.sandbox.identity import DEFAULT_UIDS
from runtime.sandbox.launcher import Launcher
from runtime.sandbox.nsjail import SandboxSpec
from runtime.sandbox.profiles import SandboxProfile
from runtime.sandbox.result import SandboxResult

_PRELUDE = """\
import errno
def errno_name(exc):
    return errno.errorcode.get(exc.errno, exc.errno)
"""


class Jail(Protocol):
    """The shape of the ``jail`` / ``minimal_jail`` fixtures of tests/conftest.py."""

    launcher: Launcher
    profile: SandboxProfile

    def spec(self, argv: Sequence[str], **overrides: int | float) -> SandboxSpec: ...

    def run(
        self,
        argv: Sequence[str],
        stdin: bytes = b"",
        *,
        name: str | None = None,
        **overrides: int | float,
    ) -> SandboxResult: ...

    def python(self, code: str, stdin: bytes = b"", **overrides: int | float) -> SandboxResult: ...


def script(code: str) -> str:
    """Inner Python source with ``errno_name(exc)`` available; ``code`` may be indented."""
    return _PRELUDE + textwrap.dedent(code)


def run_spec(launcher: Launcher, spec: SandboxSpec, stdin: bytes = b"") -> SandboxResult:
    async def go() -> SandboxResult:
        sandbox = await launcher.start(spec)
        return await sandbox.run(stdin)

    return asyncio.run(go())


def out(result: SandboxResult) -> str:
    return result.stdout.decode("utf-8", "replace").strip()


def explain(result: SandboxResult) -> str:
    """Enough of a result to understand a failed assertion."""
    return (
        f"status={result.status} exit={result.exit_code} signal={result.signal} "
        f"violations={result.violations} error={result.error} "
        f"stdout={result.stdout[-400:]!r} stderr={result.stderr[-800:]!r}"
    )


def unique_token() -> str:
    return f"skillrt-probe-{secrets.token_hex(6)}"


def syscall_number(name: str) -> int:
    number = pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, name)
    assert isinstance(number, int) and number >= 0, f"no syscall {name} here"
    return number


def sandbox_processes_with(marker: str) -> list[int]:
    """Host pids of processes owned by a sandbox uid whose command line contains ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if not DEFAULT_UIDS.first <= entry.stat().st_uid <= DEFAULT_UIDS.last:
                continue
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue  # exited while we looked
        if marker.encode() in cmdline:
            found.append(int(entry.name))
    return found


def leftover_cgroup_dirs(launcher: Launcher, name: str) -> list[Path]:
    return [d for d in set(launcher.cgroups.group_dirs(name).values()) if os.path.exists(d)]
