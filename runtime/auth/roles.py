"""Roles, principals, and the one table that says which roles may call which RPC.

An RPC missing from ``RPC_ROLES`` is denied to everyone: adding a method to the API without
deciding who may call it cannot open it up.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "ANONYMOUS",
    "RPC_ROLES",
    "Principal",
    "Role",
    "allowed_roles",
    "current_principal",
    "principal",
]


class Role(StrEnum):
    OWNER = "owner"  # everything, including tokens and data deletion
    ADMIN = "admin"  # configuration, profiles, skills, approvals
    APPROVER = "approver"  # decide approvals only
    AGENT = "agent"  # invoke skills, read its own invocations
    VIEWER = "viewer"  # read-only status


ANONYMOUS = "anonymous"  # marks RPCs that need no credentials at all


@dataclass(frozen=True, kw_only=True)
class Principal:
    name: str
    role: Role
    authenticated_by: str  # "token" or "certificate"
    token_id: str | None = None

    def sees_everything(self) -> bool:
        """Whether this principal may see invocations other principals started."""
        return self.role in (Role.OWNER, Role.ADMIN, Role.VIEWER)


_SKILLRT = "/skillrt.v1.SkillRuntime/"
_ADMIN = "/skillrt.v1.Admin/"
_APPROVALS = "/skillrt.v1.Approvals/"
_SESSIONS = "/skillrt.v1.Sessions/"
_WORKSPACE = "/skillrt.v1.Workspace/"
_AGENTS = frozenset({Role.OWNER, Role.AGENT})
_DECIDERS = frozenset({Role.OWNER, Role.ADMIN, Role.APPROVER})
_EVERYONE = frozenset(Role)
_READERS = frozenset({Role.OWNER, Role.ADMIN, Role.AGENT, Role.VIEWER})

RPC_ROLES: dict[str, frozenset[Role] | str] = {
    _SKILLRT + "ListSkills": _READERS,
    _SKILLRT + "GetSkill": _READERS,
    _SKILLRT + "Invoke": frozenset({Role.OWNER, Role.AGENT}),
    _SKILLRT + "InvokeStream": frozenset({Role.OWNER, Role.AGENT}),
    _SKILLRT + "GetInvocation": _READERS,
    _SKILLRT + "ListInvocations": _READERS,
    _SKILLRT + "CancelInvocation": frozenset({Role.OWNER, Role.ADMIN, Role.AGENT}),
    # Visibility is GetInvocation's: an agent its own, a viewer others' without their output.
    _SKILLRT + "WatchInvocation": _READERS,
    _ADMIN + "Whoami": _EVERYONE,
    _ADMIN + "CreateToken": frozenset({Role.OWNER}),
    _ADMIN + "ListTokens": frozenset({Role.OWNER}),
    _ADMIN + "RevokeToken": frozenset({Role.OWNER}),
    _ADMIN + "RotateToken": frozenset({Role.OWNER}),
    _ADMIN + "QueryAudit": frozenset({Role.OWNER, Role.ADMIN}),
    _ADMIN + "GetPoolStatus": frozenset({Role.OWNER, Role.ADMIN}),
    # An agent gets its own calls only: what it could add up from ListInvocations anyway.
    _ADMIN + "GetUsage": frozenset({Role.OWNER, Role.ADMIN, Role.AGENT}),
    _ADMIN + "Reload": frozenset({Role.OWNER, Role.ADMIN}),
    # Whose signatures the catalog accepts is the owner's decision; admins may see it.
    _ADMIN + "TrustSigner": frozenset({Role.OWNER}),
    _ADMIN + "DistrustSigner": frozenset({Role.OWNER}),
    _ADMIN + "ListSigners": frozenset({Role.OWNER, Role.ADMIN}),
    # Operators quarantine and release skills; a viewer may see which are quarantined. An agent
    # learns of a quarantine from the call it refuses.
    _ADMIN + "QuarantineSkill": frozenset({Role.OWNER, Role.ADMIN}),
    _ADMIN + "ReleaseSkill": frozenset({Role.OWNER, Role.ADMIN}),
    _ADMIN + "ListQuarantines": frozenset({Role.OWNER, Role.ADMIN, Role.VIEWER}),
    # An admin may not touch an owner's account nor make one (the servicer checks that).
    _ADMIN + "CreateConsoleAccount": frozenset({Role.OWNER, Role.ADMIN}),
    _ADMIN + "ResetConsoleAccount": frozenset({Role.OWNER, Role.ADMIN}),
    _ADMIN + "EnrolConsoleTotp": frozenset({Role.OWNER, Role.ADMIN}),
    _ADMIN + "ListConsoleAccounts": frozenset({Role.OWNER, Role.ADMIN}),
    _ADMIN + "RemoveConsoleAccount": frozenset({Role.OWNER, Role.ADMIN}),
    _APPROVALS + "ListApprovals": _DECIDERS,
    _APPROVALS + "WatchApprovals": _DECIDERS,
    _APPROVALS + "Decide": _DECIDERS,
    _APPROVALS + "CreateRule": frozenset({Role.OWNER, Role.ADMIN}),
    _APPROVALS + "ListRules": _DECIDERS,
    _APPROVALS + "DeleteRule": frozenset({Role.OWNER, Role.ADMIN}),
    # An agent owns its sessions; admins may see and end them, never read their files or run
    # commands in them.
    _SESSIONS + "CreateSession": _AGENTS,
    _SESSIONS + "GetSession": _READERS,
    _SESSIONS + "ListSessions": _READERS,
    _SESSIONS + "DestroySession": frozenset({Role.OWNER, Role.ADMIN, Role.AGENT}),
    _SESSIONS + "Exec": _AGENTS,
    _WORKSPACE + "ReadFile": _AGENTS,
    _WORKSPACE + "WriteFile": _AGENTS,
    _WORKSPACE + "Stat": _AGENTS,
    _WORKSPACE + "ListDir": _AGENTS,
    _WORKSPACE + "MakeDir": _AGENTS,
    _WORKSPACE + "Remove": _AGENTS,
    _WORKSPACE + "Rename": _AGENTS,
    # Load balancers and supervisors probe health without credentials; it reveals nothing.
    "/grpc.health.v1.Health/Check": ANONYMOUS,
    "/grpc.health.v1.Health/Watch": ANONYMOUS,
    "/grpc.health.v1.Health/List": ANONYMOUS,
    # Reflection describes the API only, to any authenticated caller (grpcurl with a token).
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": _EVERYONE,
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo": _EVERYONE,
}


def allowed_roles(method: str) -> frozenset[Role] | str:
    """The roles that may call ``method``; unknown methods get the empty set (deny)."""
    return RPC_ROLES.get(method, frozenset())


current_principal: contextvars.ContextVar[Principal] = contextvars.ContextVar("principal")


def principal() -> Principal:
    """The principal of the RPC being served (set by the auth interceptor)."""
    return current_principal.get()
