"""Signature documents: a key's word that one skill's content, as vetted, may be served.

``skillrt skills sign`` writes one beside the skill folder (``<folder>.sig.json``, never inside:
it is not part of what it signs). Its payload names the skill, the content hash of the folder
(runtime/core/skill_files.py, exactly as the daemon computes it at load), the vet record of that
content (runtime/core/vetting.py), when it was signed and the key's id; the Ed25519 signature is
over the payload's canonical bytes (RFC 8785), so that anyone can recompute what was signed.

A key's id is its fingerprint, ``ed25519:`` and 32 hex digits of the SHA-256 of the raw public
key: it is computed from the key, never taken from a document, and cannot be mistaken for a
signer's name (names hold no colon). A document is read strictly: bounded, a regular file only
(never through a symlink), no unknown field; errors name the file and the field. ``check`` says
whether a document speaks for a folder as it is now, with the keys trusted.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from runtime.core.skillmd import SKILL_NAME
from runtime.core.vetting import VetRecord, record_from_json
from runtime.errors import ConfigError, NoSuchEntity, WrongState
from runtime.util.canonical import canonical_bytes, strict_json
from runtime.util.fsio import read_regular, replace_text

__all__ = [
    "DAEMON_SIGNERS",
    "KEY_ID",
    "SIGNATURE_FORMAT",
    "SIGNATURE_SUFFIX",
    "SIGNER_NAME",
    "SignatureDocument",
    "SignedPayload",
    "TrustedKey",
    "Verified",
    "check",
    "key_id",
    "load_public_key",
    "public_pem",
    "read_signature",
    "sign",
    "signature_path",
    "unsigned",
    "verify_file",
    "write_signature",
]

SIGNATURE_FORMAT = "skillrt-signature/1"
SIGNATURE_SUFFIX = ".sig.json"
KEY_ID = re.compile(r"^ed25519:[0-9a-f]{32}$")
# A signer's name: no colon, so that no name is ever read as a key id, nor a key id as a name.
SIGNER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
DAEMON_SIGNERS = "this daemon's trusted signers"  # where trusted keys come from, by default
# A passing vet record (at most 4 MiB of findings) and its envelope; more is not a document
# skillrt wrote, and is refused before it is read.
_MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
_MAX_PEM_BYTES = 16 * 1024
_CONTENT_HASH = re.compile(r"^[0-9a-f]{64}$")
_SIGNATURE_BYTES = 64


@dataclass(frozen=True, kw_only=True)
class TrustedKey:
    """A public key and the name its signatures are shown under."""

    name: str
    key_id: str
    public_key: Ed25519PublicKey


@dataclass(frozen=True, kw_only=True)
class SignedPayload:
    skill: str
    content_hash: str
    vet: VetRecord
    signed_at: str  # RFC 3339, UTC
    key_id: str

    def as_json(self) -> dict[str, Any]:
        return {
            "format": SIGNATURE_FORMAT,
            "skill": self.skill,
            "content_hash": self.content_hash,
            "vet": self.vet.as_json(),
            "signed_at": self.signed_at,
            "key_id": self.key_id,
        }


@dataclass(frozen=True, kw_only=True)
class SignatureDocument:
    payload: SignedPayload
    signed_bytes: bytes  # the canonical bytes of the payload exactly as the file holds it
    signature: bytes


@dataclass(frozen=True, kw_only=True)
class Verified:
    signer: TrustedKey
    payload: SignedPayload


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:32]


def public_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_public_key(pem: bytes | str, where: str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM; ConfigError naming ``where`` when it is not one."""
    data = pem.encode("utf-8", "replace") if isinstance(pem, str) else pem
    if len(data) > _MAX_PEM_BYTES:
        raise ConfigError(f"{where}: larger than {_MAX_PEM_BYTES} bytes: not a public key")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{where}: not a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(f"{where}: not an Ed25519 public key")
    return key


def signature_path(folder: Path) -> Path:
    """Beside the folder, never inside, named after it as the vet record is."""
    folder = folder.resolve()
    return folder.parent / (folder.name + SIGNATURE_SUFFIX)


def sign(payload: SignedPayload, private_key: Ed25519PrivateKey) -> dict[str, Any]:
    """The signature document of ``payload``, whose key id must be the key's."""
    if payload.key_id != key_id(private_key.public_key()):
        raise ValueError("key_id: not the signing key's id")
    body = payload.as_json()
    signature = private_key.sign(canonical_bytes(body))
    return {"payload": body, "signature": base64.b64encode(signature).decode("ascii")}


def write_signature(document: dict[str, Any], path: Path) -> None:
    """Replace ``path`` whole, so that a reader never sees half a document."""
    replace_text(path, json.dumps(document, indent=2) + "\n")


def unsigned(path: Path) -> str:
    """Why a folder without a signature document beside it is not served."""
    return (
        f"unsigned: no {path.name} beside the folder; vet and sign it (skillrt vet, "
        "skillrt skills sign)"
    )


def verify_file(
    path: Path,
    *,
    skill: str,
    content_hash: str,
    trusted: Mapping[str, TrustedKey],
    among: str = DAEMON_SIGNERS,
) -> Verified:
    """``check`` of the document in ``path``; WrongState with the reason when there is none,
    it cannot be read as one, or it does not verify."""
    try:
        document = read_signature(path)
    except NoSuchEntity as exc:
        raise WrongState(str(exc)) from None
    except ConfigError as exc:
        raise WrongState(
            f"bad signature document: {exc}; sign it again (skillrt skills sign)"
        ) from None
    signer = check(document, skill=skill, content_hash=content_hash, trusted=trusted, among=among)
    return Verified(signer=signer, payload=document.payload)


def read_signature(path: Path) -> SignatureDocument:
    """The document in ``path``; ConfigError naming the file (and the field) when it is not
    one, NoSuchEntity when there is none. The signature is not verified here: that needs the
    trusted keys (``check``)."""
    try:
        data = read_regular(path, _MAX_DOCUMENT_BYTES, what="a signature document")
    except FileNotFoundError:
        raise NoSuchEntity(unsigned(path)) from None
    try:
        return _document(strict_json(data))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None


def check(
    document: SignatureDocument,
    *,
    skill: str,
    content_hash: str,
    trusted: Mapping[str, TrustedKey],
    among: str = DAEMON_SIGNERS,
) -> TrustedKey:
    """The trusted key whose valid signature says that ``skill`` with ``content_hash`` was
    vetted and passed; WrongState with the reason (one line, what to do) when it does not.
    ``among`` says where the trusted keys came from."""
    payload = document.payload
    signer = trusted.get(payload.key_id)
    if signer is None:
        raise WrongState(
            f"signed by key {payload.key_id}, not one of {among}: trust the key (skillrt skills "
            "trust) or sign with a trusted one"
        )
    try:
        signer.public_key.verify(document.signature, document.signed_bytes)
    except InvalidSignature:
        raise WrongState(
            f"the signature does not verify with {signer.name}'s key ({signer.key_id}): the "
            "document was altered or forged; sign it again (skillrt skills sign)"
        ) from None
    if payload.skill != skill:
        raise WrongState(
            f"the signature is for skill {payload.skill!r}, not {skill!r}: sign this skill "
            "(skillrt skills sign)"
        )
    if payload.content_hash != content_hash:
        raise WrongState(
            f"changed since it was signed (signed content {payload.content_hash[:12]}, now "
            f"{content_hash[:12]}): vet and sign it again (skillrt vet, skillrt skills sign)"
        )
    vet = payload.vet
    if vet.content_hash != payload.content_hash or vet.skill != payload.skill:
        raise WrongState(
            f"the vet record it carries is for other content ({vet.skill} "
            f"{vet.content_hash[:12]}): vet and sign it again (skillrt vet, skillrt skills sign)"
        )
    if not vet.passed:
        raise WrongState(
            "the vet record it carries did not pass: address its findings, then vet and sign it "
            "again (skillrt vet, skillrt skills sign)"
        )
    return signer


def _document(value: Any) -> SignatureDocument:
    """ValueError naming the field."""
    fields = _object(value, "document")
    _known(fields, "document", {"payload", "signature"})
    body = _object(fields.get("payload"), "payload")
    encoded = fields.get("signature")
    if not isinstance(encoded, str):
        raise ValueError("signature: expected a string")
    try:
        signature = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise ValueError("signature: not base64") from None
    if len(signature) != _SIGNATURE_BYTES:
        raise ValueError(f"signature: expected {_SIGNATURE_BYTES} bytes, got {len(signature)}")
    return SignatureDocument(
        payload=_payload(body), signed_bytes=canonical_bytes(body), signature=signature
    )


def _payload(fields: dict[str, Any]) -> SignedPayload:
    if fields.get("format") != SIGNATURE_FORMAT:
        raise ValueError(f"payload.format: expected {SIGNATURE_FORMAT!r}")
    _known(fields, "payload", {"format", "skill", "content_hash", "vet", "signed_at", "key_id"})
    skill = _matching(fields, "skill", SKILL_NAME, "a skill name")
    content_hash = _matching(fields, "content_hash", _CONTENT_HASH, "64 hex digits")
    signed_at = _matching(fields, "signed_at", re.compile(r"^\d{4}-\S+$"), "an RFC 3339 time")
    try:
        datetime.datetime.fromisoformat(signed_at)
    except ValueError:
        raise ValueError("payload.signed_at: expected an RFC 3339 time") from None
    try:
        vet = record_from_json(fields.get("vet"))
    except ValueError as exc:
        raise ValueError(f"payload.vet.{exc}") from None
    return SignedPayload(
        skill=skill,
        content_hash=content_hash,
        vet=vet,
        signed_at=signed_at,
        key_id=_matching(fields, "key_id", KEY_ID, "ed25519: and 32 hex digits"),
    )


def _matching(fields: dict[str, Any], key: str, pattern: re.Pattern[str], what: str) -> str:
    value = fields.get(key)
    if not isinstance(value, str) or not pattern.match(value):
        raise ValueError(f"payload.{key}: expected {what}")
    return value


def _object(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{name}: expected an object")
    return value


def _known(fields: dict[str, Any], name: str, known: set[str]) -> None:
    unknown = sorted(set(fields) - known)
    if unknown:
        raise ValueError(f"{name}: unknown field {unknown[0]!r}")
