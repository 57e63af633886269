"""The approval flow from the command line: invoke, list, approve, read the result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from runtime.util import paths
from tests.approvals.conftest import Gate


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
