"""Naming a run's outcome from what was observed (pure rules, no sandbox)."""

from __future__ import annotations

from dataclasses import replace

from runtime.sandbox.result import (
    MAX_VIOLATIONS,
    JailLog,
    KillReason,
    Outcome,
    Status,
    bounded,
    classify,
    parse_jail_log,
)
from runtime.sandbox.seccomp_kills import SeccompKill

EXITED = (
    "[I][2026-01-01T00:00:00+0000] pid=7 ([STANDALONE MODE]) exited with status: 3, (PIDs left: 0)"
)
KILLED = (
    "[I][2026-01-01T00:00:00+0000] pid=7 ([STANDALONE MODE]) terminated with signal: "
    "SIGKILL (9), (PIDs left: 0)"
)
SECCOMP = "[W][2026-01-01T00:00:00+0000][6] seccompViolation():291 pid=7 committed a syscall"
_X86_64 = 0xC000003E  # AUDIT_ARCH_X86_64: ptrace is 101, bpf 321
FATAL = "[F][2026-01-01T00:00:00+0000] main():359 Couldn't prepare sandboxing policy"


def _outcome(log: str, **changes: object) -> Outcome:
    base = Outcome(
        returncode=0,
        log=parse_jail_log(log),
        kill_reason=None,
        oom_kills=0,
        pids_limit_hits=0,
        cpu_ms=10,
        cpu_limit_ms=1000,
        wall_ms=20,
        wall_limit_ms=1000,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_log_exit_status() -> None:
    """An exit line gives the exit code and no signal."""
    assert parse_jail_log(EXITED) == JailLog(
        exit_code=3, signal=None, seccomp_violation=False, errors=(), failed=False
    )


def test_log_signal_and_errors() -> None:
    """A signal line gives the signal; [E]/[F] lines are collected as errors."""
    log = parse_jail_log("\n".join([KILLED, FATAL]))
    assert (log.signal, log.errors) == (9, ("main():359 Couldn't prepare sandboxing policy",))


def test_nonzero_exit() -> None:
    """A plain non-zero exit is nonzero_exit with its code."""
    status, code, signal, violations, _ = classify(_outcome(EXITED))
    assert (status, code, signal, violations) == (Status.NONZERO_EXIT, 3, None, ())


def test_sigkill_with_oom_is_memory_limit() -> None:
    """SIGKILL plus an OOM kill in the group is memory_limit, never 'exit 137'."""
    status, *_ = classify(_outcome(KILLED, oom_kills=1))
    assert status is Status.MEMORY_LIMIT


def test_sigkill_at_cpu_limit_is_cpu_limit() -> None:
    """SIGKILL with CPU usage at the limit (RLIMIT_CPU) is cpu_limit."""
    status, *_ = classify(_outcome(KILLED, cpu_ms=1000))
    assert status is Status.CPU_LIMIT


def test_sigkill_at_wall_limit_is_timeout() -> None:
    """SIGKILL from nsjail's backstop timer at the wall limit is timeout."""
    status, *_ = classify(_outcome(KILLED, wall_ms=1500))
    assert status is Status.TIMEOUT


def test_launcher_kill_reason_wins() -> None:
    """When the launcher killed the run, its reason names the status and the signal is SIGKILL."""
    status, _, signal, violations, _ = classify(_outcome("", kill_reason=KillReason.OUTPUT))
    assert (status, signal, violations) == (Status.OUTPUT_LIMIT, 9, ("output limit reached",))


def test_seccomp_violation() -> None:
    """SIGSYS with nsjail's violation report is seccomp_violation."""
    log = SECCOMP + "\n" + KILLED.replace("SIGKILL (9)", "SIGSYS (31)")
    status, _, signal, violations, _ = classify(_outcome(log))
    assert (status, signal) == (Status.SECCOMP_VIOLATION, 31)
    assert any("seccomp" in v for v in violations)


def test_nsjail_failure_is_sandbox_error() -> None:
    """No report of the jailed process means nsjail itself failed: sandbox_error with its reason."""
    status, code, _, _, error = classify(_outcome(FATAL, returncode=255))
    assert (status, code) == (Status.SANDBOX_ERROR, None)
    assert error == "main():359 Couldn't prepare sandboxing policy"


def test_pids_limit_is_reported() -> None:
    """Refused forks are reported as a violation even when the run ends normally."""
    _, _, _, violations, _ = classify(_outcome(EXITED, pids_limit_hits=5))
    assert violations == ("pids limit: 5 fork(s) refused",)


def _kill(pid: int, syscall: int) -> SeccompKill:
    return SeccompKill(pid=pid, comm="python3", arch=_X86_64, syscall=syscall)


def test_seccomp_kills_are_grouped_by_syscall() -> None:
    """Kills of one syscall are one line with their count and the first process; a single
    kill keeps its own line."""
    kills = (*(_kill(100 + n, 101) for n in range(5000)), _kill(7, 321))
    _, _, _, violations, _ = classify(_outcome(EXITED, seccomp_kills=kills))
    assert violations == (
        "seccomp: 5000 processes were killed for calling ptrace (first: python3, pid 100)",
        "seccomp: python3 (pid 7) was killed for calling bpf",
    )


def test_violations_are_bounded() -> None:
    """A long list keeps its first lines and ends with how many more there were."""
    lines = [f"egress denied: host{n}.test:443" for n in range(1000)]
    kept = bounded(lines)
    assert len(kept) == MAX_VIOLATIONS
    assert kept[:-1] == tuple(lines[: MAX_VIOLATIONS - 1])
    assert kept[-1] == f"... and {1000 - MAX_VIOLATIONS + 1} more violations"
    assert bounded(lines[:MAX_VIOLATIONS]) == tuple(lines[:MAX_VIOLATIONS])
