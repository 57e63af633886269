"""``skillrt vet SKILL_DIR``: the security review of a skill folder, and its verdict recorded
beside the folder against the content hash it reviewed (runtime/core/vetting.py).

No daemon is needed: the folder is loaded as the daemon's catalog would load it, and reviewed
by the checks of runtime/check/vet/. The report is a table, or one JSON object with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import sys
from collections import Counter
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runtime.check.vet.review import Review, review
from runtime.cli.untrusted import printable
from runtime.core.scope import scope_lines
from runtime.core.vetting import Severity, VetRecord, record_path, write_record
from runtime.sandbox.profiles import ProfileStore
from runtime.util import paths

__all__ = ["cmd_vet", "register"]

_EXAMPLES = """\
examples:
  skillrt vet ./my-skill
  skillrt vet skills_catalog/http-fetch --json
  skillrt vet ./my-skill --fail-on high --reviewer alice
  skillrt vet ./openclaw-skill --no-record

exit status: 0 when no finding is at or above the threshold (--fail-on, default medium), 1 when
one is, 2 when SKILL_DIR is not a skill folder, its manifest does not load, or the record
cannot be written (the report is printed all the same)."""


def register(verbs: Any) -> None:
    vet = verbs.add_parser(
        "vet",
        help="review a skill folder for security and record the verdict beside it",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    directory = vet.add_argument("directory", metavar="SKILL_DIR", help="the skill folder")
    directory.complete = {"bash": "_shtab_compgen_dirs", "zsh": "_files -/"}
    vet.add_argument("--json", action="store_true", help="print one JSON object")
    vet.add_argument(
        "--fail-on",
        default=Severity.MEDIUM.label,
        choices=[severity.label for severity in Severity],
        metavar="SEVERITY",
        help="fail when a finding is at least this severe: info, low, medium (default), high, "
        "critical",
    )
    vet.add_argument("--reviewer", metavar="NAME", help="who reviewed it (default: your user)")
    vet.add_argument(
        "--no-record", action="store_true", help="do not write the record (SKILL_DIR.vet.json)"
    )
    profiles = vet.add_argument(
        "--profiles", metavar="DIR", default=argparse.SUPPRESS, help="sandbox profiles folder"
    )
    profiles.complete = {"bash": "_shtab_compgen_dirs", "zsh": "_files -/"}
    vet.set_defaults(handler=cmd_vet)


def cmd_vet(args: argparse.Namespace) -> int:
    profiles = ProfileStore(Path(args.profiles) if args.profiles else paths.profiles_dir())
    folder = Path(args.directory)
    found = review(folder, profiles)
    record = VetRecord(
        skill=found.skill,
        content_hash=found.content_hash,
        vetted_by=args.reviewer or _user(),
        vetted_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        threshold=Severity.parse(args.fail_on),
        findings=found.findings,
        analysers=found.analysers,
    )
    written: Path | None = None
    problem = ""
    if not args.no_record:
        target = record_path(folder)
        try:
            write_record(record, target)
        except OSError as exc:
            problem = f"skillrt: error: {target}: cannot write the vet record: {exc.strerror}"
        else:
            written = target
    if args.json:
        print(json.dumps(_as_json(found, record, written)))
    else:
        print(printable("\n".join(_report(found, record, written))))
    if problem:
        print(problem, file=sys.stderr)
        return 2
    return 0 if record.passed else 1


def _user() -> str:
    """The reviewer by default: the user's name, or its uid when it has no passwd entry."""
    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _report(found: Review, record: VetRecord, written: Path | None) -> list[str]:
    version = f" {found.version}" if found.version else ""
    lines = [
        f"{found.skill}{version} ({found.kind} skill) {found.directory}",
        f"content sha256:{found.content_hash}",
        "",
        *_table(record),
        "",
    ]
    for tool, scope in found.scopes:
        lines += [f"tool {tool}:", *(f"  {line}" for line in scope_lines(scope))]
    if found.kind == "instruction":
        lines.append(
            "scope: an instruction skill has no tools; its network, host paths and secrets are "
            "the operator's grants (skills-policy.toml)"
        )
    needs = found.requires
    programs = [*needs.bins, *([f"one of {'/'.join(needs.any_bins)}"] if needs.any_bins else [])]
    if programs:
        lines.append(f"needs programs: {', '.join(programs)}")
    if needs.env:
        lines.append(f"needs secrets: {', '.join(needs.env)}")
    if found.commands:
        lines.append("commands SKILL.md tells the model to run:")
        lines += [f"  SKILL.md:{command.line}  {command.text}" for command in found.commands]
    analysers = ", ".join(f"{name} {version}" for name, version in sorted(found.analysers.items()))
    verdict = "passed" if record.passed else "FAILED"
    where = f"; recorded in {written}" if written else ""
    lines += [
        f"analysers: {analysers}",
        f"{verdict}: {_counts(record)} (threshold {record.threshold.label}); vetted by "
        f"{record.vetted_by} at {record.vetted_at}{where}",
    ]
    return lines


def _table(record: VetRecord) -> list[str]:
    if not record.findings:
        return ["no findings"]
    rows = [
        (
            finding.severity.label,
            finding.check,
            f"{finding.file or ''}{f':{finding.line}' if finding.line else ''}",
            finding.message,
        )
        for finding in record.findings
    ]
    header = ("SEVERITY", "CHECK", "WHERE", "MESSAGE")
    widths = [max(len(row[column]) for row in (header, *rows)) for column in range(3)]
    return [
        "  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[3]])
        for row in (header, *rows)
    ]


def _counts(record: VetRecord) -> str:
    counted = Counter(finding.severity for finding in record.findings)
    if not counted:
        return "no findings"
    return ", ".join(
        f"{counted[severity]} {severity.label}" for severity in sorted(counted, reverse=True)
    )


def _as_json(found: Review, record: VetRecord, written: Path | None) -> dict[str, Any]:
    needs = found.requires
    return {
        **record.as_json(),
        "kind": found.kind,
        "version": found.version or None,
        "directory": str(found.directory),
        "record": str(written) if written else None,
        "scope": [
            {
                "tool": tool,
                "network": list(scope.network),
                "secrets": list(scope.secrets),
                "readonly_paths": list(scope.readonly_paths),
                "profile": scope.profile,
                "limits": asdict(scope.limits),
                "elevated": scope.elevated,
                "approval": scope.approval,
                "summary": scope_lines(scope),
            }
            for tool, scope in found.scopes
        ],
        "requires": {
            "bins": list(needs.bins),
            "any_bins": list(needs.any_bins),
            "env": list(needs.env),
            "os": list(needs.os),
        },
        "commands": [{"line": c.line, "command": c.text} for c in found.commands],
    }
