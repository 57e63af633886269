"""A torn audit tail left by an earlier run is cut when the daemon starts."""

from __future__ import annotations

import subprocess
import sys

from runtime.client import Client
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.util import paths
from tests.api.conftest import Daemon, fresh_daemon
from tests.faults.conftest import audit_lines

__all__ = ["fresh_daemon"]


def test_a_torn_tail_is_cut_when_the_daemon_starts(fresh_daemon: Daemon) -> None:
    """A partial last line is cut back to the last complete entry at start, an audit.repaired
    entry says how many bytes and after which seq, `audit verify` passes and calls run."""
    daemon = fresh_daemon
    daemon.start()
    with Client(daemon.target, token=daemon.owner_token) as client:
        assert client.invoke("probe", "echo", {}).result.status == pb.STATUS_OK
    daemon.stop()
    before, _ = audit_lines(daemon)
    last_seq = before[-1]["seq"]
    partial = b'{"seq":%d,"ts":"2025-01-01T00:00' % (last_seq + 1)
    with (daemon.state_dir / "audit.log").open("ab") as log:
        log.write(partial)
    assert daemon.audit_verify().returncode != 0

    daemon.start()
    after, torn = audit_lines(daemon)
    assert not torn
    assert after[: len(before)] == before
    repaired = after[len(before)]
    assert repaired["event"] == "audit.repaired"
    assert (repaired["seq"], repaired["cut_bytes"], repaired["resumed_after_seq"]) == (
        last_seq + 1,
        len(partial),
        last_seq,
    )
    checked = daemon.audit_verify()
    assert checked.returncode == 0, checked.stdout + checked.stderr
    with Client(daemon.target, token=daemon.owner_token) as client:
        assert client.invoke("probe", "echo", {}).result.status == pb.STATUS_OK


def test_a_torn_tail_is_cut_by_the_next_command_line_change(fresh_daemon: Daemon) -> None:
    """With no daemon running, the next operator change cuts a torn tail before its own entry,
    instead of failing for good."""
    daemon = fresh_daemon
    daemon.init()
    log = daemon.state_dir / "audit.log"
    with log.open("ab") as file:
        file.write(b'{"seq":1,"ts":"2025-')
    changed = subprocess.run(
        [
            sys.executable,
            "-m",
            "runtime.cli.main",
            "secrets",
            "set",
            "TORN_TAIL_TEST",
            "--state-dir",
            str(daemon.state_dir),
        ],
        cwd=paths.PROJECT_ROOT,
        input=b"value",
        capture_output=True,
        check=False,
    )
    assert changed.returncode == 0, changed.stderr
    entries, torn = audit_lines(daemon)
    assert not torn
    assert [e["event"] for e in entries][-2:] == ["audit.repaired", "secret.set"]
    checked = daemon.audit_verify()
    assert checked.returncode == 0, checked.stdout + checked.stderr
