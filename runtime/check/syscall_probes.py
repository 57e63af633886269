"""The syscalls area of ``skillrt profile check``: dangerous syscalls and what the profile's
seccomp policy promises each of them meets."""

from __future__ import annotations

from dataclasses import dataclass

from runtime.check.model import KILLED, PROBE_FILE, Probe
from runtime.sandbox import seccomp

__all__ = ["SYSCALL_PROBES", "SyscallProbe", "syscall_probes"]

_SECCOMP_MODE_FILTER = "2"
_SIGCHLD = 17
_SOCK_RAW = 3


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
    SyscallProbe(label="memfd_create", name="memfd_create", args=(PROBE_FILE, 0)),
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


def _syscall_expectation(probe: SyscallProbe, policy: seccomp.SeccompPolicy) -> tuple[str, str]:
    if probe.name in policy.kill:
        return "killed by SIGSYS", KILLED
    if probe.name in policy.enosys:
        return "ENOSYS", "error:ENOSYS"
    if probe.family is not None and probe.family in policy.deny_socket_families:
        return "killed by SIGSYS", KILLED
    if probe.clone_flag is not None and probe.clone_flag in policy.deny_clone_flags:
        return "killed by SIGSYS", KILLED
    return "not killed", ""


def syscall_probes(policy: seccomp.SeccompPolicy) -> tuple[Probe, ...]:
    """Each syscall probe this architecture has a number for, then the seccomp mode."""
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
