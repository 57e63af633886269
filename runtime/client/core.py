"""The clients' connection, and the skill, token and approval calls (see ``runtime.client``);
session calls and operators' calls are mixed in from their own modules."""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from runtime.api.convert_results import limits_to_proto
from runtime.api.locations import default_socket
from runtime.client.accounts import ConsoleAccountCalls
from runtime.client.operations import AsyncOperatorCalls, OperatorCalls
from runtime.client.quarantine import QuarantineCalls
from runtime.client.sessions import SessionCalls
from runtime.errors import BadRequest
from runtime.proto.skillrt.v1 import sessions_pb2_grpc as spb_grpc
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.proto.skillrt.v1 import skillrt_pb2_grpc as pb_grpc
from runtime.sandbox.profiles import LimitOverrides

__all__ = ["AsyncClient", "Client", "Tls", "default_target", "default_token", "invoke_request"]


def default_target() -> str:
    return f"unix:{default_socket()}"


def default_token() -> str | None:
    """$SKILLRT_TOKEN, else the file $SKILLRT_TOKEN_FILE names, else None. A credential is used
    only when asked for: never a file of the daemon's found on this host."""
    token = os.environ.get("SKILLRT_TOKEN")
    if token:
        return token.strip()
    file = os.environ.get("SKILLRT_TOKEN_FILE")
    if file:
        try:
            return Path(file).read_text().strip()
        except OSError:
            return None
    return None


@dataclass(frozen=True, kw_only=True)
class Tls:
    """Client-side TLS: the CA that signed the daemon's certificate, and for mTLS our own."""

    ca: Path
    cert: Path | None = None
    key: Path | None = None

    def credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca.read_bytes(),
            private_key=self.key.read_bytes() if self.key else None,
            certificate_chain=self.cert.read_bytes() if self.cert else None,
        )


def _in_the_clear(target: str) -> str:
    """``target`` if a channel without TLS may reach it: a Unix socket, or TCP to this host's
    loopback (as the daemon's --insecure-tcp). Anywhere else the bearer token would cross the
    network readable by whoever listens there or on the way: BadRequest, before any connection.
    """
    if target.startswith(("unix:", "unix-abstract:")):
        return target
    address = target.removeprefix("dns:///").removeprefix("ipv4:").removeprefix("ipv6:")
    if address.startswith("["):
        host = address[1:].partition("]")[0]
    else:
        host = address.rpartition(":")[0] if ":" in address else address
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False  # a name, a list or a scheme of gRPC's: nothing known to stay here
    if not loopback:
        raise BadRequest(
            f"{target}: plain TCP is for this host's loopback only (a token would cross the "
            "network in the clear); give the daemon's CA (--tls-ca, or a target's ca) for TLS"
        )
    return target


def _metadata(token: str | None) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),) if token else ()


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


class Client(SessionCalls, OperatorCalls, QuarantineCalls, ConsoleAccountCalls):
    def __init__(
        self, target: str | None = None, *, token: str | None = None, tls: Tls | None = None
    ) -> None:
        target = target or default_target()
        self._channel = (
            grpc.secure_channel(target, tls.credentials())
            if tls is not None
            else grpc.insecure_channel(_in_the_clear(target))
        )
        self._meta = _metadata(token if token is not None else default_token())
        self._stub = pb_grpc.SkillRuntimeStub(self._channel)  # type: ignore[no-untyped-call]
        self._admin = pb_grpc.AdminStub(self._channel)  # type: ignore[no-untyped-call]
        self._approvals = pb_grpc.ApprovalsStub(self._channel)  # type: ignore[no-untyped-call]
        self._health = health_pb2_grpc.HealthStub(self._channel)
        self._sessions = spb_grpc.SessionsStub(self._channel)  # type: ignore[no-untyped-call]
        self._workspace = spb_grpc.WorkspaceStub(self._channel)  # type: ignore[no-untyped-call]

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
        return list(
            self._stub.ListSkills(
                pb.ListSkillsRequest(), timeout=timeout, metadata=self._meta
            ).skills
        )

    def get_skill(self, name: str, *, timeout: float = 30) -> pb.Skill:
        skill: pb.Skill = self._stub.GetSkill(
            pb.GetSkillRequest(name=name), timeout=timeout, metadata=self._meta
        )
        return skill

    def invoke(
        self,
        skill: str,
        tool: str,
        input_value: Any = None,
        *,
        limits: LimitOverrides | None = None,
        idempotency_key: str | None = None,
        wait_for_approval: bool = False,
        timeout: float | None = None,
    ) -> pb.Invocation:
        request = invoke_request(
            skill, tool, input_value, limits=limits, idempotency_key=idempotency_key
        )
        request.wait_for_approval = wait_for_approval
        invocation: pb.Invocation = self._stub.Invoke(request, timeout=timeout, metadata=self._meta)
        return invocation

    def invoke_stream(
        self,
        skill: str,
        tool: str,
        input_value: Any = None,
        *,
        limits: LimitOverrides | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
    ) -> Iterator[pb.InvocationEvent]:
        request = invoke_request(
            skill, tool, input_value, limits=limits, idempotency_key=idempotency_key
        )
        yield from self._stub.InvokeStream(request, timeout=timeout, metadata=self._meta)

    def list_invocations(
        self, request: pb.ListInvocationsRequest, *, timeout: float = 30
    ) -> pb.ListInvocationsResponse:
        """One page; pass its ``next_page_token`` back for the next."""
        page: pb.ListInvocationsResponse = self._stub.ListInvocations(
            request, timeout=timeout, metadata=self._meta
        )
        return page

    def get_invocation(self, invocation_id: str, *, timeout: float = 30) -> pb.Invocation:
        found: pb.Invocation = self._stub.GetInvocation(
            pb.GetInvocationRequest(id=invocation_id), timeout=timeout, metadata=self._meta
        )
        return found

    def whoami(self, *, timeout: float = 30) -> pb.Principal:
        found: pb.Principal = self._admin.Whoami(
            pb.WhoamiRequest(), timeout=timeout, metadata=self._meta
        )
        return found

    def create_token(self, name: str, role: str, *, ttl_seconds: int = 0) -> pb.CreatedToken:
        created: pb.CreatedToken = self._admin.CreateToken(
            pb.CreateTokenRequest(name=name, role=role, ttl_seconds=ttl_seconds),
            timeout=30,
            metadata=self._meta,
        )
        return created

    def list_tokens(self) -> list[pb.TokenInfo]:
        response = self._admin.ListTokens(pb.ListTokensRequest(), timeout=30, metadata=self._meta)
        return list(response.tokens)

    def pool_status(self) -> pb.PoolStatus:
        status: pb.PoolStatus = self._admin.GetPoolStatus(
            pb.GetPoolStatusRequest(), timeout=30, metadata=self._meta
        )
        return status

    def revoke_token(self, token_id: str) -> pb.TokenInfo:
        revoked: pb.TokenInfo = self._admin.RevokeToken(
            pb.RevokeTokenRequest(id=token_id), timeout=30, metadata=self._meta
        )
        return revoked

    def rotate_token(self, token_id: str, *, overlap_seconds: int = 0) -> pb.CreatedToken:
        rotated: pb.CreatedToken = self._admin.RotateToken(
            pb.RotateTokenRequest(id=token_id, overlap_seconds=overlap_seconds),
            timeout=30,
            metadata=self._meta,
        )
        return rotated

    def list_approvals(self, state: int = 0) -> list[pb.Approval]:
        response = self._approvals.ListApprovals(
            pb.ListApprovalsRequest(state=state),  # type: ignore[arg-type]
            timeout=30,
            metadata=self._meta,
        )
        return list(response.approvals)

    def watch_approvals(self, *, quarantines: bool = False) -> Iterator[pb.Approval]:
        """Pending requests, then each new one; with ``quarantines``, also a notice of each
        skill quarantined meanwhile (an ``Approval`` whose ``quarantine`` alone is set)."""
        yield from self._approvals.WatchApprovals(
            pb.WatchApprovalsRequest(quarantines=quarantines), metadata=self._meta
        )

    def decide(self, approval_id: str, *, approve: bool, reason: str) -> pb.Approval:
        decided: pb.Approval = self._approvals.Decide(
            pb.DecideRequest(id=approval_id, approve=approve, reason=reason),
            timeout=30,
            metadata=self._meta,
        )
        return decided

    def create_rule(
        self, *, effect: str, skill: str, tool: str, input_schema_json: str = "", reason: str = ""
    ) -> pb.Rule:
        rule: pb.Rule = self._approvals.CreateRule(
            pb.CreateRuleRequest(
                effect=effect,
                skill=skill,
                tool=tool,
                input_schema_json=input_schema_json,
                reason=reason,
            ),
            timeout=30,
            metadata=self._meta,
        )
        return rule

    def list_rules(self) -> list[pb.Rule]:
        response = self._approvals.ListRules(pb.ListRulesRequest(), timeout=30, metadata=self._meta)
        return list(response.rules)

    def delete_rule(self, rule_id: str) -> pb.Rule:
        rule: pb.Rule = self._approvals.DeleteRule(
            pb.DeleteRuleRequest(id=rule_id), timeout=30, metadata=self._meta
        )
        return rule

    def cancel(self, invocation_id: str, *, timeout: float = 30) -> pb.Invocation:
        cancelled: pb.Invocation = self._stub.CancelInvocation(
            pb.CancelInvocationRequest(id=invocation_id), timeout=timeout, metadata=self._meta
        )
        return cancelled


class AsyncClient(AsyncOperatorCalls):
    def __init__(
        self, target: str | None = None, *, token: str | None = None, tls: Tls | None = None
    ) -> None:
        target = target or default_target()
        self._channel = (
            grpc.aio.secure_channel(target, tls.credentials())
            if tls is not None
            else grpc.aio.insecure_channel(_in_the_clear(target))
        )
        self._meta = _metadata(token if token is not None else default_token())
        self._stub = pb_grpc.SkillRuntimeStub(self._channel)  # type: ignore[no-untyped-call]
        self._admin = pb_grpc.AdminStub(self._channel)  # type: ignore[no-untyped-call]

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._channel.close()

    async def list_skills(self, *, timeout: float = 30) -> list[pb.Skill]:
        response = await self._stub.ListSkills(
            pb.ListSkillsRequest(), timeout=timeout, metadata=self._meta
        )
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
        invocation: pb.Invocation = await self._stub.Invoke(
            request, timeout=timeout, metadata=self._meta
        )
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
        async for event in self._stub.InvokeStream(request, timeout=timeout, metadata=self._meta):
            yield event

    async def get_invocation(self, invocation_id: str, *, timeout: float = 30) -> pb.Invocation:
        found: pb.Invocation = await self._stub.GetInvocation(
            pb.GetInvocationRequest(id=invocation_id), timeout=timeout, metadata=self._meta
        )
        return found

    async def cancel(self, invocation_id: str, *, timeout: float = 30) -> pb.Invocation:
        cancelled: pb.Invocation = await self._stub.CancelInvocation(
            pb.CancelInvocationRequest(id=invocation_id), timeout=timeout, metadata=self._meta
        )
        return cancelled
