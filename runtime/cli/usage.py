"""``skillrt usage``: calls, their outcomes, CPU and peak memory over a window, per skill or per
principal (owners and admins; an agent sees its own calls)."""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from typing import Any

from runtime.cli.connect import call, target_flags
from runtime.cli.figures import cpu_text, size_text
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.util.table import text_table
from runtime.util.units import parse_duration_ms

__all__ = ["cmd_usage", "register", "since_ms"]

_DEFAULT_WINDOW = "24h"


def register(verbs: Any) -> None:
    usage = verbs.add_parser(
        "usage", help="calls, outcomes, CPU and peak memory per skill or principal"
    )
    usage.add_argument(
        "--since",
        type=_since_flag,
        default=_DEFAULT_WINDOW,
        metavar="DUR|DATE",
        help=f"a duration back from now (1h, 7d) or a date (2025-01-31); default {_DEFAULT_WINDOW}",
    )
    usage.add_argument("--by", choices=("skill", "principal"), default="skill")
    usage.add_argument("--json", action="store_true", help="print one JSON object")
    target_flags(usage)
    usage.set_defaults(handler=cmd_usage)


def since_ms(text: str, now_ms: int) -> int:
    """Where a window starts: ``text`` is a duration back from ``now_ms`` or an ISO date (UTC
    unless it says otherwise)."""
    try:
        return max(0, now_ms - parse_duration_ms(text))
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"expected a duration like 1h or 7d, or a date like 2025-01-31, got {text!r}"
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return max(0, int(moment.timestamp() * 1000))


def _since_flag(text: str) -> int:
    try:
        return since_ms(text, int(time.time() * 1000))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def cmd_usage(args: argparse.Namespace) -> int:
    start: int = args.since
    report: pb.UsageReport = call(args, lambda c: c.usage(since_ms=start, by=args.by))
    if args.json:
        print(
            json.dumps(
                {
                    "since_ms": start,
                    "by": args.by,
                    "rows": [_row_dict(row) for row in report.rows],
                    "total": _row_dict(report.total),
                }
            )
        )
        return 0
    since = datetime.fromtimestamp(start / 1000, UTC).isoformat(timespec="seconds")
    print(f"since {since}, per {args.by}")
    rows = [_cells(row.key, row) for row in report.rows]
    rows.append(_cells("TOTAL", report.total))
    for line in text_table([args.by.upper(), "CALLS", "CPU", "PEAK MEM", "STATUSES"], rows):
        print(line)
    return 0


def _cells(name: str, row: pb.UsageRow) -> list[str]:
    statuses = ", ".join(f"{status} {count}" for status, count in sorted(row.statuses.items()))
    return [
        name,
        str(row.calls),
        cpu_text(row.cpu_ms),
        size_text(row.peak_memory_bytes),
        statuses,
    ]


def _row_dict(row: pb.UsageRow) -> dict[str, object]:
    return {
        "key": row.key,
        "calls": row.calls,
        "statuses": dict(sorted(row.statuses.items())),
        "cpu_ms": row.cpu_ms,
        "wall_ms": row.wall_ms,
        "peak_memory_bytes": row.peak_memory_bytes,
    }
