"""The plain-text form of a result (pure), and ``--version``."""

from __future__ import annotations

import subprocess
import sys

from runtime import __version__
from runtime.cli.results import exit_code, result_lines
from runtime.util import paths


def test_a_successful_call_shows_its_output_and_no_stderr() -> None:
    lines = result_lines(
        {"status": "ok", "exit_code": 0, "output": {"n": 1}, "stderr": "noise", "violations": []}
    )
    assert lines[0] == "status: ok (exit code 0)"
    assert '"n": 1' in "\n".join(lines) and "noise" not in "\n".join(lines)


def test_a_killed_call_shows_the_signal_the_reason_and_the_last_stderr_lines() -> None:
    stderr = "\n".join(f"line {i}" for i in range(30))
    lines = result_lines(
        {
            "status": "timeout",
            "exit_code": None,
            "signal": 9,
            "error": "wall time limit",
            "violations": ["wall time 1000 ms"],
            "stderr": stderr,
            "output": None,
        }
    )
    assert lines[:3] == [
        "status: timeout (signal 9)",
        "error: wall time limit",
        "blocked: wall time 1000 ms",
    ]
    assert "stderr (last lines):" in lines and lines[-1] == "  line 29" and "  line 9" not in lines


def test_exit_codes_follow_the_status() -> None:
    assert [exit_code(s) for s in ("ok", "pending_approval", "failed", "denied")] == [0, 0, 1, 1]


def test_version_is_printed() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "runtime.cli.main", "--version"],
        capture_output=True,
        text=True,
        cwd=paths.PROJECT_ROOT,
        check=False,
    )
    assert (shown.returncode, shown.stdout) == (0, f"skillrt {__version__}\n")
