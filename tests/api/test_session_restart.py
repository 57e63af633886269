"""Sessions live as long as the daemon: a stop ends them, a crash's leftovers go at next start."""

from __future__ import annotations

import signal
from pathlib import Path

import grpc
import pytest

from runtime.audit.query import entries
from runtime.client import Client
from tests.api.conftest import Daemon
from tests.api.session_fixture import mounts_under


def _session(daemon: Daemon) -> tuple[str, Path]:
    with Client(daemon.target, token=daemon.owner_token) as client:
        session = client.create_session()
        client.exec(session.id, ["/bin/sh", "-c", "echo kept > /workspace/f"])
    return session.id, Path("/run/skillrt-sessions") / daemon.cgroup_root / session.id


def _ended(daemon: Daemon, session_id: str) -> list[str]:
    return [
        str(e.fields.get("reason"))
        for e in entries(daemon.state_dir / "audit.log")
        if e.event == "session.ended" and e.fields.get("session_id") == session_id
    ]


def test_stop_ends_every_session(fresh_daemon: Daemon) -> None:
    """SIGTERM ends the sessions, unmounts their workspaces, and says so in the audit log."""
    fresh_daemon.start()
    session_id, folder = _session(fresh_daemon)
    assert fresh_daemon.stop(signal.SIGTERM) == 0
    assert not mounts_under(folder) and not folder.exists()
    assert _ended(fresh_daemon, session_id) == ["the daemon stopped"]
    fresh_daemon.start()
    with (
        Client(fresh_daemon.target, token=fresh_daemon.owner_token) as client,
        pytest.raises(grpc.RpcError) as raised,
    ):
        client.get_session(session_id)
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND  # type: ignore[attr-defined]


def test_crash_leftovers_are_removed_at_start(fresh_daemon: Daemon) -> None:
    """After SIGKILL the workspace stays mounted; the next start removes it and audits that."""
    fresh_daemon.start()
    session_id, folder = _session(fresh_daemon)
    fresh_daemon.stop(signal.SIGKILL)
    assert mounts_under(folder)
    fresh_daemon.start()
    assert not mounts_under(folder) and not folder.exists()
    assert _ended(fresh_daemon, session_id) == ["the daemon restarted"]


def test_total_workspace_size_is_capped(fresh_daemon: Daemon) -> None:
    """Workspaces are memory: past the daemon's total, a new session is RESOURCE_EXHAUSTED."""
    config = fresh_daemon.root / "skillrt.toml"
    config.write_text('[sessions]\nmax_total_size = "300MiB"\n')
    fresh_daemon.start("--config", str(config))
    with Client(fresh_daemon.target, token=fresh_daemon.owner_token) as client:
        client.create_session(workspace_bytes=256 * 1024 * 1024)
        with pytest.raises(grpc.RpcError) as raised:
            client.create_session(workspace_bytes=64 * 1024 * 1024)
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED  # type: ignore[attr-defined]
    assert "max_total_bytes" in raised.value.details()  # type: ignore[attr-defined]
