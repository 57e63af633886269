"""Rate limits for runaway agents: per-minute, concurrency and CPU-time budgets."""

from __future__ import annotations

import json
import time

import grpc
import pytest

from runtime.auth.ratelimit import RateLimits
from runtime.auth.roles import Role
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.proto.skillrt.v1 import skillrt_pb2_grpc as pb_grpc
from tests.api.conftest import Daemon


def token_for(daemon: Daemon, name: str, role: str = "agent") -> str:
    with daemon.channel() as channel:
        stub = pb_grpc.AdminStub(channel)  # type: ignore[no-untyped-call]
        token: str = stub.CreateToken(pb.CreateTokenRequest(name=name, role=role)).token
        return token


def invoke(channel: grpc.Channel, daemon: Daemon, tool: str, payload: object) -> pb.Invocation:
    request = pb.InvokeRequest(skill="probe", tool=tool, input_json=json.dumps(payload))
    result: pb.Invocation = daemon.stub(channel).Invoke(request, timeout=60)
    return result


def exhausted(channel: grpc.Channel, daemon: Daemon) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        invoke(channel, daemon, "echo", {})
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    return info.value


def test_per_minute_limit_triggers(daemon: Daemon) -> None:
    """The third call within a minute of a token limited to two is refused with retry-after."""
    with daemon.channel(token_for(daemon, "limited")) as channel:
        invoke(channel, daemon, "echo", {})
        invoke(channel, daemon, "echo", {})
        error = exhausted(channel, daemon)
    assert "2 invocations per minute for agent 'limited'" in (error.details() or "")
    trailers = dict(error.trailing_metadata() or ())
    assert 1 <= int(trailers["retry-after"]) <= 60


def test_concurrency_limit_triggers_and_resets(daemon: Daemon) -> None:
    """A second concurrent call of an agent limited to one is refused; after the first, allowed."""
    token = token_for(daemon, "busy-agent")
    with daemon.channel(token) as channel:
        stream = daemon.stub(channel).InvokeStream(
            pb.InvokeRequest(skill="probe", tool="sleep", input_json='{"seconds": 1}'), timeout=60
        )
        assert next(stream).WhichOneof("event") == "accepted"
        error = exhausted(channel, daemon)
        assert "1 concurrent invocations for agent 'busy-agent'" in (error.details() or "")
        assert [e.WhichOneof("event") for e in stream][-1] == "finished"
        assert invoke(channel, daemon, "echo", {}).result.status == pb.STATUS_OK


def test_cpu_budget_triggers(daemon: Daemon) -> None:
    """Once a token has used its CPU-seconds for the hour, further calls are refused."""
    with daemon.channel(token_for(daemon, "frugal")) as channel:
        burn = pb.InvokeRequest(
            skill="probe", tool="spin", input_json="{}", limits=pb.Limits(cpu_time_ms=1200)
        )
        assert daemon.stub(channel).Invoke(burn, timeout=60).result.status == pb.STATUS_CPU_LIMIT
        error = exhausted(channel, daemon)
    assert "1 sandbox CPU-seconds per hour for agent 'frugal'" in (error.details() or "")


def test_cancelling_does_not_dodge_the_cpu_budget(daemon: Daemon) -> None:
    """CPU spent by a run the caller cancels (by deadline) still counts against the budget."""
    with daemon.channel(token_for(daemon, "canceller")) as channel:
        burn = pb.InvokeRequest(skill="probe", tool="spin", input_json="{}")
        # Long enough to burn a CPU-second even on a busy machine.
        stream = daemon.stub(channel).InvokeStream(burn, timeout=6)
        invocation_id = next(stream).accepted.invocation_id
        with pytest.raises(grpc.RpcError) as info:
            list(stream)
        assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        # The budget applies once the daemon has stopped the run and booked what it used.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            found = daemon.stub(channel).GetInvocation(
                pb.GetInvocationRequest(id=invocation_id), timeout=10
            )
            if found.state == pb.INVOCATION_STATE_FINISHED:
                break
            time.sleep(0.05)
        assert found.result.status == pb.STATUS_CANCELLED and found.result.usage.cpu_ms >= 1000
        error = exhausted(channel, daemon)
    assert "1 sandbox CPU-seconds per hour for agent 'canceller'" in (error.details() or "")


def test_token_limits_override_role_limits() -> None:
    """A limit configured for a token replaces its role's (pure)."""
    from runtime.api.config import defaults

    config = defaults()
    config.rate_limits_by_token["special"] = RateLimits(concurrent=99)
    assert config.rate_limits(Role.AGENT, "special").concurrent == 99
    assert config.rate_limits(Role.AGENT, "other").concurrent == 16
