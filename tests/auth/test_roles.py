"""Each role may call exactly the RPCs the table gives it, over the real daemon."""

from __future__ import annotations

import json

import grpc
import pytest

from runtime.auth.roles import RPC_ROLES, Role
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.proto.skillrt.v1 import skillrt_pb2_grpc as pb_grpc
from tests.api.conftest import Daemon

ROLES = [r.value for r in Role]
METHODS = [
    (service.full_name, method)
    for service in pb.DESCRIPTOR.services_by_name.values()
    for method in service.methods
]


def _call(channel: grpc.Channel, service: str, method: object) -> grpc.StatusCode:
    """Call ``method`` with an empty request; the status tells whether auth let it through."""
    name = f"/{service}/{method.name}"  # type: ignore[attr-defined]
    input_type = pb.DESCRIPTOR.message_types_by_name[method.input_type.name]  # type: ignore[attr-defined]
    request_class = getattr(pb, input_type.name)
    serialize = request_class.SerializeToString
    if method.server_streaming:  # type: ignore[attr-defined]
        call = channel.unary_stream(name, request_serializer=serialize)
        try:
            # A watch stream never ends by itself: a deadline after admission means "allowed".
            for _ in call(request_class(), timeout=1):
                pass
        except grpc.RpcError as exc:
            return exc.code()  # type: ignore[no-any-return]
        return grpc.StatusCode.OK
    unary = channel.unary_unary(name, request_serializer=serialize)
    try:
        unary(request_class(), timeout=10)
    except grpc.RpcError as exc:
        return exc.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


@pytest.fixture(scope="module")
def tokens(daemon: Daemon) -> dict[str, str]:
    with daemon.channel() as channel:
        stub = pb_grpc.AdminStub(channel)  # type: ignore[no-untyped-call]
        return {
            role: stub.CreateToken(pb.CreateTokenRequest(name=f"r-{role}", role=role)).token
            for role in ROLES
        }


@pytest.mark.parametrize("role", ROLES)
def test_role_gets_exactly_its_rpcs(daemon: Daemon, tokens: dict[str, str], role: str) -> None:
    """Allowed RPCs get past authorization; every other RPC is PERMISSION_DENIED."""
    with daemon.channel(tokens[role]) as channel:
        for service, method in METHODS:
            allowed = Role(role) in RPC_ROLES[f"/{service}/{method.name}"]
            code = _call(channel, service, method)
            if allowed:
                assert code not in (
                    grpc.StatusCode.PERMISSION_DENIED,
                    grpc.StatusCode.UNAUTHENTICATED,
                ), f"{role} refused {method.name}: {code}"
            else:
                assert code == grpc.StatusCode.PERMISSION_DENIED, f"{role} got {method.name}"


def test_agent_sees_only_its_own_invocations(daemon: Daemon, tokens: dict[str, str]) -> None:
    """Another principal's invocation is NOT_FOUND to an agent, and visible to a viewer."""
    with daemon.channel() as channel:
        mine = daemon.stub(channel).Invoke(
            pb.InvokeRequest(skill="probe", tool="echo", input_json=json.dumps({})), timeout=30
        )
    with daemon.channel(tokens["agent"]) as channel, pytest.raises(grpc.RpcError) as info:
        daemon.stub(channel).GetInvocation(pb.GetInvocationRequest(id=mine.id), timeout=10)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    with daemon.channel(tokens["viewer"]) as channel:
        seen = daemon.stub(channel).GetInvocation(pb.GetInvocationRequest(id=mine.id), timeout=10)
    assert seen.id == mine.id and seen.result.status == pb.STATUS_OK
    assert seen.result.output_json == "" and seen.result.stdout == b""  # status, not content


def test_health_needs_no_credentials(daemon: Daemon) -> None:
    """Health checks answer without a token, for supervisors and load balancers."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(daemon.target) as channel:
        response = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=10
        )
    assert response.status == health_pb2.HealthCheckResponse.SERVING
