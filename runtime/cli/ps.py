"""``skillrt ps`` and ``skillrt cancel``: what runs and waits, and stopping it, over the API."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from runtime.api.convert_results import result_proto_dict
from runtime.cli.connect import call, target_flags
from runtime.cli.figures import age_text, cpu_text, size_text
from runtime.cli.results import exit_code, result_lines
from runtime.client import Client
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.util.table import text_table

__all__ = [
    "COLUMNS",
    "LIVE",
    "cmd_cancel",
    "cmd_ps",
    "pages",
    "register",
    "row_dict",
    "table_row",
]

COLUMNS = ["INVOCATION", "STATE", "TOOL", "AGE", "CPU", "MEM", "STATUS"]

LIVE = [
    pb.INVOCATION_STATE_QUEUED,
    pb.INVOCATION_STATE_RUNNING,
    pb.INVOCATION_STATE_AWAITING_APPROVAL,
]
_MOST = 1000  # invocations ps shows at most


def register(verbs: Any) -> None:
    ps = verbs.add_parser(
        "ps", help="invocations queued, running or awaiting approval (--all: finished too)"
    )
    ps.add_argument("--all", action="store_true", help="finished invocations too, newest first")
    ps.add_argument("--skill", metavar="NAME")
    ps.add_argument("--tool", metavar="NAME")
    ps.add_argument("--principal", metavar="NAME", help="whose (an agent sees only its own)")
    ps.add_argument("--limit", type=int, default=50, metavar="N", help="at most N (default 50)")
    ps.add_argument("--json", action="store_true", help="one JSON object per line")
    target_flags(ps)
    ps.set_defaults(handler=cmd_ps)
    cancel = verbs.add_parser("cancel", help="cancel an invocation: kill its sandbox at once")
    cancel.add_argument("invocation", metavar="INVOCATION_ID")
    cancel.add_argument("--json", action="store_true")
    target_flags(cancel)
    cancel.set_defaults(handler=cmd_cancel)


def cmd_ps(args: argparse.Namespace) -> int:
    limit = max(1, min(args.limit, _MOST))
    request = pb.ListInvocationsRequest(
        states=[] if args.all else LIVE,
        skill=args.skill or "",
        tool=args.tool or "",
        principal=args.principal or "",
        page_size=min(limit, 500),
    )
    found: list[pb.Invocation] = call(args, lambda c: pages(c, request, limit))
    if args.json:
        for invocation in found:
            print(json.dumps(row_dict(invocation)))
        return 0
    now_ms = int(time.time() * 1000)
    for line in text_table(COLUMNS, [table_row(i, now_ms) for i in found]):
        print(line)
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    invocation: pb.Invocation = call(args, lambda c: c.cancel(args.invocation))
    result = result_proto_dict(invocation.result) if invocation.HasField("result") else None
    if args.json:
        print(json.dumps({**row_dict(invocation), **({"result": result} if result else {})}))
    else:
        print(f"{invocation.id}  {invocation.skill} / {invocation.tool}  {_state(invocation)}")
        for line in result_lines(result) if result else []:
            print(line)
    # Cancelled (or already ended as it did): the verb did its job unless the call was refused.
    status = str(result["status"]) if result else "cancelled"
    return 0 if status == "cancelled" else exit_code(status)


def pages(client: Client, request: pb.ListInvocationsRequest, limit: int) -> list[pb.Invocation]:
    found: list[pb.Invocation] = []
    while len(found) < limit:
        page = client.list_invocations(request)
        found += page.invocations
        if not page.next_page_token:
            break
        request.page_token = page.next_page_token
    return found[:limit]


def _state(invocation: pb.Invocation) -> str:
    return pb.InvocationState.Name(invocation.state).removeprefix("INVOCATION_STATE_").lower()


def table_row(invocation: pb.Invocation, now_ms: int) -> list[str]:
    """The cells under ``COLUMNS``: CPU so far, and the memory held now while it runs (the most
    it held once it has ended); blank while it has not started."""
    used = invocation.HasField("usage")
    memory = invocation.memory_bytes or invocation.usage.peak_memory_bytes
    return [
        invocation.id,
        _state(invocation),
        f"{invocation.skill}/{invocation.tool}",
        age_text(now_ms - invocation.created_at_ms),
        cpu_text(invocation.usage.cpu_ms) if used else "",
        size_text(memory) if used else "",
        pb.Status.Name(invocation.result.status).removeprefix("STATUS_").lower()
        if invocation.HasField("result")
        else "",
    ]


def row_dict(invocation: pb.Invocation) -> dict[str, object]:
    used = invocation.HasField("usage")
    return {
        "invocation_id": invocation.id,
        "skill": invocation.skill,
        "tool": invocation.tool,
        "state": _state(invocation),
        "created_at_ms": invocation.created_at_ms,
        "finished_at_ms": invocation.finished_at_ms or None,
        "approval_id": invocation.approval_id or None,
        "cpu_ms": invocation.usage.cpu_ms if used else None,
        "wall_ms": invocation.usage.wall_ms if used else None,
        "memory_bytes": invocation.memory_bytes if used else None,
        "peak_memory_bytes": invocation.usage.peak_memory_bytes if used else None,
    }
