"""The one place where skillrt's error tree meets gRPC status codes."""

from __future__ import annotations

import grpc

from runtime import errors

__all__ = ["status_of"]

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
    errors.UpstreamError: grpc.StatusCode.UNAVAILABLE,
}


def status_of(error: errors.SkillRuntimeError) -> grpc.StatusCode:
    """The gRPC status a caller sees for ``error``; an error the table does not know is INTERNAL."""
    for cls in type(error).__mro__:
        code = _STATUS.get(cls)
        if code is not None:
            return code
    return grpc.StatusCode.INTERNAL
