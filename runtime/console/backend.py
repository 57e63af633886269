"""What the console reads and acts on: the daemon's own objects, the same ones the gRPC
services use, so that a page shows and does exactly what the API would."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runtime.audit.background import BackgroundAudit
from runtime.core.catalog import Catalog
from runtime.core.invoke import Invocations
from runtime.core.signature_gate import SignatureGate
from runtime.sandbox.profiles import ProfileStore

__all__ = ["Backend"]


@dataclass(frozen=True, kw_only=True)
class Backend:
    invocations: Invocations  # its gate decides approvals; its store lists invocations
    catalog: Catalog
    signatures: SignatureGate  # who signed each skill, shown whether required or not
    profiles: ProfileStore
    audit_log: BackgroundAudit
    audit_keys: Path  # the chain key's directory, to verify the log
