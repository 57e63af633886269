"""Delegation on a real cgroup v2 kernel: doctor and the daemon in a service's cgroup, with the
controllers delegated to it and then taken away (run by `make test-cgroup2`; skipped on v1).

Each test makes a unit: a cgroup below the one delegated to the tests, as systemd makes a
service's, and starts skillrt in it, alone or beside another process.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.sandbox.cgroups import V2_CONTROLLERS, Cgroups, detect_layout
from runtime.sandbox.cgroups_v2 import SUPERVISOR
from runtime.util import paths

pytestmark = pytest.mark.skipif(detect_layout().version != 2, reason="this host is not cgroup v2")

# Joins the cgroup named first, then execs the rest, as a service manager starts a unit.
_JOIN = 'echo $$ > "$0/cgroup.procs" && exec "$@"'
_SKILLRT = (sys.executable, "-m", "runtime.cli.main")


def _run_in(group: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/sh", "-c", _JOIN, str(group), *argv],
        capture_output=True,
        text=True,
        cwd=paths.PROJECT_ROOT,
        timeout=600,
        check=False,
    )


def _remove_tree(group: Path) -> None:
    """Remove a cgroup and every group below it, deepest first (their processes are gone)."""
    for child in sorted((p for p in group.rglob("*") if p.is_dir()), reverse=True):
        child.rmdir()
    group.rmdir()


@pytest.fixture
def slice_() -> Iterator[Path]:
    """A slice below the tests' own delegated cgroup, giving its units every controller."""
    layout = detect_layout()
    Cgroups(layout, "skillrt-test").prepare()  # the tests' cgroup gives its children controllers
    made = layout.mounts["memory"] / f"test-{secrets.token_hex(4)}.slice"
    made.mkdir()
    (made / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in V2_CONTROLLERS))
    try:
        yield made
    finally:
        _remove_tree(made)


def _unit(slice_: Path) -> Path:
    unit = slice_ / "skillrt.service"
    unit.mkdir()
    return unit


def _doctor_checks(done: subprocess.CompletedProcess[str]) -> dict[str, dict[str, object]]:
    return {c["name"]: c for c in json.loads(done.stdout)["checks"]}


def test_doctor_passes_alone_in_a_delegated_unit(slice_: Path) -> None:
    """Alone in a unit with the controllers delegated, doctor moves itself into the unit's
    supervisor leaf, makes its groups beside it, and every check passes."""
    unit = _unit(slice_)
    done = _run_in(unit, *_SKILLRT, "doctor", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    cgroups = _doctor_checks(done)["cgroups"]
    assert cgroups["detail"] == (f"cgroup v2; controllers cpu, memory, pids delegated in {unit}")
    assert (unit / SUPERVISOR).is_dir()
    groups = [p for p in (unit / "skillrt-local").iterdir() if p.is_dir()]
    assert groups == [], "the smoke run's group was left behind"


def test_doctor_passes_as_a_containers_only_process(slice_: Path) -> None:
    """As a container's only process (its own cgroup namespace and cgroupfs, whose top is a
    non-root cgroup holding that process, so the no internal processes rule applies to it),
    doctor moves itself into the supervisor leaf and every check passes."""
    unit = _unit(slice_)
    remount = 'umount /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && exec "$@"'
    done = _run_in(
        unit,
        "unshare",
        "--cgroup",
        "--mount",
        "sh",
        "-c",
        remount,
        "sh",
        *_SKILLRT,
        "doctor",
        "--json",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    cgroups = _doctor_checks(done)["cgroups"]
    assert (
        cgroups["detail"] == "cgroup v2; controllers cpu, memory, pids delegated in /sys/fs/cgroup"
    )
    assert (unit / SUPERVISOR).is_dir()
    assert (unit / "skillrt-local").is_dir()


def test_doctor_explains_a_delegation_taken_away(slice_: Path) -> None:
    """With cpu taken back from the unit's parent, doctor fails and says the controller is not
    delegated and that a systemd unit needs Delegate=yes; its smoke run fails too."""
    (slice_ / "cgroup.subtree_control").write_text("-cpu")
    unit = _unit(slice_)
    done = _run_in(unit, *_SKILLRT, "doctor", "--json")
    assert done.returncode == 1, done.stdout + done.stderr
    checks = _doctor_checks(done)
    detail = str(checks["cgroups"]["detail"])
    assert checks["cgroups"]["ok"] is False
    assert f"{unit} lacks the cpu controller(s)" in detail
    assert "does not delegate" in detail and "Delegate=yes" in detail
    assert checks["smoke run"]["ok"] is False


def test_doctor_explains_a_unit_shared_with_another_process(slice_: Path) -> None:
    """Beside another process in its unit, doctor fails naming the no internal processes rule
    and the other process, which stays where it was."""
    unit = _unit(slice_)
    other = subprocess.Popen(["/bin/sh", "-c", _JOIN, str(unit), "sleep", "600"])
    try:
        while str(other.pid) not in (unit / "cgroup.procs").read_text().split():
            assert other.poll() is None, "the other process did not start"
        done = _run_in(unit, *_SKILLRT, "doctor", "--json")
        assert (unit / "cgroup.procs").read_text().split() == [str(other.pid)]
    finally:
        other.kill()
        other.wait()
    assert done.returncode == 1, done.stdout + done.stderr
    detail = str(_doctor_checks(done)["cgroups"]["detail"])
    assert f"holds other processes (pids {other.pid})" in detail
    assert "no internal processes" in detail


def test_daemon_refuses_to_start_without_delegation(slice_: Path) -> None:
    """The daemon, started in a unit whose parent withholds pids, refuses at once with the
    reason, as one line."""
    (slice_ / "cgroup.subtree_control").write_text("-pids")
    unit = _unit(slice_)
    with tempfile.TemporaryDirectory(prefix="skillrt-daemon-") as root:
        state = Path(root) / "state"
        done = _run_in(
            unit, *_SKILLRT, "serve", "--socket", f"{root}/s.sock", "--state-dir", str(state)
        )
    assert done.returncode == 1, done.stdout + done.stderr
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("skillrt: error:")]
    assert line.startswith(f"skillrt: error: cgroup v2: {unit} lacks the pids controller(s)")
    assert "Delegate=yes" in line
