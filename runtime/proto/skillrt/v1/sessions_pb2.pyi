from runtime.proto.skillrt.v1 import skillrt_pb2 as _skillrt_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SessionState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SESSION_STATE_UNSPECIFIED: _ClassVar[SessionState]
    SESSION_STATE_ACTIVE: _ClassVar[SessionState]
    SESSION_STATE_DESTROYED: _ClassVar[SessionState]
    SESSION_STATE_EXPIRED: _ClassVar[SessionState]

class FileType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FILE_TYPE_UNSPECIFIED: _ClassVar[FileType]
    FILE_TYPE_FILE: _ClassVar[FileType]
    FILE_TYPE_DIRECTORY: _ClassVar[FileType]
    FILE_TYPE_SYMLINK: _ClassVar[FileType]
    FILE_TYPE_OTHER: _ClassVar[FileType]
SESSION_STATE_UNSPECIFIED: SessionState
SESSION_STATE_ACTIVE: SessionState
SESSION_STATE_DESTROYED: SessionState
SESSION_STATE_EXPIRED: SessionState
FILE_TYPE_UNSPECIFIED: FileType
FILE_TYPE_FILE: FileType
FILE_TYPE_DIRECTORY: FileType
FILE_TYPE_SYMLINK: FileType
FILE_TYPE_OTHER: FileType

class CreateSessionRequest(_message.Message):
    __slots__ = ("profile", "skills", "workspace_bytes", "idle_timeout_ms", "limits")
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    SKILLS_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_BYTES_FIELD_NUMBER: _ClassVar[int]
    IDLE_TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    profile: str
    skills: _containers.RepeatedScalarFieldContainer[str]
    workspace_bytes: int
    idle_timeout_ms: int
    limits: _skillrt_pb2.Limits
    def __init__(self, profile: _Optional[str] = ..., skills: _Optional[_Iterable[str]] = ..., workspace_bytes: _Optional[int] = ..., idle_timeout_ms: _Optional[int] = ..., limits: _Optional[_Union[_skillrt_pb2.Limits, _Mapping]] = ...) -> None: ...

class Session(_message.Message):
    __slots__ = ("id", "owner", "profile", "skills", "state", "workspace_bytes", "workspace_used_bytes", "idle_timeout_ms", "created_at_ms", "last_active_at_ms", "expires_at_ms", "limits", "workdir", "running", "commands", "env_allowed")
    ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    SKILLS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_BYTES_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    IDLE_TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    LAST_ACTIVE_AT_MS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_MS_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    WORKDIR_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    COMMANDS_FIELD_NUMBER: _ClassVar[int]
    ENV_ALLOWED_FIELD_NUMBER: _ClassVar[int]
    id: str
    owner: str
    profile: str
    skills: _containers.RepeatedScalarFieldContainer[str]
    state: SessionState
    workspace_bytes: int
    workspace_used_bytes: int
    idle_timeout_ms: int
    created_at_ms: int
    last_active_at_ms: int
    expires_at_ms: int
    limits: _skillrt_pb2.Limits
    workdir: str
    running: int
    commands: int
    env_allowed: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., owner: _Optional[str] = ..., profile: _Optional[str] = ..., skills: _Optional[_Iterable[str]] = ..., state: _Optional[_Union[SessionState, str]] = ..., workspace_bytes: _Optional[int] = ..., workspace_used_bytes: _Optional[int] = ..., idle_timeout_ms: _Optional[int] = ..., created_at_ms: _Optional[int] = ..., last_active_at_ms: _Optional[int] = ..., expires_at_ms: _Optional[int] = ..., limits: _Optional[_Union[_skillrt_pb2.Limits, _Mapping]] = ..., workdir: _Optional[str] = ..., running: _Optional[int] = ..., commands: _Optional[int] = ..., env_allowed: _Optional[_Iterable[str]] = ...) -> None: ...

class GetSessionRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListSessionsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListSessionsResponse(_message.Message):
    __slots__ = ("sessions",)
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[Session]
    def __init__(self, sessions: _Optional[_Iterable[_Union[Session, _Mapping]]] = ...) -> None: ...

class DestroySessionRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ExecRequest(_message.Message):
    __slots__ = ("start", "stdin")
    START_FIELD_NUMBER: _ClassVar[int]
    STDIN_FIELD_NUMBER: _ClassVar[int]
    start: ExecStart
    stdin: bytes
    def __init__(self, start: _Optional[_Union[ExecStart, _Mapping]] = ..., stdin: _Optional[bytes] = ...) -> None: ...

class ExecStart(_message.Message):
    __slots__ = ("session_id", "argv", "cwd", "env", "limits", "approval_id", "wait_for_approval")
    class EnvEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ARGV_FIELD_NUMBER: _ClassVar[int]
    CWD_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    WAIT_FOR_APPROVAL_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    argv: _containers.RepeatedScalarFieldContainer[str]
    cwd: str
    env: _containers.ScalarMap[str, str]
    limits: _skillrt_pb2.Limits
    approval_id: str
    wait_for_approval: bool
    def __init__(self, session_id: _Optional[str] = ..., argv: _Optional[_Iterable[str]] = ..., cwd: _Optional[str] = ..., env: _Optional[_Mapping[str, str]] = ..., limits: _Optional[_Union[_skillrt_pb2.Limits, _Mapping]] = ..., approval_id: _Optional[str] = ..., wait_for_approval: _Optional[bool] = ...) -> None: ...

class ExecEvent(_message.Message):
    __slots__ = ("started", "output", "pending_approval", "finished")
    class Started(_message.Message):
        __slots__ = ("exec_id",)
        EXEC_ID_FIELD_NUMBER: _ClassVar[int]
        exec_id: str
        def __init__(self, exec_id: _Optional[str] = ...) -> None: ...
    class PendingApproval(_message.Message):
        __slots__ = ("exec_id", "approval_id", "expires_at_ms")
        EXEC_ID_FIELD_NUMBER: _ClassVar[int]
        APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
        EXPIRES_AT_MS_FIELD_NUMBER: _ClassVar[int]
        exec_id: str
        approval_id: str
        expires_at_ms: int
        def __init__(self, exec_id: _Optional[str] = ..., approval_id: _Optional[str] = ..., expires_at_ms: _Optional[int] = ...) -> None: ...
    class Finished(_message.Message):
        __slots__ = ("exec_id", "result", "exit_status")
        EXEC_ID_FIELD_NUMBER: _ClassVar[int]
        RESULT_FIELD_NUMBER: _ClassVar[int]
        EXIT_STATUS_FIELD_NUMBER: _ClassVar[int]
        exec_id: str
        result: _skillrt_pb2.Result
        exit_status: int
        def __init__(self, exec_id: _Optional[str] = ..., result: _Optional[_Union[_skillrt_pb2.Result, _Mapping]] = ..., exit_status: _Optional[int] = ...) -> None: ...
    STARTED_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    PENDING_APPROVAL_FIELD_NUMBER: _ClassVar[int]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    started: ExecEvent.Started
    output: _skillrt_pb2.InvocationEvent.Output
    pending_approval: ExecEvent.PendingApproval
    finished: ExecEvent.Finished
    def __init__(self, started: _Optional[_Union[ExecEvent.Started, _Mapping]] = ..., output: _Optional[_Union[_skillrt_pb2.InvocationEvent.Output, _Mapping]] = ..., pending_approval: _Optional[_Union[ExecEvent.PendingApproval, _Mapping]] = ..., finished: _Optional[_Union[ExecEvent.Finished, _Mapping]] = ...) -> None: ...

class FileInfo(_message.Message):
    __slots__ = ("path", "type", "size", "mode", "modified_at_ms", "link_target")
    PATH_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    MODIFIED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    LINK_TARGET_FIELD_NUMBER: _ClassVar[int]
    path: str
    type: FileType
    size: int
    mode: int
    modified_at_ms: int
    link_target: str
    def __init__(self, path: _Optional[str] = ..., type: _Optional[_Union[FileType, str]] = ..., size: _Optional[int] = ..., mode: _Optional[int] = ..., modified_at_ms: _Optional[int] = ..., link_target: _Optional[str] = ...) -> None: ...

class ReadFileRequest(_message.Message):
    __slots__ = ("session_id", "path", "offset", "length")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    path: str
    offset: int
    length: int
    def __init__(self, session_id: _Optional[str] = ..., path: _Optional[str] = ..., offset: _Optional[int] = ..., length: _Optional[int] = ...) -> None: ...

class ReadFileResponse(_message.Message):
    __slots__ = ("info", "data", "truncated")
    INFO_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    info: FileInfo
    data: bytes
    truncated: bool
    def __init__(self, info: _Optional[_Union[FileInfo, _Mapping]] = ..., data: _Optional[bytes] = ..., truncated: _Optional[bool] = ...) -> None: ...

class WriteFileRequest(_message.Message):
    __slots__ = ("session_id", "path", "data", "append", "create_parents", "exclusive", "mode")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    APPEND_FIELD_NUMBER: _ClassVar[int]
    CREATE_PARENTS_FIELD_NUMBER: _ClassVar[int]
    EXCLUSIVE_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    path: str
    data: bytes
    append: bool
    create_parents: bool
    exclusive: bool
    mode: int
    def __init__(self, session_id: _Optional[str] = ..., path: _Optional[str] = ..., data: _Optional[bytes] = ..., append: _Optional[bool] = ..., create_parents: _Optional[bool] = ..., exclusive: _Optional[bool] = ..., mode: _Optional[int] = ...) -> None: ...

class StatRequest(_message.Message):
    __slots__ = ("session_id", "path")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    path: str
    def __init__(self, session_id: _Optional[str] = ..., path: _Optional[str] = ...) -> None: ...

class ListDirRequest(_message.Message):
    __slots__ = ("session_id", "path")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    path: str
    def __init__(self, session_id: _Optional[str] = ..., path: _Optional[str] = ...) -> None: ...

class ListDirResponse(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[FileInfo]
    def __init__(self, entries: _Optional[_Iterable[_Union[FileInfo, _Mapping]]] = ...) -> None: ...

class MakeDirRequest(_message.Message):
    __slots__ = ("session_id", "path", "parents")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    PARENTS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    path: str
    parents: bool
    def __init__(self, session_id: _Optional[str] = ..., path: _Optional[str] = ..., parents: _Optional[bool] = ...) -> None: ...

class RemoveRequest(_message.Message):
    __slots__ = ("session_id", "path", "recursive", "missing_ok")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    RECURSIVE_FIELD_NUMBER: _ClassVar[int]
    MISSING_OK_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    path: str
    recursive: bool
    missing_ok: bool
    def __init__(self, session_id: _Optional[str] = ..., path: _Optional[str] = ..., recursive: _Optional[bool] = ..., missing_ok: _Optional[bool] = ...) -> None: ...

class RemoveResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RenameRequest(_message.Message):
    __slots__ = ("session_id", "to", "overwrite")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    OVERWRITE_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    to: str
    overwrite: bool
    def __init__(self, session_id: _Optional[str] = ..., to: _Optional[str] = ..., overwrite: _Optional[bool] = ..., **kwargs) -> None: ...
