"""The workspace profile with a session's workspace bound: what persists, what is writable."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from runtime.sandbox.identity import HostIdentity
from runtime.sandbox.launcher import Launcher
from runtime.sandbox.nsjail import SANDBOX_UID, SandboxSpec
from runtime.sandbox.profiles import ProfileStore
from runtime.sandbox.result import SandboxResult, Status
from runtime.sandbox.workspace import Workspace

from .conftest import WORKSPACE_BYTES
from .probes import explain, out, run_spec, script


def _session_run(
    launcher: Launcher,
    profiles: ProfileStore,
    workspace: Workspace,
    identity: HostIdentity,
    argv: Sequence[str],
) -> SandboxResult:
    profile = profiles.get("workspace")
    limits = replace(profile.limits, wall_time_ms=30_000)
    spec = SandboxSpec(
        argv=tuple(argv),
        profile=profile,
        limits=limits,
        binds=workspace.binds(),
        identity=identity,  # the session's uid owns its workspace
    )
    return run_spec(launcher, spec)


def test_shell_runs_as_nobody_in_the_workspace(
    launcher: Launcher, profiles: ProfileStore, workspace: Workspace, identity: HostIdentity
) -> None:
    """/bin/sh starts in /workspace, which belongs to nobody, and GNU stat names it."""
    argv = ["/bin/sh", "-c", "echo hi; stat -c %U /workspace; pwd"]
    result = _session_run(launcher, profiles, workspace, identity, argv)
    assert result.status is Status.OK, explain(result)
    assert out(result) == "hi\nnobody\n/workspace"


def test_tools_of_the_profile_are_there(
    launcher: Launcher, profiles: ProfileStore, workspace: Workspace, identity: HostIdentity
) -> None:
    """tar, python3 and git work, finding what they need under /usr."""
    command = (
        "set -e; git init -q repo; cd repo; echo data > f; tar -cf /tmp/f.tar f;"
        " python3 -c 'import tarfile; print(tarfile.open(\"/tmp/f.tar\").getnames())'"
    )
    result = _session_run(launcher, profiles, workspace, identity, ["/bin/sh", "-c", command])
    assert result.status is Status.OK, explain(result)
    assert out(result) == "['f']"


def test_workspace_and_tmp_persist_between_commands(
    launcher: Launcher, profiles: ProfileStore, workspace: Workspace, identity: HostIdentity
) -> None:
    """A script written to /tmp by one command runs in the next; files land on the host."""
    write = "printf 'echo from script > /workspace/out' > /tmp/script.sh"
    first = _session_run(launcher, profiles, workspace, identity, ["/bin/sh", "-c", write])
    assert first.status is Status.OK, explain(first)
    second = _session_run(launcher, profiles, workspace, identity, ["/bin/sh", "/tmp/script.sh"])
    assert second.status is Status.OK, explain(second)
    written = workspace.workspace_dir / "out"
    assert written.read_text() == "from script\n"
    assert written.stat().st_uid == workspace.path.stat().st_uid != SANDBOX_UID
    assert (workspace.tmp_dir / "script.sh").exists()


def test_quota_is_enforced_inside(
    launcher: Launcher, profiles: ProfileStore, workspace: Workspace, identity: HostIdentity
) -> None:
    """Writing past the workspace size fails with ENOSPC, and the command exits nonzero."""
    fill = f"head -c {WORKSPACE_BYTES + 1024 * 1024} /dev/zero > /workspace/big"
    result = _session_run(launcher, profiles, workspace, identity, ["/bin/sh", "-c", fill])
    assert result.status is Status.NONZERO_EXIT, explain(result)
    assert b"No space left on device" in result.stderr
    assert workspace.usage_bytes() <= WORKSPACE_BYTES


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/planted", "EROFS"),
        ("/usr/planted", "EROFS"),
        ("/usr/bin/planted", "EROFS"),
        ("/etc/planted", "EROFS"),
        ("/dev/planted", "EROFS"),
        ("/etc/passwd", "EACCES"),  # host root's file: refused before its read-only mount is
    ],
)
def test_nothing_outside_workspace_and_tmp_is_writable(
    launcher: Launcher,
    profiles: ProfileStore,
    workspace: Workspace,
    identity: HostIdentity,
    path: str,
    error: str,
) -> None:
    """Creating or changing a file anywhere but /workspace and /tmp fails."""
    code = script(f"""
        import os
        try:
            os.open({path!r}, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644)
            print("written")
        except OSError as exc:
            print(errno_name(exc))
    """)
    result = _session_run(launcher, profiles, workspace, identity, ["/usr/bin/python3", "-c", code])
    assert out(result) == error, explain(result)


def test_root_holds_the_profile_and_the_session_mounts(
    launcher: Launcher, profiles: ProfileStore, workspace: Workspace, identity: HostIdentity
) -> None:
    """/ holds the profile's mounts plus the session's /workspace, /tmp and account files."""
    argv = ["/bin/sh", "-c", "ls / | tr '\\n' ' '; echo; ls /etc | tr '\\n' ' '"]
    result = _session_run(launcher, profiles, workspace, identity, argv)
    assert out(result) == "bin dev etc lib lib64 proc tmp usr workspace \ngroup passwd", explain(
        result
    )
