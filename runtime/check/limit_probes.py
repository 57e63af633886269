"""The limits area of ``skillrt profile check``: probes that go past each enforced limit, and the
limits that are only reported."""

from __future__ import annotations

from runtime.check.model import PROBE_FILE, Probe
from runtime.sandbox.profiles import SandboxProfile
from runtime.util.units import format_duration, format_size

__all__ = ["limit_probes"]

_MIB = 1024 * 1024
# How far past a limit the probes go before concluding it is not enforced.
_MEMORY_OVERSHOOT = 32 * _MIB
_COUNT_OVERSHOOT = 8


def limit_probes(profile: SandboxProfile) -> tuple[Probe, ...]:
    """Going past memory, pids, open files and file size meets the profile's limits; the other
    limits are reported with what the run used."""
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
            args=(f"{work_dir.rstrip('/')}/{PROBE_FILE}", limits.file_size_bytes),
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
