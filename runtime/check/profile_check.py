"""``skillrt profile check``: probe a real sandbox and compare what it shows with its profile.

The probe program (``probe_program.py``, standard library only) runs inside a fresh sandbox of
the profile as ``python3 -c SOURCE CONFIG``; the host listens on its own loopback meanwhile, to
see whether the sandbox reaches it. Everything else is pure: the plan (``plan.py``), the
comparison (``compare.py``) and the report (``report.py``).
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path

from runtime.check.compare import compare, parse_report, run_observations
from runtime.check.egress_probes import egress_observations
from runtime.check.plan import probe_plan, program_config
from runtime.check.report import CheckReport
from runtime.errors import SandboxError
from runtime.sandbox.launcher import Launcher
from runtime.sandbox.nsjail import SandboxSpec
from runtime.sandbox.profiles import SandboxProfile

__all__ = ["INTERPRETER", "PROBE_PROGRAM", "check_profile"]

INTERPRETER = "/usr/bin/python3"
# Passed with -c rather than bound as a file: the package may live where the sandbox user
# cannot reach (/root is 0700), and an argument needs no mount.
PROBE_PROGRAM = Path(__file__).with_name("probe_program.py").read_text(encoding="utf-8")


async def check_profile(profile: SandboxProfile, launcher: Launcher) -> CheckReport:
    """Run the probe program in a fresh sandbox of ``profile`` and compare what it saw."""
    with _loopback_listener() as listener:
        plan = probe_plan(profile, host_port=listener.getsockname()[1], egress=launcher.egress)
        config = json.dumps(program_config(plan, profile))
        spec = SandboxSpec(
            argv=(INTERPRETER, "-c", PROBE_PROGRAM, config),
            profile=profile,
            limits=profile.limits,
        )
        sandbox = await launcher.start(spec)
        result = await sandbox.run(b"")
        reached = _was_reached(listener)
    report = parse_report(result.stdout)
    observations = {
        **(report or {}),
        **run_observations(result, report, listener_reached=reached),
        **egress_observations(result, launcher.egress),
    }
    return CheckReport(profile=profile.name, rows=compare(plan, observations), result=result)


@contextlib.contextmanager
def _loopback_listener() -> Iterator[socket.socket]:
    try:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    except OSError as exc:
        raise SandboxError(f"cannot listen on the host loopback: {exc}") from exc
    with listener:
        try:
            listener.bind(("127.0.0.1", 0))
            listener.listen()
        except OSError as exc:
            raise SandboxError(f"cannot listen on the host loopback: {exc}") from exc
        listener.setblocking(False)
        yield listener


def _was_reached(listener: socket.socket) -> bool:
    try:
        connection, _ = listener.accept()
    except (BlockingIOError, InterruptedError):
        return False
    connection.close()
    return True
