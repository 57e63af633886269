"""What every check of a review returns, and the finding for a file no analyser read."""

from __future__ import annotations

from dataclasses import dataclass

from runtime.check.vet.files import Language, SkillFile
from runtime.core.vetting import Severity, VetFinding

__all__ = ["NOT_ANALYSED", "Analysis", "not_analysed"]

# Code nobody reviewed fails a review at the default threshold; data is only noted.
NOT_ANALYSED = {
    Language.PYTHON: Severity.MEDIUM,
    Language.SHELL: Severity.MEDIUM,
    Language.CODE: Severity.MEDIUM,
    Language.MARKDOWN: Severity.INFO,
    Language.DATA: Severity.INFO,
}


@dataclass(frozen=True, kw_only=True)
class Analysis:
    """What one analyser found; ``version`` is its version, or why it did not run."""

    analyser: str
    version: str
    findings: tuple[VetFinding, ...] = ()


def not_analysed(file: SkillFile, why: str) -> VetFinding:
    return VetFinding(
        severity=NOT_ANALYSED[file.language],
        check="coverage",
        message=f"not analysed ({file.kind}): {why}",
        file=file.relative,
    )
