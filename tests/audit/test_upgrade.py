"""Logs written before skillrt hashed RFC 8785 canonical JSON still verify and, once adopted,
take new entries."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from runtime.audit import events
from runtime.audit.adopt import adopt
from runtime.audit.chainkey import default_key_dir
from runtime.audit.verify import verify
from runtime.audit.writer import AuditLog
from runtime.util.canonical import canonical_hash, legacy_hash


def _as_written_before(path: Path) -> None:
    """Re-hash every entry the way the writer did before RFC 8785, relinking the chain; that
    writer kept no chain key."""
    shutil.rmtree(default_key_dir(path))
    previous = ""
    out = []
    for line in path.read_text().splitlines():
        body = json.loads(line)
        body["prev"] = previous
        unsigned = {k: v for k, v in body.items() if k != "hash"}
        text = json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        body["hash"] = previous = hashlib.sha256(text.encode()).hexdigest()
        out.append(json.dumps(body, separators=(",", ":"), ensure_ascii=False) + "\n")
    path.write_text("".join(out))


def test_log_written_before_rfc8785_still_verifies(tmp_path: Path) -> None:
    """Entries whose hashes differ between the two forms (1.0, non-ASCII) verify as written."""
    path = tmp_path / "audit.log"
    log = AuditLog(path)
    log.append(events.RPC_CALLED, actor="agent", limits={"cpus": 1.0}, note="héllo ✓")
    log.append(events.RPC_CALLED, actor="agent", big=2**60)
    _as_written_before(path)
    assert verify(path, unkeyed=True) is None


def test_new_entries_chain_onto_an_old_log(tmp_path: Path) -> None:
    """An upgraded daemon appends to an old log the operator adopted, and the whole chain
    verifies."""
    path = tmp_path / "audit.log"
    AuditLog(path).append(events.RPC_CALLED, actor="agent", limits={"cpus": 1.0})
    _as_written_before(path)
    adopt(path, actor="operator")
    AuditLog(path).append(events.RPC_CALLED, actor="agent", limits={"cpus": 1.0})
    assert verify(path) is None


def test_old_hash_of_an_edited_entry_is_still_refused(tmp_path: Path) -> None:
    """Accepting the old form does not accept an edit: a changed entry fails both hashes."""
    path = tmp_path / "audit.log"
    AuditLog(path).append(events.RPC_CALLED, actor="agent", limits={"cpus": 1.0})
    _as_written_before(path)
    path.write_text(path.read_text().replace('"actor":"agent"', '"actor":"mallory"'))
    assert verify(path, unkeyed=True) is not None


def test_legacy_and_canonical_hashes_differ_where_the_forms_differ() -> None:
    """1.0 and non-ASCII text are where the two forms part; that is why both are checked."""
    value = {"cpus": 1.0, "text": "é"}
    assert legacy_hash(value) != canonical_hash(value)
