"""The chain key: kept private and apart from the log, never forked, and logs from before it
still verify as far as they were written unkeyed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from runtime.api import config
from runtime.audit import events
from runtime.audit.adopt import adopt
from runtime.audit.chainkey import default_key_dir, read_chain_key
from runtime.audit.entry import Problem, entry_hash
from runtime.audit.keys import checkpoint_mac, default_key_path
from runtime.audit.retention import prune
from runtime.audit.verify import verify
from runtime.audit.writer import AuditLog
from runtime.errors import ConfigError, IntegrityError
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.util import paths
from tests.api.conftest import cleanup, make_daemon
from tests.audit.conftest import DAY, START, lines, relinked_unkeyed, rewrite
from tests.cli.test_cli import assert_one_line_error, skillrt

WriteDays = Callable[[int], AuditLog]


def _as_unkeyed(path: Path) -> None:
    """The log as skillrt wrote it before it keyed its chain: sha256 links, no chain key."""
    shutil.rmtree(default_key_dir(path), ignore_errors=True)
    rewrite(path, relinked_unkeyed(lines(path)))


def _cli_verify(path: Path) -> subprocess.CompletedProcess[str]:
    return skillrt("audit", "verify", "--state-dir", str(path.parent))


def test_open_key_directory_is_refused(log_path: Path, write_days: WriteDays) -> None:
    """A key directory others may enter is refused by the writer and by verify alike."""
    write_days(2)
    default_key_dir(log_path).chmod(0o755)
    with pytest.raises(IntegrityError, match="open to others"):
        AuditLog(log_path).append(events.RPC_CALLED, actor="x")
    assert len(lines(log_path)) == 2
    assert_one_line_error(_cli_verify(log_path), "open to others (mode 0755)")


def test_readable_chain_key_is_refused(log_path: Path, write_days: WriteDays) -> None:
    """A chain key others can read is refused: whoever reads it can rewrite the log."""
    write_days(2)
    (default_key_dir(log_path) / "chain.key").chmod(0o644)
    assert_one_line_error(_cli_verify(log_path), "readable by others (mode 0644)")


def test_writer_without_the_key_does_not_fork(
    log_path: Path, write_days: WriteDays, tmp_path: Path
) -> None:
    """Pointed at a key directory without the key, the writer refuses instead of starting a
    second key on a keyed log."""
    write_days(2)
    elsewhere = tmp_path / "elsewhere"
    with pytest.raises(IntegrityError, match="no chain key in"):
        AuditLog(log_path, keys=elsewhere).append(events.RPC_CALLED, actor="x")
    assert not elsewhere.exists()
    assert len(lines(log_path)) == 2


def test_writer_refuses_another_logs_key(tmp_path: Path) -> None:
    """A key that did not write the last line is refused, not used to extend the log."""
    first, second = tmp_path / "a" / "audit.log", tmp_path / "b" / "audit.log"
    for path in (first, second):
        AuditLog(path).append(events.RPC_CALLED, actor="x")
    with pytest.raises(IntegrityError, match="not written with the chain key"):
        AuditLog(first, keys=default_key_dir(second)).append(events.RPC_CALLED, actor="x")


def test_whole_log_rehashed_unkeyed_fails(log_path: Path, write_days: WriteDays) -> None:
    """Passing the whole log off as one written before keying fails at its first line."""
    write_days(4)
    keys = default_key_dir(log_path)
    kept = keys.with_name("kept")
    shutil.copytree(keys, kept)
    _as_unkeyed(log_path)  # drops the key, as an older skillrt never had one
    shutil.copytree(kept, keys)
    broken = verify(log_path)
    assert broken is not None
    assert (broken.line, broken.problem) == (1, Problem.EDITED)
    assert "every entry in this log is" in broken.detail


def test_adopted_log_is_keyed_from_the_next_entry(log_path: Path, write_days: WriteDays) -> None:
    """An older unkeyed log, once adopted, is keyed from the next entry on, and says where."""
    write_days(3)
    _as_unkeyed(log_path)
    adopt(log_path, actor="operator")
    key = read_chain_key(default_key_dir(log_path))
    assert key is not None and key.legacy_until == 3
    proc = _cli_verify(log_path)
    assert proc.returncode == 0, proc.stderr
    assert "seqs 1-4; 1-3 unkeyed, written before skillrt keyed its chain; keyed from seq 4" in (
        proc.stdout
    )


def test_unkeyed_part_is_pinned_by_the_first_keyed_entry(
    log_path: Path, write_days: WriteDays
) -> None:
    """Rewriting the unkeyed entries, rehashed, breaks the first keyed entry's prev."""
    write_days(3)
    _as_unkeyed(log_path)
    adopt(log_path, actor="operator")
    text = lines(log_path)
    body = json.loads(text[1])
    body["actor"] = "someone-else"
    text[1] = json.dumps(body) + "\n"
    rewrite(log_path, relinked_unkeyed(text, start=1, stop=3))
    broken = verify(log_path)
    assert broken is not None
    assert (broken.line, broken.problem) == (4, Problem.EDITED)


@pytest.mark.parametrize(
    ("keep", "named"),
    [(3, "no line is keyed"), (2, "the log ends at seq 2, but seq 3")],
    ids=["keyed-part-cut", "unkeyed-part-cut"],
)
def test_cut_back_to_the_unkeyed_part_fails(
    log_path: Path, write_days: WriteDays, keep: int, named: str
) -> None:
    """Cutting an upgraded log back to (part of) what it was before keying fails."""
    write_days(3)
    _as_unkeyed(log_path)
    adopt(log_path, actor="operator")
    rewrite(log_path, lines(log_path)[:keep])
    broken = verify(log_path)
    assert broken is not None
    assert broken.problem is Problem.REMOVED
    assert named in broken.detail


def test_checkpoint_from_before_keying_still_verifies(
    log_path: Path, write_days: WriteDays
) -> None:
    """A log pruned before keying (its checkpoint MACed with the key beside the log) verifies,
    is adopted, and prunes again under the chain key."""
    write_days(6)
    _as_unkeyed(log_path)
    text = lines(log_path)
    last_pruned = json.loads(text[2])
    secret = os.urandom(32)
    default_key_path(log_path).write_text(secret.hex() + "\n")
    default_key_path(log_path).chmod(0o600)
    checkpoint: dict[str, object] = {
        "seq": 3,
        "ts": last_pruned["ts"],
        "event": events.CHECKPOINT,
        "actor": "skillrt",
        "pruned": 3,
        "pruned_before": last_pruned["ts"],
        "last_pruned_hash": last_pruned["hash"],
        "prev": "",
    }
    checkpoint["mac"] = checkpoint_mac(secret, checkpoint)
    checkpoint["hash"] = entry_hash(checkpoint)
    rewrite(log_path, [json.dumps(checkpoint) + "\n", *text[3:]])
    assert verify(log_path, unkeyed=True) is None
    adopt(log_path, actor="operator")
    assert verify(log_path) is None
    report = prune(log_path, older_than_ms=86_400_000, now=START + 5 * DAY + 1)
    assert report.pruned == 2
    assert verify(log_path) is None
    assert _cli_verify(log_path).returncode == 0


def test_prune_refuses_an_unkeyed_log(log_path: Path, write_days: WriteDays) -> None:
    """Pruning never keys a log on its own: an unkeyed log is refused, untouched, keyless."""
    write_days(6)
    _as_unkeyed(log_path)
    before = log_path.read_bytes()
    with pytest.raises(IntegrityError, match="run `skillrt audit adopt`"):
        prune(log_path, older_than_ms=86_400_000, now=START + 4 * DAY)
    assert log_path.read_bytes() == before
    assert read_chain_key(default_key_dir(log_path)) is None


def test_key_dir_beside_the_log_is_refused(tmp_path: Path) -> None:
    """[audit] key_dir may not be the directory of the log it protects."""
    file = tmp_path / "skillrt.toml"
    file.write_text('[server]\nstate_dir = "state"\n[audit]\nkey_dir = "state"\n')
    with pytest.raises(ConfigError, match="must not be the audit log's directory"):
        config.load(file)


def test_daemon_keeps_its_key_where_configured() -> None:
    """A daemon with [audit] key_dir keys its log there, nothing in the state directory; the
    command line finds it through SKILLRT_AUDIT_KEY_DIR, and without it says where it looked."""
    daemon = make_daemon()
    keys = daemon.root / "audit-chain-keys"
    settings = daemon.root / "skillrt.toml"
    settings.write_text(f'[audit]\nkey_dir = "{keys.name}"\n')
    log = daemon.state_dir / "audit.log"
    try:
        daemon.start("--config", str(settings))
        with daemon.channel() as channel:
            daemon.stub(channel).ListSkills(pb.ListSkillsRequest(), timeout=30)
        deadline = time.monotonic() + 60
        while not (log.exists() and lines(log)):
            assert time.monotonic() < deadline, "the daemon wrote no audit entry"
            time.sleep(0.05)
        daemon.stop()
        assert not default_key_dir(log).exists()
        assert (keys / "chain.key").stat().st_mode & 0o777 == 0o600
        assert keys.stat().st_mode & 0o777 == 0o700
        assert_one_line_error(_cli_verify(log), f"no chain key in {default_key_dir(log)}")
        proc = subprocess.run(
            [sys.executable, "-m", "runtime.cli.main", "audit", "verify"],
            env={**os.environ, "SKILLRT_STATE_DIR": str(daemon.state_dir)}
            | {"SKILLRT_AUDIT_KEY_DIR": str(keys)},
            capture_output=True,
            text=True,
            cwd=paths.PROJECT_ROOT,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert "keyed" in proc.stdout
    finally:
        cleanup(daemon)
