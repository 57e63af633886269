"""``skillrt validate DIR``: load a skill folder as the daemon's catalog would and list every
problem, one line each naming the file and key; ``DIR: ok`` and what it holds when none."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from runtime.cli.untrusted import printable
from runtime.core.instructions import InstructionSkill
from runtime.core.manifest import SkillSpec
from runtime.core.scope import limits_text
from runtime.core.skill_check import FolderCheck, check_folder
from runtime.sandbox.profiles import ProfileStore
from runtime.util import paths

__all__ = ["cmd_validate", "register"]

_EXAMPLES = """\
examples:
  skillrt validate ./my-skill
  skillrt validate skills_catalog/calc --json

exit status: 0 when the folder loads and every tool can run, 1 when there are problems (each
printed on its own line), 2 when DIR is not a skill folder at all."""


def register(verbs: Any) -> None:
    validate = verbs.add_parser(
        "validate",
        help="check a skill folder as the daemon loads it, listing every problem",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    directory = validate.add_argument("directory", metavar="DIR", help="the skill folder")
    directory.complete = {"bash": "_shtab_compgen_dirs", "zsh": "_files -/"}
    validate.add_argument("--json", action="store_true", help="print one JSON object")
    validate.set_defaults(handler=cmd_validate)


def cmd_validate(args: argparse.Namespace) -> int:
    profiles = ProfileStore(Path(args.profiles) if args.profiles else paths.profiles_dir())
    found = check_folder(Path(args.directory), profiles)
    # A folder from anywhere: what it says (names, entrypoints, values quoted in problems) is
    # shown with its control characters escaped.
    if args.json:
        print(json.dumps(_as_dict(args.directory, found)))
    elif found.ok:
        print(printable("\n".join([f"{args.directory}: ok", *_summary(found)])))
    else:
        count = len(found.problems)
        lines = [*found.problems, f"{args.directory}: {count} problem{'s' * (count > 1)}"]
        print(printable("\n".join(lines)))
    return 0 if found.ok else 1


def _summary(found: FolderCheck) -> list[str]:
    skill = found.skill
    if isinstance(skill, InstructionSkill):
        return [
            f"  instruction skill {skill.name}: SKILL.md without skill.toml; sessions mount it",
            *_requirement_lines(skill),
        ]
    assert isinstance(skill, SkillSpec)  # a folder with no problems loaded
    limits = dict(found.limits)
    lines = [f"  tool skill {skill.name} {skill.version}, profile {skill.profile}"]
    for tool in skill.tools:
        approval = f", approval {tool.approval}" if tool.approval != "never" else ""
        elevated = ", elevated" if tool.elevated else ""
        lines.append(f"  tool {tool.name}{elevated}{approval}: {' '.join(tool.entrypoint)}")
        lines.append(f"    limits: {limits_text(limits[tool.name])}")
    granted = skill.permissions
    if granted.network:
        lines.append(f"  network: {', '.join(granted.network)}")
    if granted.secrets:
        lines.append(
            f"  secrets: {', '.join(granted.secrets)} (a daemon gives them once its operator "
            "grants them in skills-policy.toml)"
        )
    if granted.readonly_paths:
        lines.append(
            f"  host paths: {', '.join(granted.readonly_paths)} (a daemon binds them once its "
            "operator allows them: [catalog] allowed_readonly_paths)"
        )
    return lines + _requirement_lines(skill)


def _requirement_lines(skill: SkillSpec | InstructionSkill) -> list[str]:
    needs = skill.requires
    programs = list(needs.bins)
    if needs.any_bins:
        programs.append(f"one of {'/'.join(needs.any_bins)}")
    return [f"  needs: {', '.join(programs)}"] if programs else []


def _as_dict(directory: str, found: FolderCheck) -> dict[str, Any]:
    data: dict[str, Any] = {
        "directory": directory,
        "ok": found.ok,
        "kind": found.kind.value,
        "problems": list(found.problems),
    }
    if isinstance(found.skill, SkillSpec):
        limits = dict(found.limits)
        data |= {
            "name": found.skill.name,
            "version": found.skill.version,
            "profile": found.skill.profile,
            "tools": [
                {
                    "name": tool.name,
                    "entrypoint": list(tool.entrypoint),
                    "elevated": tool.elevated,
                    "approval": tool.approval,
                    "limits": asdict(limits[tool.name]) if tool.name in limits else None,
                }
                for tool in found.skill.tools
            ],
        }
    elif isinstance(found.skill, InstructionSkill):
        data["name"] = found.skill.name
    return data
