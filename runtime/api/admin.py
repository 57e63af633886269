"""The Admin gRPC service: who am I, token management and trusted signers for the owner, the
audit log, the warm pool, usage, configuration reloads, quarantines
(``runtime.api.quarantine``) and console accounts for operators."""

from __future__ import annotations

import asyncio
import datetime
import json
from collections.abc import Callable
from typing import Any, TypeAlias

import grpc
import structlog

from runtime.api.console_accounts import ConsoleAccountCalls
from runtime.api.convert import pool_status_to_proto, usage_report_to_proto
from runtime.api.quarantine import QuarantineAdmin
from runtime.audit import events
from runtime.audit.background import BackgroundAudit
from runtime.audit.query import Query, tail
from runtime.auth.accounts import AccountStore
from runtime.auth.roles import Role, principal
from runtime.auth.tokens import TokenRecord, TokenStore
from runtime.core.catalog import Catalog
from runtime.core.quarantines import Quarantines
from runtime.core.signers import Signer, SignerStore
from runtime.core.store import Store
from runtime.core.usage import Grouping, UsageQuery, usage_report
from runtime.errors import BadRequest
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.proto.skillrt.v1 import skillrt_pb2_grpc as pb_grpc
from runtime.sandbox.pool import WarmPool
from runtime.util.aio import to_the_end
from runtime.util.clock import SYSTEM_CLOCK

__all__ = ["AdminServicer", "Context", "signer_info", "token_info"]

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


def signer_info(signer: Signer) -> pb.Signer:
    return pb.Signer(
        name=signer.name,
        key_id=signer.key_id,
        public_key_pem=signer.public_key_pem,
        trusted_by=signer.trusted_by,
        trusted_at_ms=signer.trusted_ms,
    )


class AdminServicer(QuarantineAdmin, ConsoleAccountCalls, pb_grpc.AdminServicer):
    def __init__(
        self,
        *,
        tokens: TokenStore,
        default_overlap_ms: int,
        audit_log: BackgroundAudit,
        pool: WarmPool,
        store: Store,
        signers: SignerStore,
        reload: Callable[[str], list[str]],
        quarantines: Quarantines,
        catalog: Catalog,
        accounts: AccountStore,
    ) -> None:
        self.tokens = tokens
        self.signers = signers
        self.quarantines = quarantines
        self.catalog = catalog
        self.accounts = accounts
        self.pool = pool
        self.store = store
        self._reload = reload  # SIGHUP's reload, by the actor named
        self._sql = tokens.db.call  # SQLite work runs off the event loop
        self.default_overlap_ms = default_overlap_ms
        self.audit_log = audit_log
        # Token and account changes one at a time: what was checked before the audit entry
        # still holds when the change is stored after it.
        self._changing = asyncio.Lock()
        self._trusting = asyncio.Lock()  # the same, for signers

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
            raise BadRequest(f"role: must be one of {', '.join(Role)}") from exc

        async def create() -> pb.CreatedToken:
            async with self._changing:
                minted, token = await self._sql(
                    self.tokens.mint,
                    name=request.name,
                    role=role,
                    now_ms=SYSTEM_CLOCK.now_ms(),
                    ttl_ms=_duration_ms(request.ttl_seconds, "ttl_seconds") or None,
                )
                # On disk before the token works: one the log cannot take is never stored.
                await self.audit_log.record(
                    events.TOKEN_CREATED,
                    actor=principal().name,
                    token_id=minted.id,
                    name=minted.name,
                    role=role.value,
                    expires_ms=minted.expires_ms,
                )
                record = await self._sql(self.tokens.insert, minted, token)
            log.info("token created", token_id=record.id, name=record.name, role=role.value)
            return pb.CreatedToken(info=token_info(record), token=token)

        # An audited token is stored, even if the caller leaves half-way.
        return await to_the_end(create())

    async def ListTokens(
        self, request: pb.ListTokensRequest, context: Context
    ) -> pb.ListTokensResponse:
        return pb.ListTokensResponse(
            tokens=[token_info(r) for r in await self._sql(self.tokens.list)]
        )

    async def RevokeToken(self, request: pb.RevokeTokenRequest, context: Context) -> pb.TokenInfo:
        if not request.id:
            raise BadRequest("id: required")

        async def revoke() -> pb.TokenInfo:
            async with self._changing:
                found = await self._sql(self.tokens.get, request.id)
                await self.audit_log.record(
                    events.TOKEN_REVOKED, actor=principal().name, token_id=found.id, name=found.name
                )
                record = await self._sql(self.tokens.revoke, found.id, SYSTEM_CLOCK.now_ms())
            log.info("token revoked", token_id=record.id, name=record.name)
            return token_info(record)

        return await to_the_end(revoke())

    async def RotateToken(
        self, request: pb.RotateTokenRequest, context: Context
    ) -> pb.CreatedToken:
        if not request.id:
            raise BadRequest("id: required")
        overlap = (
            _duration_ms(request.overlap_seconds, "overlap_seconds") or self.default_overlap_ms
        )

        async def rotate() -> pb.CreatedToken:
            async with self._changing:
                now = SYSTEM_CLOCK.now_ms()
                new, token = await self._sql(self.tokens.successor, request.id, now_ms=now)
                await self.audit_log.record(
                    events.TOKEN_ROTATED,
                    actor=principal().name,
                    token_id=request.id,
                    new_token_id=new.id,
                    overlap_ms=overlap,
                )
                record = await self._sql(
                    self.tokens.replace, request.id, new, token, overlap_ms=overlap, now_ms=now
                )
            log.info(
                "token rotated", token_id=request.id, new_token_id=record.id, overlap_ms=overlap
            )
            return pb.CreatedToken(info=token_info(record), token=token)

        return await to_the_end(rotate())

    async def TrustSigner(self, request: pb.TrustSignerRequest, context: Context) -> pb.Signer:
        async def trust() -> Signer:
            async with self._trusting:
                signer = await self._sql(
                    self.signers.new,
                    name=request.name,
                    public_key_pem=request.public_key_pem,
                    trusted_by=principal().name,
                    now_ms=SYSTEM_CLOCK.now_ms(),
                )
                # On disk before the key counts: a trust the log cannot take is never stored.
                await self.audit_log.record(
                    events.SIGNER_TRUSTED,
                    actor=principal().name,
                    key_id=signer.key_id,
                    name=signer.name,
                )
                return await self._sql(self.signers.add, signer)

        signer = await to_the_end(trust())
        log.info("signer trusted", key_id=signer.key_id, name=signer.name)
        return signer_info(signer)

    async def DistrustSigner(
        self, request: pb.DistrustSignerRequest, context: Context
    ) -> pb.Signer:
        if not request.name:
            raise BadRequest("name: required")

        async def distrust() -> Signer:
            async with self._trusting:
                found = await self._sql(self.signers.get, request.name)
                await self.audit_log.record(
                    events.SIGNER_DISTRUSTED,
                    actor=principal().name,
                    key_id=found.key_id,
                    name=found.name,
                )
                return await self._sql(self.signers.remove, found.name)

        signer = await to_the_end(distrust())
        log.info("signer distrusted", key_id=signer.key_id, name=signer.name)
        return signer_info(signer)

    async def ListSigners(
        self, request: pb.ListSignersRequest, context: Context
    ) -> pb.ListSignersResponse:
        return pb.ListSignersResponse(
            signers=[signer_info(s) for s in await self._sql(self.signers.list)]
        )

    async def GetPoolStatus(
        self, request: pb.GetPoolStatusRequest, context: Context
    ) -> pb.PoolStatus:
        status = self.pool.status()  # a few cgroup reads; the pool lives on the event loop
        return pool_status_to_proto(status)

    async def GetUsage(self, request: pb.GetUsageRequest, context: Context) -> pb.UsageReport:
        if request.since_ms < 0:
            raise BadRequest("since_ms: must not be negative")
        who = principal()
        query = UsageQuery(
            since_ms=request.since_ms,
            by=Grouping.PRINCIPAL if request.by == pb.USAGE_GROUPING_PRINCIPAL else Grouping.SKILL,
            principal=None if who.sees_everything() else who.name,
        )
        report = await self.store.db.call(usage_report, self.store.db, query)
        return usage_report_to_proto(report)

    async def Reload(self, request: pb.ReloadRequest, context: Context) -> pb.ReloadResponse:
        return pb.ReloadResponse(changed=self._reload(principal().name))

    async def QueryAudit(
        self, request: pb.QueryAuditRequest, context: Context
    ) -> pb.QueryAuditResponse:
        query = Query(
            events=tuple(request.events),
            actor=request.actor or None,
            since=_datetime(request.since_ms),
            until=_datetime(request.until_ms),
        )
        limit = request.limit or _DEFAULT_AUDIT_LIMIT
        if limit > _MAX_AUDIT_LIMIT:
            raise BadRequest(f"limit: at most {_MAX_AUDIT_LIMIT}")
        found = await asyncio.to_thread(
            lambda: (
                list(tail(self.audit_log.log.path, limit, query))
                if self.audit_log.log.path.exists()
                else []
            )
        )
        return pb.QueryAuditResponse(
            entries=[
                pb.AuditEntry(
                    seq=entry.seq,
                    ts=entry.ts,
                    event=entry.event,
                    actor=entry.actor,
                    fields_json=json.dumps(dict(entry.fields)),
                    hash=entry.hash,
                )
                for entry in found
            ]
        )


_DEFAULT_AUDIT_LIMIT = 1000
_MAX_AUDIT_LIMIT = 100_000


_LAST_MS = 253_402_300_799_000  # 9999-12-31T23:59:59Z


def _datetime(ms: int) -> datetime.datetime | None:
    if not ms:
        return None
    if not 0 < ms <= _LAST_MS:
        raise BadRequest("since_ms/until_ms: must be Unix epoch milliseconds before 10000")
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC)


def _duration_ms(seconds: int, field: str) -> int:
    """``seconds`` in milliseconds, refused when the expiry it sets would come after the last
    timestamp the API accepts (and so could overflow SQLite's int64)."""
    ms = seconds * 1000
    if SYSTEM_CLOCK.now_ms() + ms > _LAST_MS:
        raise BadRequest(f"{field}: must end before the year 10000")
    return ms
