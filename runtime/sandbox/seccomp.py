"""Seccomp policy as data, validated against this architecture and rendered to nsjail's kafel.

Denied syscalls kill the whole sandbox (SECCOMP_RET_KILL_PROCESS) so that a violation is reported
as ``seccomp_violation`` rather than hidden behind an errno the code might swallow. ``enosys``
syscalls fail with ENOSYS instead: clone3 passes its flags in memory that seccomp cannot inspect,
so it is refused softly and libc falls back to clone, whose flags are checked.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyseccomp

__all__ = [
    "CLONE_FLAGS",
    "SOCKET_FAMILIES",
    "SeccompPolicy",
    "render_kafel",
    "syscall_name",
    "syscall_number",
    "validate",
]

_ENOSYS = 38

# Linux ABI constants (include/linux/socket.h); Python's socket module lacks some of them.
SOCKET_FAMILIES = {
    "AF_UNIX": 1,
    "AF_INET": 2,
    "AF_INET6": 10,
    "AF_KEY": 15,
    "AF_NETLINK": 16,
    "AF_PACKET": 17,
    "AF_RDS": 21,
    "AF_CAN": 29,
    "AF_TIPC": 30,
    "AF_BLUETOOTH": 31,
    "AF_ALG": 38,
    "AF_VSOCK": 40,
    "AF_QIPCRTR": 42,
    "AF_XDP": 44,
}

# include/uapi/linux/sched.h; Python only exposes them from 3.12 on.
CLONE_FLAGS = {
    "CLONE_NEWNS": 0x00020000,
    "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
}


@dataclass(frozen=True, kw_only=True)
class SeccompPolicy:
    kill: tuple[str, ...]
    enosys: tuple[str, ...]
    deny_socket_families: tuple[str, ...]
    deny_clone_flags: tuple[str, ...]


def syscall_number(name: str) -> int | None:
    """This architecture's number for syscall ``name``, or None when it has no such syscall."""
    try:
        number = pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, name)
    except (ValueError, OSError, TypeError):
        return None
    return number if isinstance(number, int) and number >= 0 else None


def syscall_name(arch: int, number: int) -> str:
    """The name of syscall ``number`` of the ABI ``arch`` (an AUDIT_ARCH value), or its number."""
    try:
        name = pyseccomp.resolve_syscall(arch, number)
    except (ValueError, OSError, TypeError):
        name = None
    if isinstance(name, bytes) and name:
        return name.decode("ascii", "replace")
    return f"syscall {number}"


def validate(policy: SeccompPolicy) -> tuple[str, str] | None:
    """The first (key, reason) that makes ``policy`` unusable here, or None."""
    for key in ("kill", "enosys"):
        for name in getattr(policy, key):
            if not name.isidentifier() or syscall_number(name) is None:
                return key, f"unknown syscall {name!r} on this architecture"
    both = set(policy.kill) & set(policy.enosys)
    if both:
        return "enosys", f"{sorted(both)[0]!r} is also in kill"
    for family in policy.deny_socket_families:
        if family not in SOCKET_FAMILIES:
            return "deny_socket_families", f"unknown socket family {family!r}"
    for flag in policy.deny_clone_flags:
        if flag not in CLONE_FLAGS:
            return "deny_clone_flags", f"unknown clone flag {flag!r}"
    if policy.deny_clone_flags and "clone3" not in policy.enosys + policy.kill:
        return "deny_clone_flags", "needs clone3 in enosys or kill (its flags cannot be inspected)"
    return None


def _nr(name: str) -> str:
    # Syscalls are rendered by number: kafel's built-in name table predates many of them.
    number = syscall_number(name)
    if number is None:
        raise ValueError(f"unknown syscall {name!r} on this architecture")
    return f"SYSCALL[{number}]"


def render_kafel(policy: SeccompPolicy) -> str:
    """The policy in kafel syntax, for nsjail's --seccomp_string."""
    rules = []
    if policy.enosys:
        rules.append(f"ERRNO({_ENOSYS}) {{ {', '.join(map(_nr, policy.enosys))} }}")
    killed = [_nr(name) for name in policy.kill]
    if policy.deny_socket_families:
        cond = " || ".join(f"domain == {SOCKET_FAMILIES[f]}" for f in policy.deny_socket_families)
        killed.append(f"{_nr('socket')}(domain) {{ {cond} }}")
        killed.append(f"{_nr('socketpair')}(domain) {{ {cond} }}")
    if policy.deny_clone_flags:
        mask = 0
        for flag in policy.deny_clone_flags:
            mask |= CLONE_FLAGS[flag]
        killed.append(f"{_nr('clone')}(flags) {{ (flags & {mask:#x}) != 0 }}")
    if killed:
        rules.append(f"KILL_PROCESS {{ {', '.join(killed)} }}")
    return "\n".join([*rules, "DEFAULT ALLOW"])
