"""``skillrt invoke --wait``: follow a call through its approval to its result, saying what it
waits for, and when the client stops waiting first, where the call stands and how to follow it.

The wait goes over ``InvokeStream``, which tells of the pending approval as soon as it is filed;
a client that leaves (its ``--timeout``, Ctrl-C) leaves the approval pending and the call
waiting for it: the daemon keeps both.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import grpc

from runtime.client import Client
from runtime.errors import SandboxError
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.sandbox.profiles import LimitOverrides

__all__ = ["EXIT_GAVE_UP", "GaveUp", "gave_up", "wait_for_result"]

EXIT_GAVE_UP = 1  # the result asked for did not come: a failure of this command, not of the call


@dataclass(frozen=True, kw_only=True)
class GaveUp:
    """The client stopped waiting while the call awaited a person's approval."""

    invocation_id: str
    approval_id: str
    why: str  # "--timeout 5s", "interrupted"


def wait_for_result(
    client: Client, args: argparse.Namespace, input_value: Any, limits: LimitOverrides
) -> pb.Invocation | GaveUp:
    """The finished invocation, or GaveUp if the wait ended while its approval was pending."""
    pending: pb.InvocationEvent.PendingApproval | None = None
    events = client.invoke_stream(
        args.skill,
        args.tool,
        input_value,
        limits=limits,
        idempotency_key=args.idempotency_key,
        timeout=args.timeout,
    )
    try:
        for event in events:
            kind = event.WhichOneof("event")
            if kind == "pending_approval":
                pending = event.pending_approval
                _tell_waiting(pending)
            elif kind == "finished":
                finished: pb.Invocation = event.finished
                return finished
    except grpc.RpcError as exc:
        if pending is None or exc.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
            raise
        return _gave_up_on(pending, f"--timeout {args.timeout:g}s")
    except KeyboardInterrupt:
        if pending is None:
            raise
        return _gave_up_on(pending, "interrupted")
    raise SandboxError("the daemon ended the call's stream without its result")


def _gave_up_on(pending: pb.InvocationEvent.PendingApproval, why: str) -> GaveUp:
    return GaveUp(invocation_id=pending.invocation_id, approval_id=pending.approval_id, why=why)


def _tell_waiting(pending: pb.InvocationEvent.PendingApproval) -> None:
    expires = datetime.fromtimestamp(pending.expires_at_ms / 1000, UTC)
    print(
        f"{pending.invocation_id}: waiting for approval {pending.approval_id} "
        f"(an approver runs: skillrt approvals approve {pending.approval_id}; "
        f"it expires {expires:%Y-%m-%d %H:%M:%S} UTC)",
        file=sys.stderr,
        flush=True,
    )


def gave_up(waited: GaveUp, *, as_json: bool) -> int:
    """Say where the call stands and how to follow it; the exit code of a wait cut short."""
    if as_json:
        print(
            json.dumps(
                {
                    "invocation_id": waited.invocation_id,
                    "approval_id": waited.approval_id,
                    "status": "pending_approval",
                }
            )
        )
    else:
        print(f"{waited.invocation_id}\nstatus: pending_approval\napproval: {waited.approval_id}")
    print(
        f"skillrt: stopped waiting ({waited.why}); approval {waited.approval_id} is still "
        "pending, and the daemon keeps it and the call: follow it with "
        f"`skillrt status {waited.invocation_id}` (approvers: "
        "`skillrt approvals list --state pending`)",
        file=sys.stderr,
    )
    return EXIT_GAVE_UP
