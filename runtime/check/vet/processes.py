"""The analysers a review runs as programs: started together, each bounded in time.

The Python ones run under this process's interpreter in isolated mode (``-I``): the folder
under review is their working directory, and a skill's own ``bandit.py`` or ``json.py`` must
never be imported in place of the analyser's modules.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Ran", "python_tool", "run_together"]

# Far above what a small folder takes (about a second), and short enough that a wedged analyser
# does not hold the review forever.
_TIMEOUT_S = 120.0


@dataclass(frozen=True, kw_only=True)
class Ran:
    code: int  # the exit status; -1 when it could not start or was stopped
    stdout: str
    stderr: str

    @property
    def reason(self) -> str:
        """Why it gave no usable output, in one line."""
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        return lines[-1].strip() if lines else f"exit status {self.code}"


def python_tool(module: str, *args: str) -> list[str]:
    return [sys.executable, "-I", "-m", module, *args]


def run_together(commands: Sequence[Sequence[str]], *, cwd: Path) -> list[Ran]:
    """Run every command at once and wait for all; one ``Ran`` each, in order."""
    started: list[subprocess.Popen[str] | Ran] = []
    for argv in commands:
        try:
            started.append(
                subprocess.Popen(
                    argv,
                    cwd=cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    errors="replace",
                )
            )
        except OSError as exc:
            started.append(Ran(code=-1, stdout="", stderr=f"cannot start {argv[0]}: {exc}"))
    return [_finished(process) for process in started]


def _finished(process: subprocess.Popen[str] | Ran) -> Ran:
    if isinstance(process, Ran):
        return process
    try:
        stdout, stderr = process.communicate(timeout=_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return Ran(code=-1, stdout="", stderr=f"stopped after {_TIMEOUT_S:.0f} s")
    return Ran(code=process.returncode, stdout=stdout, stderr=stderr)
