"""The files and network areas of ``skillrt profile check``: what of the host the sandbox can
reach, as the profile's mounts and seccomp policy promise."""

from __future__ import annotations

from collections.abc import Sequence

from runtime.check.model import KILLED, PROBE_FILE, RESOLVE_NAME, Probe
from runtime.sandbox import seccomp
from runtime.sandbox.profiles import SandboxProfile

__all__ = ["HOST_DIR", "HOST_FILE", "file_probes", "network_probes"]

HOST_FILE = "/etc/hostname"
HOST_DIR = "/root"  # mode 0700 on hosts: even when bound, nobody cannot list it


def _covered(path: str, mounts: Sequence[str]) -> bool:
    return any(path == m or path.startswith(m.rstrip("/") + "/") for m in mounts)


def _children(directory: str, targets: Sequence[str]) -> list[str]:
    prefix = directory.rstrip("/") + "/"
    return sorted({t[len(prefix) :].split("/")[0] for t in targets if t.startswith(prefix)})


def file_probes(profile: SandboxProfile) -> tuple[Probe, ...]:
    """Host files stay out of reach, only tmpfs is writable, /dev, /sys and /proc hold what the
    profile mounts."""
    fs = profile.filesystem
    binds = [b.target for b in fs.readonly_binds]
    tmpfs = [t.path for t in fs.tmpfs]
    mounted = [*binds, *fs.devices, *tmpfs, *(link for link, _ in fs.symlinks)]
    devices = ",".join(_children("/dev", mounted)) or "absent"
    sys_state = "present" if _covered("/sys", mounted) or _children("/sys", mounted) else "absent"
    bridged = profile.network.mode == "allowlist"

    def write(path: str, label: str) -> Probe:
        writable = _covered(path, tmpfs)
        return Probe(
            key=f"files.write_{label}",
            area="files",
            label=f"write {path}",
            expected="ok" if writable else "refused (read-only)",
            accept=frozenset({"ok"} if writable else {"error"}),
            action="write_file",
            args=(path,),
        )

    return (
        Probe(
            key="files.read_host_file",
            area="files",
            label=f"read host file {HOST_FILE}",
            expected="ok (bound)" if _covered(HOST_FILE, binds) else "absent (ENOENT)",
            accept=frozenset({"ok"} if _covered(HOST_FILE, binds) else {"error:ENOENT"}),
            action="read_file",
            args=(HOST_FILE,),
        ),
        Probe(
            key="files.list_host_dir",
            area="files",
            label=f"list host dir {HOST_DIR}",
            expected="denied (EACCES)" if _covered(HOST_DIR, binds) else "absent (ENOENT)",
            accept=frozenset({"error:EACCES" if _covered(HOST_DIR, binds) else "error:ENOENT"}),
            action="list_dir",
            args=(HOST_DIR,),
        ),
        write(f"/usr/{PROBE_FILE}", "usr"),
        write(f"/{PROBE_FILE}", "root"),
        write(f"{fs.work_dir.rstrip('/')}/{PROBE_FILE}", "work_dir"),
        Probe(
            key="files.dev",
            area="files",
            label="list /dev",
            expected=devices,
            accept=frozenset({f"value:{devices}"}),
            action="list_names",
            args=("/dev",),
        ),
        Probe(
            key="files.sys",
            area="files",
            label="/sys",
            expected=sys_state,
            accept=frozenset({f"value:{sys_state}"}),
            action="exists",
            args=("/sys",),
        ),
        # Runs before any probe forks, so the probe program is alone: PID 1 (with the egress
        # bridge, started before it, as PID 2).
        Probe(
            key="files.proc",
            area="files",
            label="pids listed in /proc",
            expected="1,2 (itself, the egress bridge)" if bridged else "1 (itself)",
            accept=frozenset({"value:1,2" if bridged else "value:1"}),
            action="processes",
        ),
    )


def _socket_killed(policy: seccomp.SeccompPolicy, family: str) -> bool:
    return "socket" in policy.kill or family in policy.deny_socket_families


def network_probes(profile: SandboxProfile, host_port: int) -> tuple[Probe, ...]:
    """The host's listener on ``host_port`` and the outside world stay out of reach."""
    policy = profile.seccomp
    inet_killed = _socket_killed(policy, "AF_INET")
    # The resolver opens a socket (nscd's AF_UNIX, then DNS over AF_INET): when either is
    # killed, a killed resolver is as good a failure as an error.
    resolve_killed = inet_killed or _socket_killed(policy, "AF_UNIX")
    return (
        Probe(
            key="network.connect_host",
            area="network",
            label=f"connect to the host's 127.0.0.1:{host_port}",
            expected="killed by SIGSYS" if inet_killed else "fails",
            accept=frozenset({KILLED} if inet_killed else {"error"}),
            action="connect",
            args=(host_port,),
            isolated=True,
        ),
        Probe(
            key="network.host_listener",
            area="network",
            label="host listener reached",
            expected="no",
            accept=frozenset({"value:no"}),
        ),
        Probe(
            key="network.inet_socket",
            area="network",
            label="create an AF_INET socket",
            expected="killed by SIGSYS" if inet_killed else "ok",
            accept=frozenset({KILLED} if inet_killed else {"ok"}),
            action="inet_socket",
            isolated=True,
        ),
        Probe(
            key="network.resolve",
            area="network",
            label=f"resolve {RESOLVE_NAME}",
            expected="fails",
            accept=frozenset({"error", KILLED} if resolve_killed else {"error"}),
            action="resolve",
            args=(RESOLVE_NAME,),
            isolated=True,
        ),
    )
