"""``skillrt top``: what runs and waits now, with CPU and memory so far, refreshed in place.

Plain text, no curses: on a terminal each frame clears the screen first (ANSI), elsewhere frames
follow one another; ``--once`` prints one frame (``--json``: one object) for scripts.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from typing import Any

from runtime.cli.connect import call, target_flags
from runtime.cli.figures import cpu_text, size_text
from runtime.cli.flags import duration_flag
from runtime.cli.ps import COLUMNS, LIVE, pages, row_dict, table_row
from runtime.client import Client
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.util.table import text_table

__all__ = ["cmd_top", "frame", "register"]

_CLEAR = "\x1b[H\x1b[2J"
_MOST = 500  # invocations one frame shows at most


def register(verbs: Any) -> None:
    top = verbs.add_parser("top", help="running and queued invocations, refreshed live")
    top.add_argument(
        "--interval",
        type=duration_flag("--interval"),
        default=2000,
        metavar="DUR",
        help="time between frames (default 2s)",
    )
    top.add_argument("--once", action="store_true", help="print one frame and exit")
    top.add_argument("--json", action="store_true", help="with --once: one JSON object")
    target_flags(top)
    top.set_defaults(handler=cmd_top)


def cmd_top(args: argparse.Namespace) -> int:
    if args.json and not args.once:
        print("skillrt top: error: --json needs --once", file=sys.stderr)
        return 2
    clear = sys.stdout.isatty()

    def show(client: Client) -> None:
        while True:
            request = pb.ListInvocationsRequest(states=LIVE, page_size=_MOST)
            found = pages(client, request, _MOST)
            now_ms = int(time.time() * 1000)
            if args.json:
                print(json.dumps({"invocations": [row_dict(i) for i in found], **totals(found)}))
            else:
                print((_CLEAR if clear else "") + "\n".join(frame(found, now_ms)), flush=True)
            if args.once:
                return
            time.sleep(max(args.interval, 100) / 1000)

    try:
        call(args, show)
    except KeyboardInterrupt:
        return 0  # the way out of a live view, not a failure
    return 0


def totals(found: list[pb.Invocation]) -> dict[str, Any]:
    """How many per state, and the CPU and memory of those running, together."""
    states = Counter(
        pb.InvocationState.Name(i.state).removeprefix("INVOCATION_STATE_").lower() for i in found
    )
    return {
        "states": dict(sorted(states.items())),
        "cpu_ms": sum(i.usage.cpu_ms for i in found),
        "memory_bytes": sum(i.memory_bytes for i in found),
    }


def frame(found: list[pb.Invocation], now_ms: int) -> list[str]:
    summary = totals(found)
    states = ", ".join(f"{n} {state}" for state, n in summary["states"].items()) or "nothing"
    when = time.strftime("%H:%M:%S", time.localtime(now_ms / 1000))
    head = (
        f"skillrt top - {when} - {states}; CPU {cpu_text(summary['cpu_ms'])}, "
        f"memory {size_text(summary['memory_bytes'])}"
    )
    return [head, "", *text_table(COLUMNS, [table_row(i, now_ms) for i in found])]
