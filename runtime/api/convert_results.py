"""Results and limits: protobuf messages <-> the sandbox's dataclasses.

Apart from ``runtime.api.convert`` because the command line and the Python clients need these
and nothing else of it: importing the rest would load the catalog, approvals and pool modules
into every short CLI call.
"""

from __future__ import annotations

import json
import math
from typing import Any

from runtime.errors import BadRequest
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.sandbox.egress.attempt import EgressAttempt
from runtime.sandbox.profiles import LimitOverrides, Limits
from runtime.sandbox.result import SandboxResult, Status, Usage, result_dict

__all__ = [
    "LIMIT_FIELDS",
    "STATUS",
    "limits_to_proto",
    "overrides_from_proto",
    "result_from_proto",
    "result_proto_dict",
    "result_to_proto",
]

STATUS: dict[Status, Any] = {status: pb.Status.Value(f"STATUS_{status.name}") for status in Status}
_STATUS_BACK = {number: status for status, number in STATUS.items()}

# Proto field -> LimitOverrides field.
_LIMIT_FIELDS = {
    "memory_bytes": "memory_bytes",
    "pids": "pids",
    "cpu_time_ms": "cpu_time_ms",
    "wall_time_ms": "wall_time_ms",
    "output_bytes": "output_bytes",
    "open_files": "open_files",
    "file_size_bytes": "file_size_bytes",
    "cpus": "cpus",
}


LIMIT_FIELDS = frozenset(_LIMIT_FIELDS.values())  # LimitOverrides fields a message carries


def overrides_from_proto(limits: pb.Limits) -> LimitOverrides:
    values: dict[str, Any] = {}
    for proto_field, field in _LIMIT_FIELDS.items():
        if limits.HasField(proto_field):
            value = getattr(limits, proto_field)
            # "not > 0" also refuses NaN, which compares false with everything.
            if not value > 0 or not math.isfinite(value):
                raise BadRequest(f"limits.{proto_field}: must be a number greater than zero")
            values[field] = value
    return LimitOverrides(**values)


def limits_to_proto(limits: Limits | LimitOverrides) -> pb.Limits:
    message = pb.Limits()
    for proto_field, field in _LIMIT_FIELDS.items():
        value = getattr(limits, field)
        if value is not None:
            setattr(message, proto_field, value)
    return message


def result_to_proto(result: SandboxResult, output_json: str | None) -> pb.Result:
    message = pb.Result(
        status=STATUS[result.status],
        stdout=result.stdout,
        stderr=result.stderr,
        stdout_truncated=result.stdout_truncated,
        stderr_truncated=result.stderr_truncated,
        output_json=output_json or "",
        usage=pb.Usage(
            wall_ms=result.usage.wall_ms,
            cpu_ms=result.usage.cpu_ms,
            peak_memory_bytes=result.usage.peak_memory_bytes,
        ),
        violations=result.violations,
        error=result.error or "",
        egress=[
            pb.EgressAttempt(
                method=a.method,
                host=a.host,
                port=a.port,
                allowed=a.allowed,
                reason=a.reason,
                address=a.address or "",
                bytes_up=a.bytes_up,
                bytes_down=a.bytes_down,
                error=a.error or "",
            )
            for a in result.egress
        ],
    )
    if result.exit_code is not None:
        message.exit_code = result.exit_code
    if result.signal is not None:
        message.signal = result.signal
    return message


def result_from_proto(result: pb.Result) -> SandboxResult:
    return SandboxResult(
        status=_STATUS_BACK.get(result.status, Status.SANDBOX_ERROR),
        exit_code=result.exit_code if result.HasField("exit_code") else None,
        signal=result.signal if result.HasField("signal") else None,
        stdout=result.stdout,
        stderr=result.stderr,
        stdout_truncated=result.stdout_truncated,
        stderr_truncated=result.stderr_truncated,
        usage=Usage(
            wall_ms=result.usage.wall_ms,
            cpu_ms=result.usage.cpu_ms,
            peak_memory_bytes=result.usage.peak_memory_bytes,
        ),
        violations=tuple(result.violations),
        error=result.error or None,
        egress=tuple(
            EgressAttempt(
                method=a.method,
                host=a.host,
                port=a.port,
                allowed=a.allowed,
                reason=a.reason,
                address=a.address or None,
                bytes_up=a.bytes_up,
                bytes_down=a.bytes_down,
                error=a.error or None,
            )
            for a in result.egress
        ),
    )


def result_proto_dict(result: pb.Result) -> dict[str, object]:
    """A Result message as the same JSON object ``skillrt run --json`` prints."""
    output = json.loads(result.output_json) if result.output_json else None
    return {**result_dict(result_from_proto(result)), "output": output}
