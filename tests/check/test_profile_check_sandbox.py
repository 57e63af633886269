"""``skillrt profile check`` runs its probes in a real sandbox: the bundled profiles keep every
promise, and the probes see the attacks blocked."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runtime.util import paths


@dataclass(frozen=True)
class CheckRun:
    returncode: int
    stdout: str
    stderr: str

    def rows(self) -> dict[str, dict[str, Any]]:
        doc = json.loads(self.stdout)
        return {row["key"]: row for row in doc["probes"]}


def skillrt(*args: str) -> CheckRun:
    proc = subprocess.run(
        [sys.executable, "-m", "runtime.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=paths.PROJECT_ROOT,
        timeout=120,
        check=False,
    )
    return CheckRun(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="module")
def default_check() -> CheckRun:
    return skillrt("profile", "check", "default", "--json")


@pytest.fixture(scope="module")
def minimal_check() -> CheckRun:
    return skillrt("profile", "check", "minimal", "--json")


def failures(run: CheckRun) -> list[dict[str, Any]]:
    return [row for row in run.rows().values() if row["verdict"] == "FAIL"]


def test_default_keeps_its_promises(default_check: CheckRun) -> None:
    """profile check default exits 0: every observation matches the profile."""
    assert default_check.returncode == 0, failures(default_check) or default_check.stderr


def test_minimal_keeps_its_promises(minimal_check: CheckRun) -> None:
    """profile check minimal exits 0: every observation matches the profile."""
    assert minimal_check.returncode == 0, failures(minimal_check) or minimal_check.stderr


@pytest.mark.parametrize(
    "key",
    [
        "syscalls.ptrace",
        "syscalls.bpf",
        "syscalls.io_uring_setup",
        "syscalls.unshare",
        "syscalls.mount",
        "syscalls.keyctl",
        "syscalls.socket.AF_NETLINK",
        "syscalls.clone.CLONE_NEWUSER",
    ],
)
def test_default_kills_dangerous_syscall(default_check: CheckRun, key: str) -> None:
    """In the default profile the probe child making this syscall is killed by SIGSYS."""
    assert default_check.rows()[key]["observed"] == "killed by SIGSYS"


def test_default_clone3_fails_with_enosys(default_check: CheckRun) -> None:
    """clone3 is refused softly with ENOSYS so libc falls back to the inspectable clone."""
    assert default_check.rows()["syscalls.clone3"]["observed"] == "ENOSYS"


def test_default_cannot_reach_host_loopback(default_check: CheckRun) -> None:
    """A connection to the host's loopback listener fails and never arrives."""
    rows = default_check.rows()
    assert rows["network.connect_host"]["observed"] == "ECONNREFUSED"
    assert rows["network.host_listener"]["observed"] == "no"


def test_default_cannot_write_outside_work_dir(default_check: CheckRun) -> None:
    """Writing to / and to /usr is refused by the read-only filesystem."""
    rows = default_check.rows()
    assert rows["files.write_root"]["observed"] == "EROFS"
    assert rows["files.write_usr"]["observed"] == "EROFS"


def test_default_memory_hog_is_killed(default_check: CheckRun) -> None:
    """A child allocating past the memory limit is killed by SIGKILL (the OOM killer)."""
    assert default_check.rows()["limits.memory"]["observed"].startswith("killed by SIGKILL")


def test_default_fork_refused_at_pids_limit(default_check: CheckRun) -> None:
    """fork fails with EAGAIN when the sandbox holds exactly its pids limit of processes."""
    assert default_check.rows()["limits.pids"]["observed"] == "EAGAIN at 64 processes"


def test_minimal_kills_inet_socket(minimal_check: CheckRun) -> None:
    """The minimal profile kills even an AF_INET socket."""
    assert minimal_check.rows()["network.inet_socket"]["observed"] == "killed by SIGSYS"


def test_minimal_kills_memfd_create(minimal_check: CheckRun) -> None:
    """The minimal profile kills memfd_create, which the default profile allows."""
    assert minimal_check.rows()["syscalls.memfd_create"]["observed"] == "killed by SIGSYS"


def test_text_report_is_a_table() -> None:
    """Without --json the check prints the probe | expected | observed | verdict table."""
    run = skillrt("profile", "check", "minimal")
    assert run.returncode == 0, run.stdout
    assert run.stdout.splitlines()[1].split() == ["PROBE", "EXPECTED", "OBSERVED", "VERDICT"]


def test_unrunnable_profile_fails_the_check(tmp_path: Path) -> None:
    """A profile whose sandbox cannot even start the probe program fails with exit 1."""
    source = (paths.PROJECT_ROOT / "sandbox_profiles" / "minimal.toml").read_text()
    without_python = source.replace('"/usr/bin/python3",\n', "")
    assert without_python != source
    (tmp_path / "nopython.toml").write_text(without_python)
    run = skillrt("--profiles", str(tmp_path), "profile", "check", "nopython", "--json")
    assert run.returncode == 1
    assert run.rows()["sandbox.run"]["verdict"] == "FAIL"


def test_unknown_profile_is_one_line_error() -> None:
    """An unknown profile is a one-line error and a non-zero exit, not a traceback."""
    run = skillrt("profile", "check", "nope")
    assert run.returncode != 0
    assert run.stderr.startswith("skillrt: error: unknown profile 'nope'")
    assert run.stderr.count("\n") == 1
