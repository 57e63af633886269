"""The Admin gRPC service: who am I, and token management for the owner."""

from __future__ import annotations

import time
from typing import Any, TypeAlias

import grpc
import structlog

from runtime.api.skillrt.v1 import skillrt_pb2 as pb
from runtime.api.skillrt.v1 import skillrt_pb2_grpc as pb_grpc
from runtime.auth.roles import Role, principal
from runtime.auth.tokens import TokenRecord, TokenStore
from runtime.errors import InvalidArgument

Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"
log = structlog.get_logger("skillrt.admin")


def token_info(record: TokenRecord) -> pb.TokenInfo:
    return pb.TokenInfo(
        id=record.id,
        name=record.name,
        role=record.role.value,
        created_at_ms=record.created_ms,
        expires_at_ms=record.expires_ms or 0,
        revoked_at_ms=record.revoked_ms or 0,
        replaced_by=record.replaced_by or "",
    )


def _now_ms() -> int:
    return int(time.time() * 1000)


class AdminServicer(pb_grpc.AdminServicer):
    def __init__(self, *, tokens: TokenStore, default_overlap_ms: int) -> None:
        self.tokens = tokens
        self.default_overlap_ms = default_overlap_ms

    async def Whoami(self, request: pb.WhoamiRequest, context: Context) -> pb.Principal:
        who = principal()
        return pb.Principal(
            name=who.name,
            role=who.role.value,
            authenticated_by=who.authenticated_by,
            token_id=who.token_id or "",
        )

    async def CreateToken(
        self, request: pb.CreateTokenRequest, context: Context
    ) -> pb.CreatedToken:
        try:
            role = Role(request.role)
        except ValueError as exc:
            raise InvalidArgument(f"role: must be one of {', '.join(Role)}") from exc
        record, token = self.tokens.create(
            name=request.name,
            role=role,
            now_ms=_now_ms(),
            ttl_ms=request.ttl_seconds * 1000 or None,
        )
        log.info("token created", token_id=record.id, name=record.name, role=role.value)
        return pb.CreatedToken(info=token_info(record), token=token)

    async def ListTokens(
        self, request: pb.ListTokensRequest, context: Context
    ) -> pb.ListTokensResponse:
        return pb.ListTokensResponse(tokens=[token_info(r) for r in self.tokens.list()])

    async def RevokeToken(self, request: pb.RevokeTokenRequest, context: Context) -> pb.TokenInfo:
        if not request.id:
            raise InvalidArgument("id: required")
        record = self.tokens.revoke(request.id, _now_ms())
        log.info("token revoked", token_id=record.id, name=record.name)
        return token_info(record)

    async def RotateToken(
        self, request: pb.RotateTokenRequest, context: Context
    ) -> pb.CreatedToken:
        if not request.id:
            raise InvalidArgument("id: required")
        overlap = request.overlap_seconds * 1000 or self.default_overlap_ms
        record, token = self.tokens.rotate(request.id, overlap_ms=overlap, now_ms=_now_ms())
        log.info("token rotated", token_id=request.id, new_token_id=record.id, overlap_ms=overlap)
        return pb.CreatedToken(info=token_info(record), token=token)
