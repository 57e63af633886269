"""Workspace file operations: what each one does on a real file system, bounds and ownership."""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

import pytest

from runtime.core.workspace_files import FileType, WorkspaceFiles
from runtime.errors import BadRequest, NoSuchEntity, NotAllowed, OverLimit, WrongState
from tests.core.workspace_fixtures import (
    MAX_READ,
    MAX_WRITE,
    SANDBOX_GID,
    SANDBOX_UID,
    files_at,
    small_tmpfs,
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    return workspace


@pytest.fixture
def files(root: Path) -> WorkspaceFiles:
    return files_at(root)


@pytest.fixture
def tmpfs() -> Iterator[Path]:
    with small_tmpfs() as mountpoint:
        yield mountpoint


def test_write_then_read_round_trips(files: WorkspaceFiles, root: Path) -> None:
    """A written file reads back whole, described as a file relative to the workspace."""
    written = files.write("notes.txt", b"hello\n")
    info, data, truncated = files.read("notes.txt")
    assert (data, truncated) == (b"hello\n", False)
    assert info == written
    assert (info.path, info.type, info.size, info.mode) == ("notes.txt", FileType.FILE, 6, 0o644)
    assert (root / "notes.txt").read_bytes() == b"hello\n"


def test_absolute_path_under_workspace_is_the_same_file(files: WorkspaceFiles) -> None:
    """/workspace/x names the same file as x, as commands in the sandbox see it."""
    files.write("/workspace/a.txt", b"abs")
    assert files.read("a.txt")[1] == b"abs"
    assert files.stat("/workspace").type is FileType.DIRECTORY


def test_read_window_and_truncation(files: WorkspaceFiles) -> None:
    """A read returns the bytes from offset up to length and says whether more follow."""
    files.write("f", b"0123456789")
    assert files.read("f", offset=2, length=3)[1:] == (b"234", True)
    assert files.read("f", offset=7, length=5)[1:] == (b"789", False)
    assert files.read("f", offset=50)[1:] == (b"", False)
    assert files.read("f", offset=2**64 - 1)[1:] == (b"", False)


def test_read_without_length_stops_at_the_maximum(files: WorkspaceFiles) -> None:
    """Length 0 means as much as one read may return, and the rest is flagged."""
    files.write("big", b"x" * (MAX_READ + 10))
    info, data, truncated = files.read("big")
    assert (len(data), truncated, info.size) == (MAX_READ, True, MAX_READ + 10)


def test_read_longer_than_the_maximum_is_a_bad_request(files: WorkspaceFiles) -> None:
    """Asking for more than a read may return is refused, not silently shortened."""
    files.write("f", b"x")
    with pytest.raises(BadRequest, match="at most"):
        files.read("f", length=MAX_READ + 1)


def test_write_larger_than_the_maximum_is_a_bad_request(files: WorkspaceFiles, root: Path) -> None:
    """A write beyond the maximum is refused and creates nothing."""
    with pytest.raises(BadRequest, match="at most"):
        files.write("f", b"x" * (MAX_WRITE + 1))
    assert not (root / "f").exists()


def test_append_adds_to_the_end(files: WorkspaceFiles) -> None:
    """append creates the file if needed and then adds to its end."""
    files.write("log", b"one\n", append=True)
    info = files.write("log", b"two\n", append=True)
    assert files.read("log")[1] == b"one\ntwo\n"
    assert info.size == 8


def test_full_write_replaces_and_keeps_the_mode(files: WorkspaceFiles, root: Path) -> None:
    """Rewriting a file replaces its content and keeps its permission bits (a script stays +x)."""
    files.write("run.sh", b"#!/bin/sh\n", mode=0o755)
    info = files.write("run.sh", b"#!/bin/sh\necho hi\n")
    assert info.mode == 0o755
    assert (root / "run.sh").read_bytes() == b"#!/bin/sh\necho hi\n"
    assert [p.name for p in root.iterdir()] == ["run.sh"]  # no temporary file left


def test_exclusive_write_refuses_an_existing_file(files: WorkspaceFiles) -> None:
    """exclusive fails with WrongState when the file exists and leaves it as it was."""
    files.write("f", b"first", exclusive=True)
    for append in (False, True):
        with pytest.raises(WrongState, match="already exists"):
            files.write("f", b"second", exclusive=True, append=append)
    assert files.read("f")[1] == b"first"


def test_write_into_a_missing_directory(files: WorkspaceFiles) -> None:
    """Without create_parents a missing directory is NoSuchEntity; with it, it is made."""
    with pytest.raises(NoSuchEntity):
        files.write("a/b/c.txt", b"x")
    info = files.write("a/b/c.txt", b"x", create_parents=True)
    assert info.path == "a/b/c.txt"
    assert files.stat("a/b").type is FileType.DIRECTORY


def test_deep_parents_are_not_mistaken_for_a_link_loop(files: WorkspaceFiles) -> None:
    """Making many missing directories at once is bounded by path length, not by link count."""
    deep = "/".join(f"d{i}" for i in range(100))
    files.write(f"{deep}/f", b"x", create_parents=True)
    assert files.make_dir(f"{deep}/e/" + deep, parents=True).type is FileType.DIRECTORY
    files.remove("d0", recursive=True)
    assert files.list_dir("") == []


def test_write_onto_a_directory_is_wrong_state(files: WorkspaceFiles) -> None:
    """Writing where a directory stands is refused: is a directory."""
    files.make_dir("d")
    for target in ("d", ""):
        with pytest.raises(WrongState, match="is a directory"):
            files.write(target, b"x")


def test_created_files_and_directories_belong_to_the_sandbox_user(
    files: WorkspaceFiles, root: Path
) -> None:
    """Files, parents and directories the daemon creates are owned by the given uid/gid."""
    files.write("p/q/file", b"x", create_parents=True)
    files.write("p/log", b"x", append=True)
    files.make_dir("m/n", parents=True)
    for name in ("p", "p/q", "p/q/file", "p/log", "m", "m/n"):
        st = (root / name).lstat()
        assert (st.st_uid, st.st_gid) == (SANDBOX_UID, SANDBOX_GID), name


def test_modes_ignore_the_umask_and_drop_special_bits(files: WorkspaceFiles, root: Path) -> None:
    """New files get exactly the mode asked (never setuid/setgid/sticky), whatever the umask."""
    old = os.umask(0o077)
    try:
        files.write("default", b"x")
        files.write("suid", b"x", mode=0o6755)
        files.make_dir("dir")
    finally:
        os.umask(old)
    assert stat.S_IMODE((root / "default").stat().st_mode) == 0o644
    assert stat.S_IMODE((root / "suid").stat().st_mode) == 0o755
    assert stat.S_IMODE((root / "dir").stat().st_mode) == 0o755


def test_stat_describes_files_directories_and_links(files: WorkspaceFiles, root: Path) -> None:
    """stat reports type, size and, for a link, its target without following it."""
    files.write("f", b"abc")
    (root / "link").symlink_to("f")
    assert files.stat("f").size == 3
    link = files.stat("link")
    assert (link.type, link.link_target) == (FileType.SYMLINK, "f")
    assert files.stat("").path == ""
    with pytest.raises(NoSuchEntity):
        files.stat("missing")


def test_list_dir_lists_entries_by_name(files: WorkspaceFiles, root: Path) -> None:
    """list_dir returns every entry, sorted, with paths relative to the workspace."""
    files.write("d/b", b"1", create_parents=True)
    files.write("d/a", b"22")
    files.make_dir("d/sub")
    (root / "d" / "l").symlink_to("a")
    entries = files.list_dir("d")
    assert [(e.path, e.type) for e in entries] == [
        ("d/a", FileType.FILE),
        ("d/b", FileType.FILE),
        ("d/l", FileType.SYMLINK),
        ("d/sub", FileType.DIRECTORY),
    ]
    assert [e.path for e in files.list_dir("")] == ["d"]
    with pytest.raises(WrongState, match="not a directory"):
        files.list_dir("d/a")


def test_list_dir_too_big_for_one_response_is_over_limit(root: Path) -> None:
    """A directory whose listing would not fit a response is refused, not sent in part."""
    small = WorkspaceFiles(root, uid=0, gid=0, max_read_bytes=1000, max_write_bytes=10)
    for i in range(50):
        (root / f"file-{i:03}").touch()
    with pytest.raises(OverLimit, match="too many entries"):
        small.list_dir("")


def test_make_dir_once_and_with_parents(files: WorkspaceFiles) -> None:
    """make_dir refuses an existing directory unless parents, which also makes the missing ones."""
    assert files.make_dir("d").type is FileType.DIRECTORY
    with pytest.raises(WrongState, match="already exists"):
        files.make_dir("d")
    with pytest.raises(NoSuchEntity):
        files.make_dir("x/y")
    assert files.make_dir("x/y", parents=True).path == "x/y"
    assert files.make_dir("d", parents=True).path == "d"


def test_remove_file_and_empty_directory(files: WorkspaceFiles, root: Path) -> None:
    """remove deletes a file and an empty directory."""
    files.write("f", b"x")
    files.make_dir("d")
    files.remove("f")
    files.remove("d")
    assert list(root.iterdir()) == []


def test_remove_non_empty_directory_needs_recursive(files: WorkspaceFiles, root: Path) -> None:
    """A non-empty directory is WrongState without recursive, and removed whole with it."""
    files.write("d/e/f/g", b"x", create_parents=True)
    files.write("d/top", b"x")
    (root / "d" / "e" / "link").symlink_to("../top")
    with pytest.raises(WrongState, match="not empty"):
        files.remove("d")
    files.remove("d", recursive=True)
    assert list(root.iterdir()) == []


def test_remove_missing(files: WorkspaceFiles) -> None:
    """A missing path is NoSuchEntity, or nothing at all with missing_ok."""
    with pytest.raises(NoSuchEntity):
        files.remove("nothing")
    files.remove("nothing", missing_ok=True)
    files.remove("no/such/dir", missing_ok=True)


def test_remove_workspace_itself_is_refused(files: WorkspaceFiles, root: Path) -> None:
    """The workspace itself cannot be removed, however it is named."""
    files.write("a/f", b"x", create_parents=True)
    for name in ("", ".", "/workspace", "a/..", "/workspace/"):
        with pytest.raises(NotAllowed):
            files.remove(name, recursive=True)
    assert (root / "a" / "f").exists()


def test_rename_moves_and_refuses_to_overwrite(files: WorkspaceFiles) -> None:
    """rename moves a file; an existing destination is replaced only with overwrite."""
    files.write("a", b"A")
    files.write("b", b"B")
    with pytest.raises(WrongState, match="'b': already exists"):
        files.rename("a", "b")
    assert files.read("b")[1] == b"B"
    info = files.rename("a", "b", overwrite=True)
    assert (info.path, info.size) == ("b", 1)
    assert files.read("b")[1] == b"A"
    with pytest.raises(NoSuchEntity):
        files.stat("a")
    with pytest.raises(NoSuchEntity):
        files.rename("a", "c")


def test_rename_directory_across_directories(files: WorkspaceFiles) -> None:
    """A directory moves with its contents into another directory."""
    files.write("src/inner/f", b"x", create_parents=True)
    files.make_dir("dst")
    assert files.rename("src", "dst/moved").type is FileType.DIRECTORY
    assert files.read("dst/moved/inner/f")[1] == b"x"


def test_bad_paths_are_bad_requests(files: WorkspaceFiles) -> None:
    """A NUL byte, an over-long path or an over-long name is BadRequest."""
    for path in ("a\x00b", "a/" * 2100, "n" * 256):
        with pytest.raises(BadRequest):
            files.write(path, b"x")


def test_file_in_the_middle_of_a_path_is_wrong_state(files: WorkspaceFiles) -> None:
    """A path through a regular file is refused as not a directory."""
    files.write("f", b"x")
    with pytest.raises(WrongState, match="not a directory"):
        files.read("f/g")


def test_fifo_is_refused_without_blocking(files: WorkspaceFiles, root: Path) -> None:
    """Reading, appending to or replacing a FIFO is refused at once, never waiting for a writer."""
    fifo = root / "pipe"
    os.mkfifo(fifo)
    with ThreadPoolExecutor(max_workers=1) as pool:
        for attempt in (
            lambda: files.read("pipe"),
            lambda: files.write("pipe", b"x", append=True),
            lambda: files.write("pipe", b"x"),
        ):
            future = pool.submit(attempt)
            try:
                with pytest.raises(WrongState, match="not a regular file"):
                    future.result(timeout=5)
            except FutureTimeout:
                os.close(os.open(fifo, os.O_RDWR))  # release the stuck thread
                pytest.fail("a FIFO blocked the daemon")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_socket_is_refused(files: WorkspaceFiles, root: Path) -> None:
    """A Unix socket in the workspace is neither read nor written."""
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(root / "sock"))
        with pytest.raises(WrongState, match="not a regular file"):
            files.read("sock")
        with pytest.raises(WrongState, match="not a regular file"):
            files.write("sock", b"x", append=True)


def test_quota_exceeded_is_over_limit_and_leaves_nothing(tmpfs: Path) -> None:
    """On a full tmpfs a write is OverLimit, and no partial or temporary file stays behind."""
    files = files_at(tmpfs)
    files.write("keep", b"old content")
    with pytest.raises(OverLimit, match="workspace quota exceeded"):
        files.write("keep", b"x" * (2 * 1024 * 1024))
    with pytest.raises(OverLimit, match="workspace quota exceeded"):
        files.write("new", b"x" * (2 * 1024 * 1024))
    assert sorted(p.name for p in tmpfs.iterdir()) == ["keep"]
    assert files.read("keep")[1] == b"old content"


def test_tmpfs_files_belong_to_the_sandbox_user(tmpfs: Path) -> None:
    """On the real workspace file system too, created files are the sandbox user's."""
    files = files_at(tmpfs)
    files.write("a/b", b"x", create_parents=True)
    for name in ("a", "a/b"):
        st = (tmpfs / name).lstat()
        assert (st.st_uid, st.st_gid) == (SANDBOX_UID, SANDBOX_GID)


def test_tree_deeper_than_a_path_is_refused_not_crashed(tmpfs: Path) -> None:
    """A tree nested deeper than any path can name is OverLimit for a recursive remove, which
    never runs out of stack or descriptors on it."""
    fds = [os.open(tmpfs, os.O_RDONLY | os.O_DIRECTORY)]
    for _ in range(2100):  # 4200 bytes of "d/d/...": more than PATH_MAX
        os.mkdir("d", dir_fd=fds[-1])
        fds.append(os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fds[-1]))
    for fd in fds:
        os.close(fd)
    with pytest.raises(OverLimit, match="too deep"):
        files_at(tmpfs).remove("d", recursive=True)


def test_missing_workspace_is_wrong_state(tmp_path: Path) -> None:
    """A workspace removed under the caller (a destroyed session) is WrongState, not a crash."""
    with pytest.raises(WrongState, match="gone"):
        files_at(tmp_path / "gone").stat("")
