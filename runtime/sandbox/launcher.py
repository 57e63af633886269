"""Starting sandboxes: each one ready before its input is known.

``Launcher.start`` returns a started ``Sandbox`` (see ``started``): nsjail has built the jail,
applied the limits, and the jailed process is waiting on stdin. Whatever interrupts a start
leaves no process, cgroup or egress socket behind.

In network mode allowlist the sandbox also gets its own egress proxy (``bridging``), opened
before the jail and closed, with its socket, after every process of the jail is gone.

nsjail runs as the sandbox's own host uid (``identity``), without capabilities: the user
namespace it creates, and every kernel count charged to its owner, belong to that uid alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
from dataclasses import dataclass
from typing import Protocol

from runtime.errors import IsolationUnavailable, SandboxError
from runtime.sandbox.bridging import bridged, open_egress
from runtime.sandbox.cgroups import CgroupLimits, Cgroups, InvocationCgroup, detect_layout
from runtime.sandbox.cleanup import to_completion
from runtime.sandbox.egress.policy import EgressSettings
from runtime.sandbox.egress.proxy import AttemptCallback
from runtime.sandbox.egress.session import EgressSession, load_settings
from runtime.sandbox.identity import HostIdentity, IdentityPool
from runtime.sandbox.log_pipe import LogPipe
from runtime.sandbox.nsjail import SandboxSpec, find_nsjail, render_argv
from runtime.sandbox.profiles import Bind
from runtime.sandbox.reach import check_reachable
from runtime.sandbox.seccomp_kills import KillWatch
from runtime.sandbox.started import OutputCallback, Sandbox

# Sandbox and OutputCallback belong to the launcher's interface: callers start and run
# sandboxes through this module.
__all__ = ["LOCAL_CGROUP_ROOT", "Launcher", "OutputCallback", "Sandbox", "Starter"]

# Joins the invocation's cgroups (as root) before exec'ing nsjail, so nsjail and the jail never
# run outside them; a shell is the cheapest safe way to do that from an asyncio (threaded) process.
_JOIN_AND_EXEC = (
    'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n-1)); done;'
    ' exec "$@"'
)
_SHELL = "/bin/sh"
# The cgroup root of one-off runs (the command line, doctor); the daemon's is configured.
LOCAL_CGROUP_ROOT = "skillrt-local"
_SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


class Starter(Protocol):
    """What starts one call's sandbox: a ``Launcher``, or the daemon's warm pool."""

    async def start(
        self, spec: SandboxSpec, *, on_egress: AttemptCallback | None = None
    ) -> Sandbox: ...


@dataclass(frozen=True, kw_only=True)
class _Plan:
    """One start, as decided before anything of the jail exists."""

    spec: SandboxSpec
    name: str | None
    egress: EgressSession | None
    identity: HostIdentity  # the held uid it runs as; nsjail holds the lock as long as it lives
    lease: HostIdentity | None  # the same, when the sandbox holds it alone (not a session's)
    standby_ms: int  # how long it may wait for its input once ready


class Launcher:
    """Starts sandboxes on this host; refuses when the host cannot isolate as profiles ask."""

    def __init__(
        self,
        *,
        cgroups: Cgroups,
        nsjail: str,
        egress: EgressSettings | None = None,
        identities: IdentityPool | None = None,
    ) -> None:
        # Refused at once, with the reason, when this process cannot have its groups (on cgroup
        # v2: controllers not delegated to it, or a cgroup it shares with other processes).
        cgroups.prepare()
        self.cgroups = cgroups
        self.nsjail = nsjail
        self.egress = egress or EgressSettings()
        self.identities = identities or IdentityPool()
        self._setpriv = _find_setpriv()

    @classmethod
    def for_host(cls, cgroup_root: str = LOCAL_CGROUP_ROOT) -> Launcher:
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
        standby_ms: int = 0,
    ) -> Sandbox:
        """A ready sandbox for ``spec``; ``on_egress`` hears of each egress attempt as it ends.
        ``standby_ms``: how long it may wait for its input once ready (a warm sandbox)."""
        # A session's sandboxes run as the session's uid; any other holds one of its own.
        lease = self.identities.acquire() if spec.identity is None else None
        identity = lease or spec.identity
        assert identity is not None
        egress = None
        try:
            if spec.profile.network.mode == "allowlist":
                egress = await open_egress(
                    spec, settings=self.egress, on_attempt=on_egress, owner=identity.uid
                )
                spec = bridged(spec, egress.attachment)
            plan = _Plan(
                spec=spec,
                name=name,
                egress=egress,
                identity=identity,
                lease=lease,
                standby_ms=standby_ms,
            )
            return await self._start(plan)
        except BaseException:
            if egress is not None:
                await to_completion(_closed(egress))
            if lease is not None:
                lease.release()
            raise

    async def _start(self, plan: _Plan) -> Sandbox:
        spec, host_uid = plan.spec, plan.identity.uid
        binds = _present_binds((*spec.profile.filesystem.readonly_binds, *spec.binds), host_uid)
        for device in spec.profile.filesystem.devices:
            if not os.path.exists(device):
                raise IsolationUnavailable(f"device {device} does not exist on this host")
        argv = render_argv(
            spec, nsjail=self.nsjail, binds=binds, host_uid=host_uid, standby_ms=plan.standby_ms
        )
        kills = KillWatch.open()  # before the jail exists, so no kill of it goes unseen
        try:
            return await self._launch(plan, argv, kills)
        except BaseException:
            kills.close()
            raise

    async def _launch(self, plan: _Plan, argv: list[str], kills: KillWatch) -> Sandbox:
        spec, egress = plan.spec, plan.egress
        group = self.cgroups.create(
            plan.name or f"sbx-{secrets.token_hex(8)}",
            # nsjail supervises from inside the group, so it needs one pid of its own.
            CgroupLimits(
                memory_bytes=spec.limits.memory_bytes,
                pids=spec.limits.pids + 1,
                cpus=spec.limits.cpus,
            ),
        )
        if egress is not None:
            egress.admit(group.procs)  # only the sandbox's own processes may use its proxy
        log_read, log_write = os.pipe()
        process: asyncio.subprocess.Process | None = None
        log_owner = "launcher"  # who closes log_read: this function, until LogPipe takes it
        try:
            files = group.attach_files
            process = await asyncio.create_subprocess_exec(
                _SHELL,
                "-c",
                _JOIN_AND_EXEC,
                "sh",
                str(len(files)),
                *files,
                *self._as_user(plan.identity.uid),
                *argv[:1],
                "--log_fd",
                str(log_write),
                *argv[1:],
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                # nsjail keeps the uid's lock (and closes it for the jail): the uid stays held
                # while the jail lives, even should this process die first.
                pass_fds=(log_write, plan.identity.lock_fd),
                env=dict(spec.secret_env),
                start_new_session=True,
            )
            log_owner = "log"
            log = await LogPipe.open(log_read)
        except BaseException as exc:
            # Whatever interrupts a start (an error, a client's deadline) leaves nothing behind.
            await to_completion(
                _abandon(process, group, log_read if log_owner == "launcher" else None)
            )
            if isinstance(exc, OSError):
                raise SandboxError(f"cannot start nsjail: {exc}") from exc
            raise
        finally:
            os.close(log_write)
        sandbox = Sandbox(
            spec=spec,
            process=process,
            group=group,
            log=log,
            egress=egress,
            identity=(plan.identity.uid, plan.lease),
            kills=kills,
        )
        try:
            await sandbox.wait_ready()
            if egress is not None:
                egress.hide()  # mounted now: the name in nsjail's argv need not lead anywhere
        except BaseException:
            await sandbox.close()
            raise
        return sandbox

    def _as_user(self, uid: int) -> list[str]:
        """setpriv's argv that execs the rest as ``uid`` with no groups and no capabilities, killed
        when its parent dies: a jail nobody reaps would run on with nothing enforcing its limits
        but nsjail's own. (The parent is the thread that starts it: the event loop's, which
        outlives its sandboxes.)"""
        return [
            self._setpriv,
            "--pdeathsig=KILL",
            f"--reuid={uid}",
            f"--regid={uid}",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--",
        ]


def _find_setpriv() -> str:
    found = shutil.which("setpriv", path=_SYSTEM_PATH)
    if found is None:
        raise IsolationUnavailable("setpriv (util-linux) not found: sandboxes cannot drop root")
    return found


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


def _present_binds(binds: tuple[Bind, ...], host_uid: int) -> tuple[Bind, ...]:
    present = []
    for bind in binds:
        what = "writable bind" if bind.writable else "read-only bind"
        if os.path.exists(bind.source):
            check_reachable(bind.source, what=what, uid=host_uid)
            present.append(bind)
        elif not bind.optional:
            raise IsolationUnavailable(f"{what} {bind.source} does not exist on this host")
    return tuple(present)


async def _closed(egress: EgressSession) -> None:
    await egress.close()
