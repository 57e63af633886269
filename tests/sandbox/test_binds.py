"""Writable and read-only binds, the reachability rule behind them, and the working directory."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from runtime.errors import IsolationUnavailable
from runtime.sandbox.identity import HostIdentity
from runtime.sandbox.profiles import Bind
from runtime.sandbox.reach import check_reachable
from runtime.sandbox.result import Status

from .probes import Jail, explain, out, run_spec, script

_WRITE = script("""
    try:
        with open("/data/out.txt", "w") as f:
            f.write("from the sandbox")
        print("written")
    except OSError as exc:
        print(errno_name(exc))
""")


@pytest.fixture
def sandbox_owned_dir(identity: HostIdentity) -> Iterator[Path]:
    """A host directory the sandbox's host uid owns, under parents it can search."""
    parent = Path(tempfile.mkdtemp(prefix="skillrt-bind-"))
    parent.chmod(0o755)
    directory = parent / "data"
    directory.mkdir(mode=0o700)
    os.chown(directory, identity.uid, identity.gid)
    try:
        yield directory
    finally:
        shutil.rmtree(parent)


def test_writable_bind_writes_land_on_the_host(
    jail: Jail, sandbox_owned_dir: Path, identity: HostIdentity
) -> None:
    """A file written in a writable bind is on the host, owned by the sandbox's host uid."""
    bind = Bind(source=str(sandbox_owned_dir), target="/data", writable=True)
    spec = replace(jail.spec(["/usr/bin/python3", "-c", _WRITE]), binds=(bind,), identity=identity)
    result = run_spec(jail.launcher, spec)
    assert out(result) == "written", explain(result)
    written = sandbox_owned_dir / "out.txt"
    assert written.read_text() == "from the sandbox"
    assert written.stat().st_uid == identity.uid


def test_another_sandbox_cannot_write_a_sandbox_owned_bind(
    jail: Jail, sandbox_owned_dir: Path
) -> None:
    """A sandbox of another host uid is refused a directory bound writable that a session's uid
    owns: sandboxes no longer share one host user."""
    bind = Bind(source=str(sandbox_owned_dir), target="/data", writable=True)
    spec = replace(jail.spec(["/usr/bin/python3", "-c", _WRITE]), binds=(bind,))
    result = run_spec(jail.launcher, spec)
    assert result.status is Status.SANDBOX_ERROR or out(result) == "EACCES", explain(result)
    assert list(sandbox_owned_dir.iterdir()) == []


def test_read_only_bind_refuses_writes(
    jail: Jail, sandbox_owned_dir: Path, identity: HostIdentity
) -> None:
    """The same directory bound read-only refuses the write with EROFS, although the sandbox
    user owns it."""
    bind = Bind(source=str(sandbox_owned_dir), target="/data")
    spec = replace(jail.spec(["/usr/bin/python3", "-c", _WRITE]), binds=(bind,), identity=identity)
    result = run_spec(jail.launcher, spec)
    assert out(result) == "EROFS", explain(result)
    assert list(sandbox_owned_dir.iterdir()) == []


def test_cwd_is_the_process_directory(
    jail: Jail, sandbox_owned_dir: Path, identity: HostIdentity
) -> None:
    """A spec's cwd, here inside a writable bind, is where the command starts."""
    bind = Bind(source=str(sandbox_owned_dir), target="/data", writable=True)
    spec = replace(
        jail.spec(["/bin/sh", "-c", "pwd; echo x > here"]),
        binds=(bind,),
        cwd="/data",
        identity=identity,
    )
    result = run_spec(jail.launcher, spec)
    assert out(result) == "/data", explain(result)
    assert (sandbox_owned_dir / "here").read_text() == "x\n"


def test_missing_cwd_is_a_clear_sandbox_error(jail: Jail) -> None:
    """A cwd that does not exist inside the sandbox fails at once with a one-line reason."""
    spec = replace(jail.spec(["/usr/bin/true"]), cwd="/no/such/dir")
    result = run_spec(jail.launcher, spec)
    assert result.status is Status.SANDBOX_ERROR, explain(result)
    assert result.error == (
        "cannot enter the working directory /no/such/dir in the sandbox: No such file or directory"
    )
    assert result.usage.wall_ms < 5000


def test_directory_owned_by_the_sandbox_user_is_reachable(
    sandbox_owned_dir: Path, identity: HostIdentity
) -> None:
    """A 0700 parent owned by the sandbox's uid passes the reachability check (its owner bits)."""
    check_reachable(str(sandbox_owned_dir / "inside"), what="writable bind", uid=identity.uid)


def test_directory_of_another_sandbox_uid_is_unreachable(sandbox_owned_dir: Path) -> None:
    """The same 0700 parent is refused to any other sandbox uid (others' bits)."""
    with pytest.raises(IsolationUnavailable, match=r"needs o\+x"):
        check_reachable(str(sandbox_owned_dir / "inside"), what="writable bind", uid=1)


def test_directory_closed_to_the_sandbox_user_is_unreachable(
    sandbox_owned_dir: Path, identity: HostIdentity
) -> None:
    """A parent the sandbox user owns without u+x is refused, naming the bit to set."""
    sandbox_owned_dir.chmod(0o600)
    with pytest.raises(IsolationUnavailable, match=r"not searchable by its owner.*needs u\+x"):
        check_reachable(str(sandbox_owned_dir / "inside"), what="writable bind", uid=identity.uid)


def test_root_owned_closed_parent_is_unreachable(tmp_path: Path) -> None:
    """A root-owned 0700 parent (pytest's tmp_path) is refused, naming o+x as before."""
    with pytest.raises(IsolationUnavailable, match=r"needs o\+x"):
        check_reachable(str(tmp_path / "skill"), what="read-only bind")
