"""``skillrt profile check``: probe a real sandbox and compare what it shows with its profile.

The probe program (``probe_program.py``, standard library only) runs inside the sandbox as
``python3 -c PROBE_PROGRAM CONFIG`` and prints one JSON document: an observation per probe key.

Everything above ``check_profile`` is pure: the probe plan and what each probe should observe
derive from the profile alone, and ``compare`` turns plan and observations into report rows.
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from runtime.errors import SandboxError
from runtime.sandbox import seccomp
from runtime.sandbox.egress import BRIDGE_PORT
from runtime.sandbox.egress.policy import REFUSED_ADDRESSES, EgressSettings
from runtime.sandbox.egress.session import SANDBOX_SOCKET_DIR, SOCKET_NAME, proxy_env
from runtime.sandbox.launcher import Launcher
from runtime.sandbox.nsjail import SANDBOX_GID, SANDBOX_UID, SandboxSpec
from runtime.sandbox.profiles import SandboxProfile
from runtime.sandbox.result import SandboxResult, Status
from runtime.util.table import text_table
from runtime.util.units import format_duration, format_size

INTERPRETER = "/usr/bin/python3"
HOST_FILE = "/etc/hostname"
HOST_DIR = "/root"  # mode 0700 on hosts: even when bound, nobody cannot list it
RESOLVE_NAME = "example.com"
_PROBE_FILE = ".skillrt-probe"
_NO_CAPABILITIES = "0000000000000000"
_SECCOMP_MODE_FILTER = "2"
_SIGCHLD = 17
_SOCK_RAW = 3
_KILLED = "killed:SIGSYS"
_MIB = 1024 * 1024
# How far past a limit the probes go before concluding it is not enforced.
_MEMORY_OVERSHOOT = 32 * _MIB
_COUNT_OVERSHOOT = 8

# Passed with -c rather than bound as a file: the package may live where the sandbox user
# cannot reach (/root is 0700), and an argument needs no mount.
PROBE_PROGRAM = Path(__file__).with_name("probe_program.py").read_text(encoding="utf-8")


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "FAIL"
    INFO = "info"


@dataclass(frozen=True, kw_only=True)
class Observation:
    """What one probe saw: ``ok``, ``error`` (detail: errno name), ``killed`` (detail: signal
    name) or ``value`` (detail: the text observed); ``amount`` is how far it got, if counted."""

    result: str
    detail: str = ""
    amount: int | None = None


@dataclass(frozen=True, kw_only=True)
class Probe:
    """One line of the check: what to try, and what the profile promises it will observe.

    ``accept`` holds ``result`` or ``result:detail`` patterns; an empty set makes the probe
    report-only. ``action`` names a function of the probe program; an empty action means the
    observation comes from outside the sandbox.
    """

    key: str
    area: str
    label: str
    expected: str
    accept: frozenset[str] = frozenset()
    amount: int | None = None
    unit: str = ""
    action: str = ""
    args: tuple[object, ...] = ()
    isolated: bool = False


@dataclass(frozen=True, kw_only=True)
class Row:
    key: str
    area: str
    probe: str
    expected: str
    observed: str
    verdict: Verdict


@dataclass(frozen=True, kw_only=True)
class SyscallProbe:
    """A syscall made with arguments that do nothing lasting should the filter let it through."""

    label: str
    name: str
    args: tuple[int | str, ...] = ()
    family: str | None = None  # socket(): the address family it creates
    clone_flag: str | None = None  # clone(): the namespace flag it asks for
    forks: bool = False

    @property
    def key(self) -> str:
        qualifier = self.family or self.clone_flag
        return f"{self.name}.{qualifier}" if qualifier else self.name


SYSCALL_PROBES = (
    SyscallProbe(label="ptrace(PTRACE_TRACEME)", name="ptrace", args=(0, 0, 0, 0)),
    SyscallProbe(label="process_vm_readv(pid 1)", name="process_vm_readv", args=(1, 0, 0, 0, 0, 0)),
    SyscallProbe(label="bpf(BPF_PROG_LOAD)", name="bpf", args=(5, 0, 0)),
    SyscallProbe(label="perf_event_open", name="perf_event_open", args=(0, 0, -1, -1, 0)),
    SyscallProbe(label="userfaultfd", name="userfaultfd", args=(0,)),
    SyscallProbe(label="keyctl(GET_KEYRING_ID)", name="keyctl", args=(0, -3, 0)),
    SyscallProbe(label="init_module", name="init_module", args=(0, 0, 0)),
    SyscallProbe(label="mount", name="mount", args=(0, 0, 0, 0, 0)),
    SyscallProbe(label="fsopen(tmpfs)", name="fsopen", args=("tmpfs", 0)),
    SyscallProbe(label="open_by_handle_at", name="open_by_handle_at", args=(-1, 0, 0)),
    SyscallProbe(label="chroot(/)", name="chroot", args=("/",)),
    SyscallProbe(label="unshare(CLONE_NEWUSER)", name="unshare", args=(0x10000000,)),
    SyscallProbe(label="setns(-1)", name="setns", args=(-1, 0)),
    SyscallProbe(label="io_uring_setup", name="io_uring_setup", args=(1, 0)),
    SyscallProbe(label="memfd_create", name="memfd_create", args=(_PROBE_FILE, 0)),
    SyscallProbe(label='execveat(-1, "")', name="execveat", args=(-1, "", 0, 0, 0)),
    SyscallProbe(label="clone3", name="clone3", args=(0, 0)),
    SyscallProbe(
        label="clone(CLONE_NEWUSER)",
        name="clone",
        args=(seccomp.CLONE_FLAGS["CLONE_NEWUSER"] | _SIGCHLD, 0, 0, 0, 0),
        clone_flag="CLONE_NEWUSER",
        forks=True,
    ),
    SyscallProbe(
        label="socket(AF_NETLINK)",
        name="socket",
        args=(seccomp.SOCKET_FAMILIES["AF_NETLINK"], _SOCK_RAW, 0),
        family="AF_NETLINK",
    ),
    SyscallProbe(
        label="socket(AF_PACKET)",
        name="socket",
        args=(seccomp.SOCKET_FAMILIES["AF_PACKET"], _SOCK_RAW, 0),
        family="AF_PACKET",
    ),
)


# -- the plan: every probe and what the profile promises it observes (pure) --


def probe_plan(
    profile: SandboxProfile, *, host_port: int, egress: EgressSettings | None = None
) -> tuple[Probe, ...]:
    """Every probe of ``profile``, in report order; ``host_port`` is the host's listener and
    ``egress`` the launcher's egress settings."""
    return (
        *_sandbox_probes(),
        *_file_probes(profile),
        *_network_probes(profile, host_port),
        *_egress_probes(profile, egress or EgressSettings()),
        *_syscall_probes(profile.seccomp),
        *_identity_probes(),
        *_environment_probes(profile),
        *_limit_probes(profile),
    )


def program_config(plan: Sequence[Probe], profile: SandboxProfile) -> dict[str, object]:
    """The probe program's one argument: the probes to run inside the sandbox."""
    return {
        # A hung probe must not take the whole run past the wall time limit.
        "child_timeout_s": max(2, profile.limits.wall_time_ms // 4000),
        "probes": [[p.key, p.action, p.isolated, list(p.args)] for p in plan if p.action],
    }


def _sandbox_probes() -> tuple[Probe, ...]:
    return (
        Probe(
            key="sandbox.run",
            area="sandbox",
            label="probe program run",
            expected="ok",
            accept=frozenset({"value:ok"}),
        ),
        Probe(
            key="sandbox.report",
            area="sandbox",
            label="probe program report",
            expected="one JSON document",
            accept=frozenset({"ok"}),
        ),
    )


def _covered(path: str, mounts: Sequence[str]) -> bool:
    return any(path == m or path.startswith(m.rstrip("/") + "/") for m in mounts)


def _children(directory: str, targets: Sequence[str]) -> list[str]:
    prefix = directory.rstrip("/") + "/"
    return sorted({t[len(prefix) :].split("/")[0] for t in targets if t.startswith(prefix)})


def _file_probes(profile: SandboxProfile) -> tuple[Probe, ...]:
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
        write(f"/usr/{_PROBE_FILE}", "usr"),
        write(f"/{_PROBE_FILE}", "root"),
        write(f"{fs.work_dir.rstrip('/')}/{_PROBE_FILE}", "work_dir"),
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


def _network_probes(profile: SandboxProfile, host_port: int) -> tuple[Probe, ...]:
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
            accept=frozenset({_KILLED} if inet_killed else {"error"}),
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
            accept=frozenset({_KILLED} if inet_killed else {"ok"}),
            action="inet_socket",
            isolated=True,
        ),
        Probe(
            key="network.resolve",
            area="network",
            label=f"resolve {RESOLVE_NAME}",
            expected="fails",
            accept=frozenset({"error", _KILLED} if resolve_killed else {"error"}),
            action="resolve",
            args=(RESOLVE_NAME,),
            isolated=True,
        ),
    )


def _egress_probes(profile: SandboxProfile, settings: EgressSettings) -> tuple[Probe, ...]:
    """Allowlist mode: the proxy is the one way out, and the rules it applies."""
    if profile.network.mode != "allowlist":
        return ()
    socket_path = f"{SANDBOX_SOCKET_DIR}/{SOCKET_NAME}"
    limits = profile.limits
    return (
        Probe(
            key="egress.socket",
            area="egress",
            label=f"proxy socket {socket_path}",
            expected="present",
            accept=frozenset({"value:present"}),
            action="exists",
            args=(socket_path,),
        ),
        Probe(
            key="egress.proxy_connect",
            area="egress",
            label=f"CONNECT {RESOLVE_NAME}:443 via 127.0.0.1:{BRIDGE_PORT}",
            expected="403 (on no allowlist)",
            accept=frozenset({"value:403"}),
            action="proxy_connect",
            args=(BRIDGE_PORT, RESOLVE_NAME, 443),
            isolated=True,
        ),
        Probe(
            key="egress.recorded",
            area="egress",
            label="attempts in the result",
            expected="1 denied, 0 allowed",
            accept=frozenset({"value:1 denied, 0 allowed"}),
        ),
        Probe(
            key="egress.allowlist",
            area="egress",
            label="allowlist",
            expected="each skill's permissions.network",
        ),
        Probe(key="egress.refused", area="egress", label="refused", expected=REFUSED_ADDRESSES),
        Probe(
            key="egress.limits",
            area="egress",
            label="limits",
            expected=f"{format_size(limits.egress_bytes or 0)} up and down, "
            f"{limits.egress_connections} requests",
        ),
        Probe(
            key="egress.test_settings",
            area="egress",
            label="test-only settings",
            expected="none",
            accept=frozenset({"value:none"}),
        ),
    )


def egress_observations(result: SandboxResult, settings: EgressSettings) -> dict[str, Observation]:
    """What the proxy recorded and the settings it ran with, seen from outside the sandbox."""
    denied = sum(not attempt.allowed for attempt in result.egress)
    allowed = len(result.egress) - denied
    return {
        "egress.recorded": Observation(
            result="value", detail=f"{denied} denied, {allowed} allowed"
        ),
        "egress.allowlist": Observation(result="value", detail="none (no skill)"),
        "egress.refused": Observation(result="value", detail="after resolving on the host"),
        "egress.limits": Observation(result="value", detail="enforced by the proxy"),
        "egress.test_settings": Observation(
            result="value", detail=settings.describe() if settings.active else "none"
        ),
    }


def _syscall_expectation(probe: SyscallProbe, policy: seccomp.SeccompPolicy) -> tuple[str, str]:
    if probe.name in policy.kill:
        return "killed by SIGSYS", _KILLED
    if probe.name in policy.enosys:
        return "ENOSYS", "error:ENOSYS"
    if probe.family is not None and probe.family in policy.deny_socket_families:
        return "killed by SIGSYS", _KILLED
    if probe.clone_flag is not None and probe.clone_flag in policy.deny_clone_flags:
        return "killed by SIGSYS", _KILLED
    return "not killed", ""


def _syscall_probes(policy: seccomp.SeccompPolicy) -> tuple[Probe, ...]:
    probes = []
    for probe in SYSCALL_PROBES:
        number = seccomp.syscall_number(probe.name)
        if number is None:
            continue
        expected, pattern = _syscall_expectation(probe, policy)
        probes.append(
            Probe(
                key=f"syscalls.{probe.key}",
                area="syscalls",
                label=probe.label,
                expected=expected,
                accept=frozenset({pattern} if pattern else {"ok", "error"}),
                action="syscall",
                args=(number, list(probe.args), probe.forks),
                isolated=True,
            )
        )
    probes.append(
        Probe(
            key="syscalls.seccomp_mode",
            area="syscalls",
            label="seccomp mode (2 = filter)",
            expected=_SECCOMP_MODE_FILTER,
            accept=frozenset({f"value:{_SECCOMP_MODE_FILTER}"}),
            action="status_field",
            args=("Seccomp",),
        )
    )
    return tuple(probes)


def _identity_probes() -> tuple[Probe, ...]:
    def field(name: str, label: str, want: str) -> Probe:
        return Probe(
            key=f"identity.{name}",
            area="identity",
            label=label,
            expected=want,
            accept=frozenset({f"value:{want}"}),
            action="status_field",
            args=(name,),
        )

    return (
        field("Uid", "uid (real/effective/saved/fs)", str(SANDBOX_UID)),
        field("Gid", "gid (real/effective/saved/fs)", str(SANDBOX_GID)),
        field("CapEff", "effective capabilities", _NO_CAPABILITIES),
    )


def _environment_probes(profile: SandboxProfile) -> tuple[Probe, ...]:
    env = (*profile.env, *(proxy_env() if profile.network.mode == "allowlist" else ()))
    probes = [
        Probe(
            key=f"environment.{name}",
            area="environment",
            label=f"${name}",
            expected=value,
            accept=frozenset({f"value:{value}"}),
            action="env_var",
            args=(name,),
        )
        for name, value in env
    ]
    names = [name for name, _ in env]
    probes.append(
        Probe(
            key="environment.others",
            area="environment",
            label="other variables",
            expected="none",
            accept=frozenset({"value:none"}),
            action="env_others",
            args=(names,),
        )
    )
    return tuple(probes)


def _limit_probes(profile: SandboxProfile) -> tuple[Probe, ...]:
    limits = profile.limits
    work_dir = profile.filesystem.work_dir
    room = min((t.size_bytes for t in profile.filesystem.tmpfs if t.path == work_dir), default=0)
    # A work dir smaller than the file size limit fills up before the limit is reached.
    fits = limits.file_size_bytes < room
    return (
        Probe(
            key="limits.memory",
            area="limits",
            label=f"memory {format_size(limits.memory_bytes)}",
            expected="allocating past it: killed by SIGKILL",
            accept=frozenset({"killed:SIGKILL"}),
            unit="bytes",
            action="memory",
            args=(limits.memory_bytes + _MEMORY_OVERSHOOT,),
            isolated=True,
        ),
        Probe(
            key="limits.pids",
            area="limits",
            label=f"pids {limits.pids}",
            expected=f"fork: EAGAIN at {limits.pids} processes",
            accept=frozenset({"error:EAGAIN"}),
            amount=limits.pids,
            unit="processes",
            action="pids",
            args=(limits.pids + _COUNT_OVERSHOOT,),
            isolated=True,
        ),
        Probe(
            key="limits.open_files",
            area="limits",
            label=f"open files {limits.open_files}",
            expected=f"EMFILE at {limits.open_files} fds",
            accept=frozenset({"error:EMFILE"}),
            amount=limits.open_files,
            unit="fds",
            action="open_files",
            args=(limits.open_files + _COUNT_OVERSHOOT,),
            isolated=True,
        ),
        Probe(
            key="limits.file_size",
            area="limits",
            label=f"file size {format_size(limits.file_size_bytes)}",
            expected=f"EFBIG at {format_size(limits.file_size_bytes)}" if fits else "ENOSPC",
            accept=frozenset({"error:EFBIG"} if fits else {"error:ENOSPC"}),
            amount=limits.file_size_bytes if fits else None,
            unit="bytes",
            action="file_size",
            args=(f"{work_dir.rstrip('/')}/{_PROBE_FILE}", limits.file_size_bytes),
            isolated=True,
        ),
        Probe(
            key="limits.cpu_time",
            area="limits",
            label="cpu time",
            expected=format_duration(limits.cpu_time_ms),
        ),
        Probe(
            key="limits.wall_time",
            area="limits",
            label="wall time",
            expected=format_duration(limits.wall_time_ms),
        ),
        Probe(
            key="limits.output",
            area="limits",
            label="output",
            expected=format_size(limits.output_bytes),
        ),
        Probe(key="limits.cpus", area="limits", label="cpus", expected=f"{limits.cpus:g}"),
    )


# -- observations and comparison (pure) --


def parse_report(stdout: bytes) -> dict[str, Observation] | None:
    """The probe program's observations, or None when its output is not its JSON document."""
    try:
        doc = json.loads(stdout)
    except ValueError:
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("observations"), dict):
        return None
    observations = {}
    for key, entry in doc["observations"].items():
        if not isinstance(entry, dict) or not isinstance(entry.get("result"), str):
            continue
        amount = entry.get("amount")
        observations[key] = Observation(
            result=entry["result"],
            detail=str(entry.get("detail") or ""),
            amount=amount if isinstance(amount, int) and not isinstance(amount, bool) else None,
        )
    return observations


def run_observations(
    result: SandboxResult, report: Mapping[str, Observation] | None, *, listener_reached: bool
) -> dict[str, Observation]:
    """Observations made outside the sandbox: the run itself and the host's listener."""
    usage = result.usage
    return {
        "sandbox.run": Observation(result="value", detail=result.status.value),
        "sandbox.report": Observation(result="ok")
        if report is not None
        else Observation(result="error", detail="no JSON report on stdout"),
        "network.host_listener": Observation(
            result="value", detail="yes" if listener_reached else "no"
        ),
        "limits.cpu_time": Observation(result="value", detail=f"used {usage.cpu_ms}ms"),
        "limits.wall_time": Observation(result="value", detail=f"took {usage.wall_ms}ms"),
        "limits.output": Observation(result="value", detail=f"printed {len(result.stdout)} bytes"),
        "limits.cpus": Observation(result="value", detail="not probed"),
    }


def matches(probe: Probe, observation: Observation) -> bool:
    """Whether ``observation`` is what ``probe`` promises."""
    pattern_ok = (
        observation.result in probe.accept
        or f"{observation.result}:{observation.detail}" in probe.accept
    )
    return pattern_ok and (probe.amount is None or observation.amount == probe.amount)


def describe(observation: Observation | None, unit: str = "") -> str:
    """An observation as a person reads it: "EMFILE at 256 fds", "killed by SIGSYS"."""
    if observation is None:
        return "no report"
    amount = "" if observation.amount is None else _show_amount(observation.amount, unit)
    if observation.result == "killed":
        return f"killed by {observation.detail}" + (f" after {amount}" if amount else "")
    if observation.result == "error":
        return observation.detail + (f" at {amount}" if amount else "")
    if observation.result == "ok":
        return f"ok, {amount}" if amount else "ok"
    return observation.detail


def _show_amount(amount: int, unit: str) -> str:
    if unit == "bytes":
        return format_size(amount)
    if unit == "ms":
        return format_duration(amount)
    return f"{amount} {unit}".strip()


def compare(plan: Sequence[Probe], observations: Mapping[str, Observation]) -> tuple[Row, ...]:
    """One row per probe: what the profile promises, what was observed and whether they agree."""
    rows = []
    for probe in plan:
        observed = observations.get(probe.key)
        if not probe.accept:
            verdict = Verdict.INFO
        elif observed is not None and matches(probe, observed):
            verdict = Verdict.PASS
        else:
            verdict = Verdict.FAIL
        rows.append(
            Row(
                key=probe.key,
                area=probe.area,
                probe=probe.label,
                expected=probe.expected,
                observed=describe(observed, probe.unit),
                verdict=verdict,
            )
        )
    return tuple(rows)


def all_pass(rows: Sequence[Row]) -> bool:
    return all(row.verdict is not Verdict.FAIL for row in rows)


# -- the report (pure) --


@dataclass(frozen=True, kw_only=True)
class CheckReport:
    profile: str
    rows: tuple[Row, ...]
    result: SandboxResult

    @property
    def ok(self) -> bool:
        return all_pass(self.rows)


def report_dict(report: CheckReport) -> dict[str, object]:
    """The report as the JSON object ``profile check --json`` prints."""
    result = report.result
    return {
        "profile": report.profile,
        "ok": report.ok,
        "probes": [
            {
                "key": row.key,
                "area": row.area,
                "probe": row.probe,
                "expected": row.expected,
                "observed": row.observed,
                "verdict": row.verdict.value,
            }
            for row in report.rows
        ],
        "sandbox": {
            "status": result.status.value,
            "exit_code": result.exit_code,
            "signal": result.signal,
            "violations": list(result.violations),
            "usage": {
                "wall_ms": result.usage.wall_ms,
                "cpu_ms": result.usage.cpu_ms,
                "peak_memory_bytes": result.usage.peak_memory_bytes,
            },
            **({"error": result.error} if result.error else {}),
            **({"stderr": _tail(result.stderr)} if result.status is not Status.OK else {}),
        },
    }


def render_report(report: CheckReport) -> str:
    """The report as the table ``profile check`` prints."""
    cells: list[list[str]] = []
    area = ""
    for row in report.rows:
        if row.area != area:
            area = row.area
            cells.append([f"[{area}]"])
        cells.append([f"  {row.probe}", row.expected, row.observed, row.verdict.value])
    failed = sum(row.verdict is Verdict.FAIL for row in report.rows)
    summary = (
        "every observation matches the profile"
        if failed == 0
        else f"{failed} observation(s) do not match the profile"
    )
    lines = [
        f"profile {report.profile}",
        *text_table(("PROBE", "EXPECTED", "OBSERVED", "VERDICT"), cells),
        "",
    ]
    lines += [f"launcher noted: {v}" for v in report.result.violations]
    if report.result.error:
        lines.append(f"sandbox error: {report.result.error}")
    if report.result.status is not Status.OK and report.result.stderr:
        lines.append("probe stderr:\n" + _tail(report.result.stderr))
    lines.append(f"{report.profile}: {summary}")
    return "\n".join(lines)


def _tail(data: bytes, lines: int = 10) -> str:
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


# -- running the check (I/O) --


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
