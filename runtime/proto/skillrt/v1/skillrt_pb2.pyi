from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STATUS_UNSPECIFIED: _ClassVar[Status]
    STATUS_OK: _ClassVar[Status]
    STATUS_NONZERO_EXIT: _ClassVar[Status]
    STATUS_TIMEOUT: _ClassVar[Status]
    STATUS_CPU_LIMIT: _ClassVar[Status]
    STATUS_MEMORY_LIMIT: _ClassVar[Status]
    STATUS_OUTPUT_LIMIT: _ClassVar[Status]
    STATUS_SECCOMP_VIOLATION: _ClassVar[Status]
    STATUS_SANDBOX_ERROR: _ClassVar[Status]
    STATUS_CANCELLED: _ClassVar[Status]
    STATUS_INVALID_OUTPUT: _ClassVar[Status]
    STATUS_PENDING_APPROVAL: _ClassVar[Status]
    STATUS_DENIED: _ClassVar[Status]
    STATUS_APPROVAL_EXPIRED: _ClassVar[Status]

class InvocationState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INVOCATION_STATE_UNSPECIFIED: _ClassVar[InvocationState]
    INVOCATION_STATE_QUEUED: _ClassVar[InvocationState]
    INVOCATION_STATE_RUNNING: _ClassVar[InvocationState]
    INVOCATION_STATE_FINISHED: _ClassVar[InvocationState]
    INVOCATION_STATE_AWAITING_APPROVAL: _ClassVar[InvocationState]

class SkillKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SKILL_KIND_UNSPECIFIED: _ClassVar[SkillKind]
    SKILL_KIND_TOOL: _ClassVar[SkillKind]
    SKILL_KIND_INSTRUCTION: _ClassVar[SkillKind]

class UsageGrouping(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    USAGE_GROUPING_UNSPECIFIED: _ClassVar[UsageGrouping]
    USAGE_GROUPING_SKILL: _ClassVar[UsageGrouping]
    USAGE_GROUPING_PRINCIPAL: _ClassVar[UsageGrouping]

class ApprovalState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    APPROVAL_STATE_UNSPECIFIED: _ClassVar[ApprovalState]
    APPROVAL_STATE_PENDING: _ClassVar[ApprovalState]
    APPROVAL_STATE_APPROVED: _ClassVar[ApprovalState]
    APPROVAL_STATE_DENIED: _ClassVar[ApprovalState]
    APPROVAL_STATE_EXPIRED: _ClassVar[ApprovalState]
    APPROVAL_STATE_CANCELLED: _ClassVar[ApprovalState]
STATUS_UNSPECIFIED: Status
STATUS_OK: Status
STATUS_NONZERO_EXIT: Status
STATUS_TIMEOUT: Status
STATUS_CPU_LIMIT: Status
STATUS_MEMORY_LIMIT: Status
STATUS_OUTPUT_LIMIT: Status
STATUS_SECCOMP_VIOLATION: Status
STATUS_SANDBOX_ERROR: Status
STATUS_CANCELLED: Status
STATUS_INVALID_OUTPUT: Status
STATUS_PENDING_APPROVAL: Status
STATUS_DENIED: Status
STATUS_APPROVAL_EXPIRED: Status
INVOCATION_STATE_UNSPECIFIED: InvocationState
INVOCATION_STATE_QUEUED: InvocationState
INVOCATION_STATE_RUNNING: InvocationState
INVOCATION_STATE_FINISHED: InvocationState
INVOCATION_STATE_AWAITING_APPROVAL: InvocationState
SKILL_KIND_UNSPECIFIED: SkillKind
SKILL_KIND_TOOL: SkillKind
SKILL_KIND_INSTRUCTION: SkillKind
USAGE_GROUPING_UNSPECIFIED: UsageGrouping
USAGE_GROUPING_SKILL: UsageGrouping
USAGE_GROUPING_PRINCIPAL: UsageGrouping
APPROVAL_STATE_UNSPECIFIED: ApprovalState
APPROVAL_STATE_PENDING: ApprovalState
APPROVAL_STATE_APPROVED: ApprovalState
APPROVAL_STATE_DENIED: ApprovalState
APPROVAL_STATE_EXPIRED: ApprovalState
APPROVAL_STATE_CANCELLED: ApprovalState

class Limits(_message.Message):
    __slots__ = ("memory_bytes", "pids", "cpu_time_ms", "wall_time_ms", "output_bytes", "open_files", "file_size_bytes", "cpus")
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    PIDS_FIELD_NUMBER: _ClassVar[int]
    CPU_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    WALL_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_BYTES_FIELD_NUMBER: _ClassVar[int]
    OPEN_FILES_FIELD_NUMBER: _ClassVar[int]
    FILE_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    CPUS_FIELD_NUMBER: _ClassVar[int]
    memory_bytes: int
    pids: int
    cpu_time_ms: int
    wall_time_ms: int
    output_bytes: int
    open_files: int
    file_size_bytes: int
    cpus: float
    def __init__(self, memory_bytes: _Optional[int] = ..., pids: _Optional[int] = ..., cpu_time_ms: _Optional[int] = ..., wall_time_ms: _Optional[int] = ..., output_bytes: _Optional[int] = ..., open_files: _Optional[int] = ..., file_size_bytes: _Optional[int] = ..., cpus: _Optional[float] = ...) -> None: ...

class Tool(_message.Message):
    __slots__ = ("name", "description", "input_schema_json", "elevated", "approval", "effective_limits")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    INPUT_SCHEMA_JSON_FIELD_NUMBER: _ClassVar[int]
    ELEVATED_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_LIMITS_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    input_schema_json: str
    elevated: bool
    approval: str
    effective_limits: Limits
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., input_schema_json: _Optional[str] = ..., elevated: _Optional[bool] = ..., approval: _Optional[str] = ..., effective_limits: _Optional[_Union[Limits, _Mapping]] = ...) -> None: ...

class Permissions(_message.Message):
    __slots__ = ("network", "secrets", "readonly_paths")
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    SECRETS_FIELD_NUMBER: _ClassVar[int]
    READONLY_PATHS_FIELD_NUMBER: _ClassVar[int]
    network: _containers.RepeatedScalarFieldContainer[str]
    secrets: _containers.RepeatedScalarFieldContainer[str]
    readonly_paths: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, network: _Optional[_Iterable[str]] = ..., secrets: _Optional[_Iterable[str]] = ..., readonly_paths: _Optional[_Iterable[str]] = ...) -> None: ...

class Skill(_message.Message):
    __slots__ = ("name", "description", "version", "profile", "content_hash", "tools", "permissions", "kind", "available", "unavailable_reason", "requires_bins", "requires_any_bins", "requires_env", "os", "signed_by")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_HASH_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    UNAVAILABLE_REASON_FIELD_NUMBER: _ClassVar[int]
    REQUIRES_BINS_FIELD_NUMBER: _ClassVar[int]
    REQUIRES_ANY_BINS_FIELD_NUMBER: _ClassVar[int]
    REQUIRES_ENV_FIELD_NUMBER: _ClassVar[int]
    OS_FIELD_NUMBER: _ClassVar[int]
    SIGNED_BY_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    version: str
    profile: str
    content_hash: str
    tools: _containers.RepeatedCompositeFieldContainer[Tool]
    permissions: Permissions
    kind: SkillKind
    available: bool
    unavailable_reason: str
    requires_bins: _containers.RepeatedScalarFieldContainer[str]
    requires_any_bins: _containers.RepeatedScalarFieldContainer[str]
    requires_env: _containers.RepeatedScalarFieldContainer[str]
    os: _containers.RepeatedScalarFieldContainer[str]
    signed_by: Signer
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., version: _Optional[str] = ..., profile: _Optional[str] = ..., content_hash: _Optional[str] = ..., tools: _Optional[_Iterable[_Union[Tool, _Mapping]]] = ..., permissions: _Optional[_Union[Permissions, _Mapping]] = ..., kind: _Optional[_Union[SkillKind, str]] = ..., available: _Optional[bool] = ..., unavailable_reason: _Optional[str] = ..., requires_bins: _Optional[_Iterable[str]] = ..., requires_any_bins: _Optional[_Iterable[str]] = ..., requires_env: _Optional[_Iterable[str]] = ..., os: _Optional[_Iterable[str]] = ..., signed_by: _Optional[_Union[Signer, _Mapping]] = ...) -> None: ...

class ListSkillsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListSkillsResponse(_message.Message):
    __slots__ = ("skills",)
    SKILLS_FIELD_NUMBER: _ClassVar[int]
    skills: _containers.RepeatedCompositeFieldContainer[Skill]
    def __init__(self, skills: _Optional[_Iterable[_Union[Skill, _Mapping]]] = ...) -> None: ...

class GetSkillRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class InvokeRequest(_message.Message):
    __slots__ = ("skill", "tool", "input_json", "limits", "idempotency_key", "wait_for_approval", "approval_id")
    SKILL_FIELD_NUMBER: _ClassVar[int]
    TOOL_FIELD_NUMBER: _ClassVar[int]
    INPUT_JSON_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    WAIT_FOR_APPROVAL_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    skill: str
    tool: str
    input_json: str
    limits: Limits
    idempotency_key: str
    wait_for_approval: bool
    approval_id: str
    def __init__(self, skill: _Optional[str] = ..., tool: _Optional[str] = ..., input_json: _Optional[str] = ..., limits: _Optional[_Union[Limits, _Mapping]] = ..., idempotency_key: _Optional[str] = ..., wait_for_approval: _Optional[bool] = ..., approval_id: _Optional[str] = ...) -> None: ...

class Usage(_message.Message):
    __slots__ = ("wall_ms", "cpu_ms", "peak_memory_bytes")
    WALL_MS_FIELD_NUMBER: _ClassVar[int]
    CPU_MS_FIELD_NUMBER: _ClassVar[int]
    PEAK_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    wall_ms: int
    cpu_ms: int
    peak_memory_bytes: int
    def __init__(self, wall_ms: _Optional[int] = ..., cpu_ms: _Optional[int] = ..., peak_memory_bytes: _Optional[int] = ...) -> None: ...

class Result(_message.Message):
    __slots__ = ("status", "exit_code", "signal", "stdout", "stderr", "stdout_truncated", "stderr_truncated", "output_json", "usage", "violations", "error", "egress")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_FIELD_NUMBER: _ClassVar[int]
    STDOUT_FIELD_NUMBER: _ClassVar[int]
    STDERR_FIELD_NUMBER: _ClassVar[int]
    STDOUT_TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    STDERR_TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_JSON_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    VIOLATIONS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    EGRESS_FIELD_NUMBER: _ClassVar[int]
    status: Status
    exit_code: int
    signal: int
    stdout: bytes
    stderr: bytes
    stdout_truncated: bool
    stderr_truncated: bool
    output_json: str
    usage: Usage
    violations: _containers.RepeatedScalarFieldContainer[str]
    error: str
    egress: _containers.RepeatedCompositeFieldContainer[EgressAttempt]
    def __init__(self, status: _Optional[_Union[Status, str]] = ..., exit_code: _Optional[int] = ..., signal: _Optional[int] = ..., stdout: _Optional[bytes] = ..., stderr: _Optional[bytes] = ..., stdout_truncated: _Optional[bool] = ..., stderr_truncated: _Optional[bool] = ..., output_json: _Optional[str] = ..., usage: _Optional[_Union[Usage, _Mapping]] = ..., violations: _Optional[_Iterable[str]] = ..., error: _Optional[str] = ..., egress: _Optional[_Iterable[_Union[EgressAttempt, _Mapping]]] = ...) -> None: ...

class EgressAttempt(_message.Message):
    __slots__ = ("method", "host", "port", "allowed", "reason", "address", "bytes_up", "bytes_down", "error")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    BYTES_UP_FIELD_NUMBER: _ClassVar[int]
    BYTES_DOWN_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    method: str
    host: str
    port: int
    allowed: bool
    reason: str
    address: str
    bytes_up: int
    bytes_down: int
    error: str
    def __init__(self, method: _Optional[str] = ..., host: _Optional[str] = ..., port: _Optional[int] = ..., allowed: _Optional[bool] = ..., reason: _Optional[str] = ..., address: _Optional[str] = ..., bytes_up: _Optional[int] = ..., bytes_down: _Optional[int] = ..., error: _Optional[str] = ...) -> None: ...

class Invocation(_message.Message):
    __slots__ = ("id", "skill", "tool", "skill_version", "profile", "state", "result", "created_at_ms", "finished_at_ms", "approval_id", "usage", "memory_bytes")
    ID_FIELD_NUMBER: _ClassVar[int]
    SKILL_FIELD_NUMBER: _ClassVar[int]
    TOOL_FIELD_NUMBER: _ClassVar[int]
    SKILL_VERSION_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    id: str
    skill: str
    tool: str
    skill_version: str
    profile: str
    state: InvocationState
    result: Result
    created_at_ms: int
    finished_at_ms: int
    approval_id: str
    usage: Usage
    memory_bytes: int
    def __init__(self, id: _Optional[str] = ..., skill: _Optional[str] = ..., tool: _Optional[str] = ..., skill_version: _Optional[str] = ..., profile: _Optional[str] = ..., state: _Optional[_Union[InvocationState, str]] = ..., result: _Optional[_Union[Result, _Mapping]] = ..., created_at_ms: _Optional[int] = ..., finished_at_ms: _Optional[int] = ..., approval_id: _Optional[str] = ..., usage: _Optional[_Union[Usage, _Mapping]] = ..., memory_bytes: _Optional[int] = ...) -> None: ...

class InvocationEvent(_message.Message):
    __slots__ = ("accepted", "started", "output", "finished", "pending_approval")
    class Accepted(_message.Message):
        __slots__ = ("invocation_id",)
        INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
        invocation_id: str
        def __init__(self, invocation_id: _Optional[str] = ...) -> None: ...
    class Started(_message.Message):
        __slots__ = ("invocation_id",)
        INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
        invocation_id: str
        def __init__(self, invocation_id: _Optional[str] = ...) -> None: ...
    class Output(_message.Message):
        __slots__ = ("stream", "data")
        class Stream(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
            __slots__ = ()
            STREAM_UNSPECIFIED: _ClassVar[InvocationEvent.Output.Stream]
            STREAM_STDOUT: _ClassVar[InvocationEvent.Output.Stream]
            STREAM_STDERR: _ClassVar[InvocationEvent.Output.Stream]
        STREAM_UNSPECIFIED: InvocationEvent.Output.Stream
        STREAM_STDOUT: InvocationEvent.Output.Stream
        STREAM_STDERR: InvocationEvent.Output.Stream
        STREAM_FIELD_NUMBER: _ClassVar[int]
        DATA_FIELD_NUMBER: _ClassVar[int]
        stream: InvocationEvent.Output.Stream
        data: bytes
        def __init__(self, stream: _Optional[_Union[InvocationEvent.Output.Stream, str]] = ..., data: _Optional[bytes] = ...) -> None: ...
    class PendingApproval(_message.Message):
        __slots__ = ("invocation_id", "approval_id", "expires_at_ms")
        INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
        APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
        EXPIRES_AT_MS_FIELD_NUMBER: _ClassVar[int]
        invocation_id: str
        approval_id: str
        expires_at_ms: int
        def __init__(self, invocation_id: _Optional[str] = ..., approval_id: _Optional[str] = ..., expires_at_ms: _Optional[int] = ...) -> None: ...
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    PENDING_APPROVAL_FIELD_NUMBER: _ClassVar[int]
    accepted: InvocationEvent.Accepted
    started: InvocationEvent.Started
    output: InvocationEvent.Output
    finished: Invocation
    pending_approval: InvocationEvent.PendingApproval
    def __init__(self, accepted: _Optional[_Union[InvocationEvent.Accepted, _Mapping]] = ..., started: _Optional[_Union[InvocationEvent.Started, _Mapping]] = ..., output: _Optional[_Union[InvocationEvent.Output, _Mapping]] = ..., finished: _Optional[_Union[Invocation, _Mapping]] = ..., pending_approval: _Optional[_Union[InvocationEvent.PendingApproval, _Mapping]] = ...) -> None: ...

class GetInvocationRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class CancelInvocationRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListInvocationsRequest(_message.Message):
    __slots__ = ("states", "skill", "tool", "principal", "since_ms", "page_size", "page_token")
    STATES_FIELD_NUMBER: _ClassVar[int]
    SKILL_FIELD_NUMBER: _ClassVar[int]
    TOOL_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    SINCE_MS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    states: _containers.RepeatedScalarFieldContainer[InvocationState]
    skill: str
    tool: str
    principal: str
    since_ms: int
    page_size: int
    page_token: str
    def __init__(self, states: _Optional[_Iterable[_Union[InvocationState, str]]] = ..., skill: _Optional[str] = ..., tool: _Optional[str] = ..., principal: _Optional[str] = ..., since_ms: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListInvocationsResponse(_message.Message):
    __slots__ = ("invocations", "next_page_token")
    INVOCATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    invocations: _containers.RepeatedCompositeFieldContainer[Invocation]
    next_page_token: str
    def __init__(self, invocations: _Optional[_Iterable[_Union[Invocation, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class WatchInvocationRequest(_message.Message):
    __slots__ = ("id", "follow")
    ID_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    id: str
    follow: bool
    def __init__(self, id: _Optional[str] = ..., follow: _Optional[bool] = ...) -> None: ...

class Signer(_message.Message):
    __slots__ = ("name", "key_id", "public_key_pem", "trusted_by", "trusted_at_ms")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_PEM_FIELD_NUMBER: _ClassVar[int]
    TRUSTED_BY_FIELD_NUMBER: _ClassVar[int]
    TRUSTED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    name: str
    key_id: str
    public_key_pem: str
    trusted_by: str
    trusted_at_ms: int
    def __init__(self, name: _Optional[str] = ..., key_id: _Optional[str] = ..., public_key_pem: _Optional[str] = ..., trusted_by: _Optional[str] = ..., trusted_at_ms: _Optional[int] = ...) -> None: ...

class TrustSignerRequest(_message.Message):
    __slots__ = ("name", "public_key_pem")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_PEM_FIELD_NUMBER: _ClassVar[int]
    name: str
    public_key_pem: str
    def __init__(self, name: _Optional[str] = ..., public_key_pem: _Optional[str] = ...) -> None: ...

class DistrustSignerRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListSignersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListSignersResponse(_message.Message):
    __slots__ = ("signers",)
    SIGNERS_FIELD_NUMBER: _ClassVar[int]
    signers: _containers.RepeatedCompositeFieldContainer[Signer]
    def __init__(self, signers: _Optional[_Iterable[_Union[Signer, _Mapping]]] = ...) -> None: ...

class ConsoleAccount(_message.Message):
    __slots__ = ("name", "role", "totp", "created_at_ms", "changed_at_ms")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    TOTP_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    CHANGED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    name: str
    role: str
    totp: bool
    created_at_ms: int
    changed_at_ms: int
    def __init__(self, name: _Optional[str] = ..., role: _Optional[str] = ..., totp: _Optional[bool] = ..., created_at_ms: _Optional[int] = ..., changed_at_ms: _Optional[int] = ...) -> None: ...

class CreateConsoleAccountRequest(_message.Message):
    __slots__ = ("name", "role", "password")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    name: str
    role: str
    password: str
    def __init__(self, name: _Optional[str] = ..., role: _Optional[str] = ..., password: _Optional[str] = ...) -> None: ...

class ResetConsoleAccountRequest(_message.Message):
    __slots__ = ("name", "role", "password")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    name: str
    role: str
    password: str
    def __init__(self, name: _Optional[str] = ..., role: _Optional[str] = ..., password: _Optional[str] = ...) -> None: ...

class ConsoleAccountSecret(_message.Message):
    __slots__ = ("account", "password")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    account: ConsoleAccount
    password: str
    def __init__(self, account: _Optional[_Union[ConsoleAccount, _Mapping]] = ..., password: _Optional[str] = ...) -> None: ...

class EnrolConsoleTotpRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ConsoleTotp(_message.Message):
    __slots__ = ("account", "secret", "uri")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    URI_FIELD_NUMBER: _ClassVar[int]
    account: ConsoleAccount
    secret: str
    uri: str
    def __init__(self, account: _Optional[_Union[ConsoleAccount, _Mapping]] = ..., secret: _Optional[str] = ..., uri: _Optional[str] = ...) -> None: ...

class ListConsoleAccountsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListConsoleAccountsResponse(_message.Message):
    __slots__ = ("accounts",)
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    accounts: _containers.RepeatedCompositeFieldContainer[ConsoleAccount]
    def __init__(self, accounts: _Optional[_Iterable[_Union[ConsoleAccount, _Mapping]]] = ...) -> None: ...

class RemoveConsoleAccountRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetUsageRequest(_message.Message):
    __slots__ = ("since_ms", "by")
    SINCE_MS_FIELD_NUMBER: _ClassVar[int]
    BY_FIELD_NUMBER: _ClassVar[int]
    since_ms: int
    by: UsageGrouping
    def __init__(self, since_ms: _Optional[int] = ..., by: _Optional[_Union[UsageGrouping, str]] = ...) -> None: ...

class UsageRow(_message.Message):
    __slots__ = ("key", "calls", "statuses", "cpu_ms", "wall_ms", "peak_memory_bytes")
    class StatusesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    KEY_FIELD_NUMBER: _ClassVar[int]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    CPU_MS_FIELD_NUMBER: _ClassVar[int]
    WALL_MS_FIELD_NUMBER: _ClassVar[int]
    PEAK_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    key: str
    calls: int
    statuses: _containers.ScalarMap[str, int]
    cpu_ms: int
    wall_ms: int
    peak_memory_bytes: int
    def __init__(self, key: _Optional[str] = ..., calls: _Optional[int] = ..., statuses: _Optional[_Mapping[str, int]] = ..., cpu_ms: _Optional[int] = ..., wall_ms: _Optional[int] = ..., peak_memory_bytes: _Optional[int] = ...) -> None: ...

class UsageReport(_message.Message):
    __slots__ = ("rows", "total")
    ROWS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[UsageRow]
    total: UsageRow
    def __init__(self, rows: _Optional[_Iterable[_Union[UsageRow, _Mapping]]] = ..., total: _Optional[_Union[UsageRow, _Mapping]] = ...) -> None: ...

class ReloadRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReloadResponse(_message.Message):
    __slots__ = ("changed",)
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    changed: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, changed: _Optional[_Iterable[str]] = ...) -> None: ...

class GetPoolStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PoolEntry(_message.Message):
    __slots__ = ("skill", "tool", "profile", "content_hash", "ready", "starting", "target", "hits", "misses", "evictions", "memory_bytes")
    SKILL_FIELD_NUMBER: _ClassVar[int]
    TOOL_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_HASH_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    STARTING_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    HITS_FIELD_NUMBER: _ClassVar[int]
    MISSES_FIELD_NUMBER: _ClassVar[int]
    EVICTIONS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    skill: str
    tool: str
    profile: str
    content_hash: str
    ready: int
    starting: int
    target: int
    hits: int
    misses: int
    evictions: int
    memory_bytes: int
    def __init__(self, skill: _Optional[str] = ..., tool: _Optional[str] = ..., profile: _Optional[str] = ..., content_hash: _Optional[str] = ..., ready: _Optional[int] = ..., starting: _Optional[int] = ..., target: _Optional[int] = ..., hits: _Optional[int] = ..., misses: _Optional[int] = ..., evictions: _Optional[int] = ..., memory_bytes: _Optional[int] = ...) -> None: ...

class PoolStatus(_message.Message):
    __slots__ = ("enabled", "memory_budget_bytes", "memory_bytes", "ready", "max_total", "pools", "hits", "misses", "evictions")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BUDGET_BYTES_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    MAX_TOTAL_FIELD_NUMBER: _ClassVar[int]
    POOLS_FIELD_NUMBER: _ClassVar[int]
    HITS_FIELD_NUMBER: _ClassVar[int]
    MISSES_FIELD_NUMBER: _ClassVar[int]
    EVICTIONS_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    memory_budget_bytes: int
    memory_bytes: int
    ready: int
    max_total: int
    pools: _containers.RepeatedCompositeFieldContainer[PoolEntry]
    hits: int
    misses: int
    evictions: int
    def __init__(self, enabled: _Optional[bool] = ..., memory_budget_bytes: _Optional[int] = ..., memory_bytes: _Optional[int] = ..., ready: _Optional[int] = ..., max_total: _Optional[int] = ..., pools: _Optional[_Iterable[_Union[PoolEntry, _Mapping]]] = ..., hits: _Optional[int] = ..., misses: _Optional[int] = ..., evictions: _Optional[int] = ...) -> None: ...

class QueryAuditRequest(_message.Message):
    __slots__ = ("events", "actor", "since_ms", "until_ms", "limit")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    SINCE_MS_FIELD_NUMBER: _ClassVar[int]
    UNTIL_MS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedScalarFieldContainer[str]
    actor: str
    since_ms: int
    until_ms: int
    limit: int
    def __init__(self, events: _Optional[_Iterable[str]] = ..., actor: _Optional[str] = ..., since_ms: _Optional[int] = ..., until_ms: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class AuditEntry(_message.Message):
    __slots__ = ("seq", "ts", "event", "actor", "fields_json", "hash")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    TS_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    FIELDS_JSON_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    seq: int
    ts: str
    event: str
    actor: str
    fields_json: str
    hash: str
    def __init__(self, seq: _Optional[int] = ..., ts: _Optional[str] = ..., event: _Optional[str] = ..., actor: _Optional[str] = ..., fields_json: _Optional[str] = ..., hash: _Optional[str] = ...) -> None: ...

class QueryAuditResponse(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[AuditEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[AuditEntry, _Mapping]]] = ...) -> None: ...

class WhoamiRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Principal(_message.Message):
    __slots__ = ("name", "role", "authenticated_by", "token_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    AUTHENTICATED_BY_FIELD_NUMBER: _ClassVar[int]
    TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    role: str
    authenticated_by: str
    token_id: str
    def __init__(self, name: _Optional[str] = ..., role: _Optional[str] = ..., authenticated_by: _Optional[str] = ..., token_id: _Optional[str] = ...) -> None: ...

class TokenInfo(_message.Message):
    __slots__ = ("id", "name", "role", "created_at_ms", "expires_at_ms", "revoked_at_ms", "replaced_by")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_MS_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    REPLACED_BY_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    role: str
    created_at_ms: int
    expires_at_ms: int
    revoked_at_ms: int
    replaced_by: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., role: _Optional[str] = ..., created_at_ms: _Optional[int] = ..., expires_at_ms: _Optional[int] = ..., revoked_at_ms: _Optional[int] = ..., replaced_by: _Optional[str] = ...) -> None: ...

class CreateTokenRequest(_message.Message):
    __slots__ = ("name", "role", "ttl_seconds")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    name: str
    role: str
    ttl_seconds: int
    def __init__(self, name: _Optional[str] = ..., role: _Optional[str] = ..., ttl_seconds: _Optional[int] = ...) -> None: ...

class CreatedToken(_message.Message):
    __slots__ = ("info", "token")
    INFO_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    info: TokenInfo
    token: str
    def __init__(self, info: _Optional[_Union[TokenInfo, _Mapping]] = ..., token: _Optional[str] = ...) -> None: ...

class ListTokensRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListTokensResponse(_message.Message):
    __slots__ = ("tokens",)
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    tokens: _containers.RepeatedCompositeFieldContainer[TokenInfo]
    def __init__(self, tokens: _Optional[_Iterable[_Union[TokenInfo, _Mapping]]] = ...) -> None: ...

class RevokeTokenRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class RotateTokenRequest(_message.Message):
    __slots__ = ("id", "overlap_seconds")
    ID_FIELD_NUMBER: _ClassVar[int]
    OVERLAP_SECONDS_FIELD_NUMBER: _ClassVar[int]
    id: str
    overlap_seconds: int
    def __init__(self, id: _Optional[str] = ..., overlap_seconds: _Optional[int] = ...) -> None: ...

class Approval(_message.Message):
    __slots__ = ("id", "invocation_id", "state", "mode", "skill", "skill_version", "skill_content_hash", "tool", "input_json", "input_hash", "requested_by", "created_at_ms", "expires_at_ms", "permissions", "limits", "decided_by", "decided_at_ms", "reason", "profile", "elevated", "quarantine")
    ID_FIELD_NUMBER: _ClassVar[int]
    INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    SKILL_FIELD_NUMBER: _ClassVar[int]
    SKILL_VERSION_FIELD_NUMBER: _ClassVar[int]
    SKILL_CONTENT_HASH_FIELD_NUMBER: _ClassVar[int]
    TOOL_FIELD_NUMBER: _ClassVar[int]
    INPUT_JSON_FIELD_NUMBER: _ClassVar[int]
    INPUT_HASH_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_MS_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BY_FIELD_NUMBER: _ClassVar[int]
    DECIDED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    ELEVATED_FIELD_NUMBER: _ClassVar[int]
    QUARANTINE_FIELD_NUMBER: _ClassVar[int]
    id: str
    invocation_id: str
    state: ApprovalState
    mode: str
    skill: str
    skill_version: str
    skill_content_hash: str
    tool: str
    input_json: str
    input_hash: str
    requested_by: str
    created_at_ms: int
    expires_at_ms: int
    permissions: Permissions
    limits: Limits
    decided_by: str
    decided_at_ms: int
    reason: str
    profile: str
    elevated: bool
    quarantine: Quarantine
    def __init__(self, id: _Optional[str] = ..., invocation_id: _Optional[str] = ..., state: _Optional[_Union[ApprovalState, str]] = ..., mode: _Optional[str] = ..., skill: _Optional[str] = ..., skill_version: _Optional[str] = ..., skill_content_hash: _Optional[str] = ..., tool: _Optional[str] = ..., input_json: _Optional[str] = ..., input_hash: _Optional[str] = ..., requested_by: _Optional[str] = ..., created_at_ms: _Optional[int] = ..., expires_at_ms: _Optional[int] = ..., permissions: _Optional[_Union[Permissions, _Mapping]] = ..., limits: _Optional[_Union[Limits, _Mapping]] = ..., decided_by: _Optional[str] = ..., decided_at_ms: _Optional[int] = ..., reason: _Optional[str] = ..., profile: _Optional[str] = ..., elevated: _Optional[bool] = ..., quarantine: _Optional[_Union[Quarantine, _Mapping]] = ...) -> None: ...

class ListApprovalsRequest(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: ApprovalState
    def __init__(self, state: _Optional[_Union[ApprovalState, str]] = ...) -> None: ...

class ListApprovalsResponse(_message.Message):
    __slots__ = ("approvals",)
    APPROVALS_FIELD_NUMBER: _ClassVar[int]
    approvals: _containers.RepeatedCompositeFieldContainer[Approval]
    def __init__(self, approvals: _Optional[_Iterable[_Union[Approval, _Mapping]]] = ...) -> None: ...

class WatchApprovalsRequest(_message.Message):
    __slots__ = ("quarantines",)
    QUARANTINES_FIELD_NUMBER: _ClassVar[int]
    quarantines: bool
    def __init__(self, quarantines: _Optional[bool] = ...) -> None: ...

class DecideRequest(_message.Message):
    __slots__ = ("id", "approve", "reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    APPROVE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    approve: bool
    reason: str
    def __init__(self, id: _Optional[str] = ..., approve: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class Rule(_message.Message):
    __slots__ = ("id", "effect", "skill", "tool", "skill_content_hash", "input_schema_json", "created_by", "created_at_ms", "reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    EFFECT_FIELD_NUMBER: _ClassVar[int]
    SKILL_FIELD_NUMBER: _ClassVar[int]
    TOOL_FIELD_NUMBER: _ClassVar[int]
    SKILL_CONTENT_HASH_FIELD_NUMBER: _ClassVar[int]
    INPUT_SCHEMA_JSON_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    effect: str
    skill: str
    tool: str
    skill_content_hash: str
    input_schema_json: str
    created_by: str
    created_at_ms: int
    reason: str
    def __init__(self, id: _Optional[str] = ..., effect: _Optional[str] = ..., skill: _Optional[str] = ..., tool: _Optional[str] = ..., skill_content_hash: _Optional[str] = ..., input_schema_json: _Optional[str] = ..., created_by: _Optional[str] = ..., created_at_ms: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class CreateRuleRequest(_message.Message):
    __slots__ = ("effect", "skill", "tool", "input_schema_json", "reason", "skill_content_hash")
    EFFECT_FIELD_NUMBER: _ClassVar[int]
    SKILL_FIELD_NUMBER: _ClassVar[int]
    TOOL_FIELD_NUMBER: _ClassVar[int]
    INPUT_SCHEMA_JSON_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SKILL_CONTENT_HASH_FIELD_NUMBER: _ClassVar[int]
    effect: str
    skill: str
    tool: str
    input_schema_json: str
    reason: str
    skill_content_hash: str
    def __init__(self, effect: _Optional[str] = ..., skill: _Optional[str] = ..., tool: _Optional[str] = ..., input_schema_json: _Optional[str] = ..., reason: _Optional[str] = ..., skill_content_hash: _Optional[str] = ...) -> None: ...

class ListRulesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListRulesResponse(_message.Message):
    __slots__ = ("rules",)
    RULES_FIELD_NUMBER: _ClassVar[int]
    rules: _containers.RepeatedCompositeFieldContainer[Rule]
    def __init__(self, rules: _Optional[_Iterable[_Union[Rule, _Mapping]]] = ...) -> None: ...

class DeleteRuleRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class Quarantine(_message.Message):
    __slots__ = ("skill", "skill_content_hash", "kind", "reason", "counts", "quarantined_at_ms", "quarantined_by", "released_by", "released_at_ms")
    class CountsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    SKILL_FIELD_NUMBER: _ClassVar[int]
    SKILL_CONTENT_HASH_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    QUARANTINED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    QUARANTINED_BY_FIELD_NUMBER: _ClassVar[int]
    RELEASED_BY_FIELD_NUMBER: _ClassVar[int]
    RELEASED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    skill: str
    skill_content_hash: str
    kind: str
    reason: str
    counts: _containers.ScalarMap[str, int]
    quarantined_at_ms: int
    quarantined_by: str
    released_by: str
    released_at_ms: int
    def __init__(self, skill: _Optional[str] = ..., skill_content_hash: _Optional[str] = ..., kind: _Optional[str] = ..., reason: _Optional[str] = ..., counts: _Optional[_Mapping[str, int]] = ..., quarantined_at_ms: _Optional[int] = ..., quarantined_by: _Optional[str] = ..., released_by: _Optional[str] = ..., released_at_ms: _Optional[int] = ...) -> None: ...

class QuarantineSkillRequest(_message.Message):
    __slots__ = ("skill", "reason")
    SKILL_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    skill: str
    reason: str
    def __init__(self, skill: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ReleaseSkillRequest(_message.Message):
    __slots__ = ("skill",)
    SKILL_FIELD_NUMBER: _ClassVar[int]
    skill: str
    def __init__(self, skill: _Optional[str] = ...) -> None: ...

class ReleaseSkillResponse(_message.Message):
    __slots__ = ("released",)
    RELEASED_FIELD_NUMBER: _ClassVar[int]
    released: _containers.RepeatedCompositeFieldContainer[Quarantine]
    def __init__(self, released: _Optional[_Iterable[_Union[Quarantine, _Mapping]]] = ...) -> None: ...

class ListQuarantinesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListQuarantinesResponse(_message.Message):
    __slots__ = ("quarantines",)
    QUARANTINES_FIELD_NUMBER: _ClassVar[int]
    quarantines: _containers.RepeatedCompositeFieldContainer[Quarantine]
    def __init__(self, quarantines: _Optional[_Iterable[_Union[Quarantine, _Mapping]]] = ...) -> None: ...
