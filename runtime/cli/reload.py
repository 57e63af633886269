"""``skillrt reload``: the daemon re-reads its configuration file, as on SIGHUP (owners, admins)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from runtime.cli.connect import call, target_flags

__all__ = ["cmd_reload", "register"]


def register(verbs: Any) -> None:
    reload = verbs.add_parser(
        "reload",
        help="re-read the daemon's configuration: rate limits, approval timeout, lockout, pool",
    )
    reload.add_argument("--json", action="store_true", help="print one JSON object")
    target_flags(reload)
    reload.set_defaults(handler=cmd_reload)


def cmd_reload(args: argparse.Namespace) -> int:
    # A file with an error is refused by the daemon, naming it; nothing changes then.
    changed: list[str] = call(args, lambda c: c.reload())
    if args.json:
        print(json.dumps({"reloaded": True, "changed": changed}))
    else:
        print(f"configuration reloaded; changed: {', '.join(changed) or 'nothing'}")
    return 0
