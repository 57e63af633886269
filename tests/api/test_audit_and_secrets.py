"""The daemon's audit trail and secrets, end to end: real daemon, real sandboxes, real files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from runtime.audit.entry import Entry
from runtime.audit.events import (
    AUTH_FAILED,
    INVOCATION_FINISHED,
    INVOCATION_REQUESTED,
    INVOCATION_STARTED,
    RPC_CALLED,
    TOKEN_CREATED,
)
from runtime.audit.query import entries
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.proto.skillrt.v1 import skillrt_pb2_grpc as pb_grpc
from runtime.util import paths
from tests.api.conftest import BearerToken, Daemon, cleanup, make_daemon
from tests.approvals.conftest import create_token

SECRET = "s3cr3t-value-that-must-not-leak-8f2a"
OTHER_SECRET = "other-secret-nobody-declared-77c1"

LEAKY = """---
name: leaky
description: Prints the secrets it can see, for tests.
---
"""
LEAKY_TOML = """version = "1.0.0"

[permissions]
secrets = ["API_KEY"]

[[tools]]
name = "show"
entrypoint = ["/usr/bin/python3", "/skill/show.py"]
input_schema.type = "object"
"""
SHOW = """import json, os, sys
sys.stdin.read()
print(json.dumps({"api_key": os.environ.get("API_KEY"), "other": os.environ.get("OTHER_KEY")}))
print("stderr has " + os.environ.get("API_KEY", ""), file=sys.stderr)
"""


def skillrt(daemon: Daemon, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtime.cli.main", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=paths.PROJECT_ROOT,
        env={
            **os.environ,
            "SKILLRT_SOCKET": str(daemon.socket),
            "SKILLRT_TOKEN": daemon.owner_token,
        },
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def daemon() -> Iterator[Daemon]:
    instance = make_daemon()
    folder = instance.catalog / "leaky"
    folder.mkdir()
    (folder / "SKILL.md").write_text(LEAKY)
    (folder / "skill.toml").write_text(LEAKY_TOML)
    (folder / "show.py").write_text(SHOW)
    greedy = instance.catalog / "greedy"
    shutil.copytree(folder, greedy)
    (greedy / "SKILL.md").write_text(LEAKY.replace("name: leaky", "name: greedy"))
    (greedy / "skill.toml").write_text(LEAKY_TOML.replace('"API_KEY"', '"API_KEY", "OTHER_KEY"'))
    (instance.root / "skills-policy.toml").write_text(
        '[skills.leaky]\nsecrets = ["API_KEY"]\n[skills.greedy]\nsecrets = ["API_KEY"]\n'
    )
    state = str(instance.state_dir)
    for name, value in (("API_KEY", SECRET), ("OTHER_KEY", OTHER_SECRET)):
        done = skillrt(instance, "secrets", "set", name, "--state-dir", state, stdin=value)
        assert done.returncode == 0, done.stderr
    instance.start()
    yield instance
    cleanup(instance)


def events(daemon: Daemon) -> list[Entry]:
    return list(entries(daemon.state_dir / "audit.log"))


def test_declared_secret_is_injected_and_masked(daemon: Daemon, channel: grpc.Channel) -> None:
    """The skill gets its declared secret, never an undeclared one, and its output is masked."""
    result = (
        daemon.stub(channel)
        .Invoke(pb.InvokeRequest(skill="leaky", tool="show", input_json="{}"), timeout=60)
        .result
    )
    assert result.status == pb.STATUS_OK
    output = json.loads(result.output_json)
    assert output == {"api_key": "[REDACTED:API_KEY]", "other": None}
    assert SECRET.encode() not in result.stdout + result.stderr
    assert any("redacted" in v and "API_KEY" in v for v in result.violations)


def test_secret_not_granted_by_the_operator_is_not_found(
    daemon: Daemon, channel: grpc.Channel
) -> None:
    """A skill whose manifest declares a secret the operator did not grant it is listed
    unavailable naming it, and invoking it is NOT_FOUND; the granted skill still runs."""
    stub = daemon.stub(channel)
    listed = {s.name: s for s in stub.ListSkills(pb.ListSkillsRequest(), timeout=30).skills}
    assert not listed["greedy"].available
    assert "declares secret OTHER_KEY" in listed["greedy"].unavailable_reason
    assert listed["leaky"].available
    with pytest.raises(grpc.RpcError) as info:
        stub.Invoke(pb.InvokeRequest(skill="greedy", tool="show", input_json="{}"), timeout=60)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert "OTHER_KEY" in (info.value.details() or "")
    assert OTHER_SECRET not in daemon.logs()


def test_invocation_is_audited(daemon: Daemon, channel: grpc.Channel) -> None:
    """An invocation leaves requested, started and finished entries, with hashes, not input."""
    invocation = daemon.stub(channel).Invoke(
        pb.InvokeRequest(skill="probe", tool="echo", input_json='{"private": "do-not-log"}'),
        timeout=60,
    )
    daemon.stop()
    daemon.start()
    mine = [e for e in events(daemon) if e.fields.get("invocation_id") == invocation.id]
    kinds = [e.event for e in mine]
    assert INVOCATION_STARTED in kinds and INVOCATION_FINISHED in kinds
    finished = next(e for e in mine if e.event == INVOCATION_FINISHED)
    assert (finished.actor, finished.fields["status"]) == ("owner", "ok")
    requested = [
        e
        for e in events(daemon)
        if e.event == INVOCATION_REQUESTED and e.fields.get("tool") == "echo"
    ]
    assert requested and len(requested[-1].fields["input_hash"]) == 64
    assert "do-not-log" not in (daemon.state_dir / "audit.log").read_text()


def test_auth_failures_and_rpcs_are_audited(daemon: Daemon) -> None:
    """A failed authentication and each RPC with its principal are in the log."""
    with (
        grpc.intercept_channel(
            grpc.insecure_channel(daemon.target),
            BearerToken("skrt_bad"),
        ) as channel,
        pytest.raises(grpc.RpcError),
    ):
        pb_grpc.AdminStub(channel).Whoami(pb.WhoamiRequest(), timeout=10)  # type: ignore[no-untyped-call]
    create_token(daemon, "audited-agent", "agent")
    daemon.stop()
    daemon.start()
    kinds = {(e.event, e.actor) for e in events(daemon)}
    assert (AUTH_FAILED, "anonymous") in kinds
    assert (RPC_CALLED, "owner") in kinds
    assert (TOKEN_CREATED, "owner") in kinds


def test_daemon_log_verifies(daemon: Daemon) -> None:
    """The daemon's audit log passes `skillrt audit verify`."""
    proc = skillrt(daemon, "audit", "verify", "--state-dir", str(daemon.state_dir))
    assert proc.returncode == 0, proc.stderr


def test_query_audit_rpc(daemon: Daemon, channel: grpc.Channel) -> None:
    """Owners query the audit log over gRPC; agents may not."""
    stub = pb_grpc.AdminStub(channel)  # type: ignore[no-untyped-call]
    found = stub.QueryAudit(pb.QueryAuditRequest(events=["token.*"]), timeout=10)
    assert found.entries and all(e.event.startswith("token.") for e in found.entries)
    agent = create_token(daemon, "nosy-agent", "agent")
    with daemon.channel(agent) as agent_channel, pytest.raises(grpc.RpcError) as info:
        pb_grpc.AdminStub(agent_channel).QueryAudit(pb.QueryAuditRequest(), timeout=10)  # type: ignore[no-untyped-call]
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_no_secret_value_in_logs_or_audit(daemon: Daemon, channel: grpc.Channel) -> None:
    """Neither secret value appears in the daemon's logs, the audit log or the database files."""
    daemon.stub(channel).Invoke(
        pb.InvokeRequest(skill="leaky", tool="show", input_json="{}"), timeout=60
    )
    daemon.stop()
    daemon.start()
    places: dict[str, bytes] = {"logs": daemon.logs().encode()}
    for file in Path(daemon.state_dir).iterdir():
        if file.is_file() and not file.name.endswith(".key"):
            places[file.name] = file.read_bytes()
    for where, data in places.items():
        for value in (SECRET, OTHER_SECRET):
            assert value.encode() not in data, f"a secret value is in {where}"
