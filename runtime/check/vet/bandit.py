"""Python files, read by bandit (run as a program; its JSON report parsed).

Bandit's severity becomes ours, one step lower when bandit itself has low confidence in it.
A ``# nosec`` comment that names the rule (``# nosec B102``) is honoured, and what it hid is
still listed, as info: bandit runs once with ``--ignore-nosec`` and the comments on each
finding's lines are read here. A bare ``# nosec`` hides every rule on its line, including ones
its author never saw: a reviewer does not accept that, so such a finding keeps its severity and
says why. Files are named one by one (never a folder), so a ``.bandit`` file a
skill ships cannot configure its own review.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from runtime.check.vet.files import Language, SkillFile
from runtime.check.vet.model import Analysis, not_analysed
from runtime.check.vet.processes import Ran, python_tool, run_together
from runtime.core.vetting import Severity, VetFinding

__all__ = ["analyse"]

NAME = "bandit"
_SEVERITY = {"LOW": Severity.LOW, "MEDIUM": Severity.MEDIUM, "HIGH": Severity.HIGH}
_NOSEC = re.compile(r"#\s*nosec\b(.*)$", re.MULTILINE)
_RULE_ID = re.compile(r"^b\d{3}$")


def analyse(root: Path, files: Sequence[SkillFile]) -> Analysis:
    python = [f for f in files if f.language is Language.PYTHON]
    try:
        version = metadata.version(NAME)
    except metadata.PackageNotFoundError:
        return Analysis(
            analyser=NAME,
            version="not run: not installed",
            findings=tuple(not_analysed(f, "bandit is not installed") for f in python),
        )
    if not python:
        return Analysis(analyser=NAME, version=version)
    # "./" first: a file named like an option is still a file. One run that ignores every
    # `# nosec`: which of them to honour is decided here (only those naming the rule).
    arguments = ["--format", "json", "--quiet", "--ignore-nosec"]
    (ran,) = run_together(
        [python_tool(NAME, *arguments, *(f"./{f.relative}" for f in python))], cwd=root
    )
    report = _report(ran)
    if report is None:
        why = f"bandit failed: {ran.reason}"
        return Analysis(
            analyser=NAME, version=version, findings=tuple(not_analysed(f, why) for f in python)
        )
    by_name = {f.relative: f for f in python}
    findings = [_finding(item) for item in report["results"]]
    for error in report.get("errors", []):
        file = by_name.get(_relative(error.get("filename")))
        if file is not None:
            reason = " ".join(str(error.get("reason", "")).split())
            findings.append(not_analysed(file, f"bandit could not read it: {reason}"))
    return Analysis(analyser=NAME, version=version, findings=tuple(findings))


def _report(ran: Ran) -> dict[str, Any] | None:
    """Bandit's report; None when it gave none (exit 1 only says issues were found)."""
    if ran.code not in (0, 1):
        return None
    try:
        report = json.loads(ran.stdout)
    except ValueError:
        return None
    return report if isinstance(report, dict) and "results" in report else None


def _relative(name: object) -> str:
    """A file as the report names it (bandit writes "././x.py" for "./x.py")."""
    return os.path.normpath(str(name))


def _finding(item: dict[str, Any]) -> VetFinding:
    severity = _SEVERITY.get(str(item.get("issue_severity")), Severity.LOW)
    if item.get("issue_confidence") == "LOW":
        severity = Severity(max(severity - 1, Severity.INFO))
    text = " ".join(str(item.get("issue_text", "")).split())
    message = f"{item.get('test_id')} {item.get('test_name')}: {text}"
    nosec = _nosec(item)
    if nosec == "named":
        severity, message = Severity.INFO, f"suppressed by # nosec: {message}"
    elif nosec == "bare":
        message = f"a bare # nosec (no rule named) is not honoured: {message}"
    return VetFinding(
        severity=severity,
        check=NAME,
        message=message,
        file=_relative(item.get("filename")),
        line=int(item.get("line_number") or 0) or None,
    )


def _nosec(item: dict[str, Any]) -> str | None:
    """ "named" when a ``# nosec`` on the finding's own lines names its rule (by id or name),
    "bare" when one names none of them, else None. The code excerpt also holds the lines
    around, each after its number."""
    rule = {str(item.get("test_id")).lower(), str(item.get("test_name")).lower()}
    lines = set(item.get("line_range") or [item.get("line_number")])
    found = None
    for numbered in str(item.get("code", "")).splitlines():
        number, _, text = numbered.partition(" ")
        if not number.isdigit() or int(number) not in lines:
            continue
        for match in _NOSEC.finditer(text):
            named = set(re.findall(r"[\w-]+", match.group(1).lower()))
            if rule & named:
                return "named"
            if not any(_RULE_ID.match(word) for word in named):
                found = "bare"  # a nosec naming other rules leaves this one as it was
    return found
