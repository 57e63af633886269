"""The one exception tree of skillrt.

Every failure that reaches a caller is a ``SkillRuntimeError``. Each leaf is named for what went
wrong, not for how a transport reports it; ``runtime.api.status`` maps the tree to gRPC status
codes in one table, and the command line maps it to exit codes. Errors from other libraries are
translated once, with ``raise ... from exc``.

    SkillRuntimeError
    ├── BadRequest                 a request, flag or input value is malformed
    │   ├── ConfigError            a profile, manifest or config file is malformed
    │   └── InputValidationError   a tool's input does not match its JSON Schema
    ├── NoSuchEntity               a named skill, tool, profile, invocation... does not exist
    ├── BadCredentials             no valid credentials (never says which part was wrong)
    ├── NotAllowed                 the caller may not do this
    ├── OverLimit                  a queue, rate or quota is full (retry_after_seconds)
    ├── WrongState                 well-formed, but the current state does not allow it
    ├── IsolationUnavailable       the host cannot give the isolation a profile asks for
    ├── SandboxError               the sandbox machinery itself failed
    ├── IntegrityError             stored state failed an integrity check
    ├── StateUnwritable            the daemon cannot write its own state (audit log, database)
    └── UpstreamError              a service skillrt depends on failed
"""

from __future__ import annotations

__all__ = [
    "BadCredentials",
    "BadRequest",
    "ConfigError",
    "InputValidationError",
    "IntegrityError",
    "IsolationUnavailable",
    "NoSuchEntity",
    "NotAllowed",
    "OverLimit",
    "SandboxError",
    "SkillRuntimeError",
    "StateUnwritable",
    "UpstreamError",
    "WrongState",
]


class SkillRuntimeError(Exception):
    """Base of every error skillrt reports; the message is one line meant for a person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class BadRequest(SkillRuntimeError):
    """A request, flag or input value is malformed."""


class ConfigError(BadRequest):
    """A profile, manifest or config file is malformed; the message names the file and key."""


class InputValidationError(BadRequest):
    """A tool's input does not match its JSON Schema."""


class NoSuchEntity(SkillRuntimeError):
    """A named skill, tool, profile or invocation does not exist (or is not the caller's)."""


class BadCredentials(SkillRuntimeError):
    """No valid credentials. The message never says which part was wrong."""

    def __init__(self, message: str = "invalid or missing credentials") -> None:
        super().__init__(message)


class NotAllowed(SkillRuntimeError):
    """The caller may not do this."""


class OverLimit(SkillRuntimeError):
    """A queue, rate or quota is full; ``retry_after_seconds`` says when trying again may work."""

    def __init__(self, message: str, *, retry_after_seconds: int | None = None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class WrongState(SkillRuntimeError):
    """The request is well-formed but the state does not allow it (already decided, used)."""


class IsolationUnavailable(SkillRuntimeError):
    """The host cannot give the isolation a profile asks for; skillrt refuses to run."""


class SandboxError(SkillRuntimeError):
    """The sandbox machinery itself failed (not the code running inside it)."""


class IntegrityError(SkillRuntimeError):
    """Stored state failed an integrity check: a broken audit chain, an undecryptable secret."""


class StateUnwritable(SkillRuntimeError):
    """The daemon cannot write its own state (the audit log, a database): a full disk, a
    read-only or failing filesystem. Nothing that would need the write goes ahead meanwhile."""


class UpstreamError(SkillRuntimeError):
    """A service skillrt depends on (an OAuth token endpoint, a key command) failed."""
