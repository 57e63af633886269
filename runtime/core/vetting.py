"""A vet record: what a review of one skill found, bound to the content hash it reviewed.

``skillrt vet`` writes one beside the skill folder (``<folder>.vet.json``); ``skillrt skills
sign`` signs it together with the hash, so a signature says both "this content" and "this
content was reviewed, by whom, when, and with what result". A record of another content hash
says nothing about the folder as it is now: any change needs a new vet.

The file is JSON, written by skillrt and read back strictly: a field missing, of the wrong type
or unknown is an error naming the file and the field.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

from runtime.core.skill_files import copy_skill
from runtime.errors import ConfigError
from runtime.util.canonical import strict_json
from runtime.util.fsio import read_regular, replace_text

__all__ = [
    "RECORD_FORMAT",
    "RECORD_SUFFIX",
    "Severity",
    "VetFinding",
    "VetRecord",
    "folder_hash",
    "read_record",
    "record_path",
    "write_record",
]

RECORD_FORMAT = "skillrt-vet/1"
RECORD_SUFFIX = ".vet.json"
_MAX_RECORD_BYTES = 4 * 1024 * 1024  # thousands of findings; more is not a record skillrt wrote


class Severity(IntEnum):
    """Ordered, so that a threshold is a comparison."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.upper()]
        except KeyError:
            names = ", ".join(s.label for s in cls)
            raise ValueError(f"{text!r} is not a severity ({names})") from None


@dataclass(frozen=True, kw_only=True)
class VetFinding:
    severity: Severity
    check: str  # which review found it: "bandit", "shellcheck", "secrets", "declared", ...
    message: str  # one line
    file: str | None = None  # relative to the skill folder
    line: int | None = None


@dataclass(frozen=True, kw_only=True)
class VetRecord:
    skill: str
    content_hash: str  # runtime/core/skill_files.py: the hash the daemon computes at load
    vetted_by: str
    vetted_at: str  # RFC 3339, UTC
    threshold: Severity  # findings at or above it fail the vet
    findings: tuple[VetFinding, ...]
    analysers: dict[str, str]  # tool -> version, or why it did not run

    @property
    def passed(self) -> bool:
        return all(finding.severity < self.threshold for finding in self.findings)

    def as_json(self) -> dict[str, Any]:
        """The record as signed and written: plain JSON values, severities by name."""
        return {
            "format": RECORD_FORMAT,
            "skill": self.skill,
            "content_hash": self.content_hash,
            "vetted_by": self.vetted_by,
            "vetted_at": self.vetted_at,
            "threshold": self.threshold.label,
            "passed": self.passed,
            "analysers": dict(sorted(self.analysers.items())),
            "findings": [{**asdict(f), "severity": f.severity.label} for f in self.findings],
        }


def record_path(folder: Path) -> Path:
    """Where the vet record of a skill folder is kept: beside it, never inside (the record is
    not part of what it describes)."""
    folder = folder.resolve()
    return folder.parent / (folder.name + RECORD_SUFFIX)


def folder_hash(folder: Path) -> str:
    """The content hash of a skill folder exactly as the daemon computes it at load."""
    with tempfile.TemporaryDirectory(prefix="skillrt-hash-") as scratch:
        return copy_skill(folder, Path(scratch) / "copy")


def write_record(record: VetRecord, path: Path) -> None:
    replace_text(path, json.dumps(record.as_json(), indent=2) + "\n")


def read_record(path: Path) -> VetRecord:
    """The record in ``path``; ConfigError naming the file and field when it is not one."""
    try:
        data = read_regular(path, _MAX_RECORD_BYTES, what="a vet record")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file; vet the skill first (skillrt vet)") from None
    try:
        return record_from_json(strict_json(data))
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def record_from_json(value: Any) -> VetRecord:
    """A record from its JSON form; ValueError naming the field."""
    fields = _object(value, "record")
    if fields.get("format") != RECORD_FORMAT:
        raise ValueError(f"format: expected {RECORD_FORMAT!r}")
    _known(
        fields,
        "record",
        {
            "format",
            "skill",
            "content_hash",
            "vetted_by",
            "vetted_at",
            "threshold",
            "passed",
            "analysers",
            "findings",
        },
    )
    analysers = _object(fields.get("analysers"), "analysers")
    findings = fields.get("findings")
    if not isinstance(findings, list):
        raise ValueError("findings: expected a list")
    record = VetRecord(
        skill=_text(fields, "skill"),
        content_hash=_text(fields, "content_hash"),
        vetted_by=_text(fields, "vetted_by"),
        vetted_at=_text(fields, "vetted_at"),
        threshold=_severity(fields, "threshold"),
        findings=tuple(_finding(item, index) for index, item in enumerate(findings)),
        analysers={str(k): _text(analysers, k, "analysers.") for k in analysers},
    )
    if fields.get("passed") is not record.passed:
        raise ValueError("passed: does not follow from the findings and the threshold")
    return record


def _finding(value: Any, index: int) -> VetFinding:
    where = f"findings[{index}]."
    fields = _object(value, where.rstrip("."))
    _known(fields, where.rstrip("."), {"severity", "check", "message", "file", "line"})
    file, line = fields.get("file"), fields.get("line")
    if file is not None and not isinstance(file, str):
        raise ValueError(f"{where}file: expected a string or null")
    if line is not None and (not isinstance(line, int) or isinstance(line, bool)):
        raise ValueError(f"{where}line: expected an integer or null")
    return VetFinding(
        severity=_severity(fields, "severity", where),
        check=_text(fields, "check", where),
        message=_text(fields, "message", where),
        file=file,
        line=line,
    )


def _object(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{name}: expected an object")
    return value


def _known(fields: dict[str, Any], name: str, known: set[str]) -> None:
    unknown = sorted(set(fields) - known)
    if unknown:
        raise ValueError(f"{name}: unknown field {unknown[0]!r}")


def _text(fields: dict[str, Any], key: str, where: str = "") -> str:
    value = fields.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{where}{key}: expected a string")
    return value


def _severity(fields: dict[str, Any], key: str, where: str = "") -> Severity:
    try:
        return Severity.parse(_text(fields, key, where))
    except ValueError as exc:
        raise ValueError(f"{where}{key}: {exc}") from None
