"""What a sandbox run produced, and the pure rules that name its outcome."""

from __future__ import annotations

import re
import signal as signals
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from runtime.sandbox.egress.attempt import EgressAttempt, egress_dict
from runtime.sandbox.seccomp import syscall_name
from runtime.sandbox.seccomp_kills import SeccompKill

__all__ = [
    "MAX_VIOLATIONS",
    "Classified",
    "JailLog",
    "KillReason",
    "Outcome",
    "SandboxResult",
    "Status",
    "Usage",
    "bounded",
    "classify",
    "failed_result",
    "parse_jail_log",
    "result_dict",
]


class Status(StrEnum):
    OK = "ok"
    NONZERO_EXIT = "nonzero_exit"
    TIMEOUT = "timeout"
    CPU_LIMIT = "cpu_limit"
    MEMORY_LIMIT = "memory_limit"
    OUTPUT_LIMIT = "output_limit"
    SECCOMP_VIOLATION = "seccomp_violation"
    SANDBOX_ERROR = "sandbox_error"
    CANCELLED = "cancelled"
    INVALID_OUTPUT = "invalid_output"
    PENDING_APPROVAL = "pending_approval"
    DENIED = "denied"
    APPROVAL_EXPIRED = "approval_expired"


class KillReason(StrEnum):
    """Why the launcher itself killed a sandbox."""

    TIMEOUT = "timeout"
    CPU = "cpu"
    OUTPUT = "output"
    CANCELLED = "cancelled"


@dataclass(frozen=True, kw_only=True)
class Usage:
    wall_ms: int
    cpu_ms: int
    peak_memory_bytes: int


@dataclass(frozen=True, kw_only=True)
class SandboxResult:
    status: Status
    exit_code: int | None
    signal: int | None
    stdout: bytes
    stderr: bytes
    stdout_truncated: bool
    stderr_truncated: bool
    usage: Usage
    violations: tuple[str, ...]
    error: str | None = None  # what went wrong in the machinery, for sandbox_error
    egress: tuple[EgressAttempt, ...] = ()  # every egress proxy decision, in request order


@dataclass(frozen=True, kw_only=True)
class JailLog:
    """What nsjail's log says about how the jailed process ended."""

    exit_code: int | None
    signal: int | None
    seccomp_violation: bool
    errors: tuple[str, ...]  # nsjail's own warnings and errors, in order
    failed: bool  # nsjail logged an error or a fatal error: the jail itself did not work


_EXITED = re.compile(r"exited with status: (\d+)")
_SIGNALED = re.compile(r"terminated with signal: .*?\((\d+)\)")
# nsjail's error when the jail's working directory is missing (or not a directory) inside it.
_CHDIR = re.compile(r"chdir\('(.*)'\): (.*)$")
_LEVEL = re.compile(r"^\[([A-Z])\]\[[^]]*\](?:\[\d+\])? ?(.*)$")


def parse_jail_log(text: str) -> JailLog:
    exit_code = signal = None
    violation = failed = False
    errors = []
    for line in text.splitlines():
        if match := _EXITED.search(line):
            exit_code = int(match.group(1))
        elif match := _SIGNALED.search(line):
            signal = int(match.group(1))
        if "seccompViolation" in line:
            violation = True
            continue
        level = _LEVEL.match(line)
        if level and level.group(1) in ("W", "E", "F"):
            errors.append(level.group(2).strip())
            failed = failed or level.group(1) in ("E", "F")
    return JailLog(
        exit_code=exit_code,
        signal=signal,
        seccomp_violation=violation,
        errors=tuple(errors),
        failed=failed,
    )


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """Everything observed about one finished run, as the input of ``classify``."""

    returncode: int
    log: JailLog
    kill_reason: KillReason | None
    oom_kills: int
    pids_limit_hits: int
    # The kernel's records of processes the seccomp policy killed (any process, not only PID 1),
    # and whether such records may have been lost while the sandbox ran.
    seccomp_kills: tuple[SeccompKill, ...] = ()
    audit_lost: bool = False
    cpu_ms: int
    cpu_limit_ms: int
    wall_ms: int
    wall_limit_ms: int


# The most violation lines one result carries, the last saying how many more there were.
MAX_VIOLATIONS = 32

Classified = tuple[Status, int | None, int | None, tuple[str, ...], str | None]


def classify(outcome: Outcome) -> Classified:
    """(status, exit code, signal, violations, error) for a finished run.

    The launcher's own kill reasons come first because they are certain; then the kernel's
    evidence (OOM kills, SIGSYS); a bare SIGKILL is never reported as a plain exit.
    """
    log = outcome.log
    exit_code, signal = log.exit_code, log.signal
    violations = []
    if outcome.oom_kills:
        violations.append(f"memory limit: {outcome.oom_kills} process(es) killed by the OOM killer")
    if outcome.pids_limit_hits:
        violations.append(f"pids limit: {outcome.pids_limit_hits} fork(s) refused")
    violations.extend(_seccomp_violations(outcome))

    unreported = exit_code is None and signal is None
    if outcome.kill_reason is None and (log.failed or unreported):
        error = _jail_error(log) or f"nsjail exited with {outcome.returncode} and no report"
        return Status.SANDBOX_ERROR, None, None, tuple(violations), error

    if outcome.kill_reason is not None and exit_code is None and signal is None:
        signal = signals.SIGKILL  # the launcher killed the whole group before nsjail reported
    status = _status(outcome, signal)
    if status is Status.CPU_LIMIT:
        violations.append(f"cpu limit: used {outcome.cpu_ms} ms of {outcome.cpu_limit_ms} ms")
    elif status is Status.TIMEOUT:
        violations.append(f"wall time limit: {outcome.wall_limit_ms} ms reached")
    elif status is Status.OUTPUT_LIMIT:
        violations.append("output limit reached")
    return status, exit_code, signal, tuple(violations), None


def _seccomp_violations(outcome: Outcome) -> list[str]:
    """One line per forbidden syscall, however many processes called it: a sandbox forking
    doomed children must not grow its result (and the audit log) by a line per kill."""
    by_syscall: dict[str, list[SeccompKill]] = {}
    for kill in outcome.seccomp_kills:
        by_syscall.setdefault(syscall_name(kill.arch, kill.syscall), []).append(kill)
    found = []
    for name, kills in by_syscall.items():
        first = kills[0]
        if len(kills) == 1:
            found.append(f"seccomp: {first.comm} (pid {first.pid}) was killed for calling {name}")
        else:
            found.append(
                f"seccomp: {len(kills)} processes were killed for calling {name} "
                f"(first: {first.comm}, pid {first.pid})"
            )
    if outcome.audit_lost:
        # Unknown means deny: a kill whose record was lost cannot be ruled out.
        found.append(
            "seccomp: audit records were lost while the sandbox ran; a killed process "
            "cannot be ruled out"
        )
    if not found and (outcome.log.seccomp_violation or outcome.log.signal == signals.SIGSYS):
        found.append("seccomp: the process made a forbidden system call and was killed")
    return found


def bounded(violations: Sequence[str]) -> tuple[str, ...]:
    """At most ``MAX_VIOLATIONS`` lines, the first ones kept: whatever a sandbox provokes, its
    result and the audit line recording it stay small."""
    if len(violations) <= MAX_VIOLATIONS:
        return tuple(violations)
    kept = MAX_VIOLATIONS - 1
    return (*violations[:kept], f"... and {len(violations) - kept} more violations")


def _jail_error(log: JailLog) -> str:
    """What nsjail said went wrong; a cause the caller can fix is said plainly, in one line."""
    for line in log.errors:
        if match := _CHDIR.search(line):
            return f"cannot enter the working directory {match[1]} in the sandbox: {match[2]}"
    return "; ".join(log.errors)


def _status(outcome: Outcome, signal: int | None) -> Status:
    reason = outcome.kill_reason
    by_reason = {
        KillReason.CANCELLED: Status.CANCELLED,
        KillReason.OUTPUT: Status.OUTPUT_LIMIT,
        KillReason.TIMEOUT: Status.TIMEOUT,
        KillReason.CPU: Status.CPU_LIMIT,
    }
    if reason is not None:
        return by_reason[reason]
    if outcome.seccomp_kills or outcome.audit_lost or signal == signals.SIGSYS:
        return Status.SECCOMP_VIOLATION
    if signal is None:
        return Status.OK if outcome.log.exit_code == 0 else Status.NONZERO_EXIT
    if signal in (signals.SIGKILL, signals.SIGXCPU):
        if outcome.oom_kills:
            return Status.MEMORY_LIMIT
        if outcome.cpu_ms >= outcome.cpu_limit_ms or signal == signals.SIGXCPU:
            return Status.CPU_LIMIT
        if outcome.wall_ms >= outcome.wall_limit_ms:
            return Status.TIMEOUT
    return Status.NONZERO_EXIT


def result_dict(result: SandboxResult) -> dict[str, object]:
    """The result as the JSON object the CLI prints and the API mirrors."""
    return {
        "status": result.status.value,
        "exit_code": result.exit_code,
        "signal": result.signal,
        "stdout": result.stdout.decode("utf-8", "replace"),
        "stderr": result.stderr.decode("utf-8", "replace"),
        "stdout_truncated": result.stdout_truncated,
        "stderr_truncated": result.stderr_truncated,
        "usage": {
            "wall_ms": result.usage.wall_ms,
            "cpu_ms": result.usage.cpu_ms,
            "peak_memory_bytes": result.usage.peak_memory_bytes,
        },
        "violations": list(result.violations),
        "egress": [egress_dict(attempt) for attempt in result.egress],
        **({"error": result.error} if result.error else {}),
    }


def failed_result(status: Status, message: str, *, wall_ms: int = 0) -> SandboxResult:
    """A result for an invocation whose sandbox never reported one (cancelled, interrupted)."""
    return SandboxResult(
        status=status,
        exit_code=None,
        signal=None,
        stdout=b"",
        stderr=b"",
        stdout_truncated=False,
        stderr_truncated=False,
        usage=Usage(wall_ms=wall_ms, cpu_ms=0, peak_memory_bytes=0),
        violations=(),
        error=message,
    )
