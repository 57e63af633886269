"""Seccomp policy validation and kafel rendering (pure)."""

from __future__ import annotations

import pyseccomp

from runtime.sandbox.seccomp import SeccompPolicy, render_kafel, validate


def _nr(name: str) -> int:
    number: int = pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, name)
    return number


def _policy(**changes: tuple[str, ...]) -> SeccompPolicy:
    fields: dict[str, tuple[str, ...]] = {
        "kill": ("ptrace",),
        "enosys": ("clone3",),
        "deny_socket_families": ("AF_NETLINK",),
        "deny_clone_flags": ("CLONE_NEWUSER",),
    }
    fields.update(changes)
    return SeccompPolicy(**fields)


def test_render_uses_syscall_numbers() -> None:
    """Syscalls are rendered by number so kafel's older name table never rejects them."""
    text = render_kafel(_policy())
    assert f"ERRNO(38) {{ SYSCALL[{_nr('clone3')}] }}" in text
    assert f"SYSCALL[{_nr('ptrace')}]" in text
    assert text.endswith("DEFAULT ALLOW")


def test_render_socket_family_and_clone_flags() -> None:
    """Socket families and clone namespace flags become argument conditions."""
    text = render_kafel(_policy())
    assert f"SYSCALL[{_nr('socket')}](domain) {{ domain == 16 }}" in text
    assert f"SYSCALL[{_nr('clone')}](flags) {{ (flags & 0x10000000) != 0 }}" in text


def test_unknown_family_is_invalid() -> None:
    """A socket family that does not exist is named."""
    assert validate(_policy(deny_socket_families=("AF_WAT",))) == (
        "deny_socket_families",
        "unknown socket family 'AF_WAT'",
    )


def test_clone_flags_need_clone3_refused() -> None:
    """Filtering clone flags without refusing clone3 would be bypassable, so it is invalid."""
    problem = validate(_policy(enosys=()))
    assert problem is not None and problem[0] == "deny_clone_flags"


def test_same_syscall_in_kill_and_enosys_is_invalid() -> None:
    """A syscall cannot both kill and return ENOSYS."""
    assert validate(_policy(kill=("clone3",))) == ("enosys", "'clone3' is also in kill")
