"""Workspace paths never reach outside the workspace: not by `..`, not by absolute paths, not by
any symbolic link a command in the sandbox may plant or swap in (CVE-2024-28185's kind)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from runtime.core.workspace_files import FileType, WorkspaceFiles
from runtime.core.workspace_paths import Walker
from runtime.errors import NotAllowed, WrongState
from tests.core.workspace_fixtures import files_at, small_tmpfs

SECRET = b"host secret"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A host directory beside the workspace, with a file no workspace path may reach."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret").write_bytes(SECRET)
    return folder


@pytest.fixture
def root(tmp_path: Path, outside: Path) -> Path:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    return workspace


@pytest.fixture
def files(root: Path) -> WorkspaceFiles:
    return files_at(root)


def _all_operations_refuse(files: WorkspaceFiles, path: str) -> None:
    """Every operation on ``path`` is NotAllowed."""
    attempts = [
        lambda: files.read(path),
        lambda: files.write(path, b"pwned"),
        lambda: files.write(path, b"pwned", append=True, create_parents=True),
        lambda: files.stat(path),
        lambda: files.list_dir(path),
        lambda: files.make_dir(path, parents=True),
        lambda: files.remove(path, recursive=True, missing_ok=True),
        lambda: files.rename(path, "moved"),
        lambda: files.rename("here", path, overwrite=True),
    ]
    for attempt in attempts:
        with pytest.raises(NotAllowed):
            attempt()


@pytest.mark.parametrize(
    "path", ["../x", "..", "a/../../x", "/etc/passwd", "/workspace/../x", "/", "/workspacex/y"]
)
def test_paths_leaving_the_workspace_are_refused(files: WorkspaceFiles, path: str) -> None:
    """`..` above the workspace and absolute paths outside /workspace are NotAllowed."""
    files.make_dir("a")
    files.write("here", b"x")
    _all_operations_refuse(files, path)
    assert files.read("here")[1] == b"x"


@pytest.mark.parametrize(
    "target",
    ["/", "/etc", "/etc/shadow", "../..", "..", "/proc/self/root", "/proc/self/root/etc"],
)
def test_links_leaving_the_workspace_are_refused(
    files: WorkspaceFiles, root: Path, target: str
) -> None:
    """A link to /, /etc/shadow, ../.. or /proc/self/root is never followed, in the middle or
    at the end of a path."""
    (root / "esc").symlink_to(target)
    for path in ("esc/etc/passwd", "esc/secret", "esc/x/y"):
        with pytest.raises(NotAllowed, match="leaves the workspace"):
            files.read(path)
        with pytest.raises(NotAllowed):
            files.write(path, b"pwned", create_parents=True)
    for attempt in (
        lambda: files.read("esc"),
        lambda: files.list_dir("esc"),
        lambda: files.write("esc", b"pwned", append=True),
        lambda: files.make_dir("esc", parents=True),
    ):
        with pytest.raises(NotAllowed, match="symbolic link 'esc'"):
            attempt()


def test_absolute_link_to_an_outside_file_is_refused(
    files: WorkspaceFiles, root: Path, outside: Path
) -> None:
    """An absolute link to a host file outside the workspace is refused and the file unchanged."""
    (root / "s").symlink_to(outside / "secret")
    (root / "d").symlink_to(outside)
    for attempt in (
        lambda: files.read("s"),
        lambda: files.write("s", b"pwned", append=True),
        lambda: files.read("d/secret"),
        lambda: files.write("d/new", b"pwned"),
        lambda: files.make_dir("d/new"),
        lambda: files.rename("d/secret", "stolen"),
        lambda: files.remove("d/secret"),
    ):
        with pytest.raises(NotAllowed):
            attempt()
    assert os.listdir(outside) == ["secret"]
    assert (outside / "secret").read_bytes() == SECRET


def test_links_staying_inside_are_followed(files: WorkspaceFiles, root: Path) -> None:
    """Relative links and absolute links under /workspace that stay inside work as in a shell."""
    files.write("real/dir/f", b"inside", create_parents=True)
    (root / "rel").symlink_to("real/dir")
    (root / "abs").symlink_to("/workspace/real")
    (root / "real" / "up").symlink_to("../real/dir/f")
    assert files.read("rel/f")[1] == b"inside"
    assert files.read("abs/dir/f")[1] == b"inside"
    assert files.read("real/up")[0].path == "real/dir/f"
    files.write("real/up", b"+", append=True)  # `>>` through a link that stays inside
    assert (root / "real" / "dir" / "f").read_bytes() == b"inside+"
    assert (root / "real" / "up").is_symlink()
    assert files.read("rel/../dir/f")[1] == b"inside+"  # `..` after a link: from its target
    assert [e.path for e in files.list_dir("abs")] == ["real/dir", "real/up"]


@pytest.mark.parametrize("links", [{"a": "a"}, {"a": "b", "b": "a"}, {"a": "b/x", "b": "a/y"}])
def test_link_loops_are_refused(files: WorkspaceFiles, root: Path, links: dict[str, str]) -> None:
    """A loop of links is refused after a bounded number of links, never spun on."""
    for name, target in links.items():
        (root / name).symlink_to(target)
    for attempt in (lambda: files.read("a"), lambda: files.write("a/z", b"x")):
        with pytest.raises(NotAllowed, match="symbolic links on the way"):
            attempt()


def test_full_write_replaces_a_final_link_and_never_writes_its_target(
    files: WorkspaceFiles, root: Path, outside: Path
) -> None:
    """A full write to a link replaces the link with a file; the target outside is untouched."""
    (root / "s").symlink_to(outside / "secret")
    (root / "dangling").symlink_to(outside / "created")
    with pytest.raises(WrongState, match="already exists"):
        files.write("dangling", b"mine", exclusive=True)
    files.write("s", b"mine")
    info = files.write("dangling", b"mine")
    assert info.type is FileType.FILE
    assert (root / "s").read_bytes() == b"mine" and not (root / "s").is_symlink()
    assert sorted(os.listdir(outside)) == ["secret"]
    assert (outside / "secret").read_bytes() == SECRET


def test_remove_and_rename_act_on_a_final_link_itself(
    files: WorkspaceFiles, root: Path, outside: Path
) -> None:
    """remove and rename of a link (even recursive, even to a directory) touch only the link."""
    (root / "to_dir").symlink_to(outside)
    (root / "to_file").symlink_to(outside / "secret")
    (root / "other").symlink_to(outside)
    files.remove("to_dir", recursive=True)
    moved = files.rename("to_file", "moved")
    assert (moved.type, moved.link_target) == (FileType.SYMLINK, str(outside / "secret"))
    files.write("plain", b"x")
    files.rename("plain", "other", overwrite=True)  # replaces the link, not what it names
    assert sorted(os.listdir(root)) == ["moved", "other"]
    assert not (root / "other").is_symlink()
    assert os.listdir(outside) == ["secret"]
    assert (outside / "secret").read_bytes() == SECRET


def test_directory_replaced_by_a_link_between_calls(
    files: WorkspaceFiles, root: Path, outside: Path
) -> None:
    """A directory the daemon used before, swapped for a link to the host, is not followed."""
    files.write("d/secret", b"inside", create_parents=True)
    assert files.read("d/secret")[1] == b"inside"
    files.remove("d", recursive=True)
    (root / "d").symlink_to(outside)
    with pytest.raises(NotAllowed):
        files.read("d/secret")
    with pytest.raises(NotAllowed):
        files.remove("d/secret")
    assert (outside / "secret").read_bytes() == SECRET


def test_swap_after_the_walk_cannot_redirect(root: Path, outside: Path) -> None:
    """Once walked, a path's directory is held by descriptor: swapping it for a link to the host
    afterwards changes nothing the operation reaches."""
    (root / "d").mkdir()
    (root / "d" / "secret").write_bytes(b"inside")
    with Walker(root, uid=0, gid=0).locate("d/secret", follow_last=True) as at:
        os.rename(root / "d", root / "d.old")
        (root / "d").symlink_to(outside)
        assert at.name is not None
        fd = os.open(at.name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=at.dir_fd)
        try:
            assert os.read(fd, 100) == b"inside"
        finally:
            os.close(fd)


def test_racing_swaps_never_leak_the_host(files: WorkspaceFiles, root: Path, outside: Path) -> None:
    """While a command keeps swapping a directory and a link to the host, no read ever returns
    the host's file and no write lands outside."""
    (root / "d").mkdir()
    (root / "d" / "secret").write_bytes(b"inside")
    stop = threading.Event()

    def swapper() -> None:
        while not stop.is_set():
            os.rename(root / "d", root / "d.real")
            (root / "d").symlink_to(outside)
            os.unlink(root / "d")
            os.rename(root / "d.real", root / "d")

    thread = threading.Thread(target=swapper)
    thread.start()
    seen: set[bytes] = set()
    try:
        for _ in range(2000):
            try:
                seen.add(files.read("d/secret")[1])
                files.write("d/secret", b"inside")
            except Exception as exc:  # missing or refused while swapped: both are fine
                seen.add(type(exc).__name__.encode())
    finally:
        stop.set()
        thread.join()
    assert SECRET not in seen
    assert os.listdir(outside) == ["secret"]
    assert (outside / "secret").read_bytes() == SECRET


def test_escapes_are_refused_on_a_real_tmpfs(outside: Path) -> None:
    """On the workspace's own kind of file system, links to the host are refused just the same."""
    with small_tmpfs() as mountpoint:
        (mountpoint / "esc").symlink_to(outside)
        files = files_at(mountpoint)
        with pytest.raises(NotAllowed):
            files.read("esc/secret")
        with pytest.raises(NotAllowed):
            files.write("esc/new", b"x")
    assert os.listdir(outside) == ["secret"]
