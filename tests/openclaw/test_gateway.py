"""The real OpenClaw gateway with the skillrt plugin: the agent's own tools run in skillrt."""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

from runtime.audit.query import entries
from runtime.client import Client
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from tests.openclaw.conftest import Lane
from tests.openclaw.fake_model import ToolCall


def _run(lane: Lane, name: str, *calls: ToolCall, key: str = "") -> list[str]:
    """One agent run (in session ``key``, default ``name``) whose model makes ``calls``; what
    each tool answered."""
    trigger = f"TRIGGER-{name}"
    lane.model.script(trigger, *calls)
    answer = lane.gateway.agent(key or name, f"{trigger}: please go ahead")
    assert answer.get("ok", True) is not False, answer
    return lane.model.results(trigger)


def _exec(command: str, **extra: Any) -> ToolCall:
    return ToolCall(name="exec", arguments={"command": command, **extra})


def test_exec_runs_in_a_skillrt_sandbox(lane: Lane) -> None:
    """The agent's exec runs as nobody, PID 1 of its own namespaces, audited under its session."""
    (result,) = _run(
        lane, "exec", _exec("id -u; echo pid=$$; readlink /proc/self/ns/pid /proc/self/ns/net")
    )
    uid, pid, pid_ns, net_ns = result.split()
    assert (uid, pid) == ("65534", "pid=1")
    assert pid_ns != os.readlink("/proc/self/ns/pid")
    assert net_ns != os.readlink("/proc/self/ns/net")
    session = lane.gateway.session_of("exec")
    wanted = {"invocation.requested", "invocation.finished"}
    deadline = time.monotonic() + 15  # the audit writer runs off the daemon's event loop
    while not wanted <= (audited := _audited(lane, session)):
        assert time.monotonic() < deadline, f"not audited: {wanted - audited}"
        time.sleep(0.1)


def _audited(lane: Lane, session: str) -> set[str]:
    return {
        e.event
        for e in entries(lane.daemon.state_dir / "audit.log")
        if e.fields.get("skill") == session and e.actor == "openclaw"
    }


def test_file_written_by_write_is_read_back_by_exec(lane: Lane) -> None:
    """write goes through the session's file bridge; exec and read see the same file."""
    text = "written by the agent's write tool\n"
    wrote, catted, read = _run(
        lane,
        "files",
        ToolCall(name="write", arguments={"path": "notes/hello.txt", "content": text}),
        _exec("cat notes/hello.txt"),
        ToolCall(name="read", arguments={"path": "notes/hello.txt"}),
    )
    assert "hello.txt" in wrote
    assert catted.strip() == text.strip()
    assert text.strip() in read


def test_host_files_and_network_are_out_of_reach(lane: Lane) -> None:
    """/etc/shadow cannot be read; neither the gateway's loopback nor the internet is reachable."""
    probe = (
        "import socket, sys\n"
        "for address in [('127.0.0.1', int(sys.argv[1])), ('1.1.1.1', 80)]:\n"
        "    try:\n"
        "        socket.create_connection(address, timeout=3)\n"
        "        print('reached', address[0])\n"
        "    except OSError as error:\n"
        "        print('unreachable', address[0], error.errno)\n"
    )
    _, shadow, reach = _run(
        lane,
        "reach",
        ToolCall(name="write", arguments={"path": "probe.py", "content": probe}),
        _exec("cat /etc/shadow; echo shadow=$?"),
        # The model server on the gateway's loopback is what answers this very agent run.
        _exec(f"python3 probe.py {lane.model_port}"),
    )
    assert "shadow=1" in shadow, shadow
    assert "reached" not in reach and reach.count("unreachable") == 2, reach


def test_command_matching_an_approve_rule_waits_for_a_person(lane: Lane) -> None:
    """An exec matching [sessions.commands.workspace] approve runs only once approved."""
    results: list[list[str]] = []
    runner = threading.Thread(
        target=lambda: results.append(
            _run(lane, "approve", _exec("echo git push origin main", yieldMs=120_000))
        )
    )
    runner.start()
    with Client(lane.daemon.target, token=lane.approver) as approver:
        deadline = time.monotonic() + 120
        while True:
            pending = [
                a
                for a in approver.list_approvals(pb.APPROVAL_STATE_PENDING)
                if "git push origin main" in a.input_json
            ]
            if pending:
                break
            assert runner.is_alive(), f"the run ended without asking: {results}"
            assert time.monotonic() < deadline, "no approval request appeared"
            time.sleep(0.2)
        time.sleep(1)
        assert runner.is_alive(), "the command did not wait for the approval"
        approver.decide(pending[0].id, approve=True, reason="the lane approves")
    runner.join(timeout=240)
    ((output,),) = results
    # The model saw why the command waited, then its output.
    note, printed = output.strip().splitlines()
    assert "needs a person's approval" in note and pending[0].id in note
    assert printed == "git push origin main"
    assert pending[0].skill == lane.gateway.session_of("approve")


def test_tools_invoke_runs_a_bundled_json_tool(lane: Lane) -> None:
    """POST /tools/invoke of skillrt_invoke runs text-stats analyze in skillrt."""
    status, answer = lane.gateway.tools_invoke(
        "skillrt_invoke",
        {"skill": "text-stats", "tool": "analyze", "input": {"text": "Hello, sandbox. Bye."}},
    )
    assert status == 200, answer
    details = answer["result"]["details"]
    assert (details["skill"], details["tool"]) == ("text-stats", "analyze")
    assert details["output"]["words"] == 3
    assert details["invocationId"].startswith("inv_")


def test_skillrt_skills_lists_the_catalog(lane: Lane) -> None:
    """skillrt_skills shows the daemon's skills with their tools' input schemas."""
    status, answer = lane.gateway.tools_invoke("skillrt_skills", {})
    assert status == 200, answer
    text = answer["result"]["content"][0]["text"]
    assert "text-stats (tool skill)" in text and "- analyze" in text and "input schema" in text


def test_sandbox_list_and_recreate_manage_the_session(lane: Lane) -> None:
    """sandbox list shows the session running; recreate destroys it; the next run gets a new one."""
    _run(lane, "lifecycle", _exec("echo kept > kept.txt"))
    first = lane.gateway.session_of("lifecycle")
    listed = lane.gateway.openclaw("sandbox", "list", "--json")
    (entry,) = [
        c
        for c in json.loads(listed.stdout)["containers"]
        if c["sessionKey"].startswith("agent:main:lifecycle:")
    ]
    assert (entry["backendId"], entry["running"], entry["imageMatch"]) == ("skillrt", True, True)
    removed = lane.gateway.openclaw(
        "sandbox", "recreate", "--session", entry["sessionKey"], "--force"
    )
    assert removed.returncode == 0, removed.stderr
    with Client(lane.daemon.target, token=lane.daemon.owner_token) as owner:
        assert first not in {s.id for s in owner.list_sessions()}
    (again,) = _run(lane, "lifecycle-again", _exec("cat kept.txt; echo rc=$?"), key="lifecycle")
    assert "rc=1" in again  # a new session: a new, empty workspace
    assert lane.gateway.session_of("lifecycle") != first


def test_tool_needing_approval_answers_pending_then_its_result(lane: Lane) -> None:
    """skillrt_invoke of an elevated tool says so at once; once approved, skillrt_result has it."""
    status, answer = lane.gateway.tools_invoke(
        "skillrt_invoke", {"skill": "python-exec", "tool": "run", "input": {"code": "print(6 * 7)"}}
    )
    assert status == 200, answer
    details = answer["result"]["details"]
    assert details["pendingApproval"] is True
    assert (
        f"skillrt approvals approve {details['approvalId']}"
        in answer["result"]["content"][0]["text"]
    )
    with Client(lane.daemon.target, token=lane.approver) as approver:
        approver.decide(details["approvalId"], approve=True, reason="the lane approves")
    deadline = time.monotonic() + 60
    while True:
        status, answer = lane.gateway.tools_invoke(
            "skillrt_result", {"invocation_id": details["invocationId"]}
        )
        assert status == 200, answer
        if "still running" not in answer["result"]["content"][0]["text"]:
            break
        assert time.monotonic() < deadline, answer
        time.sleep(0.5)
    assert "42" in answer["result"]["content"][0]["text"], answer
