"""The RPC-to-roles table covers the whole API (pure)."""

from __future__ import annotations

from runtime.auth.roles import RPC_ROLES, Role, allowed_roles
from runtime.proto.skillrt.v1 import sessions_pb2, skillrt_pb2


def test_every_rpc_has_an_entry() -> None:
    """Every RPC of every service in the proto is in the table: none is open by omission."""
    missing = [
        f"/{service.full_name}/{method.name}"
        for pb in (skillrt_pb2, sessions_pb2)
        for service in pb.DESCRIPTOR.services_by_name.values()
        for method in service.methods
        if f"/{service.full_name}/{method.name}" not in RPC_ROLES
    ]
    assert missing == []


def test_unknown_rpc_is_denied() -> None:
    """A method missing from the table is allowed to no role."""
    assert allowed_roles("/skillrt.v1.SkillRuntime/NotARealMethod") == frozenset()


def test_only_owner_manages_tokens() -> None:
    """Token management belongs to the owner alone."""
    for method in ("CreateToken", "ListTokens", "RevokeToken", "RotateToken"):
        assert allowed_roles(f"/skillrt.v1.Admin/{method}") == {Role.OWNER}


def test_only_owner_changes_trusted_signers() -> None:
    """Trusting and distrusting signers belong to the owner; admins may list them."""
    for method in ("TrustSigner", "DistrustSigner"):
        assert allowed_roles(f"/skillrt.v1.Admin/{method}") == {Role.OWNER}
    assert allowed_roles("/skillrt.v1.Admin/ListSigners") == {Role.OWNER, Role.ADMIN}


def test_approver_cannot_invoke() -> None:
    """Approvers decide approvals; they do not run skills."""
    assert Role.APPROVER not in allowed_roles("/skillrt.v1.SkillRuntime/Invoke")


def test_operators_quarantine_and_viewers_only_list() -> None:
    """Owners and admins quarantine and release skills; viewers may list; agents neither."""
    for method in ("QuarantineSkill", "ReleaseSkill"):
        assert allowed_roles(f"/skillrt.v1.Admin/{method}") == {Role.OWNER, Role.ADMIN}
    listing = allowed_roles("/skillrt.v1.Admin/ListQuarantines")
    assert listing == {Role.OWNER, Role.ADMIN, Role.VIEWER}
