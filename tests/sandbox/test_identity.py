"""The sandbox runs as an unprivileged, mapped nobody: no host root powers, no capabilities."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from runtime.sandbox.nsjail import SANDBOX_GID, SANDBOX_UID
from runtime.sandbox.profiles import Bind
from runtime.sandbox.result import Status

from .probes import Jail, explain, out, run_spec, script


def test_runs_as_nobody(jail: Jail) -> None:
    """Real, effective and saved uid and gid inside are 65534, with no supplementary groups."""
    result = jail.python("import os; print(*os.getresuid(), *os.getresgid(), len(os.getgroups()))")
    uids, gids = [str(SANDBOX_UID)] * 3, [str(SANDBOX_GID)] * 3
    expected = " ".join([*uids, *gids, "0"])
    assert out(result) == expected, explain(result)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A host temp dir the sandbox user could reach: every parent is searchable by others."""
    directory = Path(tempfile.mkdtemp(prefix="skillrt-bind-"))
    directory.chmod(0o755)
    try:
        yield directory
    finally:
        shutil.rmtree(directory)


def test_host_root_only_file_is_unreadable(jail: Jail, shared_dir: Path) -> None:
    """A host root 0600 file in a read-only bind cannot be read, while a 0644 neighbour can."""
    (shared_dir / "public.txt").write_text("public\n")
    (shared_dir / "public.txt").chmod(0o644)
    os.chown(shared_dir / "public.txt", 0, 0)
    (shared_dir / "secret.txt").write_text("secret\n")
    (shared_dir / "secret.txt").chmod(0o600)
    os.chown(shared_dir / "secret.txt", 0, 0)
    spec = jail.spec(
        [
            "/usr/bin/python3",
            "-c",
            script("""
            for name in ("public", "secret"):
                try:
                    print(name, open(f"/data/{name}.txt").read().strip())
                except OSError as exc:
                    print(name, errno_name(exc))
        """),
        ]
    )
    spec = replace(spec, binds=(Bind(source=str(shared_dir), target="/data"),))
    result = run_spec(jail.launcher, spec)
    assert out(result).splitlines() == ["public public", "secret EACCES"], explain(result)


def test_cannot_become_root(jail: Jail) -> None:
    """setuid(0) fails with EINVAL: host root has no uid inside the sandbox's user namespace."""
    result = jail.python(
        script("""
        import os
        try:
            os.setuid(0)
            print("root")
        except OSError as exc:
            print(errno_name(exc))
    """)
    )
    assert out(result) == "EINVAL", explain(result)


def test_host_processes_cannot_be_signalled(jail: Jail) -> None:
    """The test process's host pid does not exist for the sandbox: kill fails with ESRCH."""
    result = jail.python(
        script(f"""
        import os, signal
        try:
            os.kill({os.getpid()}, signal.SIGKILL)
            print("signalled")
        except OSError as exc:
            print(errno_name(exc))
    """)
    )
    assert out(result) == "ESRCH", explain(result)


def test_has_no_capabilities(jail: Jail) -> None:
    """Every capability set is empty and no_new_privs is set."""
    result = jail.python(
        script("""
        fields = dict(line.split(":", 1) for line in open("/proc/self/status"))
        names = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs")
        print(" ".join(f"{n}={fields[n].strip()}" for n in names))
    """)
    )
    zero = "0000000000000000"
    assert out(result) == (
        f"CapInh={zero} CapPrm={zero} CapEff={zero} CapBnd={zero} CapAmb={zero} NoNewPrivs=1"
    ), explain(result)


def test_hostname_is_private(jail: Jail) -> None:
    """The sandbox has its own hostname and cannot change it."""
    result = jail.python(
        script("""
        import socket
        try:
            socket.sethostname("pwned")
            print(socket.gethostname(), "changed")
        except OSError as exc:
            print(socket.gethostname(), errno_name(exc))
    """)
    )
    assert result.status is Status.OK, explain(result)
    assert out(result) == "skillrt EPERM"
    assert socket.gethostname() != "pwned"
