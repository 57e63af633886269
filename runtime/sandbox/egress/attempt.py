"""The record of one egress attempt: what the sandbox asked for and what became of it.

``AttemptRecord`` is filled in while the proxy decides and relays; ``EgressAttempt`` is what it
freezes into, for results, audit entries and the invocation's hook.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AttemptRecord", "EgressAttempt", "egress_dict"]


@dataclass(frozen=True, kw_only=True)
class EgressAttempt:
    """One connection the sandbox asked its egress proxy for, and what became of it.

    ``allowed`` is the policy's decision and ``reason`` why (the matching rule, or the refusal);
    ``error`` is what went wrong after an allow (resolution, connection, the byte limit's cut).
    Paths and queries are never recorded: they may carry credentials.
    """

    method: str  # CONNECT, or the forwarded request's method
    host: str  # "" when the request was too malformed to name one
    port: int
    allowed: bool
    reason: str
    address: str | None = None  # the checked address connected to
    bytes_up: int = 0
    bytes_down: int = 0
    error: str | None = None

    @property
    def target(self) -> str:
        if not self.host:
            return "malformed request"
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


class AttemptRecord:
    """An attempt while it is decided and relayed; frozen into an EgressAttempt at the end."""

    def __init__(self, method: str, host: str, port: int) -> None:
        self.method, self.host, self.port = method, host, port
        self.allowed = False
        self.reason = "undecided"
        self.address: str | None = None
        self.bytes_up = 0
        self.bytes_down = 0
        self.error: str | None = None
        self.cut = False

    def freeze(self) -> EgressAttempt:
        return EgressAttempt(
            method=self.method,
            host=self.host,
            port=self.port,
            allowed=self.allowed,
            reason=self.reason,
            address=self.address,
            bytes_up=self.bytes_up,
            bytes_down=self.bytes_down,
            error=self.error,
        )


def egress_dict(attempt: EgressAttempt) -> dict[str, object]:
    return {
        "method": attempt.method,
        "host": attempt.host,
        "port": attempt.port,
        "allowed": attempt.allowed,
        "reason": attempt.reason,
        "address": attempt.address,
        "bytes_up": attempt.bytes_up,
        "bytes_down": attempt.bytes_down,
        "error": attempt.error,
    }
