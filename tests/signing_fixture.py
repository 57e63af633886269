"""Keys, vet records and signature documents made on the fly, for tests of signed catalogs.

Vet records are made with runtime/core/vetting.py directly, as ``skillrt vet`` would write them;
documents are signed as ``skillrt skills sign`` signs them, or crafted with any payload a
forger could put together.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from runtime.core.signing import (
    SignedPayload,
    TrustedKey,
    key_id,
    sign,
    signature_path,
    write_signature,
)
from runtime.core.vetting import (
    Severity,
    VetFinding,
    VetRecord,
    folder_hash,
    record_path,
    write_record,
)
from runtime.util.canonical import canonical_bytes

SIGNED_AT = "2026-11-01T12:00:00Z"


def vet(
    folder: Path, *, passed: bool = True, content_hash: str | None = None, skill: str | None = None
) -> VetRecord:
    """A vet record of the folder as it is now (or of ``content_hash``), written beside it."""
    findings = (
        ()
        if passed
        else (VetFinding(severity=Severity.HIGH, check="bandit", message="shell=True", line=3),)
    )
    record = VetRecord(
        skill=skill or folder.resolve().name,
        content_hash=content_hash or folder_hash(folder),
        vetted_by="reviewer",
        vetted_at="2026-11-01T11:00:00Z",
        threshold=Severity.HIGH,
        findings=findings,
        analysers={"bandit": "1.8.0"},
    )
    write_record(record, record_path(folder))
    return record


def trusted(name: str, key: Ed25519PrivateKey) -> dict[str, TrustedKey]:
    public = key.public_key()
    return {key_id(public): TrustedKey(name=name, key_id=key_id(public), public_key=public)}


def sign_folder(folder: Path, key: Ed25519PrivateKey, record: VetRecord | None = None) -> Path:
    """Sign the folder as it is now, with ``record`` (default: a passing vet of it now)."""
    record = record or vet(folder)
    payload = SignedPayload(
        skill=folder.resolve().name,
        content_hash=folder_hash(folder),
        vet=record,
        signed_at=SIGNED_AT,
        key_id=key_id(key.public_key()),
    )
    path = signature_path(folder)
    write_signature(sign(payload, key), path)
    return path


def forge(folder: Path, key: Ed25519PrivateKey, **payload: Any) -> Path:
    """A document with whatever payload fields are given over a proper one, signed by ``key``
    over exactly that payload: what a holder of the key could put together."""
    record = vet(folder)
    body = {
        "format": "skillrt-signature/1",
        "skill": folder.resolve().name,
        "content_hash": record.content_hash,
        "vet": record.as_json(),
        "signed_at": SIGNED_AT,
        "key_id": key_id(key.public_key()),
        **payload,
    }
    signature = base64.b64encode(key.sign(canonical_bytes(body))).decode()
    path = signature_path(folder)
    path.write_text(json.dumps({"payload": body, "signature": signature}))
    return path


def write_key(key: Ed25519PrivateKey, path: Path) -> Path:
    """The private key as ``skillrt skills keygen`` writes it (0600), and its public key
    beside it (FILE.pub), which is returned."""
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.write_bytes(private)
    path.chmod(0o600)
    public = path.with_name(path.name + ".pub")
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return public
