"""Agent sessions: a size-capped workspace that persists between commands, owned by one principal.

A session is a per-session tmpfs the daemon mounts (``runtime.sandbox.workspace``) holding the
session's ``/workspace`` and ``/tmp``; each command runs in a fresh sandbox of the session's
profile with both bound read-write (``runtime.core.commands``). Only the principal that created a
session runs commands in it or touches its files; owners and admins may see and end it.

Sessions live as long as the daemon: their workspaces are memory, and a daemon that stops ends
them (audited). After a crash, the next start removes whatever workspace mounts were left
(``recover``). An idle session (no command running, no file touched for its idle timeout) expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

import structlog

from runtime.audit import events
from runtime.audit.background import BackgroundAudit
from runtime.auth.roles import Principal
from runtime.core.catalog import Catalog
from runtime.core.workspace_files import WorkspaceFiles
from runtime.errors import BadRequest, NoSuchEntity, NotAllowed, OverLimit
from runtime.sandbox.identity import HostIdentity, IdentityPool
from runtime.sandbox.profiles import LimitOverrides, Limits, ProfileStore, SandboxProfile
from runtime.sandbox.workspace import Workspace, prepare_root, remove_stale
from runtime.util.aio import to_the_end
from runtime.util.clock import SYSTEM_CLOCK, Clock

__all__ = ["SESSION_ACTOR", "Live", "SessionInfo", "SessionSettings", "SessionState", "Sessions"]

log = structlog.get_logger("skillrt.sessions")

SESSION_ACTOR = "skillrt"
# What one file message may carry: under gRPC's 4 MiB message size, with room for the envelope.
_MAX_FILE_MESSAGE = 3 * 1024 * 1024
_MIN_WORKSPACE = 1024 * 1024  # room for the folders and inodes a workspace starts with
_ID_PREFIX = "ses_"


class SessionState(StrEnum):
    ACTIVE = "active"
    DESTROYED = "destroyed"
    EXPIRED = "expired"


@dataclass(frozen=True, kw_only=True)
class SessionSettings:
    """The daemon's session policy (config ``[sessions]``)."""

    root: Path  # where workspaces are mounted
    default_profile: str = "workspace"
    max_sessions: int = 64
    max_per_principal: int = 8
    # Workspaces are memory (tmpfs) that outlives the commands that filled it: their sizes
    # together may not pass this, so that sessions cannot take the host's memory.
    max_total_bytes: int = 4 * 1024**3


@dataclass(frozen=True, kw_only=True)
class SessionInfo:
    id: str
    owner: str
    profile: str
    skills: tuple[str, ...]
    state: SessionState
    workspace_bytes: int
    used_bytes: int
    idle_timeout_ms: int
    created_ms: int
    last_active_ms: int
    limits: Limits
    env_allowed: tuple[str, ...]
    running: int = 0
    commands: int = 0

    @property
    def expires_ms(self) -> int:
        return self.last_active_ms + self.idle_timeout_ms


@dataclass(kw_only=True)
class Live:
    """A session the daemon holds now: its record, its mount, and its running commands."""

    info: SessionInfo
    profile: SandboxProfile
    workspace: Workspace
    identity: HostIdentity  # the host uid of its sandboxes and its workspace's files
    tasks: set[asyncio.Future[object]] = field(default_factory=set)

    def touch(self, now_ms: int) -> None:
        self.info = replace(self.info, last_active_ms=now_ms)


class Sessions:
    def __init__(
        self,
        *,
        settings: SessionSettings,
        profiles: ProfileStore,
        catalog: Catalog,
        identities: IdentityPool,
        audit_log: BackgroundAudit | None = None,
        clock: Clock = SYSTEM_CLOCK,
        give_up_a_uid: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self.settings = settings
        self.identities = identities
        # What frees a uid held ahead of need (the warm pool's), when every one is held.
        self._give_up_a_uid = give_up_a_uid
        self.profiles = profiles
        self.catalog = catalog
        self._audit = audit_log
        self._clock = clock
        self._live: dict[str, Live] = {}
        self._lock = asyncio.Lock()  # creation counts against the caps: one at a time

    async def _new_identity(self) -> HostIdentity:
        try:
            return self.identities.acquire()
        except OverLimit:
            if self._give_up_a_uid is None or not await self._give_up_a_uid():
                raise
        return self.identities.acquire()

    def recover(self) -> list[str]:
        """At start: remove the workspaces a stopped daemon left; returns their names."""
        prepare_root(self.settings.root)
        left = remove_stale(self.settings.root)
        for name in left:
            self._emit(events.SESSION_ENDED, session_id=name, reason="the daemon restarted")
        return left

    async def create(
        self,
        principal: Principal,
        *,
        profile: str = "",
        skills: tuple[str, ...] = (),
        workspace_bytes: int = 0,
        idle_timeout_ms: int = 0,
        overrides: LimitOverrides | None = None,
    ) -> SessionInfo:
        chosen = self.profiles.get(profile or self.settings.default_profile)
        policy = chosen.session
        if policy is None:
            raise BadRequest(f"profile: {chosen.name!r} is not a session profile")
        size = _within(
            "workspace_bytes", workspace_bytes, policy.workspace_size, policy.max_workspace_size
        )
        if size < _MIN_WORKSPACE:
            raise BadRequest(f"workspace_bytes: at least {_MIN_WORKSPACE} (1 MiB)")
        idle = _within(
            "idle_timeout_ms", idle_timeout_ms, policy.idle_timeout, policy.max_idle_timeout
        )
        limits = chosen.limits.tighten(overrides or LimitOverrides(), source="requested limits")
        policy_file = self.catalog.policy()
        for name in skills:
            self.catalog.instruction(name)  # unknown or unavailable: refused here, by name
            if not policy_file.may_mount(name, principal.name):
                raise NotAllowed(
                    f"skills: {principal.name} may not mount {name} (it receives secrets; the "
                    f"operator lists who may use it under skills.{name}.principals)"
                )
        if len(set(skills)) != len(skills):
            raise BadRequest("skills: a skill is named twice")
        async with self._lock:
            self._check_caps(principal, size)
            session_id = f"{_ID_PREFIX}{secrets.token_hex(12)}"
            # On disk before the workspace exists: a session the audit log lacks never starts.
            await self._record(
                events.SESSION_CREATED,
                principal.name,
                session_id=session_id,
                profile=chosen.name,
                skills=list(skills),
                workspace_bytes=size,
                idle_timeout_ms=idle,
            )
            # A uid of its own for the session's life: its workspace belongs to it, and its
            # commands run as it, so no other sandbox can touch its files or share its quotas.
            identity = None
            # Mounted and registered whole, even if the caller leaves meanwhile: a mount the
            # registry does not know would escape the caps, destroy and expiry.
            try:
                identity = await self._new_identity()
                workspace = await to_the_end(
                    asyncio.to_thread(
                        Workspace.create,
                        self.settings.root,
                        session_id,
                        size,
                        uid=identity.uid,
                        gid=identity.gid,
                    ),
                    then_cancel=False,
                )
            except BaseException:
                if identity is not None:
                    identity.release()
                self._emit(events.SESSION_ENDED, session_id=session_id, reason="never started")
                raise
            now = self._clock.now_ms()
            info = SessionInfo(
                id=session_id,
                owner=principal.name,
                profile=chosen.name,
                skills=skills,
                state=SessionState.ACTIVE,
                workspace_bytes=size,
                used_bytes=0,
                idle_timeout_ms=idle,
                created_ms=now,
                last_active_ms=now,
                limits=limits,
                env_allowed=policy.env_allowed,
            )
            self._live[session_id] = Live(
                info=info, profile=chosen, workspace=workspace, identity=identity
            )
        log.info("session created", session_id=session_id, owner=principal.name)
        return info

    def get(self, session_id: str, principal: Principal) -> SessionInfo:
        return self._snapshot(self._visible(session_id, principal))

    def list(self, principal: Principal) -> list[SessionInfo]:
        return [
            self._snapshot(live)
            for live in sorted(self._live.values(), key=lambda s: s.info.created_ms)
            if principal.sees_everything() or live.info.owner == principal.name
        ]

    def owned(self, session_id: str, principal: Principal) -> Live:
        """A live session for its owner to use (run a command, touch a file); marks it active."""
        live = self._visible(session_id, principal)
        if live.info.owner != principal.name:
            raise NotAllowed(f"session {session_id} belongs to another principal")
        live.touch(self._clock.now_ms())
        return live

    async def files(self, session_id: str, principal: Principal) -> WorkspaceFiles:
        """The owner's way to the session's workspace files, without a sandbox."""
        live = self.owned(session_id, principal)
        return WorkspaceFiles(
            live.workspace.workspace_dir,
            uid=live.identity.uid,
            gid=live.identity.gid,
            max_read_bytes=_MAX_FILE_MESSAGE,
            max_write_bytes=_MAX_FILE_MESSAGE,
        )

    def track(self, session_id: str, finished: Awaitable[object]) -> None:
        """Count a command as running until it ends; destroying the session cancels it."""
        live = self._live.get(session_id)
        if live is None:
            return
        future = asyncio.ensure_future(finished)
        live.tasks.add(future)
        live.info = replace(live.info, commands=live.info.commands + 1)

        def done(_: object) -> None:
            live.tasks.discard(future)
            live.touch(self._clock.now_ms())

        future.add_done_callback(done)

    async def destroy(self, session_id: str, principal: Principal) -> SessionInfo:
        self._visible(session_id, principal)
        return await self._end(session_id, SessionState.DESTROYED, f"destroyed by {principal.name}")

    async def expire_due(self) -> int:
        """End every session idle longer than its idle timeout; returns how many."""
        now = self._clock.now_ms()
        due = [
            live.info.id
            for live in list(self._live.values())
            if not live.tasks and now >= live.info.expires_ms
        ]
        for session_id in due:
            await self._end(session_id, SessionState.EXPIRED, "idle longer than its idle timeout")
        return len(due)

    async def close(self) -> None:
        """The daemon stops: every session ends with it."""
        for session_id in list(self._live):
            await self._end(session_id, SessionState.DESTROYED, "the daemon stopped")

    async def _end(self, session_id: str, state: SessionState, reason: str) -> SessionInfo:
        live = self._live.pop(session_id, None)
        if live is None:
            raise NoSuchEntity(f"unknown session {session_id!r}")
        for task in list(live.tasks):
            task.cancel()
        for task in list(live.tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await asyncio.to_thread(live.workspace.remove)
        live.identity.release()  # its commands are gone and its files with the workspace
        self._emit(events.SESSION_ENDED, session_id=session_id, state=state.value, reason=reason)
        log.info("session ended", session_id=session_id, state=state.value, reason=reason)
        return replace(live.info, state=state, running=0, used_bytes=0)

    def _visible(self, session_id: str, principal: Principal) -> Live:
        live = self._live.get(session_id)
        if live is None or not (principal.sees_everything() or live.info.owner == principal.name):
            raise NoSuchEntity(f"unknown session {session_id!r}")
        return live

    def _check_caps(self, principal: Principal, size: int) -> None:
        held = sum(live.info.workspace_bytes for live in self._live.values())
        if held + size > self.settings.max_total_bytes:
            raise OverLimit(
                f"sessions hold {held} bytes of workspace; {size} more would pass the daemon's "
                f"cap of {self.settings.max_total_bytes} (sessions.max_total_bytes)"
            )
        if len(self._live) >= self.settings.max_sessions:
            raise OverLimit(f"the daemon holds {self.settings.max_sessions} sessions already")
        mine = sum(1 for live in self._live.values() if live.info.owner == principal.name)
        if mine >= self.settings.max_per_principal:
            raise OverLimit(
                f"{principal.name} holds {self.settings.max_per_principal} sessions already; "
                "destroy one first"
            )

    def _snapshot(self, live: Live) -> SessionInfo:
        return replace(live.info, running=len(live.tasks), used_bytes=live.workspace.usage_bytes())

    def _emit(self, event: str, actor: str = SESSION_ACTOR, **fields: object) -> None:
        if self._audit is not None:
            self._audit.emit(event, actor=actor, **fields)

    async def _record(self, event: str, actor: str, **fields: object) -> None:
        if self._audit is not None:
            await self._audit.record(event, actor=actor, **fields)


def _within(name: str, wanted: int, default: int, maximum: int) -> int:
    if wanted == 0:
        return default
    if wanted > maximum:
        raise BadRequest(f"{name}: {wanted} is more than the profile allows ({maximum})")
    return wanted
