"""The daemon's RPCs, fed malformed and hostile messages: no INTERNAL, no UNKNOWN, JSON logs."""

from __future__ import annotations

import grpc
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from grpc_health.v1 import health_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime.proto.skillrt.v1 import sessions_pb2, skillrt_pb2
from tests.api.conftest import Daemon
from tests.api.test_hostile_input import assert_clean_log

# Streaming calls wait for events (WatchApprovals, Exec) and CreateSession makes workspaces:
# the unary calls below are the ones a hostile message can reach without a long wait.
_METHODS: list[MethodDescriptor] = [
    method
    for file in (skillrt_pb2.DESCRIPTOR, sessions_pb2.DESCRIPTOR, health_pb2.DESCRIPTOR)
    for service in file.services_by_name.values()
    for method in service.methods
    if not method.client_streaming
    and not method.server_streaming
    and method.name != "CreateSession"
]

_INT_RANGES = {
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_ENUM: (-(2**31), 2**31 - 1),
}


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


_TEXT = st.one_of(
    # Names the daemon knows, so that some calls get past the look-ups to the checks behind them.
    st.sampled_from(["probe", "echo", "text-stats", "viewer", "agent", "allow", "deny", "/tmp"]),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=60),
    st.sampled_from(
        [
            "x" * 20_000,
            "{" + "x" * 1_000_000,
            '"' + "y" * 300_000 + '"',
            _deep(979),
            _deep(5_000),
            _deep(100_000),
            '{"not":' * 2_000 + "{}" + "}" * 2_000,
            '{"a": 1e999}',
            "NaN",
            "../../etc/passwd",
            "\x00",
        ]
    ),
)


def _integers(field: FieldDescriptor) -> st.SearchStrategy[int]:
    low, high = _INT_RANGES[field.type]
    return st.one_of(st.sampled_from([low, high, 0, 1, -1 if low else 1]), st.integers(low, high))


def _value(field: FieldDescriptor, depth: int) -> st.SearchStrategy[object]:
    if field.type == FieldDescriptor.TYPE_STRING:
        return _TEXT
    if field.type == FieldDescriptor.TYPE_BYTES:
        return st.one_of(st.binary(max_size=64), st.just(b"\xff\xfe" * 5_000))
    if field.type == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.floats(width=32 if field.type == FieldDescriptor.TYPE_FLOAT else 64)
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return _message(field.message_type, depth + 1)
    return _integers(field)


def _message(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[Message]:
    cls = GetMessageClass(descriptor)
    fields = [
        f
        for f in descriptor.fields
        if depth < 2 and not (f.message_type and f.message_type.GetOptions().map_entry)
    ]

    @st.composite
    def build(draw: st.DrawFn) -> Message:
        message = cls()
        for field in draw(
            st.lists(st.sampled_from(fields), unique=True) if fields else st.just([])
        ):
            value = draw(_value(field, depth))
            if field.is_repeated:
                container = getattr(message, field.name)
                if field.type == FieldDescriptor.TYPE_MESSAGE:
                    container.add().CopyFrom(value)
                else:
                    container.append(value)
            elif field.type == FieldDescriptor.TYPE_MESSAGE:
                getattr(message, field.name).CopyFrom(value)
            else:
                setattr(message, field.name, value)
        return message

    return build()


@st.composite
def _request(draw: st.DrawFn) -> tuple[str, bytes]:
    """A method and the bytes sent to it: a hostile message of its type, or arbitrary bytes."""
    method = draw(st.sampled_from(_METHODS))
    path = f"/{method.containing_service.full_name}/{method.name}"
    if draw(st.integers(0, 4)) == 0:
        return path, draw(st.binary(max_size=80))
    return path, draw(_message(method.input_type)).SerializeToString()


_BAD = (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(request=_request())
def test_hostile_messages_get_a_deliberate_status(
    daemon: Daemon, request: tuple[str, bytes]
) -> None:
    """Each hostile request gets a status the daemon chose, and its logs stay JSON lines."""
    path, body = request
    with daemon.channel() as channel:
        try:
            channel.unary_unary(path)(body, timeout=30)
        except grpc.RpcError as error:
            assert error.code() not in _BAD, (path, error.details())  # type: ignore[attr-defined]
            assert len(error.details() or "") <= 1100  # type: ignore[attr-defined]
    assert_clean_log(daemon)
