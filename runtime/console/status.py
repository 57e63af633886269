"""The one place where skillrt's error tree meets HTTP status codes (the console's
``runtime.api.status``)."""

from __future__ import annotations

from runtime import errors

__all__ = ["http_status"]

# The lookup walks each error's class hierarchy upwards.
_STATUS: dict[type[errors.SkillRuntimeError], int] = {
    errors.BadRequest: 400,
    errors.BadCredentials: 401,
    errors.NotAllowed: 403,
    errors.NoSuchEntity: 404,
    errors.WrongState: 409,
    errors.OverLimit: 429,
    errors.IsolationUnavailable: 409,
    errors.SandboxError: 503,
    errors.IntegrityError: 500,
    errors.StateUnwritable: 503,
    errors.UpstreamError: 503,
}


def http_status(error: errors.SkillRuntimeError) -> int:
    """The status a browser gets for ``error``; one the table does not know is 500."""
    for cls in type(error).__mro__:
        status = _STATUS.get(cls)
        if status is not None:
            return status
    return 500
