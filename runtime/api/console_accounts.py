"""The Admin service's calls for web console accounts (mixed into ``AdminServicer``).

Owners and admins manage accounts (the role table says so); on top of it, only an owner may
make, change or remove an owner's account, so that an admin cannot raise itself to owner
through the console. Every change is in the audit log before it is made.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeAlias
from urllib.parse import quote

import grpc

from runtime.audit import events
from runtime.audit.background import BackgroundAudit
from runtime.auth.accounts import (
    ISSUER,
    Account,
    AccountStore,
    check_name,
    check_password,
    check_role,
    new_password,
)
from runtime.auth.roles import Role, principal
from runtime.errors import BadRequest, NotAllowed
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.util.aio import to_the_end
from runtime.util.clock import SYSTEM_CLOCK

__all__ = ["ConsoleAccountCalls", "account_to_proto"]

Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"


def account_to_proto(account: Account) -> pb.ConsoleAccount:
    return pb.ConsoleAccount(
        name=account.name,
        role=account.role.value,
        totp=account.totp,
        created_at_ms=account.created_ms,
        changed_at_ms=account.changed_ms,
    )


class ConsoleAccountCalls:
    accounts: AccountStore
    audit_log: BackgroundAudit
    _changing: asyncio.Lock

    async def CreateConsoleAccount(
        self, request: pb.CreateConsoleAccountRequest, context: Context
    ) -> pb.ConsoleAccountSecret:
        role = _role(request.role, required=True)
        assert role is not None
        _may_grant(check_role(role))
        name = check_name(request.name)
        password = check_password(request.password or new_password())

        async def create() -> Account:
            async with self._changing:
                await self._record("created", name, role=role.value)
                return await asyncio.to_thread(
                    self.accounts.create, name, role, password, SYSTEM_CLOCK.now_ms()
                )

        account = await to_the_end(create())
        return pb.ConsoleAccountSecret(account=account_to_proto(account), password=password)

    async def ResetConsoleAccount(
        self, request: pb.ResetConsoleAccountRequest, context: Context
    ) -> pb.ConsoleAccountSecret:
        role = _role(request.role, required=False)
        if role is not None:
            _may_grant(check_role(role))
        password = check_password(request.password or new_password())

        async def reset() -> Account:
            async with self._changing:
                current = await self.accounts.db.call(self.accounts.get, request.name)
                _may_grant(current.role)
                await self._record("reset", current.name, role=(role or current.role).value)
                return await asyncio.to_thread(
                    self.accounts.reset, current.name, role, password, SYSTEM_CLOCK.now_ms()
                )

        account = await to_the_end(reset())
        return pb.ConsoleAccountSecret(account=account_to_proto(account), password=password)

    async def EnrolConsoleTotp(
        self, request: pb.EnrolConsoleTotpRequest, context: Context
    ) -> pb.ConsoleTotp:
        async def enrol() -> tuple[Account, str]:
            async with self._changing:
                current = await self.accounts.db.call(self.accounts.get, request.name)
                _may_grant(current.role)
                await self._record("totp", current.name, role=current.role.value)
                return await self.accounts.db.call(
                    self.accounts.enrol_totp, current.name, SYSTEM_CLOCK.now_ms()
                )

        account, secret = await to_the_end(enrol())
        label = quote(f"{ISSUER}:{account.name}")
        uri = f"otpauth://totp/{label}?secret={secret}&issuer={ISSUER}"
        return pb.ConsoleTotp(account=account_to_proto(account), secret=secret, uri=uri)

    async def ListConsoleAccounts(
        self, request: pb.ListConsoleAccountsRequest, context: Context
    ) -> pb.ListConsoleAccountsResponse:
        found = await self.accounts.db.call(self.accounts.list)
        return pb.ListConsoleAccountsResponse(accounts=[account_to_proto(a) for a in found])

    async def RemoveConsoleAccount(
        self, request: pb.RemoveConsoleAccountRequest, context: Context
    ) -> pb.ConsoleAccount:
        async def remove() -> Account:
            async with self._changing:
                current = await self.accounts.db.call(self.accounts.get, request.name)
                _may_grant(current.role)
                await self._record("removed", current.name, role=current.role.value)
                return await self.accounts.db.call(self.accounts.remove, current.name)

        return account_to_proto(await to_the_end(remove()))

    async def _record(self, change: str, name: str, **fields: Any) -> None:
        # On disk before the change: one the log cannot take is not made.
        await self.audit_log.record(
            events.CONSOLE_ACCOUNT_CHANGES[change], actor=principal().name, name=name, **fields
        )


def _role(text: str, *, required: bool) -> Role | None:
    if not text and not required:
        return None
    try:
        return Role(text)
    except ValueError as exc:
        raise BadRequest(f"role: must be one of {', '.join(Role)}") from exc


def _may_grant(role: Role) -> None:
    if role is Role.OWNER and principal().role is not Role.OWNER:
        raise NotAllowed("only an owner may make, change or remove an owner's console account")
