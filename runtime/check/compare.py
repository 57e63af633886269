"""Observations and their comparison with the plan, for ``skillrt profile check`` (no I/O).

The probe program reports what it saw inside the sandbox; the host adds what it saw from outside.
``compare`` turns plan and observations into report rows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from runtime.check.model import Observation, Probe, Row, Verdict
from runtime.sandbox.result import SandboxResult
from runtime.util.units import format_duration, format_size

__all__ = ["all_pass", "compare", "describe", "matches", "parse_report", "run_observations"]


def parse_report(stdout: bytes) -> dict[str, Observation] | None:
    """The probe program's observations, or None when its output is not its JSON document."""
    try:
        doc = json.loads(stdout)
    except ValueError:
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("observations"), dict):
        return None
    observations = {}
    for key, entry in doc["observations"].items():
        if not isinstance(entry, dict) or not isinstance(entry.get("result"), str):
            continue
        amount = entry.get("amount")
        observations[key] = Observation(
            result=entry["result"],
            detail=str(entry.get("detail") or ""),
            amount=amount if isinstance(amount, int) and not isinstance(amount, bool) else None,
        )
    return observations


def run_observations(
    result: SandboxResult, report: Mapping[str, Observation] | None, *, listener_reached: bool
) -> dict[str, Observation]:
    """Observations made outside the sandbox: the run itself and the host's listener."""
    usage = result.usage
    return {
        "sandbox.run": Observation(result="value", detail=result.status.value),
        "sandbox.report": Observation(result="ok")
        if report is not None
        else Observation(result="error", detail="no JSON report on stdout"),
        "network.host_listener": Observation(
            result="value", detail="yes" if listener_reached else "no"
        ),
        "limits.cpu_time": Observation(result="value", detail=f"used {usage.cpu_ms}ms"),
        "limits.wall_time": Observation(result="value", detail=f"took {usage.wall_ms}ms"),
        "limits.output": Observation(result="value", detail=f"printed {len(result.stdout)} bytes"),
        "limits.cpus": Observation(result="value", detail="not probed"),
    }


def matches(probe: Probe, observation: Observation) -> bool:
    """Whether ``observation`` is what ``probe`` promises."""
    pattern_ok = (
        observation.result in probe.accept
        or f"{observation.result}:{observation.detail}" in probe.accept
    )
    return pattern_ok and (probe.amount is None or observation.amount == probe.amount)


def describe(observation: Observation | None, unit: str = "") -> str:
    """An observation as a person reads it: "EMFILE at 256 fds", "killed by SIGSYS"."""
    if observation is None:
        return "no report"
    amount = "" if observation.amount is None else _show_amount(observation.amount, unit)
    if observation.result == "killed":
        return f"killed by {observation.detail}" + (f" after {amount}" if amount else "")
    if observation.result == "error":
        return observation.detail + (f" at {amount}" if amount else "")
    if observation.result == "ok":
        return f"ok, {amount}" if amount else "ok"
    return observation.detail


def _show_amount(amount: int, unit: str) -> str:
    if unit == "bytes":
        return format_size(amount)
    if unit == "ms":
        return format_duration(amount)
    return f"{amount} {unit}".strip()


def compare(plan: Sequence[Probe], observations: Mapping[str, Observation]) -> tuple[Row, ...]:
    """One row per probe: what the profile promises, what was observed and whether they agree."""
    rows = []
    for probe in plan:
        observed = observations.get(probe.key)
        if not probe.accept:
            verdict = Verdict.INFO
        elif observed is not None and matches(probe, observed):
            verdict = Verdict.PASS
        else:
            verdict = Verdict.FAIL
        rows.append(
            Row(
                key=probe.key,
                area=probe.area,
                probe=probe.label,
                expected=probe.expected,
                observed=describe(observed, probe.unit),
                verdict=verdict,
            )
        )
    return tuple(rows)


def all_pass(rows: Sequence[Row]) -> bool:
    return all(row.verdict is not Verdict.FAIL for row in rows)
