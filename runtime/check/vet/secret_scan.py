"""Secrets committed in the folder, found by detect-secrets (run as a program).

Its report names each secret's kind and line, and only a hash of the value: the value itself
never reaches this process's output. A ``pragma: allowlist secret`` comment is honoured as
detect-secrets honours it, and what it hid is still listed, as info (a second run without the
allowlist filter). Kinds that only guess from the look of a string (high entropy) are medium;
a keyword assignment or a provider's key format is high.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from runtime.check.vet.files import SkillFile
from runtime.check.vet.model import Analysis, not_analysed
from runtime.check.vet.processes import Ran, python_tool, run_together
from runtime.core.vetting import Severity, VetFinding

__all__ = ["analyse"]

NAME = "detect-secrets"
_MODULE = "detect_secrets"
_ALLOWLIST = "detect_secrets.filters.allowlist.is_line_allowlisted"
_INDIRECT = "detect_secrets.filters.heuristic.is_indirect_reference"
# More kinds of key, a plugin file detect-secrets loads (importing it here would need it).
_KEY_FORMATS = Path(__file__).with_name("key_formats.py")
_SEVERITY = {
    "Base64 High Entropy String": Severity.MEDIUM,
    "Hex High Entropy String": Severity.MEDIUM,
    "Public IP (ipv4)": Severity.LOW,
}


def analyse(root: Path, files: Sequence[SkillFile]) -> Analysis:
    try:
        version = metadata.version(NAME)
    except metadata.PackageNotFoundError:
        why = "detect-secrets is not installed, so no file was scanned for secrets"
        return Analysis(
            analyser=NAME,
            version="not run: not installed",
            findings=tuple(not_analysed(f, why) for f in files),
        )
    if not files:
        return Analysis(analyser=NAME, version=version)
    plugin = str(_KEY_FORMATS)
    arguments = [
        "scan",
        "--all-files",
        "--plugin",
        plugin,
        # Its guess that `x = call(...)` holds no secret hides a key passed as an argument.
        "--disable-filter",
        _INDIRECT,
        *(f"./{f.relative}" for f in files),
    ]
    honoured, everything = run_together(
        [
            python_tool(_MODULE, *arguments),
            python_tool(_MODULE, *arguments, "--disable-filter", _ALLOWLIST),
        ],
        cwd=root,
    )
    found, unfiltered = _results(honoured), _results(everything)
    if found is None or unfiltered is None:
        why = f"detect-secrets failed: {(honoured if found is None else everything).reason}"
        return Analysis(
            analyser=NAME, version=version, findings=tuple(not_analysed(f, why) for f in files)
        )
    findings = [_finding(where, kinds, suppressed=False) for where, kinds in found.items()]
    findings += [
        _finding(where, kinds, suppressed=True)
        for where, kinds in unfiltered.items()
        if where not in found
    ]
    return Analysis(analyser=NAME, version=version, findings=tuple(findings))


def _results(ran: Ran) -> dict[tuple[str, int], list[str]] | None:
    """(file, line) -> the kinds of secret found there; None when there was no report."""
    if ran.code != 0:
        return None
    try:
        report: Any = json.loads(ran.stdout)
        results = report["results"]
    except (ValueError, KeyError, TypeError):
        return None
    found: dict[tuple[str, int], list[str]] = {}
    for file, items in sorted(results.items()):
        for item in items:
            where = (os.path.normpath(file), int(item.get("line_number") or 0))
            kinds = found.setdefault(where, [])
            if item.get("type") not in kinds:
                kinds.append(str(item.get("type")))
    return found


def _finding(where: tuple[str, int], kinds: list[str], *, suppressed: bool) -> VetFinding:
    severity = max(_SEVERITY.get(kind, Severity.HIGH) for kind in kinds)
    what = ", ".join(kinds)
    return VetFinding(
        severity=Severity.INFO if suppressed else severity,
        check="secrets",
        message=(
            f"suppressed by pragma: allowlist secret: {what}"
            if suppressed
            else f"a secret committed in the skill: {what} (the value is not shown)"
        ),
        file=where[0],
        line=where[1] or None,
    )
