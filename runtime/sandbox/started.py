"""A started sandbox, run exactly once.

``Sandbox.run`` feeds the waiting jail its input, enforces wall time, total CPU time and output
size, and returns a ``SandboxResult``. Every process of the run is gone and its cgroup removed
before ``run`` returns, whatever happened; then the sandbox's egress session, if it has one, is
closed and its report joins the result.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable

from runtime.errors import SandboxError
from runtime.sandbox.cgroups import CgroupUsage, InvocationCgroup
from runtime.sandbox.cleanup import to_completion
from runtime.sandbox.egress.proxy import EgressReport
from runtime.sandbox.egress.session import EgressSession
from runtime.sandbox.identity import HostIdentity
from runtime.sandbox.log_pipe import LogPipe
from runtime.sandbox.nsjail import SandboxSpec
from runtime.sandbox.result import (
    KillReason,
    Outcome,
    SandboxResult,
    Usage,
    bounded,
    classify,
    parse_jail_log,
)
from runtime.sandbox.seccomp_kills import KillWatch, SeccompKill

__all__ = ["READY_TIMEOUT_SECONDS", "OutputCallback", "Sandbox"]

OutputCallback = Callable[[str, bytes], Awaitable[None]]

# nsjail logs this line from inside the finished jail, just before it execs the command.
_READY = "Executing '"
READY_TIMEOUT_SECONDS = 30
_READ_CHUNK = 65536


class Sandbox:
    """One started sandbox; ``run`` may be called once, ``close`` discards it unused."""

    def __init__(
        self,
        *,
        spec: SandboxSpec,
        process: asyncio.subprocess.Process,
        group: InvocationCgroup,
        log: LogPipe,
        identity: tuple[int, HostIdentity | None],
        kills: KillWatch,
        egress: EgressSession | None = None,
    ) -> None:
        self.spec = spec
        self.group = group
        self._process = process
        self._log = log
        self._egress = egress
        # The sandbox's host uid, and its lease when the uid is the sandbox's alone (not a
        # session's): given back once nothing runs as it.
        self._host_uid, self._lease = identity
        self._kill_watch = kills
        self._seccomp_kills: tuple[SeccompKill, ...] = ()
        self._audit_lost = False
        self._egress_report = EgressReport(attempts=(), violations=())
        self._used = False
        self._input_error: Exception | None = None
        self._kill_reason: KillReason | None = None
        self._usage = CgroupUsage(cpu_ns=0, peak_memory_bytes=0, oom_kills=0, pids_limit_hits=0)
        self._on_reaped: list[Callable[[], object]] = []

    @property
    def cpu_ms(self) -> int:
        """CPU time the sandbox used, as measured when it was reaped (0 before)."""
        return self._usage.cpu_ns // 1_000_000

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def waiting(self) -> bool:
        """Started, not yet run, and its process still there (a warm sandbox worth serving)."""
        return not self._used and self._process.returncode is None

    @property
    def peak_memory_bytes(self) -> int:
        """The most memory its cgroup held, as measured when it was reaped (0 before)."""
        return self._usage.peak_memory_bytes

    def when_reaped(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` once every process of the sandbox is gone (its run or close ended)."""
        self._on_reaped.append(callback)

    def memory_bytes(self) -> int:
        """The memory its cgroup holds now (0 once it is gone)."""
        try:
            return self.group.memory_bytes()
        except OSError:
            return 0

    def cpu_ns_so_far(self) -> int:
        """The CPU its cgroup has used so far (0 once it is gone)."""
        try:
            return self.group.cpu_ns()
        except OSError:
            return 0

    def peak_memory_so_far(self) -> int:
        """The most memory its cgroup has held so far (0 once it is gone)."""
        try:
            return self.group.peak_memory_bytes()
        except OSError:
            return 0

    @property
    def host_uid(self) -> int:
        """The host uid the sandbox's processes run as (its own, or its session's)."""
        return self._host_uid

    async def run(
        self, stdin: bytes | AsyncIterable[bytes], *, on_output: OutputCallback | None = None
    ) -> SandboxResult:
        """Run the jail to its end. ``stdin`` is its whole input, or chunks written as they
        arrive (its end closes the jail's stdin); an error from those chunks kills the jail and
        is raised once everything is gone."""
        if self._used:
            raise SandboxError("a sandbox runs exactly once")
        self._used = True
        started = time.monotonic()
        limits = self.spec.limits
        log_task = asyncio.create_task(self._log.read_rest())
        streams = [
            asyncio.create_task(self._collect("stdout", self._process.stdout, on_output)),
            asyncio.create_task(self._collect("stderr", self._process.stderr, on_output)),
        ]
        feeder = asyncio.create_task(self._feed(stdin))
        watcher = asyncio.create_task(self._watch_cpu())
        try:
            try:
                await asyncio.wait_for(self._process.wait(), timeout=limits.wall_time_ms / 1000)
            except TimeoutError:
                self._kill(KillReason.TIMEOUT)
                await self._process.wait()
            (stdout, out_cut), (stderr, err_cut) = [await s for s in streams]
            log = parse_jail_log(await log_task)
        except asyncio.CancelledError:
            self._kill(KillReason.CANCELLED)
            raise
        finally:
            feeder.cancel()
            watcher.cancel()
            self._kill(self._kill_reason)
            await to_completion(self._reap())
            for stream in streams:
                stream.cancel()
            log_task.cancel()
        if self._input_error is not None:
            raise self._input_error
        wall_ms = int((time.monotonic() - started) * 1000)
        usage = self._usage
        cpu_ms = usage.cpu_ns // 1_000_000
        status, exit_code, signal, violations, error = classify(
            Outcome(
                returncode=self._process.returncode if self._process.returncode is not None else -1,
                log=log,
                kill_reason=self._kill_reason,
                oom_kills=usage.oom_kills,
                pids_limit_hits=usage.pids_limit_hits,
                seccomp_kills=self._seccomp_kills,
                audit_lost=self._audit_lost,
                cpu_ms=cpu_ms,
                cpu_limit_ms=limits.cpu_time_ms,
                wall_ms=wall_ms,
                wall_limit_ms=limits.wall_time_ms,
            )
        )
        return SandboxResult(
            status=status,
            exit_code=exit_code,
            signal=signal,
            stdout=stdout,
            stderr=stderr,
            stdout_truncated=out_cut,
            stderr_truncated=err_cut,
            usage=Usage(wall_ms=wall_ms, cpu_ms=cpu_ms, peak_memory_bytes=usage.peak_memory_bytes),
            violations=bounded((*violations, *self._egress_report.violations)),
            error=error,
            egress=self._egress_report.attempts,
        )

    async def close(self) -> None:
        """Discard a sandbox that will not run: kill it and remove its cgroup."""
        if self._used:
            return
        self._used = True
        self._kill(KillReason.CANCELLED)
        await to_completion(self._reap())
        self._log.close()

    async def wait_ready(self) -> None:
        """Wait until nsjail has built the jail and is exec'ing the command (or has failed).

        Once this returns the sandbox is fully isolated and limited, waiting for its input.
        """
        await asyncio.wait_for(self._log.read_until(_READY), timeout=READY_TIMEOUT_SECONDS)

    async def _feed(self, data: bytes | AsyncIterable[bytes]) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        chunks = _once(data) if isinstance(data, bytes) else data
        try:
            # The jail may exit without reading its input; that is its business, not an error.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                async for chunk in chunks:
                    if stdin.is_closing():
                        break
                    stdin.write(chunk)
                    await stdin.drain()
        except Exception as exc:
            # The caller's input failed: the run cannot be what was asked, so it ends here.
            self._input_error = exc
            self._kill(KillReason.CANCELLED)
        stdin.close()

    async def _collect(
        self, name: str, stream: asyncio.StreamReader | None, on_output: OutputCallback | None
    ) -> tuple[bytes, bool]:
        assert stream is not None
        limit = self.spec.limits.output_bytes
        kept = bytearray()
        truncated = False
        while chunk := await stream.read(_READ_CHUNK):
            if truncated:
                continue
            room = limit - len(kept)
            if len(chunk) > room:
                chunk, truncated = chunk[:room], True
                self._kill(KillReason.OUTPUT)
            kept += chunk
            if on_output is not None and chunk:
                await on_output(name, chunk)
        return bytes(kept), truncated

    async def _watch_cpu(self) -> None:
        """Kill when the group's total CPU time reaches the limit.

        The group cannot use more than ``cpus`` cores, so the soonest the limit can be reached
        is remaining / cpus seconds away: polling then costs a few reads per run, not a timer.
        """
        limit_ns = self.spec.limits.cpu_time_ms * 1_000_000
        rate = max(self.spec.limits.cpus, 0.01)
        while True:
            try:
                remaining = limit_ns - self.group.cpu_ns()
            except OSError:
                return
            if remaining <= 0:
                self._kill(KillReason.CPU)
                return
            await asyncio.sleep(max(remaining / rate / 1e9, 0.005))

    def _kill(self, reason: KillReason | None) -> None:
        if reason is None:
            return
        if self._kill_reason is None:
            self._kill_reason = reason
        # nsjail itself first: it may not have joined the cgroup yet, or be between clone() and
        # moving its child; whatever it already started is in the group and dies next.
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
        self.group.kill()

    async def _reap(self) -> None:
        """Wait for nsjail, kill whatever is left in the group (daemonized children), remove it;
        then close the egress proxy, whose clients are all gone, and give back the uid."""
        if self._process.returncode is None:
            self.group.kill()
            await self._process.wait()
        self.group.kill()
        self._usage = self._read_usage()
        self.group.remove()
        # Every process of the uid is gone: its kill records, if any, are queued by now.
        self._seccomp_kills, self._audit_lost = await self._kill_watch.collect(self._host_uid)
        if self._egress is not None:
            self._egress_report = await self._egress.close()
        if self._lease is not None:
            self._lease.release()
        for callback in self._on_reaped:
            callback()

    def _read_usage(self) -> CgroupUsage:
        try:
            return self.group.usage()
        except OSError:
            return CgroupUsage(cpu_ns=0, peak_memory_bytes=0, oom_kills=0, pids_limit_hits=0)


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data
