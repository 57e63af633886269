"""The approval flow from the command line: invoke, list, approve, read the result; what
`invoke --wait` says while it waits and when it stops; exit codes of denied calls and bad input."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest

from runtime.cli.main import main
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.util import paths
from tests.approvals.conftest import Gate, approvals_stub


def skillrt(gate: Gate, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtime.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=paths.PROJECT_ROOT,
        env={**os.environ, "SKILLRT_SOCKET": str(gate.daemon.socket), "SKILLRT_TOKEN": token},
        timeout=60,
        check=False,
    )


def test_cli_approval_flow(gate: Gate) -> None:
    """An agent's pending call is listed for the approver, approved, and its result readable."""
    asked = skillrt(gate, gate.agent, "invoke", "gated", "held", "--input", '{"c": 1}', "--json")
    assert asked.returncode == 0, asked.stderr
    pending = json.loads(asked.stdout)
    assert pending["status"] == "pending_approval"

    listed = skillrt(gate, gate.approver, "approvals", "list", "--state", "pending", "--json")
    mine = [a for a in json.loads(listed.stdout) if a["id"] == pending["approval_id"]]
    assert mine and mine[0]["input"] == {"c": 1} and mine[0]["requested_by"] == "agent-7"

    approved = skillrt(gate, gate.approver, "approvals", "approve", pending["approval_id"])
    assert approved.returncode == 0, approved.stderr
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = json.loads(
            skillrt(gate, gate.agent, "status", pending["invocation_id"], "--json").stdout
        )
        if status["state"] == "finished":
            break
        time.sleep(0.1)
    assert status["result"]["output"] == {"secret_report": {"c": 1}}


def test_cli_deny_needs_a_reason(gate: Gate) -> None:
    """`approvals deny` without --reason is a one-line usage error."""
    proc = skillrt(gate, gate.approver, "approvals", "deny", "apr_x")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "--reason" in proc.stderr


def _pending(gate: Gate) -> pb.Invocation:
    """A call of `mark` awaiting approval, made over gRPC (not what these tests are about)."""
    with gate.daemon.channel(gate.agent) as channel:
        request = pb.InvokeRequest(skill="gated", tool="mark", input_json="{}")
        pending: pb.Invocation = gate.daemon.stub(channel).Invoke(request, timeout=60)
    assert pending.result.status == pb.STATUS_PENDING_APPROVAL
    return pending


def _decide(gate: Gate, approval_id: str, *, approve: bool) -> None:
    with gate.daemon.channel(gate.approver) as channel:
        approvals_stub(channel).Decide(
            pb.DecideRequest(id=approval_id, approve=approve, reason="test"), timeout=30
        )


def _state(gate: Gate, invocation_id: str) -> int:
    with gate.daemon.channel(gate.agent) as channel:
        found: pb.Invocation = gate.daemon.stub(channel).GetInvocation(
            pb.GetInvocationRequest(id=invocation_id), timeout=10
        )
    return int(found.state)


def test_an_approver_reads_the_calls_scope_in_words(gate: Gate) -> None:
    """`approvals list` shows what the pending call may reach, in the words `skillrt vet`
    uses: host paths, profile, limits, and that the tool is elevated and approved first."""
    asked = _pending(gate)
    listed = skillrt(gate, gate.approver, "approvals", "list", "--state", "pending")
    assert listed.returncode == 0, listed.stderr
    shown = listed.stdout.split(asked.approval_id, 1)[1].split("\napr_", 1)[0].splitlines()
    assert "    network: none" in shown and "    secrets: none" in shown
    assert f"    host paths: {gate.marker.directory}, read-only" in shown
    assert "    profile: default" in shown
    assert "    approval: elevated; a person approves each call before it runs" in shown
    assert any(line.startswith("    limits: memory ") for line in shown)
    as_json = skillrt(gate, gate.approver, "approvals", "list", "--state", "pending", "--json")
    (mine,) = [a for a in json.loads(as_json.stdout) if a["id"] == asked.approval_id]
    assert (mine["profile"], mine["elevated"]) == ("default", True)


def test_invoke_wait_names_the_approval_and_says_how_to_follow_it(gate: Gate) -> None:
    """--wait prints the approval id while waiting; when its --timeout ends first, it says the
    approval is still pending (exit 1) and how to follow it, and the daemon keeps the call."""
    waited = skillrt(
        gate,
        gate.agent,
        "invoke",
        "gated",
        "mark",
        "--input",
        '{"w": 1}',
        "--wait",
        "--timeout",
        "1",
    )
    assert waited.returncode == 1, waited.stderr
    waiting, stopped = waited.stderr.splitlines()
    approval = re.search(r"waiting for approval (apr_\w+)", waiting)
    assert approval is not None, waiting
    invocation = waited.stdout.split()[0]
    assert f"approval {approval[1]} is still pending" in stopped
    assert f"`skillrt status {invocation}`" in stopped and "skillrt approvals list" in stopped
    assert "status: pending_approval" in waited.stdout
    assert _state(gate, invocation) == pb.INVOCATION_STATE_AWAITING_APPROVAL


def test_status_of_a_denied_call_exits_1(gate: Gate) -> None:
    """A call a person denied reads as denied, and `status` exits 1: the call failed."""
    asked = _pending(gate)
    _decide(gate, asked.approval_id, approve=False)
    deadline = time.monotonic() + 30
    while _state(gate, asked.id) != pb.INVOCATION_STATE_FINISHED:
        assert time.monotonic() < deadline, "the denied call never finished"
        time.sleep(0.05)
    status = skillrt(gate, gate.agent, "status", asked.id)
    assert status.returncode == 1 and "status: denied" in status.stdout


def test_invoke_wait_prints_the_result_once_approved(gate: Gate) -> None:
    """--wait follows the call through the approval to its result, and exits 0."""
    env = {**os.environ, "SKILLRT_SOCKET": str(gate.daemon.socket), "SKILLRT_TOKEN": gate.agent}
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runtime.cli.main",
            "invoke",
            "gated",
            "mark",
            "--input",
            '{"w": 2}',
            "--wait",
            "--json",
        ],
        cwd=paths.PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as waiting:
        assert waiting.stderr is not None
        approval = re.search(r"waiting for approval (apr_\w+)", waiting.stderr.readline())
        assert approval is not None
        _decide(gate, approval[1], approve=True)
        out, _ = waiting.communicate(timeout=60)
    assert waiting.returncode == 0
    assert json.loads(out)["output"] == {"secret_report": {"w": 2}}


def test_input_the_schema_refuses_exits_2_in_invoke_as_in_run(
    gate: Gate, capsys: pytest.CaptureFixture[str]
) -> None:
    """Invalid input is a usage error (exit 2) whether the daemon or the CLI finds it."""
    invoked = skillrt(gate, gate.agent, "invoke", "gated", "mark", "--input", "[1]")
    assert invoked.returncode == 2 and invoked.stderr.count("\n") == 1, invoked.stderr
    assert "INVALID_ARGUMENT" in invoked.stderr and "is not of type 'object'" in invoked.stderr
    # `run` refuses the input before any sandbox starts: in this process, to save a start.
    folder = str(gate.daemon.catalog / "gated")
    assert main(["run", folder, "--tool", "mark", "--input", "[1]"]) == 2
    assert "is not of type 'object'" in capsys.readouterr().err
