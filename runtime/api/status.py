"""The one place where skillrt's error tree meets gRPC status codes and status messages."""

from __future__ import annotations

import re

import grpc

from runtime import errors

__all__ = ["status_message", "status_of"]

# Most specific first is not needed: the lookup walks each error's class hierarchy upwards.
_STATUS: dict[type[errors.SkillRuntimeError], grpc.StatusCode] = {
    errors.BadRequest: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NoSuchEntity: grpc.StatusCode.NOT_FOUND,
    errors.BadCredentials: grpc.StatusCode.UNAUTHENTICATED,
    errors.NotAllowed: grpc.StatusCode.PERMISSION_DENIED,
    errors.OverLimit: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.WrongState: grpc.StatusCode.FAILED_PRECONDITION,
    errors.IsolationUnavailable: grpc.StatusCode.FAILED_PRECONDITION,
    errors.SandboxError: grpc.StatusCode.UNAVAILABLE,
    errors.IntegrityError: grpc.StatusCode.DATA_LOSS,
    errors.StateUnwritable: grpc.StatusCode.UNAVAILABLE,
    errors.UpstreamError: grpc.StatusCode.UNAVAILABLE,
}


def status_of(error: errors.SkillRuntimeError) -> grpc.StatusCode:
    """The gRPC status a caller sees for ``error``; an error the table does not know is INTERNAL."""
    for cls in type(error).__mro__:
        code = _STATUS.get(cls)
        if code is not None:
            return code
    return grpc.StatusCode.INTERNAL


# Messages quote what callers sent (a skill name, a JSON fragment): quoting it whole would let a
# caller choose the size of the status (a 20,000-character name overflows the trailers, so the
# caller would see RESOURCE_EXHAUSTED instead of NOT_FOUND) and of every log line.
_QUOTE_LIMIT = 200
_MESSAGE_LIMIT = 1000
_LONG_RUN = re.compile(rf"\S{{{_QUOTE_LIMIT + 1},}}")


def status_message(error: errors.SkillRuntimeError) -> str:
    """``error``'s message with any run longer than ~200 characters cut short, and bounded."""
    message = _LONG_RUN.sub(lambda m: m.group()[:_QUOTE_LIMIT] + "...", error.message)
    if len(message) > _MESSAGE_LIMIT:
        message = message[:_MESSAGE_LIMIT] + "..."
    return message
