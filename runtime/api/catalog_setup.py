"""The daemon's catalog as its configuration describes it, with the operator's gates."""

from __future__ import annotations

import structlog

from runtime.api.config import DaemonConfig
from runtime.core.availability import Host
from runtime.core.catalog import Catalog
from runtime.core.signature_gate import SignatureGate
from runtime.core.signers import SignerStore
from runtime.core.snapshots import SkillSnapshots
from runtime.errors import SkillRuntimeError
from runtime.sandbox.profiles import ProfileStore

__all__ = ["open_catalog"]

log = structlog.get_logger("skillrt.server")


def open_catalog(
    config: DaemonConfig,
    *,
    profiles: ProfileStore,
    snapshots: SkillSnapshots,
    signers: SignerStore,
) -> tuple[Catalog, SignatureGate]:
    """The catalog, read once now, and its signature gate (a reload may switch it)."""
    signatures = SignatureGate(signers, required=config.require_signed)
    catalog = Catalog(
        config.catalog_dirs,
        policy_file=config.catalog_policy,
        allowed_paths=config.allowed_readonly_paths,
        profiles=profiles,
        host=_session_host(profiles, config.session_default_profile),
        notice=lambda folder, reason: log.warning("skill unusable", folder=folder, reason=reason),
        snapshots=snapshots,
        gates=[signatures],
    )
    catalog.policy()  # a malformed policy file stops the start, naming file and key
    catalog.listing()  # the operator hears at once of every folder that cannot be used
    return catalog, signatures


def _session_host(profiles: ProfileStore, profile: str) -> Host:
    """Programs an instruction skill needs are looked for where session commands find them."""
    try:
        env = dict(profiles.get(profile).env)
    except SkillRuntimeError:
        return Host()  # no session profile: sessions will refuse, skills still list
    return Host(search_path=env.get("PATH", Host().search_path))
