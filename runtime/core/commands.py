"""The pipeline's strategy for a command in an agent session (see ``runtime.core.invocation``).

A command runs in a fresh sandbox of its session's profile, isolated exactly like a tool call;
what it adds is the session's workspace and /tmp, bound read-write, and the session's instruction
skills, bound read-only at /skills/<name> with what the operator granted them (read-only paths,
network allowlist, secrets). An operator's command policy (config ``[sessions.commands]``) may
deny a command outright or make it wait for a person's approval, bound to the session and the
exact command.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
import shlex
from collections.abc import Awaitable
from dataclasses import asdict, dataclass
from typing import Any

from runtime.approvals.rules import Rule
from runtime.approvals.store import ApprovalRecord
from runtime.auth.roles import Principal, Role
from runtime.core.invocation import CommandRequest, Invocation
from runtime.core.policy import Decision, Verdict
from runtime.core.records import InvocationRecord
from runtime.core.sessions import Live, Sessions
from runtime.core.spec import Label, Prepared, SecretGrant
from runtime.errors import BadRequest, NoSuchEntity
from runtime.sandbox.egress.policy import parse_rules
from runtime.sandbox.nsjail import SandboxSpec
from runtime.sandbox.profiles import Bind, LimitOverrides
from runtime.util.canonical import strict_json

__all__ = ["WORKDIR", "CommandPolicy", "SessionCommands"]

WORKDIR = "/workspace"
TMPDIR = "/tmp"
SKILLS_DIR = "/skills"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_MAX_ARGS_BYTES = 1024 * 1024  # argv and environment together, as execve takes them
_MAX_ARG_BYTES = 128 * 1024  # one argument or variable (the kernel's MAX_ARG_STRLEN)


@dataclass(frozen=True, kw_only=True)
class CommandPolicy:
    """Shell-style patterns matched against a command line as the caller wrote it (``shlex.join``
    of its argv); a ``sh -c SCRIPT`` line contains its script. A tripwire for an honest agent's
    mistakes, not a boundary: what a command reads (a staged script, stdin) is not matched."""

    deny: tuple[str, ...] = ()
    approve: tuple[str, ...] = ()

    def decide(self, command_line: str) -> Decision:
        for pattern in self.deny:
            if fnmatch.fnmatchcase(command_line, pattern):
                return Decision(verdict=Verdict.DENY, reason=f"command pattern {pattern!r}")
        for pattern in self.approve:
            if fnmatch.fnmatchcase(command_line, pattern):
                return Decision(verdict=Verdict.APPROVE_BEFORE_RUN)
        return Decision(verdict=Verdict.RUN)


class SessionCommands:
    def __init__(self, *, sessions: Sessions, policies: dict[str, CommandPolicy]) -> None:
        self.sessions = sessions
        self.policies = policies  # by session profile

    def parse(self, request: CommandRequest) -> Invocation:
        return Invocation(
            request=request,
            input_value={
                "session": request.session_id,
                "argv": list(request.argv),
                "cwd": request.cwd or WORKDIR,
                "env": dict(request.env),
            },
            request_hash="",  # commands are never replayed
        )

    async def resolve(self, call: Invocation) -> Invocation:
        request = call.request
        assert isinstance(request, CommandRequest)
        live = self.sessions.owned(request.session_id, request.principal)
        return call.with_(prepared=self._prepare(live, request), resolved=live)

    def decide(self, call: Invocation, rules: list[Rule]) -> Decision:
        # Standing rules speak of skills' tools; a command answers to its profile's policy,
        # matched on the command line as the caller wrote it (before argv[0] is looked up).
        request = call.request
        assert isinstance(request, CommandRequest)
        policy = self.policies.get(call.ready.profile.name, CommandPolicy())
        return policy.decide(shlex.join(request.argv))

    def approval_details(self, call: Invocation) -> tuple[dict[str, Any], int | None]:
        live = call.resolved
        assert isinstance(live, Live)
        return {
            "session": live.info.id,
            "command": shlex.join(call.ready.spec.argv),
            "profile": call.ready.profile.name,
            "limits": asdict(call.ready.spec.limits),
            "skills": list(live.info.skills),
            "overrides": asdict(call.request.overrides),
        }, None

    async def reprepare(self, approval: ApprovalRecord) -> Prepared:
        stored = strict_json(approval.input_json)
        owner = Principal(
            name=approval.binding.requested_by, role=Role.AGENT, authenticated_by="approval"
        )
        request = CommandRequest(
            principal=owner,
            session_id=str(stored["session"]),
            argv=tuple(stored["argv"]),
            cwd=str(stored["cwd"]),
            env=tuple(sorted(stored["env"].items())),
            overrides=LimitOverrides(**approval.details.get("overrides", {})),
        )
        live = self.sessions.owned(request.session_id, owner)
        return self._prepare(live, request)

    def track(self, record: InvocationRecord, finished: Awaitable[object]) -> None:
        self.sessions.track(record.skill, finished)

    def _prepare(self, live: Live, request: CommandRequest) -> Prepared:
        info, profile = live.info, live.profile
        policy = profile.session
        assert policy is not None, "a session's profile is a session profile"
        argv = _argv(request.argv, policy.path)
        env = _env(request.env, policy.env_allowed)
        grants = [self.sessions.catalog.instruction(name) for name in info.skills]
        binds = (
            *live.workspace.binds(),
            *(
                Bind(source=str(skill.snapshot.path), target=f"{SKILLS_DIR}/{skill.name}")
                for skill in grants
            ),
            *(Bind(source=p, target=p) for skill in grants for p in skill.grants.readonly_paths),
        )
        network = tuple(entry for skill in grants for entry in skill.grants.network)
        secrets = tuple(dict.fromkeys(n for skill in grants for n in skill.grants.secrets))
        limits = info.limits.tighten(request.overrides, source="requested limits")
        spec = SandboxSpec(
            argv=argv,
            profile=profile,
            limits=limits,
            env=tuple({**dict(profile.env), **dict(env)}.items()),
            binds=binds,
            cwd=_cwd(request.cwd),
            egress=parse_rules(network) if profile.network.mode == "allowlist" else (),
            identity=live.identity,
        )
        return Prepared(
            label=Label(skill=info.id, tool="exec", version="", content_hash=info.id),
            profile=profile,
            spec=spec,
            stdin=request.stdin,
            secrets=SecretGrant(
                names=secrets,
                owner=f"session {info.id}",
                source="the operator's skills policy: secrets",
            ),
            json_output=False,
            snapshots=tuple(skill.snapshot for skill in grants),
        )


def _argv(argv: tuple[str, ...], path: tuple[str, ...]) -> tuple[str, ...]:
    if not argv or not argv[0]:
        raise BadRequest("argv: empty (give the command and its arguments)")
    if any("\0" in arg for arg in argv):
        raise BadRequest("argv: contains a NUL byte")
    sizes = [len(arg.encode("utf-8", "surrogateescape")) + 1 for arg in argv]
    if max(sizes) > _MAX_ARG_BYTES:
        raise BadRequest(f"argv: an argument is longer than {_MAX_ARG_BYTES} bytes")
    if sum(sizes) > _MAX_ARGS_BYTES:
        raise BadRequest(f"argv: longer than {_MAX_ARGS_BYTES} bytes in all")
    program = argv[0]
    if "/" in program:
        return argv  # absolute, or relative to the command's working directory
    if not path:
        raise BadRequest(f"argv[0]: {program!r} must be an absolute path in this profile")
    for directory in path:
        # The session profile binds these directories from the host, read-only, as they are.
        candidate = posixpath.join(directory, program)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return (candidate, *argv[1:])
    raise NoSuchEntity(f"argv[0]: {program!r} not found in {':'.join(path)}")


def _env(env: tuple[tuple[str, str], ...], allowed: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    for name, value in env:
        if not _ENV_NAME.match(name):
            raise BadRequest(f"env: {name[:64]!r} is not a valid variable name")
        if name not in allowed:
            raise BadRequest(
                f"env: {name} may not be set in this session's profile "
                f"(allowed: {', '.join(allowed) or 'none'})"
            )
        if "\0" in value:
            raise BadRequest(f"env: {name} contains a NUL byte")
        if len(value.encode("utf-8", "surrogateescape")) > _MAX_ARG_BYTES:
            raise BadRequest(f"env: {name} is longer than {_MAX_ARG_BYTES} bytes")
    if sum(len(n) + len(v) + 2 for n, v in env) > _MAX_ARGS_BYTES:
        raise BadRequest(f"env: longer than {_MAX_ARGS_BYTES} bytes in all")
    return env


def _cwd(cwd: str) -> str:
    if not cwd:
        return WORKDIR
    if "\0" in cwd:
        raise BadRequest("cwd: contains a NUL byte")
    resolved = posixpath.normpath(posixpath.join(WORKDIR, cwd))
    if not resolved.startswith("/"):
        raise BadRequest(f"cwd: {cwd!r} is not a directory path")
    return resolved
