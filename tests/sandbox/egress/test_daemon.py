"""The daemon runs the egress proxy in its own event loop: an allowlist skill invoked over gRPC
gets its denied attempt as a violation, and each decision is logged as it happens."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest

from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.util import paths
from tests.api.conftest import Daemon, cleanup, make_daemon


@pytest.fixture(scope="module")
def daemon() -> Iterator[Daemon]:
    instance = make_daemon()
    shutil.copytree(
        paths.PROJECT_ROOT / "skills_catalog" / "http-fetch", instance.catalog / "http-fetch"
    )
    instance.start()
    yield instance
    cleanup(instance)


def test_denied_egress_is_a_violation_over_grpc(daemon: Daemon) -> None:
    """Invoke returns the proxy's refusal as a violation, and the daemon logs the decision."""
    request = pb.InvokeRequest(
        skill="http-fetch", tool="fetch", input_json=json.dumps({"url": "http://blocked.test/"})
    )
    with daemon.channel() as channel:
        response = daemon.stub(channel).Invoke(request, timeout=30)
    violation = "egress denied: blocked.test:80 (not on the allowlist)"
    assert list(response.result.violations) == [violation]
    logged = [json.loads(line) for line in daemon.logs().splitlines() if '"egress"' in line]
    assert [(e["invocation_id"], e["host"], e["allowed"]) for e in logged] == [
        (response.id, "blocked.test", False)
    ]


def test_egress_decision_in_result_and_audit(daemon: Daemon) -> None:
    """Each egress decision is in the gRPC result's egress list and in the audit log."""
    from runtime.audit import events, query

    request = pb.InvokeRequest(
        skill="http-fetch", tool="fetch", input_json=json.dumps({"url": "http://elsewhere.test/"})
    )
    with daemon.channel() as channel:
        response = daemon.stub(channel).Invoke(request, timeout=30)
    attempts = [(a.host, a.port, a.allowed) for a in response.result.egress]
    assert attempts == [("elsewhere.test", 80, False)]
    daemon.stop()
    daemon.start()
    entries = [
        e
        for e in query.entries(daemon.state_dir / "audit.log")
        if e.event == events.EGRESS_DECIDED and e.fields.get("invocation_id") == response.id
    ]
    assert [(e.fields["host"], e.fields["allowed"]) for e in entries] == [("elsewhere.test", False)]


def test_viewer_sees_no_violations_of_others(daemon: Daemon) -> None:
    """A viewer reading another principal's invocation sees how it went, not the host it named."""
    from runtime.proto.skillrt.v1 import skillrt_pb2_grpc as pb_grpc

    request = pb.InvokeRequest(
        skill="http-fetch", tool="fetch", input_json=json.dumps({"url": "http://named.test/"})
    )
    with daemon.channel() as channel:
        mine = daemon.stub(channel).Invoke(request, timeout=30)
        admin = pb_grpc.AdminStub(channel)  # type: ignore[no-untyped-call]
        viewer = admin.CreateToken(pb.CreateTokenRequest(name="v", role="viewer")).token
    assert mine.result.violations
    with daemon.channel(viewer) as channel:
        seen = daemon.stub(channel).GetInvocation(pb.GetInvocationRequest(id=mine.id), timeout=10)
    assert seen.result.status == mine.result.status
    assert list(seen.result.violations) == [] and list(seen.result.egress) == []
    assert "named.test" not in str(seen)
