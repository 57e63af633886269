"""SIGHUP reloads the configuration: new limits apply at once; a bad file changes nothing."""

from __future__ import annotations

import contextlib
import json
import signal
import time

import grpc
import pytest

from runtime.audit import events
from runtime.audit.query import entries
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from tests.api.conftest import Daemon, cleanup, make_daemon
from tests.approvals.conftest import create_token


def logged_events(daemon: Daemon) -> list[str]:
    events = []
    for line in daemon.logs().splitlines():
        with contextlib.suppress(ValueError):
            events.append(json.loads(line).get("event"))
    return events


def wait_for_event(daemon: Daemon, event: str) -> None:
    """Wait until the running daemon logs ``event``, as it does once SIGHUP has been handled."""
    deadline = time.monotonic() + 10
    while event not in logged_events(daemon):
        assert daemon.process is not None and daemon.process.poll() is None, daemon.logs()
        assert time.monotonic() < deadline, f"no {event!r} logged:\n{daemon.logs()}"
        time.sleep(0.02)


def test_sighup_applies_new_rate_limits_and_refuses_bad_files() -> None:
    """After SIGHUP a tightened per-minute limit applies; a broken file is refused and audited."""
    daemon = make_daemon()
    config = daemon.root / "skillrt.toml"
    config.write_text("")
    try:
        daemon.start("--config", str(config))
        agent = create_token(daemon, "reloaded", "agent")
        config.write_text("[rate_limits.tokens.reloaded]\ninvocations_per_minute = 1\n")
        assert daemon.process is not None
        daemon.process.send_signal(signal.SIGHUP)
        wait_for_event(daemon, "configuration reloaded")
        request = pb.InvokeRequest(skill="probe", tool="echo", input_json="{}")
        with daemon.channel(agent) as channel:
            daemon.stub(channel).Invoke(request, timeout=30)
            with pytest.raises(grpc.RpcError) as info:
                daemon.stub(channel).Invoke(request, timeout=30)
        assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        config.write_text("[rate_limits.tokens.reloaded\n")
        daemon.process.send_signal(signal.SIGHUP)
        wait_for_event(daemon, "configuration reload refused")
        assert daemon.process.poll() is None, "a bad configuration must not stop the daemon"
        daemon.stop()
        reloads = [
            e for e in entries(daemon.state_dir / "audit.log") if e.event == events.CONFIG_RELOADED
        ]
        assert [e.fields["applied"] for e in reloads] == [True, False]
        assert reloads[0].fields["changed"] == ["rate_limits_by_token"]
        assert "invalid TOML" in reloads[1].fields["error"]
    finally:
        cleanup(daemon)
