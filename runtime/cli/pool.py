"""``skillrt pool``: the daemon's warm sandboxes, per skill and tool (owners and admins)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from google.protobuf.json_format import MessageToDict

from runtime.cli.connect import call, target_flags
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.util.table import text_table

__all__ = ["cmd_pool", "register"]

_MIB = 1024 * 1024


def register(verbs: Any) -> None:
    pool = verbs.add_parser(
        "pool", help="warm sandboxes: sizes, hits, misses and evictions per skill and tool"
    )
    pool.add_argument("--json", action="store_true", help="print one JSON object")
    target_flags(pool)
    pool.set_defaults(handler=cmd_pool)


def cmd_pool(args: argparse.Namespace) -> int:
    status: pb.PoolStatus = call(args, lambda c: c.pool_status())
    if args.json:
        print(
            json.dumps(
                MessageToDict(
                    status,
                    preserving_proto_field_name=True,
                    always_print_fields_with_no_presence=True,
                )
            )
        )
        return 0
    state = "on" if status.enabled else "off"
    print(
        f"pool {state}: {status.ready} warm of at most {status.max_total}, "
        f"{status.memory_bytes / _MIB:.1f} of {status.memory_budget_bytes / _MIB:.0f} MiB; "
        f"since start {status.hits} hits, {status.misses} misses, {status.evictions} evicted"
    )
    rows = [
        [
            f"{entry.skill}/{entry.tool}",
            entry.profile,
            entry.content_hash[:12],
            str(entry.ready),
            str(entry.starting),
            str(entry.target),
            str(entry.hits),
            str(entry.misses),
            str(entry.evictions),
            f"{entry.memory_bytes / _MIB:.1f}",
        ]
        for entry in status.pools
    ]
    header = ["TOOL", "PROFILE", "CONTENT", "READY", "STARTING", "TARGET", "HITS", "MISSES"]
    for line in text_table([*header, "EVICTED", "MIB"], rows):
        print(line)
    return 0
