"""``skillrt skills``: the daemon's skills, and what operators do to them.

``skillrt skills`` alone lists them. Its actions come from one module per concern, each loaded
only when ``skills`` is the verb.
"""

from __future__ import annotations

import argparse
import importlib
import json
from typing import Any

from runtime.cli.connect import call, target_flags
from runtime.cli.untrusted import printable
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb

__all__ = ["cmd_skills", "register"]

# The modules whose verbs are actions of ``skills`` (each has ``register(actions)``).
_ACTION_MODULES: tuple[str, ...] = ("signing", "quarantine")


def register(verbs: Any) -> None:
    skills = verbs.add_parser("skills", help="list the daemon's skills, or act on one")
    skills.add_argument("--json", action="store_true")
    target_flags(skills)
    skills.set_defaults(handler=cmd_skills)
    if _ACTION_MODULES:
        actions = skills.add_subparsers(dest="skills_action", metavar="ACTION")
        for name in _ACTION_MODULES:
            importlib.import_module(f"runtime.cli.{name}").register(actions)


def cmd_skills(args: argparse.Namespace) -> int:
    skills: list[pb.Skill] = call(args, lambda c: c.list_skills())
    if args.json:
        print(json.dumps([_skill_dict(s) for s in skills]))
        return 0
    for skill in skills:  # skills come from anywhere: their text is shown escaped
        if skill.version:  # a tool skill whose manifest loaded
            tools = ", ".join(t.name + (" (elevated)" if t.elevated else "") for t in skill.tools)
            print(printable(f"{skill.name:<20} {skill.version:<8} {skill.profile:<9} {tools}"))
        else:
            print(f"{skill.name:<20} {_kind(skill)}")
        if skill.description:
            print(printable(f"{'':<20} {skill.description}"))
        if not skill.available:
            print(printable(f"{'':<20} unavailable: {skill.unavailable_reason}"))
        if skill.HasField("signed_by"):
            signer = skill.signed_by
            print(printable(f"{'':<20} signed by {signer.name} ({signer.key_id})"))
    return 0


def _kind(skill: pb.Skill) -> str:
    return pb.SkillKind.Name(skill.kind).removeprefix("SKILL_KIND_").lower()


def _skill_dict(skill: pb.Skill) -> dict[str, Any]:
    return {
        "name": skill.name,
        "kind": _kind(skill),
        "available": skill.available,
        "unavailable_reason": skill.unavailable_reason or None,
        "version": skill.version,
        "profile": skill.profile,
        "description": skill.description,
        "tools": [
            {
                "name": t.name,
                "elevated": t.elevated,
                "input_schema": json.loads(t.input_schema_json),
            }
            for t in skill.tools
        ],
        "requires_bins": list(skill.requires_bins),
        "requires_any_bins": list(skill.requires_any_bins),
        "requires_env": list(skill.requires_env),
        "os": list(skill.os),
        "signed_by": (
            {"name": skill.signed_by.name, "key_id": skill.signed_by.key_id}
            if skill.HasField("signed_by")
            else None
        ),
    }
