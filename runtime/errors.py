"""The one exception tree of skillrt.

Every failure that reaches a caller is a ``SkillRuntimeError``; each leaf names the gRPC status it
maps to, so the mapping lives here and in exactly one interceptor, never at raise sites. Errors
from other libraries are translated once, with ``raise ... from exc``.
"""

from __future__ import annotations

import grpc


class SkillRuntimeError(Exception):
    """Base of every error skillrt reports; the message is one line meant for a person."""

    status: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidArgument(SkillRuntimeError):
    """A request, flag or input value is malformed."""

    status = grpc.StatusCode.INVALID_ARGUMENT


class ConfigError(InvalidArgument):
    """A profile, manifest or config file is malformed; the message names the file and key."""


class InputValidationError(InvalidArgument):
    """A tool's input does not match its JSON Schema."""


class NotFound(SkillRuntimeError):
    """A named skill, tool, profile or invocation does not exist."""

    status = grpc.StatusCode.NOT_FOUND


class Unauthenticated(SkillRuntimeError):
    """No valid credentials. The message never says which part was wrong."""

    status = grpc.StatusCode.UNAUTHENTICATED

    def __init__(self, message: str = "invalid or missing credentials") -> None:
        super().__init__(message)


class PermissionDenied(SkillRuntimeError):
    """The caller may not do this."""

    status = grpc.StatusCode.PERMISSION_DENIED


class ResourceExhausted(SkillRuntimeError):
    """A queue, rate or quota is full; ``retry_after_seconds`` says when trying again may work."""

    status = grpc.StatusCode.RESOURCE_EXHAUSTED

    def __init__(self, message: str, *, retry_after_seconds: int | None = None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class FailedPrecondition(SkillRuntimeError):
    """The request is well-formed but the state does not allow it (already decided, used)."""

    status = grpc.StatusCode.FAILED_PRECONDITION


class IsolationUnavailable(SkillRuntimeError):
    """The host cannot give the isolation a profile asks for; skillrt refuses to run."""

    status = grpc.StatusCode.FAILED_PRECONDITION


class SandboxError(SkillRuntimeError):
    """The sandbox machinery itself failed (not the code running inside it)."""

    status = grpc.StatusCode.UNAVAILABLE


class IntegrityError(SkillRuntimeError):
    """Stored state failed an integrity check: a broken audit chain, an undecryptable secret."""

    status = grpc.StatusCode.DATA_LOSS


class UpstreamError(SkillRuntimeError):
    """A service skillrt depends on (an OAuth token endpoint, a key command) failed."""

    status = grpc.StatusCode.UNAVAILABLE
