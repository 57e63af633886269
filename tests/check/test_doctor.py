"""``skillrt doctor``: the host checks pass here, and any failing check fails the command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.check import doctor as host
from runtime.cli.main import main
from runtime.sandbox.cgroups import detect_layout
from runtime.sandbox.profiles import ProfileStore
from runtime.util import paths


def doctor(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtime.cli.main", "doctor", *args],
        capture_output=True,
        text=True,
        cwd=paths.PROJECT_ROOT,
        timeout=120,
        check=False,
    )


def test_real_doctor_passes() -> None:
    """On this host every check passes, including the smoke run, and doctor exits 0."""
    proc = doctor("--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert all(check["ok"] for check in json.loads(proc.stdout)["checks"])


def test_real_doctor_lists_cgroup_v1() -> None:
    """On a cgroup v1 host the cgroups check names v1 and the controllers it found."""
    if detect_layout().version != 1:
        pytest.skip("this host is not cgroup v1")
    checks = {c["name"]: c for c in json.loads(doctor("--json").stdout)["checks"]}
    assert checks["cgroups"]["detail"] == "cgroup v1; controllers cpu, cpuacct, memory, pids"


def test_failing_check_makes_exit_nonzero(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A single failing check makes doctor exit 1 and shows FAIL with its reason."""
    broken = [
        host.Check(name="nsjail", ok=True, detail="found"),
        host.Check(name="seccomp", ok=False, detail="kill_process not available"),
    ]
    monkeypatch.setattr(host, "run_checks", lambda profiles: broken)
    assert main(["doctor"]) == 1
    (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("seccomp")]
    assert line.split(None, 2) == ["seccomp", "FAIL", "kill_process not available"]


def test_missing_required_bind_fails_profile(tmp_path: Path) -> None:
    """A profile whose required read-only bind is absent on the host fails its check."""
    source = (paths.PROJECT_ROOT / "sandbox_profiles" / "minimal.toml").read_text()
    missing = source.replace('"/usr/bin/python3",', '"/usr/bin/python3", "/no/such/skillrt-dir",')
    (tmp_path / "broken.toml").write_text(missing)
    check = host.check_profile(tmp_path / "broken.toml")
    assert not check.ok
    assert "/no/such/skillrt-dir" in check.detail


def test_unparsable_profile_is_a_failed_check(tmp_path: Path) -> None:
    """A profile that does not parse is reported as a failed check, not raised."""
    (tmp_path / "bad.toml").write_text("[limits\n")
    (check,) = host.check_profiles(ProfileStore(tmp_path))
    assert check.name == "profile bad"
    assert not check.ok
