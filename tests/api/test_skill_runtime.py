"""The SkillRuntime API over a real daemon, real sandboxes and a real Unix socket."""

from __future__ import annotations

import json
import stat
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from tests.api.conftest import Daemon

MiB = 1024 * 1024


def invoke(
    daemon: Daemon, channel: grpc.Channel, tool: str, payload: object = None, **limits: int
) -> pb.Invocation:
    request = pb.InvokeRequest(
        skill="probe", tool=tool, input_json=json.dumps(payload or {}), limits=pb.Limits(**limits)
    )
    result: pb.Invocation = daemon.stub(channel).Invoke(request, timeout=60)
    return result


def test_socket_is_private(daemon: Daemon) -> None:
    """The Unix socket is mode 0600."""
    assert stat.S_IMODE(daemon.socket.stat().st_mode) == 0o600


def test_health_serving(daemon: Daemon, channel: grpc.Channel) -> None:
    """The standard health service reports SERVING for the server and SkillRuntime."""
    stub = health_pb2_grpc.HealthStub(channel)
    for service in ("", "skillrt.v1.SkillRuntime"):
        response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_service(daemon: Daemon, channel: grpc.Channel) -> None:
    """Server reflection names SkillRuntime, so generic clients work without our code."""
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    response = next(iter(stub.ServerReflectionInfo(iter([request]), timeout=5)))
    names = {s.name for s in response.list_services_response.service}
    assert {"skillrt.v1.SkillRuntime", "grpc.health.v1.Health"} <= names


def test_list_skills(daemon: Daemon, channel: grpc.Channel) -> None:
    """ListSkills returns the catalog with tools and their schemas."""
    response = daemon.stub(channel).ListSkills(pb.ListSkillsRequest(), timeout=10)
    skills = {s.name: s for s in response.skills}
    assert set(skills) == {"probe", "text-stats"}
    assert "echo" in {t.name for t in skills["probe"].tools}
    assert json.loads(skills["probe"].tools[0].input_schema_json) == {"type": "object"}


def test_get_skill_effective_limits(daemon: Daemon, channel: grpc.Channel) -> None:
    """GetSkill shows the limits each tool will run with."""
    skill = daemon.stub(channel).GetSkill(pb.GetSkillRequest(name="probe"), timeout=10)
    limits = skill.tools[0].effective_limits
    assert (skill.version, skill.profile) == ("1.2.3", "default")
    assert (limits.memory_bytes, limits.pids, limits.wall_time_ms) == (256 * MiB, 64, 30_000)


def test_invoke_ok(daemon: Daemon, channel: grpc.Channel) -> None:
    """An ok run returns the parsed output, version, profile and usage."""
    invocation = invoke(daemon, channel, "echo", {"n": 1})
    assert invocation.result.status == pb.STATUS_OK
    assert json.loads(invocation.result.output_json) == {"got": {"n": 1}}
    assert (invocation.skill_version, invocation.profile) == ("1.2.3", "default")
    assert invocation.state == pb.INVOCATION_STATE_FINISHED
    assert invocation.result.usage.cpu_ms > 0 and invocation.result.usage.peak_memory_bytes > 0


def test_invoke_nonzero_exit(daemon: Daemon, channel: grpc.Channel) -> None:
    """A failing tool gives nonzero_exit with its code and stderr."""
    result = invoke(daemon, channel, "fail").result
    assert (result.status, result.exit_code) == (pb.STATUS_NONZERO_EXIT, 3)
    assert result.stderr == b"failing on purpose\n"


def test_invoke_timeout(daemon: Daemon, channel: grpc.Channel) -> None:
    """A tool that outlives its (tightened) wall time gives timeout."""
    result = invoke(daemon, channel, "sleep", {"seconds": 30}, wall_time_ms=500).result
    assert (result.status, result.signal) == (pb.STATUS_TIMEOUT, 9)


def test_invoke_memory_limit(daemon: Daemon, channel: grpc.Channel) -> None:
    """A memory hog gives memory_limit, not a bare exit 137."""
    result = invoke(daemon, channel, "hog", memory_bytes=64 * MiB).result
    assert result.status == pb.STATUS_MEMORY_LIMIT
    assert any("OOM" in v for v in result.violations)


def test_invoke_stream_events(daemon: Daemon, channel: grpc.Channel) -> None:
    """InvokeStream sends accepted, started, the output chunks, then the finished invocation."""
    request = pb.InvokeRequest(
        skill="probe", tool="chatter", input_json=json.dumps({"lines": 3, "pause": 0.05})
    )
    events = list(daemon.stub(channel).InvokeStream(request, timeout=60))
    kinds = [e.WhichOneof("event") for e in events]
    assert kinds[:2] == ["accepted", "started"] and kinds[-1] == "finished"
    output = b"".join(e.output.data for e in events if e.WhichOneof("event") == "output")
    assert output == b"line 0\nline 1\nline 2\n"
    finished = events[-1].finished
    assert finished.id == events[0].accepted.invocation_id
    assert finished.result.status == pb.STATUS_INVALID_OUTPUT  # chatter prints no JSON


def test_get_invocation(daemon: Daemon, channel: grpc.Channel) -> None:
    """A finished invocation can be read back by id with its result."""
    invocation = invoke(daemon, channel, "echo", {"x": 2})
    found = daemon.stub(channel).GetInvocation(pb.GetInvocationRequest(id=invocation.id), timeout=5)
    assert found.result.output_json == invocation.result.output_json
    assert found.state == pb.INVOCATION_STATE_FINISHED


def test_cancel_invocation(daemon: Daemon, channel: grpc.Channel) -> None:
    """CancelInvocation kills a running sandbox at once and records it as cancelled."""
    stub = daemon.stub(channel)
    request = pb.InvokeRequest(skill="probe", tool="sleep", input_json='{"seconds": 30}')
    stream = stub.InvokeStream(request, timeout=60)
    invocation_id = next(stream).accepted.invocation_id
    assert next(stream).WhichOneof("event") == "started"
    started = time.monotonic()
    cancelled = stub.CancelInvocation(pb.CancelInvocationRequest(id=invocation_id), timeout=10)
    assert cancelled.result.status == pb.STATUS_CANCELLED
    assert time.monotonic() - started < 10
    assert [e.WhichOneof("event") for e in stream] == ["finished"]


def test_unknown_skill_not_found(daemon: Daemon, channel: grpc.Channel) -> None:
    """An unknown skill is NOT_FOUND with its name."""
    with pytest.raises(grpc.RpcError) as info:
        daemon.stub(channel).Invoke(pb.InvokeRequest(skill="nope", tool="x"), timeout=10)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert "unknown skill 'nope'" in (info.value.details() or "")


def test_unknown_tool_not_found(daemon: Daemon, channel: grpc.Channel) -> None:
    """An unknown tool is NOT_FOUND and lists the tools."""
    with pytest.raises(grpc.RpcError) as info:
        daemon.stub(channel).Invoke(pb.InvokeRequest(skill="probe", tool="nope"), timeout=10)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (pb.InvokeRequest(tool="echo"), "skill: required"),
        (pb.InvokeRequest(skill="probe", tool="echo", input_json="{oops"), "input: not valid JSON"),
        (
            pb.InvokeRequest(skill="probe", tool="echo", limits=pb.Limits(memory_bytes=1 << 40)),
            "memory 1024GiB exceeds the profile's 256MiB",
        ),
        (
            pb.InvokeRequest(skill="probe", tool="echo", limits=pb.Limits(pids=0)),
            "limits.pids: must be a number greater than zero",
        ),
        (
            pb.InvokeRequest(skill="text-stats", tool="analyze", input_json='{"text": 5}'),
            "input['text']: 5 is not of type 'string'",
        ),
        (
            pb.InvokeRequest(skill="probe", tool="echo", limits=pb.Limits(cpus=float("nan"))),
            "limits.cpus: must be a number greater than zero",
        ),
    ],
    ids=["no-skill", "bad-json", "looser-limit", "zero-limit", "schema", "nan-cpus"],
)
def test_invalid_request(
    daemon: Daemon, channel: grpc.Channel, request_: pb.InvokeRequest, field: str
) -> None:
    """A bad request is INVALID_ARGUMENT with a message naming the field, never INTERNAL."""
    with pytest.raises(grpc.RpcError) as info:
        daemon.stub(channel).Invoke(request_, timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in (info.value.details() or "")


def test_idempotent_replay(daemon: Daemon, channel: grpc.Channel) -> None:
    """The same idempotency key and request returns the first invocation instead of a new run."""
    request = pb.InvokeRequest(skill="probe", tool="echo", input_json="{}", idempotency_key="k-1")
    first = daemon.stub(channel).Invoke(request, timeout=30)
    second = daemon.stub(channel).Invoke(request, timeout=30)
    assert first.id == second.id


def test_idempotency_key_reuse_refused(daemon: Daemon, channel: grpc.Channel) -> None:
    """Reusing a key for a different request is INVALID_ARGUMENT."""
    stub = daemon.stub(channel)
    stub.Invoke(pb.InvokeRequest(skill="probe", tool="echo", idempotency_key="k-2"), timeout=30)
    with pytest.raises(grpc.RpcError) as info:
        stub.Invoke(
            pb.InvokeRequest(
                skill="probe", tool="echo", input_json='{"a": 1}', idempotency_key="k-2"
            ),
            timeout=30,
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_request_id_in_trailers(daemon: Daemon, channel: grpc.Channel) -> None:
    """Every call carries an x-request-id trailer for finding it in the logs."""
    _, call = daemon.stub(channel).ListSkills.with_call(pb.ListSkillsRequest(), timeout=10)
    trailers = dict(call.trailing_metadata() or ())
    assert str(trailers["x-request-id"]).startswith("req_")


def test_lone_surrogate_in_input_is_not_internal(daemon: Daemon, channel: grpc.Channel) -> None:
    """A JSON string with a lone surrogate escape is handled, never an INTERNAL error."""
    result = invoke(daemon, channel, "echo", None)
    request = pb.InvokeRequest(skill="probe", tool="echo", input_json='{"t": "\\ud800"}')
    outcome = daemon.stub(channel).Invoke(request, timeout=60)
    assert result.result.status == outcome.result.status == pb.STATUS_OK
