"""Starting sandboxes and running each exactly once.

A sandbox is started before its input is known (``Launcher.start``): nsjail has built the jail,
applied the limits and the jailed process is waiting on stdin. ``Sandbox.run`` then feeds it its
input, enforces wall time, total CPU time and output size, and returns a ``SandboxResult``. Every
process of the run is gone and its cgroup removed before ``run`` returns, whatever happened.

In network mode allowlist the sandbox also gets its own egress proxy (runtime/egress), opened
before the jail and closed, with its socket, after every process of the jail is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from runtime.errors import IsolationUnavailable, SandboxError
from runtime.sandbox.bridging import bridged, open_egress
from runtime.sandbox.cgroups import (
    CgroupLimits,
    Cgroups,
    CgroupUsage,
    InvocationCgroup,
    detect_layout,
)
from runtime.sandbox.egress.policy import EgressSettings
from runtime.sandbox.egress.proxy import AttemptCallback, EgressReport
from runtime.sandbox.egress.session import EgressSession, load_settings
from runtime.sandbox.nsjail import SandboxSpec, find_nsjail, render_argv
from runtime.sandbox.profiles import Bind
from runtime.sandbox.result import (
    KillReason,
    Outcome,
    SandboxResult,
    Usage,
    classify,
    parse_jail_log,
)

OutputCallback = Callable[[str, bytes], Awaitable[None]]

# Joins the invocation's cgroups before exec'ing nsjail, so nsjail and the jail never run outside
# them; a shell is the cheapest safe way to do that from an asyncio (threaded) process.
_JOIN_AND_EXEC = (
    'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n-1)); done;'
    ' exec "$@"'
)
_SHELL = "/bin/sh"
# nsjail logs this line from inside the finished jail, just before it execs the command.
_READY = "Executing '"
_READY_TIMEOUT_SECONDS = 30
_READ_CHUNK = 65536


class Launcher:
    """Starts sandboxes on this host; refuses when the host cannot isolate as profiles ask."""

    def __init__(
        self, *, cgroups: Cgroups, nsjail: str, egress: EgressSettings | None = None
    ) -> None:
        self.cgroups = cgroups
        self.nsjail = nsjail
        self.egress = egress or EgressSettings()

    @classmethod
    def for_host(cls, cgroup_root: str = "skillrt-local") -> Launcher:
        """A launcher for one-off runs (the CLI); the daemon's own groups live under another root,
        which it reaps at start, so a daemon restart never kills a developer's local run."""
        return cls(
            cgroups=Cgroups(detect_layout(), cgroup_root),
            nsjail=find_nsjail(),
            egress=load_settings(),
        )

    async def start(
        self,
        spec: SandboxSpec,
        *,
        name: str | None = None,
        on_egress: AttemptCallback | None = None,
    ) -> Sandbox:
        """A ready sandbox for ``spec``; ``on_egress`` hears of each egress attempt as it ends."""
        egress = None
        if spec.profile.network.mode == "allowlist":
            egress = await open_egress(spec, settings=self.egress, on_attempt=on_egress)
            spec = bridged(spec, egress.attachment)
        try:
            return await self._start(spec, name, egress)
        except BaseException:
            if egress is not None:
                await _to_completion(_closed(egress))
            raise

    async def _start(
        self, spec: SandboxSpec, name: str | None, egress: EgressSession | None
    ) -> Sandbox:
        binds = _present_binds((*spec.profile.filesystem.readonly_binds, *spec.binds))
        for device in spec.profile.filesystem.devices:
            if not os.path.exists(device):
                raise IsolationUnavailable(f"device {device} does not exist on this host")
        argv = render_argv(spec, nsjail=self.nsjail, binds=binds)
        group = self.cgroups.create(
            name or f"sbx-{secrets.token_hex(8)}",
            # nsjail supervises from inside the group, so it needs one pid of its own.
            CgroupLimits(
                memory_bytes=spec.limits.memory_bytes,
                pids=spec.limits.pids + 1,
                cpus=spec.limits.cpus,
            ),
        )
        log_read, log_write = os.pipe()
        process: asyncio.subprocess.Process | None = None
        log_owner = "launcher"  # who closes log_read: this function, until _JailLog takes it
        try:
            files = group.attach_files
            process = await asyncio.create_subprocess_exec(
                _SHELL,
                "-c",
                _JOIN_AND_EXEC,
                "sh",
                str(len(files)),
                *files,
                *argv[:1],
                "--log_fd",
                str(log_write),
                *argv[1:],
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                pass_fds=(log_write,),
                env=dict(spec.secret_env),
                start_new_session=True,
            )
            log_owner = "log"
            log = await _JailLog.open(log_read)
        except BaseException as exc:
            # Whatever interrupts a start (an error, a client's deadline) leaves nothing behind.
            await _to_completion(
                _abandon(process, group, log_read if log_owner == "launcher" else None)
            )
            if isinstance(exc, OSError):
                raise SandboxError(f"cannot start nsjail: {exc}") from exc
            raise
        finally:
            os.close(log_write)
        sandbox = Sandbox(spec=spec, process=process, group=group, log=log, egress=egress)
        try:
            await sandbox.wait_ready()
        except BaseException:
            await sandbox.close()
            raise
        return sandbox


async def _abandon(
    process: asyncio.subprocess.Process | None, group: InvocationCgroup, log_fd: int | None
) -> None:
    if log_fd is not None:
        with contextlib.suppress(OSError):
            os.close(log_fd)
    if process is not None and process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        group.kill()
        await process.wait()
    group.kill()
    group.remove()


def _present_binds(binds: tuple[Bind, ...]) -> tuple[Bind, ...]:
    present = []
    for bind in binds:
        if os.path.exists(bind.source):
            _check_reachable(bind.source)
            present.append(bind)
        elif not bind.optional:
            raise IsolationUnavailable(f"read-only bind {bind.source} does not exist on this host")
    return tuple(present)


def _check_reachable(path: str) -> None:
    """nsjail mounts as the mapped sandbox user, so every parent must be searchable by others."""
    parent = os.path.dirname(os.path.abspath(path))
    while True:
        if not os.stat(parent).st_mode & 0o001:
            raise IsolationUnavailable(
                f"read-only bind {path} is not reachable by the sandbox user: "
                f"{parent} is not searchable by others (needs o+x)"
            )
        if parent == "/":
            return
        parent = os.path.dirname(parent)


class Sandbox:
    """One started sandbox; ``run`` may be called once, ``close`` discards it unused."""

    def __init__(
        self,
        *,
        spec: SandboxSpec,
        process: asyncio.subprocess.Process,
        group: InvocationCgroup,
        log: _JailLog,
        egress: EgressSession | None = None,
    ) -> None:
        self.spec = spec
        self.group = group
        self._process = process
        self._log = log
        self._egress = egress
        self._egress_report = EgressReport(attempts=(), violations=())
        self._used = False
        self._kill_reason: KillReason | None = None
        self._usage = CgroupUsage(cpu_ns=0, peak_memory_bytes=0, oom_kills=0, pids_limit_hits=0)

    @property
    def cpu_ms(self) -> int:
        """CPU time the sandbox used, as measured when it was reaped (0 before)."""
        return self._usage.cpu_ns // 1_000_000

    @property
    def pid(self) -> int:
        return self._process.pid

    async def run(self, stdin: bytes, *, on_output: OutputCallback | None = None) -> SandboxResult:
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
            await _to_completion(self._reap())
            for stream in streams:
                stream.cancel()
            log_task.cancel()
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
            violations=(*violations, *self._egress_report.violations),
            error=error,
            egress=self._egress_report.attempts,
        )

    async def close(self) -> None:
        """Discard a sandbox that will not run: kill it and remove its cgroup."""
        if self._used:
            return
        self._used = True
        self._kill(KillReason.CANCELLED)
        await _to_completion(self._reap())
        self._log.close()

    async def wait_ready(self) -> None:
        """Wait until nsjail has built the jail and is exec'ing the command (or has failed).

        Once this returns the sandbox is fully isolated and limited, waiting for its input.
        """
        await asyncio.wait_for(self._log.read_until(_READY), timeout=_READY_TIMEOUT_SECONDS)

    async def _feed(self, data: bytes) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        # The jail may exit without reading its input; that is its business, not an error.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            stdin.write(data)
            await stdin.drain()
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
        then close the egress proxy, whose clients are all gone."""
        if self._process.returncode is None:
            self.group.kill()
            await self._process.wait()
        self.group.kill()
        self._usage = self._read_usage()
        self.group.remove()
        if self._egress is not None:
            self._egress_report = await self._egress.close()

    def _read_usage(self) -> CgroupUsage:
        try:
            return self.group.usage()
        except OSError:
            return CgroupUsage(cpu_ns=0, peak_memory_bytes=0, oom_kills=0, pids_limit_hits=0)


async def _closed(egress: EgressSession) -> None:
    await egress.close()


async def _to_completion(cleanup: Coroutine[Any, Any, None]) -> None:
    """Run ``cleanup`` to its end even if the caller is cancelled (again) meanwhile.

    Cancellation often arrives twice (a client's deadline, then shutdown); a cleanup cut short
    would leave processes and cgroups behind. The cancellation is re-raised once it is done.
    """
    task = asyncio.ensure_future(cleanup)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            cancelled = True
    task.result()
    if cancelled:
        raise asyncio.CancelledError


class _JailLog:
    """nsjail's log pipe: read up to the readiness line at start, the rest after the run."""

    def __init__(self, reader: asyncio.StreamReader, transport: asyncio.BaseTransport) -> None:
        self._reader = reader
        self._transport = transport
        self._lines: list[str] = []

    @classmethod
    async def open(cls, fd: int) -> _JailLog:
        """Takes ownership of ``fd``: it is closed here if opening fails."""
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        pipe = os.fdopen(fd, "rb", buffering=0)
        try:
            transport, _ = await loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(reader), pipe
            )
        except BaseException:
            pipe.close()
            raise
        return cls(reader, transport)

    async def read_until(self, marker: str) -> None:
        while line := await self._reader.readline():
            self._lines.append(line.decode("utf-8", "replace"))
            if marker in self._lines[-1]:
                return

    async def read_rest(self) -> str:
        try:
            self._lines.append((await self._reader.read()).decode("utf-8", "replace"))
        finally:
            self.close()
        return "".join(self._lines)

    def close(self) -> None:
        self._transport.close()
