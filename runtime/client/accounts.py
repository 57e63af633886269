"""The clients' calls for web console accounts (mixed into ``Client``, which provides the stub
and the call metadata)."""

from __future__ import annotations

from typing import Any

from runtime.proto.skillrt.v1 import skillrt_pb2 as pb

__all__ = ["ConsoleAccountCalls"]


class ConsoleAccountCalls:
    _admin: Any
    _meta: tuple[tuple[str, str], ...]

    def create_console_account(
        self, name: str, role: str, *, password: str = ""
    ) -> pb.ConsoleAccountSecret:
        """A new account; its password (made by the daemon when none is given) comes back."""
        made: pb.ConsoleAccountSecret = self._admin.CreateConsoleAccount(
            pb.CreateConsoleAccountRequest(name=name, role=role, password=password),
            metadata=self._meta,
        )
        return made

    def reset_console_account(
        self, name: str, *, role: str = "", password: str = ""
    ) -> pb.ConsoleAccountSecret:
        reset: pb.ConsoleAccountSecret = self._admin.ResetConsoleAccount(
            pb.ResetConsoleAccountRequest(name=name, role=role, password=password),
            metadata=self._meta,
        )
        return reset

    def enrol_console_totp(self, name: str) -> pb.ConsoleTotp:
        enrolled: pb.ConsoleTotp = self._admin.EnrolConsoleTotp(
            pb.EnrolConsoleTotpRequest(name=name), metadata=self._meta
        )
        return enrolled

    def list_console_accounts(self) -> list[pb.ConsoleAccount]:
        response = self._admin.ListConsoleAccounts(
            pb.ListConsoleAccountsRequest(), metadata=self._meta
        )
        return list(response.accounts)

    def remove_console_account(self, name: str) -> pb.ConsoleAccount:
        removed: pb.ConsoleAccount = self._admin.RemoveConsoleAccount(
            pb.RemoveConsoleAccountRequest(name=name), metadata=self._meta
        )
        return removed
