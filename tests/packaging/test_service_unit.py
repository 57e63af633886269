"""packaging/skillrt.service: systemd accepts it, it names the directories the daemon writes,
and its hardening leaves nsjail working (reproduced without systemd: a read-only root,
a private /tmp, an empty /home and no_new_privs) while the options it leaves out would not; and
the package declares the license it ships."""

from __future__ import annotations

import configparser
import inspect
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from runtime.api import config
from runtime.core.snapshots import SNAPSHOTS_BASE
from runtime.sandbox.identity import IdentityPool
from runtime.util import paths

UNIT = paths.PROJECT_ROOT / "packaging" / "skillrt.service"
INSTALLED_AT = "/opt/skillrt/.venv/bin/skillrt"


def _uid_locks() -> Path:
    """Where sandbox uid locks live by default (every skillrt process on a host shares it)."""
    folder: Path = inspect.signature(IdentityPool).parameters["lock_dir"].default
    return folder


def service() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(UNIT.read_text())
    return parser["Service"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    """systemd-analyze verify finds no error and no unknown key (the install path swapped for
    this checkout's, which exists)."""
    unit = tmp_path / "skillrt.service"
    here = str(Path(sys.executable).parent / "skillrt")
    unit.write_text(UNIT.read_text().replace(INSTALLED_AT, here))
    checked = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert (checked.returncode, checked.stderr.strip()) == (0, ""), checked.stderr


def test_the_unit_runs_the_daemon_and_reloads_with_hup() -> None:
    """It serves with the config in /etc/skillrt, reloads with SIGHUP, restarts on failure."""
    unit = service()
    assert unit["ExecStart"] == f"{INSTALLED_AT} serve --config /etc/skillrt/skillrt.toml"
    assert unit["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert unit["Restart"] == "on-failure"
    assert unit["KillMode"] == "mixed"  # the daemon drains its sandboxes itself


def test_the_unit_gives_the_daemon_the_directories_it_writes() -> None:
    """Under ProtectSystem=strict only the unit's directories are writable: they must be the
    daemon's own defaults (socket, state, snapshots, workspaces, uid locks)."""
    unit = service()
    runtime_dirs = {Path("/run") / name for name in unit["RuntimeDirectory"].split()}
    uid_locks = _uid_locks()
    defaults = config.defaults()
    wanted = {
        defaults.socket_path.parent,
        SNAPSHOTS_BASE,
        defaults.sessions.root.parent,
        uid_locks,
    }
    assert wanted == runtime_dirs
    assert Path("/var/lib") / unit["StateDirectory"] == config.DEFAULT_STATE_DIR
    assert unit["ExecStartPre"] == f"+/bin/chmod 0700 {uid_locks}"


def test_the_unit_hardens_only_with_what_nsjail_allows() -> None:
    """The hardening asked for is on; the options that break nsjail are off."""
    unit = service()
    on = {
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "NoNewPrivileges": "yes",
        "Delegate": "yes",
    }
    assert {key: unit.get(key) for key in on} == on
    breaking = (
        "ProtectKernelTunables",
        "ProtectKernelLogs",
        "ProtectControlGroups",
        "ProtectHostname",
        "RestrictNamespaces",
        "PrivateUsers",
        "SystemCallFilter",
        "CapabilityBoundingSet",
        "MemoryDenyWriteExecute",
        "PrivateNetwork",
    )
    assert [key for key in breaking if key in unit] == []


# Each restriction the unit applies that can be reproduced without systemd, then a sandbox.
_HARDENED = """
set -e
mount --make-rslave /
for dir in {writable}; do mkdir -p "$dir"; mount --bind "$dir" "$dir"; done
keep={keep}
if [ -n "$keep" ]; then mkdir -p /run/skillrt-keep; mount --bind "$keep" /run/skillrt-keep; fi
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=755 tmpfs /home
if [ -n "$keep" ]; then mkdir -p "$keep"; mount --move /run/skillrt-keep "$keep"; fi
mount -o remount,ro /home
mount -o remount,bind,ro /
if touch /usr/.skillrt-probe 2>/dev/null; then rm /usr/.skillrt-probe; exit 99; fi
{extra}
exec setpriv --no-new-privs "$@"
"""
_COMMAND = ("exec", "--", "/bin/echo", "sandboxed")


def _sandbox_under(extra: str) -> subprocess.CompletedProcess[str]:
    writable = " ".join(str(p) for p in (SNAPSHOTS_BASE, _uid_locks()))
    # A checkout under /tmp or /home (as in CI) is where the unit hides: bound back, as a unit
    # for such an install would have to (BindReadOnlyPaths).
    hidden = any(paths.PROJECT_ROOT.is_relative_to(p) for p in (Path("/tmp"), Path("/home")))
    keep = shlex.quote(str(paths.PROJECT_ROOT)) if hidden else "''"
    script = _HARDENED.format(writable=writable, extra=extra, keep=keep)
    return subprocess.run(
        [
            "unshare",
            "--mount",
            "sh",
            "-c",
            script,
            "sh",
            sys.executable,
            "-m",
            "runtime.cli.main",
            *_COMMAND,
        ],
        cwd=paths.PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.skipif(shutil.which("unshare") is None, reason="no unshare here")
def test_a_sandbox_runs_under_the_units_restrictions() -> None:
    """nsjail starts a sandbox when its parent has a read-only root, a private /tmp, an empty
    /home and no_new_privs."""
    ran = _sandbox_under("")
    assert (ran.returncode, ran.stdout) == (0, "sandboxed\n"), ran.stderr


@pytest.mark.skipif(shutil.which("unshare") is None, reason="no unshare here")
def test_protect_kernel_tunables_would_break_the_sandbox() -> None:
    """/proc/sys mounted read-only over itself, as ProtectKernelTunables does, stops nsjail from
    mounting the sandbox's own /proc: the reason the unit leaves it out."""
    ran = _sandbox_under("mount --bind /proc/sys /proc/sys; mount -o remount,bind,ro /proc/sys")
    assert ran.returncode != 0
    assert "procfs mount may fail if /proc has overmounts" in ran.stderr


def test_the_package_declares_the_license_it_ships() -> None:
    """pyproject names Apache-2.0 and ships LICENSE, which holds that license's text."""
    project = tomllib.loads((paths.PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    assert (project["license"], project["license-files"]) == ("Apache-2.0", ["LICENSE"])
    text = (paths.PROJECT_ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
