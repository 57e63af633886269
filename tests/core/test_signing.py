"""Signature documents (pure logic and strict reading): what verifies, and every way one that
should not is refused with the reason."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from runtime.core.signing import KEY_ID, check, key_id, read_signature, verify_file
from runtime.core.vetting import folder_hash
from runtime.errors import ConfigError, NoSuchEntity, WrongState
from tests.signing_fixture import forge, sign_folder, trusted, vet
from tests.skill_fixture import make_skill

KEY = Ed25519PrivateKey.generate()
TRUSTED = trusted("alice", KEY)


def _verify(folder: Path, keys: Any = None) -> str:
    """The name of the signer the folder's document verifies with, as it is now."""
    verified = verify_file(
        folder.parent / f"{folder.name}.sig.json",
        skill=folder.name,
        content_hash=folder_hash(folder),
        trusted=TRUSTED if keys is None else keys,
    )
    return verified.signer.name


def _refused(folder: Path, keys: Any = None) -> str:
    with pytest.raises(WrongState) as info:
        _verify(folder, keys)
    return str(info.value)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return make_skill(tmp_path / "catalog", "echo-skill")


def test_a_signed_folder_verifies_with_its_signer(folder: Path) -> None:
    """A folder signed as it is, with a passing vet of that content, verifies as alice's."""
    sign_folder(folder, KEY)
    assert _verify(folder) == "alice"


def test_the_key_id_is_a_fingerprint_of_the_key() -> None:
    """ed25519: and 32 hex digits, the same for the same key, different for another."""
    public = KEY.public_key()
    assert KEY_ID.match(key_id(public))
    assert key_id(public) == key_id(KEY.public_key())
    assert key_id(public) != key_id(Ed25519PrivateKey.generate().public_key())


def test_a_tampered_payload_does_not_verify(folder: Path) -> None:
    """A payload edited after signing (its vet made to pass) fails the signature."""
    path = sign_folder(folder, KEY)
    document = json.loads(path.read_text())
    document["payload"]["vet"]["vetted_by"] = "someone-else"
    path.write_text(json.dumps(document))
    assert "does not verify with alice's key" in _refused(folder)


def test_a_signature_by_another_key_claiming_a_trusted_id_does_not_verify(folder: Path) -> None:
    """A document naming alice's key id but signed by mallory's key is refused."""
    mallory = Ed25519PrivateKey.generate()
    forge(folder, mallory, key_id=key_id(KEY.public_key()))
    assert "does not verify with alice's key" in _refused(folder)


def test_a_key_not_trusted_is_refused(folder: Path) -> None:
    """A valid signature by a key nobody trusted is refused, naming the key."""
    mallory = Ed25519PrivateKey.generate()
    sign_folder(folder, mallory)
    reason = _refused(folder)
    assert (
        f"signed by key {key_id(mallory.public_key())}, not one of this daemon's trusted signers"
        in (reason)
    )


def test_a_key_id_shaped_like_a_name_is_refused(folder: Path) -> None:
    """A document whose key id is a signer's name ("alice") is malformed, not looked up."""
    forge(folder, KEY, key_id="alice")
    reason = _refused(folder, {"alice": next(iter(TRUSTED.values())), **TRUSTED})
    assert "payload.key_id: expected ed25519: and 32 hex digits" in reason


def test_a_change_to_any_byte_refuses_the_old_signature(folder: Path) -> None:
    """Replaying the signature after one byte of one file changed is refused."""
    sign_folder(folder, KEY)
    with (folder / "echo.py").open("a") as code:
        code.write(" ")
    assert "changed since it was signed" in _refused(folder)


def test_a_document_copied_beside_another_skill_is_refused(tmp_path: Path) -> None:
    """Skill A's document copied as B's names A: refused as a signature of another skill."""
    catalog = tmp_path / "catalog"
    a, b = make_skill(catalog, "skill-a"), make_skill(catalog, "skill-b")
    shutil.copy(sign_folder(a, KEY), catalog / "skill-b.sig.json")
    assert "the signature is for skill 'skill-a', not 'skill-b'" in _refused(b)


def test_a_vet_record_of_other_content_is_refused(folder: Path) -> None:
    """A valid signature of the folder carrying a vet of other content is refused."""
    sign_folder(folder, KEY, vet(folder, content_hash="0" * 64))
    assert "the vet record it carries is for other content" in _refused(folder)


def test_a_vet_record_of_another_skill_is_refused(folder: Path) -> None:
    """A valid signature carrying another skill's vet of the same content is refused."""
    sign_folder(folder, KEY, vet(folder, skill="other-skill"))
    assert "the vet record it carries is for other content (other-skill" in _refused(folder)


def test_a_vet_that_did_not_pass_is_refused(folder: Path) -> None:
    """A signature over a failed vet (made by hand, as sign refuses it) is refused."""
    sign_folder(folder, KEY, vet(folder, passed=False))
    assert "the vet record it carries did not pass" in _refused(folder)


def test_no_document_is_unsigned(folder: Path) -> None:
    """Without a document beside the folder, the reason says what to do."""
    assert _refused(folder) == (
        "unsigned: no echo-skill.sig.json beside the folder; vet and sign it (skillrt vet, "
        "skillrt skills sign)"
    )
    with pytest.raises(NoSuchEntity):
        read_signature(folder.parent / "echo-skill.sig.json")


def test_a_symlinked_document_is_refused(folder: Path, tmp_path: Path) -> None:
    """A document reached through a symlink is refused, even one that would verify."""
    real = sign_folder(folder, KEY)
    moved = real.rename(tmp_path / "elsewhere.json")
    real.symlink_to(moved)
    assert "a symlink; a signature document must be a file" in _refused(folder)


def test_a_huge_document_is_refused_unread(folder: Path) -> None:
    """A document larger than any skillrt writes is refused by its size."""
    path = folder.parent / "echo-skill.sig.json"
    with path.open("wb") as huge:
        huge.truncate(64 * 1024 * 1024)  # sparse: nothing to read but zeros, never read
    assert re.search(r"echo-skill\.sig\.json: larger than \d+ bytes", _refused(folder))


def test_a_fifo_as_document_is_refused_without_waiting(folder: Path) -> None:
    """A fifo in the document's place is refused at once, not waited on."""
    os.mkfifo(folder.parent / "echo-skill.sig.json")
    assert "echo-skill.sig.json: not a regular file" in _refused(folder)


def _set(*keys: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        target = document
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return change


def _drop(*keys: str) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        target = document
        for key in keys[:-1]:
            target = target[key]
        del target[keys[-1]]

    return change


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (_set("extra", value=1), "document: unknown field 'extra'"),
        (_set("payload", "extra", value=1), "payload: unknown field 'extra'"),
        (_drop("signature"), "signature: expected a string"),
        (_set("signature", value="not base64!"), "signature: not base64"),
        (_set("signature", value="AAAA"), "signature: expected 64 bytes, got 3"),
        (_set("payload", value=[]), "payload: expected an object"),
        (_set("payload", "format", value="skillrt-signature/2"), "payload.format: expected"),
        (_set("payload", "skill", value="../etc"), "payload.skill: expected a skill name"),
        (_set("payload", "content_hash", value="abc"), "payload.content_hash: expected 64 hex"),
        (_set("payload", "signed_at", value="yesterday"), "payload.signed_at: expected"),
        (_set("payload", "signed_at", value="2026-13-45T00:00:00Z"), "payload.signed_at"),
        (_drop("payload", "vet", "vetted_by"), "payload.vet.vetted_by: expected a string"),
        (_set("payload", "vet", "passed", value=False), "payload.vet.passed: does not follow"),
    ],
)
def test_a_malformed_document_names_the_file_and_field(
    folder: Path, change: Callable[[dict[str, Any]], None], field: str
) -> None:
    """Each malformed field is refused, naming the file and the field."""
    path = sign_folder(folder, KEY)
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))
    with pytest.raises(ConfigError, match=re.escape(f"{path}: {field}")):
        read_signature(path)
    assert _refused(folder).startswith(f"bad signature document: {path}: {field}")


def test_a_document_that_is_not_json_names_the_file(folder: Path) -> None:
    """Text that is not JSON is refused, naming the file."""
    path = folder.parent / "echo-skill.sig.json"
    path.write_bytes(b"\xff\xfe not json")
    with pytest.raises(ConfigError, match=re.escape(str(path))):
        read_signature(path)


def test_check_asks_only_the_trusted_keys(folder: Path) -> None:
    """The same document verifies with alice trusted and is refused with nobody trusted."""
    document = read_signature(sign_folder(folder, KEY))
    content_hash = folder_hash(folder)
    assert check(document, skill=folder.name, content_hash=content_hash, trusted=TRUSTED)
    with pytest.raises(WrongState, match="not one of this daemon's trusted signers"):
        check(document, skill=folder.name, content_hash=content_hash, trusted={})
