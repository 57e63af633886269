"""Moving the chain key away does not downgrade the log to unkeyed: verify, the writer and the
daemon all refuse a log with entries and no chain key, and only `skillrt audit adopt` keys one."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from runtime.audit import events
from runtime.audit.chainkey import create_chain_key, default_key_dir, read_chain_key
from runtime.audit.verify import verify
from runtime.audit.writer import AuditLog
from runtime.errors import IntegrityError
from tests.api.conftest import Daemon, cleanup, make_daemon
from tests.audit.conftest import lines, relinked_unkeyed, rewrite
from tests.cli.test_cli import assert_one_line_error, skillrt

WriteDays = Callable[[int], AuditLog]


def _downgrade(log: Path) -> None:
    """The attack: move the key directory away (renaming needs only the state directory), drop
    the second entry and relink what is left with plain sha256, which needs no key."""
    default_key_dir(log).rename(log.with_name("elsewhere"))
    text = lines(log)
    del text[1]
    rewrite(log, relinked_unkeyed(text, renumber=True))


def _unkeyed(log: Path) -> None:
    """A log as skillrt wrote it before it keyed its chain: sha256 links, no chain key."""
    default_key_dir(log).rename(log.with_name("elsewhere"))
    rewrite(log, relinked_unkeyed(lines(log)))


def _cli(log: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return skillrt("audit", *args, "--state-dir", str(log.parent))


def test_verify_refuses_a_log_whose_key_was_moved(log_path: Path, write_days: WriteDays) -> None:
    """A rewritten log with its key moved away fails verify, naming the missing key."""
    write_days(4)
    _downgrade(log_path)
    assert_one_line_error(_cli(log_path, "verify"), f"no chain key in {default_key_dir(log_path)}")


def test_unkeyed_verify_says_it_proves_nothing(log_path: Path, write_days: WriteDays) -> None:
    """--unkeyed checks the plain hashes only, and says loudly that they prove nothing."""
    write_days(4)
    _downgrade(log_path)
    proc = _cli(log_path, "verify", "--unkeyed")
    assert proc.returncode == 0, proc.stderr
    assert "UNKEYED" in proc.stdout and "prove nothing against tampering" in proc.stdout


def test_writer_never_keys_a_log_that_has_entries(log_path: Path, write_days: WriteDays) -> None:
    """An append to the rewritten log is refused and makes no key that would bless it."""
    write_days(4)
    _downgrade(log_path)
    before = log_path.read_bytes()
    with pytest.raises(IntegrityError, match="run `skillrt audit adopt`"):
        AuditLog(log_path).append(events.RPC_CALLED, actor="x")
    assert log_path.read_bytes() == before
    assert read_chain_key(default_key_dir(log_path)) is None
    assert verify(log_path) is not None


def _refused_start(daemon: Daemon) -> str:
    with pytest.raises(AssertionError, match="daemon exited early"):
        daemon.start()
    logs = daemon.logs()
    assert "Traceback" not in logs
    return logs


def test_daemon_refuses_to_start_on_a_log_whose_key_was_moved() -> None:
    """The daemon stops at start, in one line, on a rewritten log whose key was moved away,
    and keys nothing."""
    daemon = make_daemon()
    log = daemon.state_dir / "audit.log"
    try:
        daemon.init()
        for _ in range(3):
            AuditLog(log).append(events.RPC_CALLED, actor="x")
        _downgrade(log)
        logs = _refused_start(daemon)
        assert f"{log}: has entries but no chain key in {default_key_dir(log)}" in logs
        assert read_chain_key(default_key_dir(log)) is None
    finally:
        cleanup(daemon)


def test_adopt_keys_an_unkeyed_log_and_records_it(log_path: Path, write_days: WriteDays) -> None:
    """`audit adopt` keys an unkeyed log that verifies, says so in the log as its first keyed
    entry, and the whole log verifies with the unkeyed part bounded."""
    write_days(3)
    _unkeyed(log_path)
    proc = _cli(log_path, "adopt")
    assert proc.returncode == 0, proc.stderr
    key = read_chain_key(default_key_dir(log_path))
    assert key is not None and key.legacy_until == 3
    last = json.loads(lines(log_path)[-1])
    assert (last["seq"], last["event"], last["legacy_until"]) == (4, events.AUDIT_ADOPTED, 3)
    assert last["actor"].startswith("cli:")
    proc = _cli(log_path, "verify")
    assert proc.returncode == 0, proc.stderr
    assert "1-3 unkeyed, written before skillrt keyed its chain; keyed from seq 4" in proc.stdout


def test_adopt_refuses_a_broken_unkeyed_chain(log_path: Path, write_days: WriteDays) -> None:
    """An unkeyed log edited without relinking is not adopted: no key is made."""
    write_days(3)
    _unkeyed(log_path)
    rewrite(log_path, [line.replace('"day":1', '"day":9') for line in lines(log_path)])
    assert_one_line_error(_cli(log_path, "adopt"), "refusing to adopt a broken chain")
    assert read_chain_key(default_key_dir(log_path)) is None


def test_adopt_refuses_a_keyed_log(log_path: Path, write_days: WriteDays) -> None:
    """A log that has its key is not adopted again."""
    write_days(2)
    before = log_path.read_bytes()
    assert_one_line_error(_cli(log_path, "adopt"), "already keyed by")
    assert log_path.read_bytes() == before


def test_daemon_repairs_a_torn_first_entry_of_a_keyed_log() -> None:
    """A log whose only write tore (its key made, nothing complete) still lets the daemon
    start: the repair cuts the tear and keys its entry with the existing key."""
    daemon = make_daemon()
    log = daemon.state_dir / "audit.log"
    try:
        create_chain_key(default_key_dir(log), legacy_until=0)  # what the first write made
        log.write_bytes(b'{"seq":1,"ts":"2025-')  # before the disk filled mid-line
        daemon.start()
        daemon.stop()
        assert json.loads(lines(log)[0])["event"] == events.AUDIT_REPAIRED
        assert verify(log) is None
    finally:
        cleanup(daemon)
