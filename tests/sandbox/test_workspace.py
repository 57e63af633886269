"""Session workspaces on the host: a quota'd tmpfs per session that leaves nothing behind."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.errors import BadRequest, IsolationUnavailable, WrongState
from runtime.sandbox.identity import HostIdentity
from runtime.sandbox.workspace import Workspace, prepare_root, remove_stale

from .conftest import WORKSPACE_BYTES

_MIB = 1024 * 1024
_UID = 1_900_000_001  # workspaces made here run nothing: any uid of the range will do


def _mounts() -> list[list[str]]:
    """The fields of each line of /proc/self/mountinfo."""
    return [line.split(" ") for line in Path("/proc/self/mountinfo").read_text().splitlines()]


def _mount_points() -> list[str]:
    return [fields[4] for fields in _mounts()]


def _create(root: Path, name: str) -> Workspace:
    return Workspace.create(root, name, WORKSPACE_BYTES, uid=_UID, gid=_UID)


def test_workspace_is_a_tmpfs_of_its_size(workspace: Workspace) -> None:
    """The workspace is its own nosuid, nodev tmpfs, as large as asked."""
    (mount,) = [m for m in _mounts() if m[4] == str(workspace.path)]
    mount_options, fs_type, fs_options = mount[5], mount[-3], mount[-1]
    assert fs_type == "tmpfs"
    assert {"nosuid", "nodev"} <= set(mount_options.split(","))
    assert f"size={WORKSPACE_BYTES // 1024}k" in fs_options.split(",")
    assert workspace.size_bytes == WORKSPACE_BYTES


def test_directories_belong_to_the_sandbox_user(
    workspace: Workspace, identity: HostIdentity
) -> None:
    """The mount, workspace/ and tmp/ are the session's host uid's; the mount is 0700."""
    for directory, mode in (
        (workspace.path, 0o700),
        (workspace.workspace_dir, 0o755),
        (workspace.tmp_dir, 0o1777),
    ):
        info = directory.stat()
        assert (info.st_uid, info.st_gid) == (identity.uid, identity.gid), directory
        assert stat.S_IMODE(info.st_mode) == mode, directory


def test_usage_counts_what_is_written(workspace: Workspace) -> None:
    """usage_bytes grows by what is written into the workspace."""
    before = workspace.usage_bytes()
    (workspace.workspace_dir / "blob").write_bytes(b"x" * _MIB)
    assert workspace.usage_bytes() - before >= _MIB


def test_remove_leaves_no_mount_and_no_directory(workspace: Workspace) -> None:
    """After remove() the mount is gone from mountinfo and the directory from the root."""
    (workspace.workspace_dir / "file").write_text("data")
    workspace.remove()
    assert str(workspace.path) not in _mount_points()
    assert not workspace.path.exists()


def test_remove_twice_is_harmless(workspace: Workspace) -> None:
    """A second remove() finds nothing to do and does not fail."""
    workspace.remove()
    workspace.remove()
    assert not workspace.path.exists()


def test_remove_while_in_use_detaches(workspace: Workspace) -> None:
    """A process working inside the workspace does not keep it mounted or in the root."""
    holder = subprocess.Popen(["sleep", "30"], cwd=workspace.workspace_dir)
    try:
        workspace.remove()
        assert str(workspace.path) not in _mount_points()
        assert not workspace.path.exists()
    finally:
        holder.kill()
        holder.wait()


def test_remove_stale_clears_every_leftover(workspace_root: Path) -> None:
    """remove_stale unmounts and removes the workspaces and empty dirs a crash left behind."""
    for name in ("a", "b"):
        _create(workspace_root, name)
    (workspace_root / "c").mkdir()  # a crash between mkdir and mount
    assert remove_stale(workspace_root) == ["a", "b", "c"]
    assert list(workspace_root.iterdir()) == []
    assert not any(p.startswith(f"{workspace_root}/") for p in _mount_points())


def test_existing_workspace_is_refused(workspace: Workspace, workspace_root: Path) -> None:
    """Creating a workspace under a name in use fails and leaves the existing one as it was."""
    (workspace.workspace_dir / "kept").write_text("kept")
    with pytest.raises(WrongState, match="exists already"):
        _create(workspace_root, workspace.path.name)
    assert (workspace.workspace_dir / "kept").read_text() == "kept"


@pytest.mark.parametrize("name", ["../escape", ".", "a/b", ""])
def test_bad_name_is_refused(workspace_root: Path, name: str) -> None:
    """A name that is not one plain path component is refused before anything is created."""
    with pytest.raises(BadRequest, match="workspace name"):
        _create(workspace_root, name)
    assert list(workspace_root.iterdir()) == []


def test_prepare_root_is_root_owned_and_not_listable(workspace_root: Path) -> None:
    """The root is root's, mode 0711: the sandbox user can pass through it, not list it."""
    info = workspace_root.stat()
    assert info.st_uid == 0 and stat.S_IMODE(info.st_mode) == 0o711


def test_prepare_root_refuses_an_unreachable_path(tmp_path: Path) -> None:
    """A root under a directory the sandbox user cannot search is refused, naming it."""
    with pytest.raises(IsolationUnavailable, match=rf"{tmp_path} is not searchable by others"):
        prepare_root(tmp_path / "workspaces")


def test_mounting_without_privilege_is_isolation_unavailable(workspace_root: Path) -> None:
    """Without CAP_SYS_ADMIN, create() refuses with a one-line reason and leaves no directory."""
    code = (
        "from pathlib import Path\n"
        "from runtime.errors import IsolationUnavailable\n"
        "from runtime.sandbox.workspace import Workspace\n"
        "try:\n"
        f"    Workspace.create(Path({str(workspace_root)!r}), 'w', 1 << 20, uid=65534, gid=65534)\n"
        "except IsolationUnavailable as exc:\n"
        "    print(exc)\n"
    )
    drop = ["setpriv", "--bounding-set", "-sys_admin", "--inh-caps", "-sys_admin"]
    proc = subprocess.run(
        [*drop, sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert proc.stdout == (
        f"cannot mount a tmpfs for workspace {workspace_root}/w: Operation not permitted "
        "(workspaces need the daemon to run as root)\n"
    ), proc.stderr
    assert list(workspace_root.iterdir()) == []
