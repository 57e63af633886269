"""What ``skillrt skills keygen|sign|trust|distrust|signers|verify`` do (their arguments are
in runtime/cli/signing.py, which loads this module only when one of them runs: listing
skills does not pay for cryptography)."""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from runtime.cli.connect import call
from runtime.cli.untrusted import printable
from runtime.core.signing import (
    DAEMON_SIGNERS,
    SIGNER_NAME,
    SignedPayload,
    TrustedKey,
    Verified,
    key_id,
    load_public_key,
    public_pem,
    sign,
    signature_path,
    verify_file,
    write_signature,
)
from runtime.core.skillmd import SKILL_NAME
from runtime.core.vetting import folder_hash, read_record, record_path
from runtime.errors import BadRequest, WrongState
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.util.table import text_table

__all__ = [
    "cmd_distrust",
    "cmd_keygen",
    "cmd_sign",
    "cmd_signers",
    "cmd_trust",
    "cmd_verify",
]

_MAX_KEY_BYTES = 16 * 1024  # a PEM key is a few hundred bytes


def cmd_keygen(args: argparse.Namespace) -> int:
    out: Path = args.out
    public = out.with_name(out.name + ".pub")
    for path in (out, public):
        if os.path.lexists(path):
            raise BadRequest(f"{path}: already exists; keygen never overwrites a key")
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _create(out, private, 0o600)
    try:
        _create(public, public_pem(key.public_key()).encode("ascii"), 0o644)
    except BaseException:
        out.unlink()
        raise
    print(f"private key {out} (keep it secret), public key {public}", file=sys.stderr)
    print(key_id(key.public_key()))
    return 0


def cmd_sign(args: argparse.Namespace) -> int:
    folder = _skill_folder(args.skill_dir)
    key = _private_key(args.key)
    record_file: Path = args.vet_record or record_path(folder)
    if not record_file.exists():
        raise WrongState(f"no vet record at {record_file}: run skillrt vet {args.skill_dir} first")
    record = read_record(record_file)
    if record.skill != folder.name:
        raise WrongState(
            f"{record_file}: the vet record is for skill {record.skill!r}, not {folder.name!r}"
        )
    content_hash = folder_hash(folder)
    if record.content_hash != content_hash:
        raise WrongState("the folder changed since it was vetted: run skillrt vet again")
    if not record.passed:
        raise WrongState(
            f"{record_file}: the vet did not pass (findings at or above {record.threshold.label}"
            "): address them and run skillrt vet again"
        )
    payload = SignedPayload(
        skill=folder.name,
        content_hash=content_hash,
        vet=record,
        signed_at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        key_id=key_id(key.public_key()),
    )
    path = signature_path(folder)
    write_signature(sign(payload, key), path)
    print(f"signed {folder.name} ({content_hash[:12]}) with key {payload.key_id}: {path}")
    return 0


def cmd_trust(args: argparse.Namespace) -> int:
    pem = _read_key_file(args.public_key)
    load_public_key(pem, str(args.public_key))  # a wrong file is named here, not by the daemon
    text = pem.decode("ascii", "replace")
    name = args.name if args.name is not None else _name_from(args.public_key)
    signer: pb.Signer = call(args, lambda c: c.trust_signer(name, text))
    print(printable(f"trusted {signer.name} ({signer.key_id})"))
    return 0


def cmd_distrust(args: argparse.Namespace) -> int:
    signer: pb.Signer = call(args, lambda c: c.distrust_signer(args.name))
    print(printable(f"distrusted {signer.name} ({signer.key_id})"))
    return 0


def cmd_signers(args: argparse.Namespace) -> int:
    signers: list[pb.Signer] = call(args, lambda c: c.list_signers())
    if args.json:
        print(json.dumps([_signer_dict(s) for s in signers]))
        return 0
    rows = [(s.name, s.key_id, s.trusted_by, _when(s.trusted_at_ms)) for s in signers]
    header = ("NAME", "KEY ID", "TRUSTED BY", "TRUSTED AT")
    print(printable("\n".join(text_table(header, rows))))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    folder = _skill_folder(args.skill_dir)
    trusted = _given_keys(args.key) if args.key else _daemon_keys(args)
    content_hash = folder_hash(folder)
    try:
        verified = verify_file(
            signature_path(folder),
            skill=folder.name,
            content_hash=content_hash,
            trusted=trusted,
            among="the --key files given" if args.key else DAEMON_SIGNERS,
        )
    except WrongState as exc:
        if args.json:
            print(json.dumps({"verified": False, "skill": folder.name, "reason": str(exc)}))
            return 1
        raise WrongState(f"not verified: {exc}") from None
    payload = verified.payload
    if args.json:
        print(json.dumps(_verified_dict(verified)))
        return 0
    print(
        printable(
            f"verified: {payload.skill} ({payload.content_hash[:12]}) signed by "
            f"{verified.signer.name} ({verified.signer.key_id}) at {payload.signed_at}; vetted "
            f"by {payload.vet.vetted_by} at {payload.vet.vetted_at}, passed"
        )
    )
    return 0


def _skill_folder(given: Path) -> Path:
    if not given.is_dir():
        raise BadRequest(f"{given}: not a folder")
    folder = given.resolve()
    if not SKILL_NAME.match(folder.name):
        raise BadRequest(f"{given}: {folder.name!r} is not a skill name ({SKILL_NAME.pattern})")
    return folder


def _private_key(path: Path) -> Ed25519PrivateKey:
    """The key in ``path``, which only its owner may read: a signing key others can read is
    anyone's."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise BadRequest(f"--key {path}: cannot be read: {exc.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise BadRequest(f"--key {path}: not a regular file")
        if mode & 0o077:
            raise BadRequest(
                f"--key {path}: readable or writable by others (mode {stat.S_IMODE(mode):04o}); "
                f"chmod 600 {path}"
            )
        data = os.read(fd, _MAX_KEY_BYTES + 1)
    finally:
        os.close(fd)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise BadRequest(f"--key {path}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise BadRequest(f"--key {path}: not an Ed25519 key (skillrt skills keygen makes one)")
    return key


def _read_key_file(path: Path) -> bytes:
    try:
        with path.open("rb") as stream:
            data = stream.read(_MAX_KEY_BYTES + 1)
    except OSError as exc:
        raise BadRequest(f"{path}: cannot be read: {exc.strerror}") from None
    if len(data) > _MAX_KEY_BYTES:
        raise BadRequest(f"{path}: larger than {_MAX_KEY_BYTES} bytes: not a public key")
    return data


def _given_keys(files: list[Path]) -> dict[str, TrustedKey]:
    keys = {}
    for file in files:
        key = load_public_key(_read_key_file(file), str(file))
        keys[key_id(key)] = TrustedKey(name=str(file), key_id=key_id(key), public_key=key)
    return keys


def _daemon_keys(args: argparse.Namespace) -> dict[str, TrustedKey]:
    """The daemon's trusted signers; each key's id is computed here, never taken on its word."""
    keys = {}
    signers: list[pb.Signer] = call(args, lambda c: c.list_signers())
    for signer in signers:
        key = load_public_key(signer.public_key_pem, f"the daemon's signer {signer.name!r}")
        keys[key_id(key)] = TrustedKey(name=signer.name, key_id=key_id(key), public_key=key)
    return keys


def _create(path: Path, data: bytes, mode: int) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    except OSError as exc:
        raise BadRequest(f"{path}: cannot be created: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as stream:
        os.fchmod(fd, mode)  # whatever the umask
        stream.write(data)


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC") if ms else ""


def _signer_dict(signer: pb.Signer) -> dict[str, Any]:
    return {
        "name": signer.name,
        "key_id": signer.key_id,
        "trusted_by": signer.trusted_by,
        "trusted_at_ms": signer.trusted_at_ms,
        "public_key_pem": signer.public_key_pem,
    }


def _verified_dict(verified: Verified) -> dict[str, Any]:
    payload = verified.payload
    return {
        "verified": True,
        "skill": payload.skill,
        "content_hash": payload.content_hash,
        "signer": {"name": verified.signer.name, "key_id": verified.signer.key_id},
        "signed_at": payload.signed_at,
        "vetted_by": payload.vet.vetted_by,
        "vetted_at": payload.vet.vetted_at,
    }


def _name_from(public_key: Path) -> str:
    """A signer's name from its key file's: alice.key.pub -> alice."""
    name = public_key.name
    for suffix in (".pub", ".pem", ".key"):
        name = name.removesuffix(suffix)
    if not SIGNER_NAME.match(name):
        raise BadRequest(f"{public_key}: no signer name in the file's name; give one with --name")
    return name
