"""Rewriting the history a real daemon wrote: without the chain key no rewrite verifies, and an
anchor exported while the daemon ran catches what a key holder or a truncation does."""

from __future__ import annotations

import base64
import json
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from runtime.audit import events
from runtime.audit.chainkey import read_chain_key
from runtime.audit.entry import entry_hash
from runtime.audit.query import entries
from runtime.audit.writer import AuditLog
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.proto.skillrt.v1 import skillrt_pb2_grpc as pb_grpc
from runtime.util.canonical import canonical_bytes
from tests.api.conftest import cleanup, make_daemon
from tests.audit.conftest import lines, relinked_unkeyed, rewrite
from tests.cli.test_cli import assert_one_line_error, skillrt

_CALLS = 4  # ListSkills calls before the anchor, and again after it


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A state directory whose log a real daemon wrote, anchored half-way while it ran."""
    daemon = make_daemon()
    log = daemon.state_dir / "audit.log"
    anchor = daemon.root / "anchor.json"
    try:
        daemon.start()
        with daemon.channel() as channel:
            _list_skills(daemon.stub(channel), until=lambda: _count(log) >= _CALLS)
            head = skillrt(
                "audit", "head", "--out", str(anchor), "--state-dir", str(daemon.state_dir)
            )
            assert head.returncode == 0, head.stderr
            anchored = _count(log)
            _list_skills(daemon.stub(channel), until=lambda: _count(log) >= anchored + _CALLS)
        daemon.stop()
        saved = tmp_path_factory.mktemp("written")
        shutil.copytree(daemon.state_dir, saved / "state", ignore=_only_audit)
        shutil.copy(anchor, saved / "anchor.json")
        yield saved
    finally:
        cleanup(daemon)


def _only_audit(directory: str, names: list[str]) -> list[str]:
    if Path(directory).name == "audit-keys":
        return []
    return [n for n in names if n not in ("audit.log", "audit-keys")]


def _count(log: Path) -> int:
    return len(lines(log)) if log.exists() else 0


def _list_skills(stub: pb_grpc.SkillRuntimeStub, *, until: Callable[[], bool]) -> None:
    for _ in range(_CALLS):
        stub.ListSkills(pb.ListSkillsRequest(), timeout=30)
    deadline = time.monotonic() + 60  # the daemon writes its entries in the background
    while not until():
        assert time.monotonic() < deadline, "the daemon did not write its audit entries"
        time.sleep(0.05)


@pytest.fixture
def state(written: Path, tmp_path: Path) -> Path:
    """A private copy of the daemon's log and keys, to tamper with."""
    shutil.copytree(written / "state", tmp_path / "state")
    return tmp_path / "state"


@pytest.fixture
def anchor(written: Path) -> Path:
    return written / "anchor.json"


def _verify(state: Path, *flags: str) -> tuple[int, str, str]:
    proc = skillrt("audit", "verify", "--state-dir", str(state), *flags)
    return proc.returncode, proc.stdout, proc.stderr


def _anchored_seq(anchor: Path) -> int:
    seq: int = json.loads(anchor.read_text())["seq"]
    return seq


def test_untouched_log_verifies(state: Path, anchor: Path) -> None:
    """The log the daemon wrote verifies, alone and against the anchor taken while it ran."""
    assert _verify(state)[0] == 0
    code, out, err = _verify(state, "--anchor", str(anchor))
    assert code == 0, err
    assert f"anchored seq {_anchored_seq(anchor)}" in out


def test_edit_rehashed_without_the_key_fails(state: Path) -> None:
    """An edited entry with every later hash recomputed, unkeyed, is named as rewritten."""
    log = state / "audit.log"
    text = lines(log)
    text[2] = text[2].replace('"role":"owner"', '"role":"viewer"')
    rewrite(log, relinked_unkeyed(text, start=2))
    proc = skillrt("audit", "verify", "--state-dir", str(state))
    assert_one_line_error(proc, "line 3 (seq 3): ")
    assert "chain key" in proc.stderr


def test_deleted_and_renumbered_fails(state: Path) -> None:
    """Deleting an entry, renumbering the rest and relinking them does not verify."""
    log = state / "audit.log"
    text = lines(log)
    del text[2]
    rewrite(log, relinked_unkeyed(text, start=2, renumber=True))
    proc = skillrt("audit", "verify", "--state-dir", str(state))
    assert_one_line_error(proc, "line 3 (seq 3): ")


def test_emptied_log_fails(state: Path, anchor: Path) -> None:
    """An emptied log fails verify, and fails against the anchor."""
    rewrite(state / "audit.log", [])
    proc = skillrt("audit", "verify", "--state-dir", str(state))
    assert_one_line_error(proc, "the log is empty, but its chain key")
    proc = skillrt("audit", "verify", "--state-dir", str(state), "--anchor", str(anchor))
    assert_one_line_error(proc, "the log is empty, but its chain key")


def test_emptied_and_written_again_fails_against_the_anchor(state: Path, anchor: Path) -> None:
    """Once new entries follow an emptying, the chain verifies again: the anchor still fails."""
    log = state / "audit.log"
    rewrite(log, [])
    writer = AuditLog(log, keys=state / "audit-keys")
    for _ in range(_anchored_seq(anchor) + 1):
        writer.append(events.RPC_CALLED, actor="skillrt", method="/after/emptying")
    assert _verify(state)[0] == 0
    proc = skillrt("audit", "verify", "--state-dir", str(state), "--anchor", str(anchor))
    assert_one_line_error(proc, f"seq {_anchored_seq(anchor)} in the log has hash")


def test_truncated_after_the_anchor_fails(state: Path, anchor: Path) -> None:
    """Cutting the log back before the anchored entry keeps a valid chain, but not the anchor."""
    log = state / "audit.log"
    seq = _anchored_seq(anchor)
    rewrite(log, lines(log)[: seq - 2])
    assert _verify(state)[0] == 0  # a cut tail leaves a valid chain: only an anchor shows it
    proc = skillrt("audit", "verify", "--state-dir", str(state), "--anchor", str(anchor))
    assert_one_line_error(proc, f"the log ends at seq {seq - 2}, before the anchored seq {seq}")


def test_rewrite_with_the_key_before_the_anchor_fails(state: Path, anchor: Path) -> None:
    """A key holder (root) can rewrite a verifiable chain, but not one matching the anchor."""
    key = read_chain_key(state / "audit-keys")
    assert key is not None
    log = state / "audit.log"
    text = lines(log)
    previous = json.loads(text[0])["hash"]
    for index in range(1, len(text)):
        body = json.loads(text[index])
        if index == 1:
            body["actor"] = "someone-else"
        body["prev"] = previous
        body["hash"] = previous = key.link(body)
        text[index] = json.dumps(body) + "\n"
    rewrite(log, text)
    assert _verify(state)[0] == 0
    proc = skillrt("audit", "verify", "--state-dir", str(state), "--anchor", str(anchor))
    assert_one_line_error(proc, f"seq {_anchored_seq(anchor)} in the log has hash")


def test_anchor_with_a_changed_statement_is_refused(
    state: Path, anchor: Path, tmp_path: Path
) -> None:
    """An anchor whose statement was edited after signing is refused."""
    document = json.loads(anchor.read_text())
    document["seq"] -= 1
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(document))
    proc = skillrt("audit", "verify", "--state-dir", str(state), "--anchor", str(edited))
    assert_one_line_error(proc, "signature does not verify")
    assert proc.returncode == 1


def test_anchor_signed_by_another_key_is_refused(state: Path, anchor: Path, tmp_path: Path) -> None:
    """An anchor signed with a key that is not the log's head key is refused."""
    document = json.loads(anchor.read_text())
    unsigned = {k: v for k, v in document.items() if k != "signature"}
    signature = Ed25519PrivateKey.generate().sign(canonical_bytes(unsigned))
    document["signature"] = base64.b64encode(signature).decode()
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(document))
    proc = skillrt("audit", "verify", "--state-dir", str(state), "--anchor", str(forged))
    assert_one_line_error(proc, "signature does not verify")


def test_anchor_checks_with_only_the_public_key(state: Path, anchor: Path, tmp_path: Path) -> None:
    """An exported public key verifies the anchor; another public key refuses it."""
    public = tmp_path / "head.pub"
    proc = skillrt("audit", "public-key", "--out", str(public), "--state-dir", str(state))
    assert proc.returncode == 0, proc.stderr
    code, _, err = _verify(state, "--anchor", str(anchor), "--public-key", str(public))
    assert code == 0, err
    other = tmp_path / "other.pub"
    other.write_bytes(
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    proc = skillrt(
        "audit",
        "verify",
        "--state-dir",
        str(state),
        "--anchor",
        str(anchor),
        "--public-key",
        str(other),
    )
    assert_one_line_error(proc, "signature does not verify")


def test_daemon_entries_are_keyed(state: Path) -> None:
    """No entry the daemon wrote carries the unkeyed hash an editor could recompute."""
    written = list(entries(state / "audit.log"))
    assert written
    assert all(e.hash != entry_hash(e.to_dict()) for e in written)
