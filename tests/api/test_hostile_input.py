"""Hostile and malformed requests to a real daemon: right status, short messages, JSON logs."""

from __future__ import annotations

import json
import subprocess
import sys

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2

from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.proto.skillrt.v1 import skillrt_pb2_grpc as pb_grpc
from runtime.util import paths
from tests.api.conftest import Daemon

__all__ = ["assert_clean_log"]


def _code(call: object) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as info:
        call()  # type: ignore[operator]
    error = info.value
    assert len(error.details() or "") < 1000  # type: ignore[attr-defined]
    code: grpc.StatusCode = error.code()  # type: ignore[attr-defined]
    return code


def assert_clean_log(daemon: Daemon) -> None:
    """Every line the daemon wrote is one short JSON object, and none is a traceback."""
    for line in daemon.logs().splitlines():
        assert len(line) < 16_000, line[:200]
        if not line.startswith("skillrt: listening on "):  # the one line meant for a person
            json.loads(line)
    assert "Traceback" not in daemon.logs()


def test_health_watch_streams_status(daemon: Daemon, channel: grpc.Channel) -> None:
    """Health.Watch answers the current status instead of INTERNAL."""
    stub = health_pb2_grpc.HealthStub(channel)
    stream = stub.Watch(health_pb2.HealthCheckRequest(service=""), timeout=5)
    first = next(iter(stream))
    stream.cancel()
    assert first.status == health_pb2.HealthCheckResponse.SERVING


def test_huge_skill_name_is_refused_as_invalid(daemon: Daemon, channel: grpc.Channel) -> None:
    """A 20,000-character skill name gets the status of any malformed name, not an oversized one."""
    for name in ("x" * 65, "x" * 20_000):
        request = pb.GetSkillRequest(name=name)
        assert _code(lambda: daemon.stub(channel).GetSkill(request, timeout=10)) == (  # noqa: B023
            grpc.StatusCode.INVALID_ARGUMENT
        )


def test_huge_invocation_id_is_not_found(daemon: Daemon, channel: grpc.Channel) -> None:
    """A 20,000-character invocation id is NOT_FOUND, not an oversized status message."""
    request = pb.GetInvocationRequest(id="inv_" + "x" * 20_000)
    assert _code(lambda: daemon.stub(channel).GetInvocation(request, timeout=10)) == (
        grpc.StatusCode.NOT_FOUND
    )


@pytest.mark.parametrize(
    "text", ['"' + "x" * 1_000_000 + '"', "x" * 1_000_000, "[" + "1," * 500_000 + "}"]
)
def test_megabyte_of_bad_input_is_invalid_argument(
    daemon: Daemon, channel: grpc.Channel, text: str
) -> None:
    """1 MB of bad input is INVALID_ARGUMENT and writes no huge log line."""
    request = pb.InvokeRequest(skill="probe", tool="echo", input_json=text)
    assert _code(lambda: daemon.stub(channel).Invoke(request, timeout=30)) == (
        grpc.StatusCode.INVALID_ARGUMENT
    )
    assert_clean_log(daemon)


@pytest.mark.parametrize("depth", [979, 990, 5_000, 200_000])
def test_deep_json_input_is_invalid_argument(
    daemon: Daemon, channel: grpc.Channel, depth: int
) -> None:
    """JSON input nested to (and past) the recursion limit is INVALID_ARGUMENT."""
    text = "[" * depth + "]" * depth
    request = pb.InvokeRequest(skill="probe", tool="echo", input_json=text)
    assert _code(lambda: daemon.stub(channel).Invoke(request, timeout=30)) == (
        grpc.StatusCode.INVALID_ARGUMENT
    )


@pytest.mark.parametrize("depth", [900, 979, 10_000])
def test_deep_rule_schema_is_invalid_argument(
    daemon: Daemon, channel: grpc.Channel, depth: int
) -> None:
    """A rule schema nested hundreds to thousands deep is INVALID_ARGUMENT."""
    schema = '{"not":' * depth + "{}" + "}" * depth
    request = pb.CreateRuleRequest(
        effect="allow", skill="probe", tool="echo", input_schema_json=schema
    )
    stub = pb_grpc.ApprovalsStub(channel)
    assert _code(lambda: stub.CreateRule(request, timeout=30)) == grpc.StatusCode.INVALID_ARGUMENT


def test_huge_token_ttl_is_invalid_argument(daemon: Daemon, channel: grpc.Channel) -> None:
    """A token ttl of 2**63 seconds or more is INVALID_ARGUMENT, not an SQLite overflow."""
    stub = pb_grpc.AdminStub(channel)
    for ttl in (2**63, 2**64 - 1):
        request = pb.CreateTokenRequest(name="t", role="viewer", ttl_seconds=ttl)
        assert _code(lambda: stub.CreateToken(request, timeout=10)) == (  # noqa: B023
            grpc.StatusCode.INVALID_ARGUMENT
        )


def test_huge_rotation_overlap_is_invalid_argument(daemon: Daemon, channel: grpc.Channel) -> None:
    """A rotation overlap of 2**63 seconds is INVALID_ARGUMENT, not an SQLite overflow."""
    stub = pb_grpc.AdminStub(channel)
    created = stub.CreateToken(pb.CreateTokenRequest(name="r", role="viewer"), timeout=10)
    request = pb.RotateTokenRequest(id=created.info.id, overlap_seconds=2**63)
    assert _code(lambda: stub.RotateToken(request, timeout=10)) == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize(
    "method",
    [
        "/skillrt.v1.SkillRuntime/Invoke",
        "/skillrt.v1.SkillRuntime/GetSkill",
        "/skillrt.v1.Admin/CreateToken",
        "/skillrt.v1.Approvals/CreateRule",
        "/grpc.health.v1.Health/Check",
    ],
)
def test_malformed_protobuf_is_refused_cleanly(
    daemon: Daemon, channel: grpc.Channel, method: str
) -> None:
    """Undecodable request bytes are refused without UNKNOWN, INTERNAL or a traceback."""
    call = channel.unary_unary(method)
    code = _code(lambda: call(b"\xff\xff\xff\xff\x0a\xff", timeout=10))
    assert code not in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL)
    assert_clean_log(daemon)


def test_health_list_is_unimplemented(daemon: Daemon, channel: grpc.Channel) -> None:
    """Health.List, which grpc's asyncio servicer lacks, is UNIMPLEMENTED rather than INTERNAL."""
    call = channel.unary_unary("/grpc.health.v1.Health/List")
    assert _code(lambda: call(b"", timeout=10)) == grpc.StatusCode.UNIMPLEMENTED


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xff\xff",
        reflection_pb2.ServerReflectionRequest(file_by_filename="../" * 5000).SerializeToString(),
        reflection_pb2.ServerReflectionRequest(
            file_containing_symbol="x" * 20_000
        ).SerializeToString(),
        reflection_pb2.ServerReflectionRequest(
            all_extension_numbers_of_type="\x00"
        ).SerializeToString(),
        reflection_pb2.ServerReflectionRequest().SerializeToString(),
    ],
    ids=["undecodable", "filename", "symbol", "extensions", "empty"],
)
def test_reflection_refuses_garbage_cleanly(
    daemon: Daemon, channel: grpc.Channel, body: bytes
) -> None:
    """Server reflection given garbage answers or refuses, never INTERNAL or UNKNOWN."""
    call = channel.stream_stream("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
    try:
        for _ in call(iter([body]), timeout=10):
            pass
    except grpc.RpcError as error:
        assert error.code() not in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL)  # type: ignore[attr-defined]
    assert_clean_log(daemon)


def test_health_check_of_unknown_service_is_not_found(
    daemon: Daemon, channel: grpc.Channel
) -> None:
    """Health.Check of an unknown service is NOT_FOUND, logged without a crash report."""
    stub = health_pb2_grpc.HealthStub(channel)
    request = health_pb2.HealthCheckRequest(service="no.such.Service")
    assert _code(lambda: stub.Check(request, timeout=10)) == grpc.StatusCode.NOT_FOUND
    assert_clean_log(daemon)


_STDLIB_LOGGING = """
import logging, warnings
from runtime.api.logs import configure_logging
configure_logging()
try:
    1 / 0
except ZeroDivisionError:
    logging.getLogger("grpc._cython.cygrpc").exception("Unexpected error")
warnings.warn("old", DeprecationWarning, stacklevel=1)
"""


def test_stdlib_logging_is_json_lines() -> None:
    """What grpc and the warnings module log comes out of the daemon's logging as JSON lines."""
    proc = subprocess.run(
        [sys.executable, "-c", _STDLIB_LOGGING],
        capture_output=True,
        text=True,
        cwd=paths.PROJECT_ROOT,
        check=True,
        timeout=60,
    )
    records = [json.loads(line) for line in proc.stderr.splitlines()]
    assert [r["logger"] for r in records] == ["grpc._cython.cygrpc", "py.warnings"]
    assert "ZeroDivisionError" in records[0]["exception"]
