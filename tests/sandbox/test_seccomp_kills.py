"""Reading the kernel's AUDIT_SECCOMP records (pure): whose kill it is, and for which call."""

from __future__ import annotations

from runtime.sandbox.seccomp_kills import SeccompKill, parse_record

_UID = 1_900_000_042
_RECORD = (
    "audit(1796049427.016:3840): auid=4294967295 uid={uid} gid={uid} ses=4294967295 pid=25730 "
    'comm={comm} exe="/usr/bin/python3.11" sig=31 arch=c000003e syscall=101 compat=0 '
    "ip=0x7ff56f591829 code=0x80000000"
)


def test_a_kill_of_the_sandbox_uid_is_read() -> None:
    """pid, command, ABI and call come from the record of the sandbox's own uid."""
    kill = parse_record(_RECORD.format(uid=_UID, comm='"python3"'), _UID)
    assert kill == SeccompKill(pid=25730, comm="python3", arch=0xC000003E, syscall=101)


def test_another_uid_is_not_the_sandboxs() -> None:
    """A record of another uid (auid is not uid) belongs to someone else."""
    assert parse_record(_RECORD.format(uid=_UID + 1, comm='"python3"'), _UID) is None


def test_a_hex_encoded_command_cannot_forge_fields() -> None:
    """A command name with spaces is hex-encoded by the kernel and decoded, never parsed."""
    comm = b"x uid=1 sig=0".hex().upper()
    kill = parse_record(_RECORD.format(uid=_UID, comm=comm), _UID)
    assert kill is not None and kill.comm == "x uid=1 sig=0"
