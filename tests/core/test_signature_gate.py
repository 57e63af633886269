"""The require_signed gate over a real catalog: what it serves, what it refuses and why, and
that its kept verdicts never outlive a change of the document, the content or the trust."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import runtime.core.signature_gate as gate_module
from runtime.core.catalog import Catalog
from runtime.core.signature_gate import SignatureGate
from runtime.core.signers import SignerStore
from runtime.core.signing import public_pem
from runtime.errors import WrongState
from runtime.state.schema import open_main
from tests.signing_fixture import sign_folder
from tests.skill_fixture import make_skill

KEY = Ed25519PrivateKey.generate()
_FAR_FUTURE_NS = 2**62  # every document is settled


@pytest.fixture
def signers(tmp_path: Path) -> Iterator[SignerStore]:
    with open_main(tmp_path / "skillrt.db") as db:
        store = SignerStore(db)
        store.add(
            store.new(
                name="alice", public_key_pem=public_pem(KEY.public_key()), trusted_by="o", now_ms=1
            )
        )
        yield store


def _catalog(tmp_path: Path, gate: SignatureGate) -> Catalog:
    return Catalog(tmp_path / "catalog", gates=[gate])


def _reason(catalog: Catalog, name: str) -> str | None:
    return catalog.entry(name).unavailable_reason


def test_without_require_signed_an_unsigned_skill_is_served(
    tmp_path: Path, signers: SignerStore
) -> None:
    """require_signed off: the gate refuses nothing and names no signer."""
    make_skill(tmp_path / "catalog", "echo-skill")
    gate = SignatureGate(signers, required=False)
    catalog = _catalog(tmp_path, gate)
    assert _reason(catalog, "echo-skill") is None
    assert gate.signed_by(catalog.entry("echo-skill")) is None


def test_an_unsigned_tool_skill_is_refused_by_name(tmp_path: Path, signers: SignerStore) -> None:
    """An unsigned tool skill is unavailable saying what to do; get() is WrongState."""
    make_skill(tmp_path / "catalog", "echo-skill")
    catalog = _catalog(tmp_path, SignatureGate(signers, required=True))
    assert _reason(catalog, "echo-skill") == (
        "unsigned: no echo-skill.sig.json beside the folder; vet and sign it (skillrt vet, "
        "skillrt skills sign)"
    )
    with pytest.raises(WrongState, match="'echo-skill' is unavailable: unsigned"):
        catalog.get("echo-skill")


def test_an_unsigned_instruction_skill_is_refused(tmp_path: Path, signers: SignerStore) -> None:
    """Instruction skills are gated too: unsigned, a session cannot mount it."""
    folder = tmp_path / "catalog" / "notes"
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text("---\nname: notes\ndescription: Notes.\n---\n# notes\n")
    catalog = _catalog(tmp_path, SignatureGate(signers, required=True))
    with pytest.raises(WrongState, match="'notes' is unavailable: unsigned"):
        catalog.instruction("notes")
    sign_folder(folder, KEY)
    assert catalog.instruction("notes").name == "notes"


def test_a_signed_skill_is_served_naming_its_signer(tmp_path: Path, signers: SignerStore) -> None:
    """Signed by a trusted key as it is: available, signed by alice."""
    sign_folder(make_skill(tmp_path / "catalog", "echo-skill"), KEY)
    gate = SignatureGate(signers, required=True)
    catalog = _catalog(tmp_path, gate)
    assert catalog.get("echo-skill").name == "echo-skill"
    signer = gate.signed_by(catalog.entry("echo-skill"))
    assert signer is not None and signer.name == "alice"


def test_distrust_refuses_at_once_even_a_kept_verdict(tmp_path: Path, signers: SignerStore) -> None:
    """A verdict kept for a settled document does not outlive alice's distrust."""
    sign_folder(make_skill(tmp_path / "catalog", "echo-skill"), KEY)
    catalog = _catalog(
        tmp_path, SignatureGate(signers, required=True, now_ns=lambda: _FAR_FUTURE_NS)
    )
    assert _reason(catalog, "echo-skill") is None
    signers.remove("alice")
    assert "not one of this daemon's trusted signers" in str(_reason(catalog, "echo-skill"))


def test_a_document_rewritten_in_place_unnoticed_by_its_status_is_read_again(
    tmp_path: Path, signers: SignerStore
) -> None:
    """A fresh document altered in place, same size and mtime put back, is refused next ask:
    a verdict is kept only for a document older than the timestamps' granularity."""
    path = sign_folder(make_skill(tmp_path / "catalog", "echo-skill"), KEY)
    catalog = _catalog(tmp_path, SignatureGate(signers, required=True))
    assert _reason(catalog, "echo-skill") is None
    before = os.stat(path)
    document = json.loads(path.read_text())
    document["payload"]["vet"]["vetted_by"] = "mallory!"[: len("reviewer")]
    with path.open("r+") as stream:  # in place: the same inode
        stream.write(json.dumps(document, indent=2) + "\n")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(path).st_size == before.st_size
    assert "does not verify with alice's key" in str(_reason(catalog, "echo-skill"))


def test_a_settled_verdict_is_kept_until_the_document_changes(
    tmp_path: Path, signers: SignerStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """For a settled document the check runs once; replacing the document runs it again."""
    folder = make_skill(tmp_path / "catalog", "echo-skill")
    sign_folder(folder, KEY)
    checks: list[Any] = []
    real = gate_module.verify_file
    monkeypatch.setattr(
        gate_module, "verify_file", lambda *a, **k: checks.append(a) or real(*a, **k)
    )
    catalog = _catalog(
        tmp_path, SignatureGate(signers, required=True, now_ns=lambda: _FAR_FUTURE_NS)
    )
    for _ in range(3):
        assert _reason(catalog, "echo-skill") is None
    assert len(checks) == 1
    sign_folder(folder, Ed25519PrivateKey.generate())  # replaced: a new inode
    assert "not one of this daemon's trusted signers" in str(_reason(catalog, "echo-skill"))
    assert len(checks) == 2


def test_a_changed_skill_is_refused_although_its_document_is_unchanged(
    tmp_path: Path, signers: SignerStore
) -> None:
    """The kept verdict is for one content hash: one byte changed refuses the skill."""
    folder = make_skill(tmp_path / "catalog", "echo-skill")
    sign_folder(folder, KEY)
    catalog = _catalog(
        tmp_path, SignatureGate(signers, required=True, now_ns=lambda: _FAR_FUTURE_NS)
    )
    assert _reason(catalog, "echo-skill") is None
    time.sleep(0.01)
    with (folder / "echo.py").open("a") as code:
        code.write("#")
    assert "changed since it was signed" in str(_reason(catalog, "echo-skill"))


class _Broken:
    def trusted(self) -> Any:
        raise RuntimeError("the trusted set is gone")


def test_an_error_of_the_check_refuses_the_skill(tmp_path: Path) -> None:
    """Any error while checking fails closed, with the error as the reason."""
    sign_folder(make_skill(tmp_path / "catalog", "echo-skill"), KEY)
    gate = SignatureGate(_Broken(), required=True)  # type: ignore[arg-type]
    catalog = _catalog(tmp_path, gate)
    assert _reason(catalog, "echo-skill") == (
        "its signature could not be checked: the trusted set is gone"
    )
