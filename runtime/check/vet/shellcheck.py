"""Shell scripts, read by shellcheck (a program; its ``json1`` report parsed).

ShellCheck's levels become severities in their own order (error high, warning medium, info
low, style info). A ``# shellcheck disable=`` directive is honoured as shellcheck honours it,
and what it hid is still listed, as info: shellcheck also reads a copy of each script whose
``disable=`` keys are taken out (its lines stay where they were), and what only that run
reports was suppressed. ``--norc``: an ``.shellcheckrc`` a skill ships does not configure its
own review.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runtime.check.vet.files import Language, SkillFile
from runtime.check.vet.model import Analysis, not_analysed
from runtime.check.vet.processes import Ran, run_together
from runtime.core.vetting import Severity, VetFinding

__all__ = ["analyse"]

NAME = "shellcheck"
_SEVERITY = {
    "error": Severity.HIGH,
    "warning": Severity.MEDIUM,
    "info": Severity.LOW,
    "style": Severity.INFO,
}
_DIRECTIVE = re.compile(r"^(\s*#\s*shellcheck\s+)(.*)$")
_DISABLE = re.compile(r"\bdisable=\S*")
_VERSION = re.compile(r"^version:\s*(\S+)", re.MULTILINE)


def analyse(root: Path, files: Sequence[SkillFile]) -> Analysis:
    scripts = [f for f in files if f.language is Language.SHELL]
    program = shutil.which(NAME)
    if program is None:
        return Analysis(
            analyser=NAME,
            version="not run: not installed",
            findings=tuple(not_analysed(f, "shellcheck is not installed") for f in scripts),
        )
    (about,) = run_together([[program, "--version"]], cwd=root)
    found = _VERSION.search(about.stdout)
    version = found.group(1) if found else "unknown version"
    if not scripts:
        return Analysis(analyser=NAME, version=version)
    check = [program, "--norc", "--format=json1"]
    with tempfile.TemporaryDirectory(prefix="skillrt-vet-") as scratch:
        copies = _without_disables(scripts, Path(scratch))
        honoured, everything = run_together(
            [[*check, *(f"./{f.relative}" for f in scripts)], [*check, *copies]], cwd=root
        )
    report, unsuppressed = _comments(honoured), _comments(everything)
    if report is None or unsuppressed is None:
        why = f"shellcheck failed: {(honoured if report is None else everything).reason}"
        return Analysis(
            analyser=NAME, version=version, findings=tuple(not_analysed(f, why) for f in scripts)
        )
    names = {**{f"./{f.relative}": f for f in scripts}, **dict(zip(copies, scripts, strict=True))}
    findings = [_finding(item, names, suppressed=False) for item in report]
    shown = {_key(item, names) for item in report}
    findings += [
        _finding(item, names, suppressed=True)
        for item in unsuppressed
        if _key(item, names) not in shown
    ]
    return Analysis(analyser=NAME, version=version, findings=tuple(findings))


def _without_disables(scripts: Sequence[SkillFile], scratch: Path) -> list[str]:
    """A copy of each script, under its own name (which tells shellcheck its dialect), with
    the ``disable=`` keys of its directives taken out."""
    copies = []
    for index, script in enumerate(scripts):
        folder = scratch / str(index)
        folder.mkdir()
        copy = folder / script.path.name
        lines = script.path.read_bytes().decode("utf-8", "surrogateescape").split("\n")
        copy.write_bytes("\n".join(map(_undisabled, lines)).encode("utf-8", "surrogateescape"))
        copies.append(str(copy))
    return copies


def _undisabled(line: str) -> str:
    directive = _DIRECTIVE.match(line)
    if directive is None:
        return line
    rest = _DISABLE.sub("", directive.group(2)).strip()
    return directive.group(1) + rest if rest else "#"


def _comments(ran: Ran) -> list[dict[str, Any]] | None:
    """ShellCheck's comments; None when it gave no report (exit 1 only says it has some)."""
    if ran.code not in (0, 1):
        return None
    try:
        report = json.loads(ran.stdout)
    except ValueError:
        return None
    comments = report.get("comments") if isinstance(report, dict) else None
    return comments if isinstance(comments, list) else None


def _key(item: dict[str, Any], names: dict[str, SkillFile]) -> tuple[str, int, int, int]:
    file = names.get(str(item.get("file")))
    return (
        file.relative if file else str(item.get("file")),
        int(item.get("line") or 0),
        int(item.get("column") or 0),
        int(item.get("code") or 0),
    )


def _finding(item: dict[str, Any], names: dict[str, SkillFile], *, suppressed: bool) -> VetFinding:
    file, line, _, code = _key(item, names)
    text = " ".join(str(item.get("message", "")).split())
    message = f"SC{code}: {text}"
    return VetFinding(
        severity=Severity.INFO
        if suppressed
        else _SEVERITY.get(str(item.get("level")), Severity.LOW),
        check=NAME,
        message=f"suppressed by # shellcheck disable: {message}" if suppressed else message,
        file=file,
        line=line or None,
    )
