"""The synchronous client's session calls: sessions, commands in them, and workspace files."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from runtime.api.convert_results import limits_to_proto
from runtime.proto.skillrt.v1 import sessions_pb2 as spb
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.sandbox.profiles import LimitOverrides

__all__ = ["ExecOutcome", "SessionCalls"]

_CHUNK = 64 * 1024
Stdin = bytes | Iterable[bytes]


@dataclass(frozen=True, kw_only=True)
class ExecOutcome:
    """How a command ended, and what it printed (also streamed to ``on_output`` as it came)."""

    exec_id: str
    exit_status: int  # the exit code, or 128 + the killing signal
    result: pb.Result
    stdout: bytes
    stderr: bytes
    approval_id: str = ""  # set when the command waits for a person and the call did not wait


class SessionCalls:
    """Mixed into ``Client``: it provides the stubs and the call metadata."""

    _sessions: Any
    _workspace: Any
    _meta: tuple[tuple[str, str], ...]

    def create_session(
        self,
        *,
        profile: str = "",
        skills: Iterable[str] = (),
        workspace_bytes: int = 0,
        idle_timeout_ms: int = 0,
        limits: LimitOverrides | None = None,
        timeout: float = 60,
    ) -> spb.Session:
        session: spb.Session = self._sessions.CreateSession(
            spb.CreateSessionRequest(
                profile=profile,
                skills=list(skills),
                workspace_bytes=workspace_bytes,
                idle_timeout_ms=idle_timeout_ms,
                limits=limits_to_proto(limits or LimitOverrides()),
            ),
            timeout=timeout,
            metadata=self._meta,
        )
        return session

    def get_session(self, session_id: str, *, timeout: float = 30) -> spb.Session:
        session: spb.Session = self._sessions.GetSession(
            spb.GetSessionRequest(id=session_id), timeout=timeout, metadata=self._meta
        )
        return session

    def list_sessions(self, *, timeout: float = 30) -> list[spb.Session]:
        response = self._sessions.ListSessions(
            spb.ListSessionsRequest(), timeout=timeout, metadata=self._meta
        )
        return list(response.sessions)

    def destroy_session(self, session_id: str, *, timeout: float = 60) -> spb.Session:
        session: spb.Session = self._sessions.DestroySession(
            spb.DestroySessionRequest(id=session_id), timeout=timeout, metadata=self._meta
        )
        return session

    def exec_stream(
        self,
        session_id: str,
        argv: Iterable[str],
        *,
        stdin: Stdin = b"",
        cwd: str = "",
        env: Mapping[str, str] | None = None,
        limits: LimitOverrides | None = None,
        approval_id: str = "",
        wait_for_approval: bool = False,
        timeout: float | None = None,
    ) -> Iterator[spb.ExecEvent]:
        """The command's events as they come: started, output chunks, finished."""
        start = spb.ExecStart(
            session_id=session_id,
            argv=list(argv),
            cwd=cwd,
            env=dict(env or {}),
            limits=limits_to_proto(limits or LimitOverrides()),
            approval_id=approval_id,
            wait_for_approval=wait_for_approval,
        )
        yield from self._sessions.Exec(
            _requests(start, stdin), timeout=timeout, metadata=self._meta
        )

    def exec(
        self,
        session_id: str,
        argv: Iterable[str],
        *,
        on_output: Callable[[str, bytes], None] | None = None,
        **options: Any,
    ) -> ExecOutcome:
        """Run one command to its end; ``options`` are those of ``exec_stream``."""
        out, err = bytearray(), bytearray()
        outcome: ExecOutcome | None = None
        for event in self.exec_stream(session_id, argv, **options):
            kind = event.WhichOneof("event")
            if kind == "output":
                stream = "stderr" if event.output.stream == 2 else "stdout"
                (err if stream == "stderr" else out).extend(event.output.data)
                if on_output is not None:
                    on_output(stream, event.output.data)
            elif kind == "pending_approval":
                pending = event.pending_approval
                outcome = ExecOutcome(
                    exec_id=pending.exec_id,
                    exit_status=126,
                    result=pb.Result(status=pb.STATUS_PENDING_APPROVAL),
                    stdout=bytes(out),
                    stderr=bytes(err),
                    approval_id=pending.approval_id,
                )
            elif kind == "finished":
                return ExecOutcome(
                    exec_id=event.finished.exec_id,
                    exit_status=event.finished.exit_status,
                    result=event.finished.result,
                    stdout=bytes(out),
                    stderr=bytes(err),
                )
        if outcome is None:
            raise ConnectionError("the daemon ended the command's stream without a result")
        return outcome  # the stream ended waiting for a person

    def read_file(self, session_id: str, path: str, *, timeout: float = 60) -> bytes:
        """A whole file of the workspace, read in pieces."""
        data = bytearray()
        while True:
            response = self._workspace.ReadFile(
                spb.ReadFileRequest(session_id=session_id, path=path, offset=len(data)),
                timeout=timeout,
                metadata=self._meta,
            )
            data.extend(response.data)
            if not response.truncated:
                return bytes(data)

    def write_file(
        self, session_id: str, path: str, data: bytes, *, create_parents: bool = True
    ) -> spb.FileInfo:
        info: spb.FileInfo = self._workspace.WriteFile(
            spb.WriteFileRequest(
                session_id=session_id, path=path, data=data, create_parents=create_parents
            ),
            timeout=60,
            metadata=self._meta,
        )
        return info

    def stat(self, session_id: str, path: str) -> spb.FileInfo:
        info: spb.FileInfo = self._workspace.Stat(
            spb.StatRequest(session_id=session_id, path=path), timeout=30, metadata=self._meta
        )
        return info

    def list_dir(self, session_id: str, path: str = "") -> list[spb.FileInfo]:
        response = self._workspace.ListDir(
            spb.ListDirRequest(session_id=session_id, path=path), timeout=30, metadata=self._meta
        )
        return list(response.entries)

    def make_dir(self, session_id: str, path: str, *, parents: bool = True) -> spb.FileInfo:
        info: spb.FileInfo = self._workspace.MakeDir(
            spb.MakeDirRequest(session_id=session_id, path=path, parents=parents),
            timeout=30,
            metadata=self._meta,
        )
        return info

    def rename(
        self, session_id: str, source: str, destination: str, *, overwrite: bool = False
    ) -> spb.FileInfo:
        request = spb.RenameRequest(session_id=session_id, to=destination, overwrite=overwrite)
        setattr(request, "from", source)  # a Python keyword, so not a constructor argument
        info: spb.FileInfo = self._workspace.Rename(request, timeout=30, metadata=self._meta)
        return info

    def remove(
        self, session_id: str, path: str, *, recursive: bool = False, missing_ok: bool = False
    ) -> None:
        self._workspace.Remove(
            spb.RemoveRequest(
                session_id=session_id, path=path, recursive=recursive, missing_ok=missing_ok
            ),
            timeout=60,
            metadata=self._meta,
        )


def _requests(start: spb.ExecStart, stdin: Stdin) -> Iterator[spb.ExecRequest]:
    yield spb.ExecRequest(start=start)
    chunks: Iterable[bytes] = (
        (stdin[i : i + _CHUNK] for i in range(0, len(stdin), _CHUNK))
        if isinstance(stdin, bytes)
        else stdin
    )
    for chunk in chunks:
        yield spb.ExecRequest(stdin=chunk)
