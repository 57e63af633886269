"""Operator verbs for the approval gate: ``approvals list|watch|approve|deny`` and ``rules``."""

from __future__ import annotations

import argparse
import datetime
import json
from typing import Any

from runtime.api.convert_results import overrides_from_proto
from runtime.cli.connect import call, target_flags
from runtime.cli.quarantine import describe, quarantine_dict
from runtime.cli.untrusted import printable
from runtime.core.scope import Scope, scope_lines
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb

__all__ = ["approval_dict", "cmd_approvals", "cmd_rules", "register"]

_STATES = ["pending", "approved", "denied", "expired", "cancelled"]


def register(verbs: Any) -> None:
    approvals = verbs.add_parser("approvals", help="list, watch and decide approval requests")
    actions = approvals.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="approval requests")
    listing.add_argument("--state", choices=_STATES)
    listing.add_argument("--json", action="store_true")
    watch = actions.add_parser(
        "watch",
        help="print each pending and new request as it comes, and each skill quarantined (with "
        '--json, a line {"quarantine": {...}})',
    )
    watch.add_argument("--json", action="store_true")
    approve = actions.add_parser("approve", help="approve a pending request")
    approve.add_argument("id")
    approve.add_argument("--reason", default="")
    deny = actions.add_parser("deny", help="deny a pending request")
    deny.add_argument("id")
    deny.add_argument("--reason", required=True)
    for parser in (listing, watch, approve, deny):
        target_flags(parser)
        parser.set_defaults(handler=cmd_approvals)

    rules = verbs.add_parser("rules", help="standing allow/deny rules (bound to skill content)")
    rule_actions = rules.add_subparsers(dest="action", required=True)
    add = rule_actions.add_parser("add", help="always allow or always deny a tool")
    add.add_argument("effect", choices=["allow", "deny"])
    add.add_argument("skill")
    add.add_argument("tool")
    add.add_argument("--input-schema", default="", metavar="JSON", help="only for matching input")
    add.add_argument("--reason", default="")
    rule_list = rule_actions.add_parser("list", help="the standing rules")
    rule_list.add_argument("--json", action="store_true")
    remove = rule_actions.add_parser("rm", help="delete a standing rule")
    remove.add_argument("id")
    for parser in (add, rule_list, remove):
        target_flags(parser)
        parser.set_defaults(handler=cmd_rules)


def _when(ms: int) -> str:
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def approval_dict(approval: pb.Approval) -> dict[str, object]:
    return {
        "id": approval.id,
        "invocation_id": approval.invocation_id,
        "state": pb.ApprovalState.Name(approval.state).removeprefix("APPROVAL_STATE_").lower(),
        "mode": approval.mode,
        "skill": approval.skill,
        "skill_version": approval.skill_version,
        "tool": approval.tool,
        "input": json.loads(approval.input_json),
        "requested_by": approval.requested_by,
        "created_at": _when(approval.created_at_ms),
        "expires_at": _when(approval.expires_at_ms),
        "permissions": {
            "network": list(approval.permissions.network),
            "secrets": list(approval.permissions.secrets),
            "readonly_paths": list(approval.permissions.readonly_paths),
        },
        "limits": {
            "memory_bytes": approval.limits.memory_bytes,
            "cpu_time_ms": approval.limits.cpu_time_ms,
            "wall_time_ms": approval.limits.wall_time_ms,
            "pids": approval.limits.pids,
        },
        "profile": approval.profile or None,
        "elevated": approval.elevated if approval.HasField("elevated") else None,
        "decided_by": approval.decided_by or None,
        "reason": approval.reason or None,
    }


def _show(approval: pb.Approval) -> str:
    """A request as an approver reads it. Its input is the agent's: its bidi and C1 controls
    are written out as escapes, so that what is shown is what would run."""
    data = approval_dict(approval)
    scope = Scope(
        network=tuple(approval.permissions.network),
        secrets=tuple(approval.permissions.secrets),
        readonly_paths=tuple(approval.permissions.readonly_paths),
        limits=overrides_from_proto(approval.limits),
        approval=approval.mode,
        profile=approval.profile,
        elevated=approval.elevated if approval.HasField("elevated") else None,
    )
    return printable(
        "\n".join(
            [
                f"{data['id']}  {data['state']:<9} {data['skill']} {data['skill_version']} / "
                f"{data['tool']} ({data['mode']})",
                f"    asked by {data['requested_by']} at {data['created_at']}, "
                f"expires {data['expires_at']}",
                f"    input: {json.dumps(data['input'], ensure_ascii=False)}",
                *(f"    {line}" for line in scope_lines(scope)),
            ]
        )
    )


def _watched(approval: pb.Approval, *, as_json: bool) -> str:
    """A request, or the notice of a skill quarantined (the watch's only other message)."""
    if approval.HasField("quarantine"):
        notice = approval.quarantine
        if as_json:
            return json.dumps({"quarantine": quarantine_dict(notice)})
        return f"QUARANTINED {describe(notice)}\n    release: skillrt skills release {notice.skill}"
    return json.dumps(approval_dict(approval)) if as_json else _show(approval)


def cmd_approvals(args: argparse.Namespace) -> int:
    if args.action == "list":
        state = pb.ApprovalState.Value(f"APPROVAL_STATE_{args.state.upper()}") if args.state else 0
        found: list[pb.Approval] = call(args, lambda c: c.list_approvals(state))
        if args.json:
            print(json.dumps([approval_dict(a) for a in found]))
        else:
            print("\n".join(_show(a) for a in found) or "no approval requests")
        return 0
    if args.action == "watch":

        def follow(client: Any) -> None:
            for approval in client.watch_approvals(quarantines=True):
                print(_watched(approval, as_json=args.json), flush=True)

        call(args, follow)
        return 0
    approve = args.action == "approve"
    decided: pb.Approval = call(
        args, lambda c: c.decide(args.id, approve=approve, reason=args.reason)
    )
    print(_show(decided))
    return 0


def cmd_rules(args: argparse.Namespace) -> int:
    if args.action == "add":
        rule: pb.Rule = call(
            args,
            lambda c: c.create_rule(
                effect=args.effect,
                skill=args.skill,
                tool=args.tool,
                input_schema_json=args.input_schema,
                reason=args.reason,
            ),
        )
        print(f"{rule.id}  {rule.effect} {rule.skill}/{rule.tool} @ {rule.skill_content_hash[:12]}")
        return 0
    if args.action == "list":
        rules: list[pb.Rule] = call(args, lambda c: c.list_rules())
        for item in rules:
            scope = f" when {item.input_schema_json}" if item.input_schema_json else ""
            print(
                f"{item.id}  {item.effect:<5} {item.skill}/{item.tool} "
                f"@ {item.skill_content_hash[:12]}{scope}  by {item.created_by}"
            )
        return 0
    removed: pb.Rule = call(args, lambda c: c.delete_rule(args.id))
    print(f"deleted {removed.id}")
    return 0
