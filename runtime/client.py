"""Python clients of the skillrt daemon, synchronous and asyncio.

    with Client() as client:
        invocation = client.invoke("text-stats", "analyze", {"text": "hello"})
        print(invocation.result.output_json)

The target defaults to the daemon's Unix socket ($SKILLRT_SOCKET or the built-in path).
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from runtime.api.skillrt.v1 import skillrt_pb2 as pb
from runtime.api.skillrt.v1 import skillrt_pb2_grpc as pb_grpc
from runtime.config import DEFAULT_SOCKET
from runtime.convert import limits_to_proto
from runtime.profiles import LimitOverrides


def default_target() -> str:
    return f"unix:{os.environ.get('SKILLRT_SOCKET') or DEFAULT_SOCKET}"


def invoke_request(
    skill: str,
    tool: str,
    input_value: Any = None,
    *,
    limits: LimitOverrides | None = None,
    idempotency_key: str | None = None,
) -> pb.InvokeRequest:
    text = input_value if isinstance(input_value, str) else json.dumps(input_value or {})
    return pb.InvokeRequest(
        skill=skill,
        tool=tool,
        input_json=text,
        limits=limits_to_proto(limits or LimitOverrides()),
        idempotency_key=idempotency_key or "",
    )


class Client:
    def __init__(self, target: str | None = None) -> None:
        self._channel = grpc.insecure_channel(target or default_target())
        self._stub = pb_grpc.SkillRuntimeStub(self._channel)  # type: ignore[no-untyped-call]
        self._health = health_pb2_grpc.HealthStub(self._channel)

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def health(self, service: str = "", *, timeout: float = 5) -> str:
        response = self._health.Check(  # type: ignore[attr-defined]
            health_pb2.HealthCheckRequest(service=service), timeout=timeout
        )
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))

    def list_skills(self, *, timeout: float = 30) -> list[pb.Skill]:
        return list(self._stub.ListSkills(pb.ListSkillsRequest(), timeout=timeout).skills)

    def get_skill(self, name: str, *, timeout: float = 30) -> pb.Skill:
        skill: pb.Skill = self._stub.GetSkill(pb.GetSkillRequest(name=name), timeout=timeout)
        return skill

    def invoke(
        self,
        skill: str,
        tool: str,
        input_value: Any = None,
        *,
        limits: LimitOverrides | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
    ) -> pb.Invocation:
        request = invoke_request(
            skill, tool, input_value, limits=limits, idempotency_key=idempotency_key
        )
        invocation: pb.Invocation = self._stub.Invoke(request, timeout=timeout)
        return invocation

    def invoke_stream(
        self,
        skill: str,
        tool: str,
        input_value: Any = None,
        *,
        limits: LimitOverrides | None = None,
        timeout: float | None = None,
    ) -> Iterator[pb.InvocationEvent]:
        request = invoke_request(skill, tool, input_value, limits=limits)
        yield from self._stub.InvokeStream(request, timeout=timeout)

    def get_invocation(self, invocation_id: str, *, timeout: float = 30) -> pb.Invocation:
        found: pb.Invocation = self._stub.GetInvocation(
            pb.GetInvocationRequest(id=invocation_id), timeout=timeout
        )
        return found

    def cancel(self, invocation_id: str, *, timeout: float = 30) -> pb.Invocation:
        cancelled: pb.Invocation = self._stub.CancelInvocation(
            pb.CancelInvocationRequest(id=invocation_id), timeout=timeout
        )
        return cancelled


class AsyncClient:
    def __init__(self, target: str | None = None) -> None:
        self._channel = grpc.aio.insecure_channel(target or default_target())
        self._stub = pb_grpc.SkillRuntimeStub(self._channel)  # type: ignore[no-untyped-call]

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._channel.close()

    async def list_skills(self, *, timeout: float = 30) -> list[pb.Skill]:
        response = await self._stub.ListSkills(pb.ListSkillsRequest(), timeout=timeout)
        return list(response.skills)

    async def invoke(
        self,
        skill: str,
        tool: str,
        input_value: Any = None,
        *,
        limits: LimitOverrides | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
    ) -> pb.Invocation:
        request = invoke_request(
            skill, tool, input_value, limits=limits, idempotency_key=idempotency_key
        )
        invocation: pb.Invocation = await self._stub.Invoke(request, timeout=timeout)
        return invocation

    async def invoke_stream(
        self,
        skill: str,
        tool: str,
        input_value: Any = None,
        *,
        limits: LimitOverrides | None = None,
        timeout: float | None = None,
    ) -> AsyncIterator[pb.InvocationEvent]:
        request = invoke_request(skill, tool, input_value, limits=limits)
        async for event in self._stub.InvokeStream(request, timeout=timeout):
            yield event

    async def get_invocation(self, invocation_id: str, *, timeout: float = 30) -> pb.Invocation:
        found: pb.Invocation = await self._stub.GetInvocation(
            pb.GetInvocationRequest(id=invocation_id), timeout=timeout
        )
        return found

    async def cancel(self, invocation_id: str, *, timeout: float = 30) -> pb.Invocation:
        cancelled: pb.Invocation = await self._stub.CancelInvocation(
            pb.CancelInvocationRequest(id=invocation_id), timeout=timeout
        )
        return cancelled
