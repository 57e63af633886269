"""Prometheus metrics of the real daemon, scraped over its loopback TCP listener: real calls,
a real sandbox, a real approval and real failed authentications move them by exactly as much."""

from __future__ import annotations

import http.client
import socket
import stat
from collections.abc import Iterator
from dataclasses import dataclass

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from tests.api.conftest import Daemon, cleanup, make_daemon
from tests.approvals.conftest import approvals_stub, create_token

ASKS_MD = "---\nname: asks\ndescription: A tool that waits for a person.\n---\n"
ASKS_TOML = """version = "1.0.0"
profile = "default"

[[tools]]
name = "run"
approval = "before_run"
entrypoint = ["/usr/bin/python3", "-c", "print('{}')"]
input_schema = { type = "object" }
"""
BOGUS_TOKEN = "skrt_0123456789ab_" + "x" * 43  # well formed, never issued
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@dataclass
class Scraped:
    daemon: Daemon
    port: int

    def get(self, path: str, method: str = "GET") -> tuple[int, str, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, path)
            response = connection.getresponse()
            return response.status, response.getheader("content-type", ""), response.read().decode()
        finally:
            connection.close()

    def samples(self) -> Samples:
        status, _, text = self.get("/metrics")
        assert status == 200
        return {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def scraped() -> Iterator[Scraped]:
    daemon = make_daemon()
    asks = daemon.catalog / "asks"
    asks.mkdir()
    (asks / "SKILL.md").write_text(ASKS_MD)
    (asks / "skill.toml").write_text(ASKS_TOML)
    port = free_port()
    config = daemon.root / "skillrt.toml"
    config.write_text(f'[metrics]\nlisten = "127.0.0.1:{port}"\n[auth]\nmax_failures = 2\n')
    daemon.start("--config", str(config))
    yield Scraped(daemon, port)
    cleanup(daemon)


def invoke(daemon: Daemon, skill: str, tool: str, token: str | None = None) -> pb.Invocation:
    with daemon.channel(token) as channel:
        done: pb.Invocation = daemon.stub(channel).Invoke(
            pb.InvokeRequest(skill=skill, tool=tool, input_json="{}"), timeout=60
        )
        return done


def test_calls_approvals_and_failed_logins_move_the_metrics_by_exactly_as_much(
    scraped: Scraped,
) -> None:
    """An ok and a failing call, a denied approval and two refused tokens count once each."""
    daemon = scraped.daemon
    agent = create_token(daemon, "metered", "agent")
    before = scraped.samples()
    assert invoke(daemon, "probe", "echo").result.status == pb.STATUS_OK
    assert invoke(daemon, "probe", "fail").result.status == pb.STATUS_NONZERO_EXIT
    pending = invoke(daemon, "asks", "run", agent)
    waiting = scraped.samples()
    with daemon.channel() as channel:
        approvals_stub(channel).Decide(
            pb.DecideRequest(id=pending.approval_id, approve=False, reason="no"), timeout=30
        )
    for _ in range(2):  # the second reaches max_failures: that token is locked out
        with daemon.channel(BOGUS_TOKEN) as channel, pytest.raises(grpc.RpcError) as refused:
            daemon.stub(channel).ListSkills(pb.ListSkillsRequest(), timeout=10)
        assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
    after = scraped.samples()

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    calls = "skillrt_invocations_total"
    assert moved(calls, skill="probe", tool="echo", status="ok") == 1
    assert moved(calls, skill="probe", tool="fail", status="nonzero_exit") == 1
    assert moved(calls, skill="asks", tool="run", status="denied") == 1
    for tool in ("echo", "fail"):
        for histogram in ("duration", "queue"):
            name = f"skillrt_invocation_{histogram}_seconds_count"
            assert moved(name, skill="probe", tool=tool) == 1
    assert moved("skillrt_sandbox_peak_memory_bytes_count", skill="probe") == 2
    assert moved("skillrt_sandbox_cpu_seconds_total", skill="probe") > 0
    pending_now = "skillrt_approvals_pending"
    assert value(waiting, pending_now) - value(before, pending_now) == 1
    assert value(after, pending_now) == value(before, pending_now)
    assert moved("skillrt_approvals_decided_total", decision="denied") == 1
    assert moved("skillrt_auth_failures_total") == 2
    assert moved("skillrt_auth_lockouts_total") == 1
    assert value(after, "skillrt_audit_write_failures_total") == 0
    assert value(after, "skillrt_invocations_running") == 0
    assert value(after, "skillrt_pool_enabled") == 0


def test_only_get_metrics_is_served(scraped: Scraped) -> None:
    """The text format answers GET /metrics; another path or method is 404."""
    status, content_type, text = scraped.get("/metrics")
    assert (status, content_type) == (200, "text/plain; version=0.0.4; charset=utf-8")
    assert "# HELP skillrt_invocations_total " in text
    assert scraped.get("/")[0] == 404
    assert scraped.get("/metrics", method="POST")[0] == 404


def test_a_unix_socket_listener_serves_and_goes_with_the_daemon(fresh_daemon: Daemon) -> None:
    """Over `unix:PATH` the daemon serves its metrics on a 0600 socket, removed when it stops."""
    path = fresh_daemon.root / "metrics.sock"
    config = fresh_daemon.root / "skillrt.toml"
    config.write_text('[metrics]\nlisten = "unix:metrics.sock"\n')
    fresh_daemon.start("--config", str(config))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with socket.socket(socket.AF_UNIX) as scraper:
        scraper.settimeout(10)
        scraper.connect(str(path))
        scraper.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
        answer = b"".join(iter(lambda: scraper.recv(65536), b""))
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert b"\nskillrt_invocations_running 0.0\n" in answer
    assert fresh_daemon.stop() == 0
    assert not path.exists()
