"""Anchors: a signed statement of the log's head, kept off the host, that the log must still hold.

The chain key stops whoever cannot read it, but not root on the host, and no key shows that the
end of a log was cut off. An anchor records which entry was the head (the log's identity, seq,
hash, the entry's time and the time of anchoring), signed with Ed25519 under the head key, a
0600 PEM file in the key directory. Its public half (``skillrt audit public-key``) is all that is
needed to check an anchor, so the operator can keep both away from the host. The log still
holds an anchored head when the line at that seq carries that hash: truncation, emptying and
any rewrite at or before the anchored entry all fail.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import socket
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from runtime.audit.entry import format_ts
from runtime.audit.keys import create_private, private_dir, read_private
from runtime.audit.verify import Verdict
from runtime.errors import BadRequest, IntegrityError, NoSuchEntity
from runtime.util.canonical import canonical_bytes, strict_json
from runtime.util.tomlfields import Table

__all__ = [
    "Anchor",
    "head_key",
    "head_public_key",
    "load_public_key",
    "mismatch",
    "public_pem",
    "read_anchor",
    "sign_head",
]

FORMAT = "skillrt-audit-anchor/1"
_HEAD_KEY_FILE = "head.key"


@dataclass(frozen=True, kw_only=True)
class Anchor:
    format: str
    log: str  # the chain key's log id: which log this is the head of
    seq: int
    hash: str
    ts: str  # when the anchored entry was written
    anchored_at: str
    host: str
    path: str
    key: str  # fingerprint of the public key that signed it


def head_key(directory: Path) -> Ed25519PrivateKey:
    """The head key in ``directory``, made on first use."""
    private_dir(directory, create=True)
    path = directory / _HEAD_KEY_FILE
    if read_private(path) is None:
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        create_private(path, pem)  # another process may have made it first: theirs holds
    return _load_private(path)


def head_public_key(directory: Path) -> Ed25519PublicKey:
    """The public half of the head key in ``directory``, which must exist."""
    private_dir(directory, create=False)
    path = directory / _HEAD_KEY_FILE
    if read_private(path) is None:
        raise NoSuchEntity(f"{path}: no head key to check the anchor with; pass --public-key")
    return _load_private(path).public_key()


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except OSError as exc:
        raise BadRequest(f"{path}: cannot read the public key: {exc.strerror}") from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise BadRequest(f"{path}: not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise BadRequest(f"{path}: not an Ed25519 public key")
    return key


def sign_head(verdict: Verdict, *, log: Path, keys: Path, now: float) -> str:
    """The anchor of a verified log's head, signed with the head key in ``keys`` (made on first
    use), as the text of a JSON document."""
    if verdict.broken is not None:
        raise IntegrityError(f"{log}: {verdict.broken}; refusing to anchor a log that fails")
    if verdict.key is None or verdict.last is None:
        raise NoSuchEntity(f"{log}: no keyed entry to anchor yet")
    private = head_key(keys)
    anchor = Anchor(
        format=FORMAT,
        log=verdict.key.log_id,
        seq=verdict.last.seq,
        hash=verdict.last.hash,
        ts=verdict.last.ts,
        anchored_at=format_ts(now),
        host=socket.gethostname(),
        path=str(log),
        key=_fingerprint(private.public_key()),
    )
    statement = asdict(anchor)
    signature = private.sign(canonical_bytes(statement))
    document = {**statement, "signature": base64.b64encode(signature).decode()}
    return canonical_bytes(document).decode() + "\n"


def read_anchor(path: Path, public: Ed25519PublicKey) -> Anchor:
    """The anchor in ``path``, whose signature ``public`` must verify."""
    try:
        document = strict_json(path.read_bytes())
    except OSError as exc:
        raise BadRequest(f"{path}: cannot read the anchor: {exc.strerror}") from exc
    except ValueError as exc:
        raise BadRequest(f"{path}: not a JSON anchor") from exc
    if not isinstance(document, dict):
        raise BadRequest(f"{path}: not a JSON anchor")
    fields = Table(str(path), "", document)
    anchor = Anchor(
        format=fields.string("format"),
        log=fields.string("log"),
        seq=fields.integer("seq"),
        hash=fields.string("hash"),
        ts=fields.string("ts"),
        anchored_at=fields.string("anchored_at"),
        host=fields.string("host"),
        path=fields.string("path"),
        key=fields.string("key"),
    )
    encoded = fields.string("signature")
    fields.finish()
    if anchor.format != FORMAT:
        raise BadRequest(f"{path}: format {anchor.format!r} is not {FORMAT!r}")
    try:
        public.verify(base64.b64decode(encoded, validate=True), canonical_bytes(asdict(anchor)))
    except (InvalidSignature, binascii.Error) as exc:
        raise IntegrityError(
            f"{path}: the signature does not verify under the head key {_fingerprint(public)}: "
            "the anchor was altered, or another key signed it"
        ) from exc
    return anchor


def mismatch(anchor: Anchor, verdict: Verdict) -> str | None:
    """Why a verified log no longer holds the anchored head, or None when it does."""
    key = verdict.key
    if key is None or key.log_id != anchor.log:
        current = f"log {key.log_id}" if key else "a log without a chain key"
        return f"the anchor is of log {anchor.log}, this is {current}"
    first, last = verdict.first, verdict.last
    if last is None or first is None:
        return f"the log is empty, but the anchor is of seq {anchor.seq}"
    if last.seq < anchor.seq:
        return (
            f"the log ends at seq {last.seq}, before the anchored seq {anchor.seq}: "
            "entries were cut off"
        )
    if anchor.seq < first.seq:
        return (
            f"seq {anchor.seq} has been pruned (the log now starts from seq {first.seq}); "
            "anchor a newer head"
        )
    found = verdict.found
    if found is None or found.hash != anchor.hash:
        held = f"has hash {found.hash}" if found else "has no line"
        return (
            f"seq {anchor.seq} in the log {held}, the anchor says {anchor.hash}: the log was "
            f"rewritten at or before seq {anchor.seq}"
        )
    return None


def _load_private(path: Path) -> Ed25519PrivateKey:
    data = read_private(path)
    assert data is not None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise IntegrityError(f"{path}: not a PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise IntegrityError(f"{path}: not an Ed25519 key")
    return key


def _fingerprint(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]
