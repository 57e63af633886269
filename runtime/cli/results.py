"""How the command line shows an invocation's result in plain text, and the exit code it means.

What the tool printed, its output and the reasons quoted from it are the tool's text: shown with
every control character escaped (``runtime.cli.untrusted``); ``--json`` carries them exactly."""

from __future__ import annotations

import json
from typing import Any

from runtime.cli.untrusted import printable

__all__ = ["exit_code", "result_lines"]

_STDERR_TAIL_LINES = 20
# Results that are not failures: the call ran to its end, or waits for a person.
_SUCCESS = ("ok", "pending_approval")


def result_lines(result: dict[str, Any]) -> list[str]:
    """Status with the exit code or signal, why it failed, what was blocked, the output, and the
    tail of stderr: everything a person needs without ``--json``."""
    status = str(result["status"])
    how = []
    if result.get("exit_code") is not None:
        how.append(f"exit code {result['exit_code']}")
    if result.get("signal") is not None:
        how.append(f"signal {result['signal']}")
    lines = [f"status: {status}" + (f" ({', '.join(how)})" if how else "")]
    if result.get("error") and status != "pending_approval":
        lines.append(f"error: {result['error']}")
    lines += [f"blocked: {violation}" for violation in result.get("violations", ())]
    if result.get("output") is not None:
        lines.append(json.dumps(result["output"], indent=2, ensure_ascii=False))
    elif status != "ok" and result.get("stdout"):
        lines += ["stdout:", *_indented(str(result["stdout"]).splitlines()[-_STDERR_TAIL_LINES:])]
    stderr = str(result.get("stderr") or "").splitlines()
    if stderr and status not in _SUCCESS:
        shown = stderr[-_STDERR_TAIL_LINES:]
        cut = " (last lines)" if len(shown) < len(stderr) or result.get("stderr_truncated") else ""
        lines += [f"stderr{cut}:", *_indented(shown)]
    return [printable(line) for line in lines]


def exit_code(status: str) -> int:
    """0 for a call that succeeded or waits for approval, 1 for one that failed in any way."""
    return 0 if status in _SUCCESS else 1


def _indented(lines: list[str]) -> list[str]:
    return [f"  {line}" for line in lines]
