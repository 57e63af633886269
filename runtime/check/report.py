"""The report of ``skillrt profile check``: as the text table and as the ``--json`` object."""

from __future__ import annotations

from dataclasses import dataclass

from runtime.check.compare import all_pass
from runtime.check.model import Row, Verdict
from runtime.sandbox.result import SandboxResult, Status
from runtime.util.table import text_table

__all__ = ["CheckReport", "render_report", "report_dict"]


@dataclass(frozen=True, kw_only=True)
class CheckReport:
    profile: str
    rows: tuple[Row, ...]
    result: SandboxResult

    @property
    def ok(self) -> bool:
        return all_pass(self.rows)


def report_dict(report: CheckReport) -> dict[str, object]:
    """The report as the JSON object ``profile check --json`` prints."""
    result = report.result
    return {
        "profile": report.profile,
        "ok": report.ok,
        "probes": [
            {
                "key": row.key,
                "area": row.area,
                "probe": row.probe,
                "expected": row.expected,
                "observed": row.observed,
                "verdict": row.verdict.value,
            }
            for row in report.rows
        ],
        "sandbox": {
            "status": result.status.value,
            "exit_code": result.exit_code,
            "signal": result.signal,
            "violations": list(result.violations),
            "usage": {
                "wall_ms": result.usage.wall_ms,
                "cpu_ms": result.usage.cpu_ms,
                "peak_memory_bytes": result.usage.peak_memory_bytes,
            },
            **({"error": result.error} if result.error else {}),
            **({"stderr": _tail(result.stderr)} if result.status is not Status.OK else {}),
        },
    }


def render_report(report: CheckReport) -> str:
    """The report as the table ``profile check`` prints."""
    cells: list[list[str]] = []
    area = ""
    for row in report.rows:
        if row.area != area:
            area = row.area
            cells.append([f"[{area}]"])
        cells.append([f"  {row.probe}", row.expected, row.observed, row.verdict.value])
    failed = sum(row.verdict is Verdict.FAIL for row in report.rows)
    summary = (
        "every observation matches the profile"
        if failed == 0
        else f"{failed} observation(s) do not match the profile"
    )
    lines = [
        f"profile {report.profile}",
        *text_table(("PROBE", "EXPECTED", "OBSERVED", "VERDICT"), cells),
        "",
    ]
    lines += [f"launcher noted: {v}" for v in report.result.violations]
    if report.result.error:
        lines.append(f"sandbox error: {report.result.error}")
    if report.result.status is not Status.OK and report.result.stderr:
        lines.append("probe stderr:\n" + _tail(report.result.stderr))
    lines.append(f"{report.profile}: {summary}")
    return "\n".join(lines)


def _tail(data: bytes, lines: int = 10) -> str:
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])
