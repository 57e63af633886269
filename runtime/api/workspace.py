"""The Workspace gRPC service: a session's files, for clients that have no tools inside it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias

import grpc

from runtime.auth.roles import Principal, principal
from runtime.core.workspace_files import FileInfo, FileType, WorkspaceFiles
from runtime.errors import BadRequest
from runtime.proto.skillrt.v1 import sessions_pb2 as pb
from runtime.proto.skillrt.v1 import sessions_pb2_grpc as pb_grpc

__all__ = ["Context", "WorkspaceOf", "WorkspaceServicer"]

Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"
# The workspace of a session the caller owns and may use now (and marks it used); raises
# NoSuchEntity, NotAllowed or WrongState otherwise.
WorkspaceOf: TypeAlias = Callable[[str, Principal], Awaitable[WorkspaceFiles]]

_FILE_TYPES = {
    FileType.FILE: pb.FILE_TYPE_FILE,
    FileType.DIRECTORY: pb.FILE_TYPE_DIRECTORY,
    FileType.SYMLINK: pb.FILE_TYPE_SYMLINK,
    FileType.OTHER: pb.FILE_TYPE_OTHER,
}


class WorkspaceServicer(pb_grpc.WorkspaceServicer):
    """Each call finds the caller's session's workspace, then works on it off the event loop."""

    def __init__(self, workspace_of: WorkspaceOf) -> None:
        self._workspace_of = workspace_of

    async def ReadFile(self, request: pb.ReadFileRequest, context: Context) -> pb.ReadFileResponse:
        files = await self._files(request.session_id)
        info, data, truncated = await asyncio.to_thread(
            files.read, request.path, request.offset, request.length
        )
        return pb.ReadFileResponse(info=_info(info), data=data, truncated=truncated)

    async def WriteFile(self, request: pb.WriteFileRequest, context: Context) -> pb.FileInfo:
        files = await self._files(request.session_id)
        info = await asyncio.to_thread(
            lambda: files.write(
                request.path,
                request.data,
                append=request.append,
                create_parents=request.create_parents,
                exclusive=request.exclusive,
                mode=request.mode or None,
            )
        )
        return _info(info)

    async def Stat(self, request: pb.StatRequest, context: Context) -> pb.FileInfo:
        files = await self._files(request.session_id)
        return _info(await asyncio.to_thread(files.stat, request.path))

    async def ListDir(self, request: pb.ListDirRequest, context: Context) -> pb.ListDirResponse:
        files = await self._files(request.session_id)
        entries = await asyncio.to_thread(files.list_dir, request.path)
        return pb.ListDirResponse(entries=[_info(entry) for entry in entries])

    async def MakeDir(self, request: pb.MakeDirRequest, context: Context) -> pb.FileInfo:
        files = await self._files(request.session_id)
        info = await asyncio.to_thread(
            lambda: files.make_dir(request.path, parents=request.parents)
        )
        return _info(info)

    async def Remove(self, request: pb.RemoveRequest, context: Context) -> pb.RemoveResponse:
        files = await self._files(request.session_id)
        await asyncio.to_thread(
            lambda: files.remove(
                request.path, recursive=request.recursive, missing_ok=request.missing_ok
            )
        )
        return pb.RemoveResponse()

    async def Rename(self, request: pb.RenameRequest, context: Context) -> pb.FileInfo:
        files = await self._files(request.session_id)
        source = getattr(request, "from")  # `from` is a Python keyword
        info = await asyncio.to_thread(
            lambda: files.rename(source, request.to, overwrite=request.overwrite)
        )
        return _info(info)

    async def _files(self, session_id: str) -> WorkspaceFiles:
        if not session_id:
            raise BadRequest("session_id: required")
        return await self._workspace_of(session_id, principal())


def _info(info: FileInfo) -> pb.FileInfo:
    return pb.FileInfo(
        path=_text(info.path),
        type=_FILE_TYPES[info.type],
        size=info.size,
        mode=info.mode,
        modified_at_ms=info.modified_ms,
        link_target=_text(info.link_target or ""),
    )


def _text(name: str) -> str:
    """A file name as protobuf can carry it: a command may name files with bytes that are not
    UTF-8, which Python keeps as lone surrogates; they are shown as U+FFFD."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
