"""``skillrt skills quarantine|release|quarantined``: operators quarantine a skill by hand,
release it, and list the quarantines in force (the daemon's own and operators')."""

from __future__ import annotations

import argparse
import datetime
import json
from typing import Any

from runtime.cli.connect import call, target_flags
from runtime.cli.untrusted import printable
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb

__all__ = ["describe", "quarantine_dict", "register"]


def register(actions: Any) -> None:
    impose = actions.add_parser(
        "quarantine", help="refuse a skill's calls, as it is now, until it is released"
    )
    impose.add_argument("name")
    impose.add_argument("--reason", required=True, help="one line, shown in every refusal")
    impose.set_defaults(handler=_quarantine)
    release = actions.add_parser(
        "release", help="serve a quarantined skill again, with its counts of trips reset"
    )
    release.add_argument("name")
    release.set_defaults(handler=_release)
    listing = actions.add_parser("quarantined", help="the skills quarantined now")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_listing)
    for parser in (impose, release, listing):
        target_flags(parser)


def quarantine_dict(quarantine: pb.Quarantine) -> dict[str, Any]:
    return {
        "skill": quarantine.skill,
        "content_hash": quarantine.skill_content_hash,
        "kind": quarantine.kind,
        "reason": quarantine.reason,
        "counts": dict(quarantine.counts),
        "since": _when(quarantine.quarantined_at_ms),
        "by": quarantine.quarantined_by,
        "released_by": quarantine.released_by or None,
        "released_at": _when(quarantine.released_at_ms) if quarantine.released_at_ms else None,
    }


def describe(quarantine: pb.Quarantine) -> str:
    """One quarantine as a person reads it; its reason may be anyone's words, so escaped."""
    who = (
        "automatically"
        if quarantine.quarantined_by == "automatic"
        else f"by {quarantine.quarantined_by}"
    )
    return printable(
        f"{quarantine.skill} @ {quarantine.skill_content_hash[:12]}  quarantined since "
        f"{_when(quarantine.quarantined_at_ms)} {who}: {quarantine.reason}"
    )


def _quarantine(args: argparse.Namespace) -> int:
    imposed: pb.Quarantine = call(args, lambda c: c.quarantine_skill(args.name, reason=args.reason))
    print(describe(imposed))
    return 0


def _release(args: argparse.Namespace) -> int:
    released: list[pb.Quarantine] = call(args, lambda c: c.release_skill(args.name))
    for quarantine in released:
        print(f"released {describe(quarantine)}")
    return 0


def _listing(args: argparse.Namespace) -> int:
    found: list[pb.Quarantine] = call(args, lambda c: c.quarantines())
    if args.json:
        print(json.dumps([quarantine_dict(q) for q in found]))
    else:
        print("\n".join(describe(q) for q in found) or "no skill is quarantined")
    return 0


def _when(ms: int) -> str:
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
