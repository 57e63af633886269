"""The Workspace servicer, unit level: proto in and out, the caller's session, errors unchanged."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from runtime.api.workspace import WorkspaceServicer
from runtime.auth.roles import Principal, Role, current_principal
from runtime.core.workspace_files import FileInfo, WorkspaceFiles
from runtime.errors import BadRequest, NoSuchEntity, NotAllowed, WrongState
from runtime.proto.skillrt.v1 import sessions_pb2 as pb
from runtime.proto.skillrt.v1 import sessions_pb2_grpc as pb_grpc
from tests.core.workspace_fixtures import files_at

AGENT = Principal(name="agent-1", role=Role.AGENT, authenticated_by="token")
T = TypeVar("T")


class FakeSessions:
    """Stands in for the session registry: one session, owned by AGENT."""

    def __init__(self, files: WorkspaceFiles) -> None:
        self.files = files
        self.calls: list[tuple[str, str]] = []

    async def workspace_of(self, session_id: str, caller: Principal) -> WorkspaceFiles:
        self.calls.append((session_id, caller.name))
        if session_id != "ses_1":
            raise NoSuchEntity(f"session {session_id!r}: not found")
        if caller != AGENT:
            raise NotAllowed("not your session")
        return self.files


class ThreadNoting(WorkspaceFiles):
    """Notes which thread each operation ran in."""

    threads: list[str]

    def stat(self, path: str) -> FileInfo:
        self.threads.append(threading.current_thread().name)
        return super().stat(path)


@pytest.fixture
def sessions(tmp_path: Path) -> FakeSessions:
    return FakeSessions(files_at(tmp_path))


@pytest.fixture
def servicer(sessions: FakeSessions) -> WorkspaceServicer:
    return WorkspaceServicer(sessions.workspace_of)


def call(method: Callable[[Any, Any], Awaitable[T]], request: Any, who: Principal = AGENT) -> T:
    """Serve one request as the interceptor would: with the caller's principal set."""

    async def serve() -> T:
        current_principal.set(who)
        return await method(request, None)

    return asyncio.run(serve())


def test_every_workspace_rpc_is_implemented() -> None:
    """The servicer overrides each RPC of the Workspace service (none answers UNIMPLEMENTED)."""
    methods = pb.DESCRIPTOR.services_by_name["Workspace"].methods_by_name
    for name in methods:
        assert getattr(WorkspaceServicer, name) is not getattr(pb_grpc.WorkspaceServicer, name)


def test_write_read_stat_round_trip(servicer: WorkspaceServicer, sessions: FakeSessions) -> None:
    """WriteFile, ReadFile and Stat carry data and FileInfo through the proto messages."""
    written = call(
        servicer.WriteFile,
        pb.WriteFileRequest(
            session_id="ses_1",
            path="/workspace/d/f.sh",
            data=b"echo",
            create_parents=True,
            mode=0o755,
        ),
    )
    assert (written.path, written.type, written.size, written.mode) == (
        "d/f.sh",
        pb.FILE_TYPE_FILE,
        4,
        0o755,
    )
    read = call(servicer.ReadFile, pb.ReadFileRequest(session_id="ses_1", path="d/f.sh", length=2))
    assert (read.data, read.truncated, read.info.path) == (b"ec", True, "d/f.sh")
    stat = call(servicer.Stat, pb.StatRequest(session_id="ses_1", path="d"))
    assert stat.type == pb.FILE_TYPE_DIRECTORY
    assert stat.modified_at_ms > 0
    assert sessions.calls == [("ses_1", "agent-1")] * 3


def test_mode_zero_means_the_default(servicer: WorkspaceServicer) -> None:
    """An unset mode gives a new file 0644."""
    info = call(servicer.WriteFile, pb.WriteFileRequest(session_id="ses_1", path="f", data=b""))
    assert info.mode == 0o644


def test_append_and_exclusive_reach_the_file(servicer: WorkspaceServicer) -> None:
    """append adds to the file; exclusive on an existing file is refused."""
    for _ in range(2):
        call(
            servicer.WriteFile,
            pb.WriteFileRequest(session_id="ses_1", path="log", data=b"x", append=True),
        )
    read = call(servicer.ReadFile, pb.ReadFileRequest(session_id="ses_1", path="log"))
    assert read.data == b"xx"
    with pytest.raises(WrongState, match="already exists"):
        call(
            servicer.WriteFile,
            pb.WriteFileRequest(session_id="ses_1", path="log", data=b"y", exclusive=True),
        )


def test_list_make_rename_remove(servicer: WorkspaceServicer, tmp_path: Path) -> None:
    """MakeDir, Rename (its `from` field), ListDir and Remove work through the messages."""
    call(servicer.MakeDir, pb.MakeDirRequest(session_id="ses_1", path="a/b", parents=True))
    (tmp_path / "link").symlink_to("a")
    renamed = call(servicer.Rename, pb.RenameRequest(session_id="ses_1", **{"from": "a/b"}, to="c"))
    assert (renamed.path, renamed.type) == ("c", pb.FILE_TYPE_DIRECTORY)
    listed = call(servicer.ListDir, pb.ListDirRequest(session_id="ses_1"))
    assert [(e.path, e.type, e.link_target) for e in listed.entries] == [
        ("a", pb.FILE_TYPE_DIRECTORY, ""),
        ("c", pb.FILE_TYPE_DIRECTORY, ""),
        ("link", pb.FILE_TYPE_SYMLINK, "a"),
    ]
    call(servicer.Remove, pb.RemoveRequest(session_id="ses_1", path="a", recursive=True))
    call(servicer.Remove, pb.RemoveRequest(session_id="ses_1", path="gone", missing_ok=True))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c", "link"]


def test_names_that_are_not_utf8_still_list(servicer: WorkspaceServicer, tmp_path: Path) -> None:
    """A file name a command wrote in another encoding is listed (with U+FFFD), not a crash."""
    (tmp_path / b"caf\xe9".decode("utf-8", "surrogateescape")).touch()
    listed = call(servicer.ListDir, pb.ListDirRequest(session_id="ses_1"))
    assert [e.path for e in listed.entries] == ["caf\ufffd"]
    assert pb.ListDirResponse.FromString(listed.SerializeToString()) == listed


def test_session_errors_pass_through(servicer: WorkspaceServicer) -> None:
    """What the session lookup raises reaches the caller unchanged; no session id is a bad
    request."""
    other = Principal(name="agent-2", role=Role.AGENT, authenticated_by="token")
    with pytest.raises(NotAllowed, match="not your session"):
        call(servicer.Stat, pb.StatRequest(session_id="ses_1", path=""), who=other)
    with pytest.raises(NoSuchEntity, match="ses_2"):
        call(servicer.Stat, pb.StatRequest(session_id="ses_2", path=""))
    with pytest.raises(BadRequest, match="session_id"):
        call(servicer.Stat, pb.StatRequest(path=""))


def test_escapes_are_refused(servicer: WorkspaceServicer, tmp_path: Path) -> None:
    """A path leaving the workspace is NotAllowed through the servicer too."""
    (tmp_path / "esc").symlink_to("/etc")
    with pytest.raises(NotAllowed, match="leaves the workspace"):
        call(servicer.ReadFile, pb.ReadFileRequest(session_id="ses_1", path="esc/passwd"))
    with pytest.raises(NotAllowed):
        call(servicer.ReadFile, pb.ReadFileRequest(session_id="ses_1", path="../x"))


def test_file_work_runs_off_the_event_loop(tmp_path: Path) -> None:
    """File operations run in a worker thread, never on the event loop's."""
    files = ThreadNoting(tmp_path, uid=0, gid=0, max_read_bytes=10, max_write_bytes=10)
    files.threads = []
    servicer = WorkspaceServicer(FakeSessions(files).workspace_of)
    call(servicer.Stat, pb.StatRequest(session_id="ses_1", path=""))
    assert files.threads and files.threads[0] != threading.main_thread().name
