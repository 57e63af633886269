"""Elevated tools wait for a person: over the real daemon, with real sandboxes."""

from __future__ import annotations

import base64
import json
import re
import threading
import time

import grpc
import pytest

from runtime.audit.query import entries
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from tests.approvals.conftest import Gate, approvals_stub


def invoke(gate: Gate, tool: str, payload: object, **fields: object) -> pb.Invocation:
    with gate.daemon.channel(gate.agent) as channel:
        request = pb.InvokeRequest(
            skill="gated", tool=tool, input_json=json.dumps(payload), **fields
        )
        result: pb.Invocation = gate.daemon.stub(channel).Invoke(request, timeout=60)
        return result


def get(gate: Gate, invocation_id: str) -> pb.Invocation:
    with gate.daemon.channel(gate.agent) as channel:
        found: pb.Invocation = gate.daemon.stub(channel).GetInvocation(
            pb.GetInvocationRequest(id=invocation_id), timeout=10
        )
        return found


def decide(gate: Gate, approval_id: str, approve: bool, token: str | None = None) -> pb.Approval:
    with gate.daemon.channel(token or gate.approver) as channel:
        decided: pb.Approval = approvals_stub(channel).Decide(
            pb.DecideRequest(id=approval_id, approve=approve, reason="test"), timeout=30
        )
        return decided


def wait_finished(gate: Gate, invocation_id: str, timeout: float = 30) -> pb.Invocation:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = get(gate, invocation_id)
        if found.state == pb.INVOCATION_STATE_FINISHED:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{invocation_id} did not finish")


def test_before_run_runs_nothing_until_approved(gate: Gate) -> None:
    """A before_run tool returns pending at once and leaves no marker until it is approved."""
    pending = invoke(gate, "mark", {"n": 1})
    assert pending.result.status == pb.STATUS_PENDING_APPROVAL
    assert pending.approval_id.startswith("apr_") and len(pending.approval_id) == 4 + 32
    time.sleep(0.5)
    assert gate.marker.lines == []
    decide(gate, pending.approval_id, approve=True)
    finished = wait_finished(gate, pending.id)
    assert finished.result.status == pb.STATUS_OK
    assert gate.marker.lines == [b'{"n": 1}\n']


def test_denied_before_run_never_runs(gate: Gate) -> None:
    """A denied before_run request ends denied and its tool never runs."""
    before = len(gate.marker.lines)
    pending = invoke(gate, "mark", {"n": 2})
    decide(gate, pending.approval_id, approve=False)
    finished = wait_finished(gate, pending.id)
    assert finished.result.status == pb.STATUS_DENIED
    assert "denied by alice: test" in finished.result.error
    time.sleep(0.3)
    assert len(gate.marker.lines) == before


def test_before_return_withholds_output_until_approved(gate: Gate) -> None:
    """A before_return tool runs, but its output reaches the agent only after approval."""
    pending = invoke(gate, "held", {"q": "x"})
    assert pending.result.status == pb.STATUS_PENDING_APPROVAL
    assert pending.result.output_json == "" and pending.result.stdout == b""
    again = get(gate, pending.id)
    assert again.result.status == pb.STATUS_PENDING_APPROVAL and again.result.output_json == ""
    decide(gate, pending.approval_id, approve=True)
    released = wait_finished(gate, pending.id)
    assert released.result.status == pb.STATUS_OK
    assert json.loads(released.result.output_json) == {"secret_report": {"q": "x"}}


def test_a_released_result_is_audited_as_finished(gate: Gate) -> None:
    """Releasing a held result records the call's end, with its status and usage, like any."""
    pending = invoke(gate, "held", {"q": "audited"})
    decide(gate, pending.approval_id, approve=True)
    wait_finished(gate, pending.id)
    ends = [
        e.fields
        for e in entries(gate.daemon.state_dir / "audit.log")
        if e.event == "invocation.finished" and e.fields.get("invocation_id") == pending.id
    ]
    assert len(ends) == 1
    assert ends[0]["status"] == "ok" and ends[0]["tool"] == "held"
    assert ends[0]["usage"]["wall_ms"] > 0


def test_before_return_denial_discards_output(gate: Gate) -> None:
    """A denied before_return result is discarded: the agent never sees the output."""
    pending = invoke(gate, "held", {"q": "secret"})
    decide(gate, pending.approval_id, approve=False)
    finished = wait_finished(gate, pending.id)
    assert finished.result.status == pb.STATUS_DENIED
    assert finished.result.output_json == "" and b"secret" not in finished.result.stdout


def test_before_return_denial_leaves_no_output_on_disk(gate: Gate) -> None:
    """A denied before_return output is gone from the database file's free pages and its WAL."""
    pending = invoke(gate, "held", {"q": "scrub"})
    decide(gate, pending.approval_id, approve=False)
    wait_finished(gate, pending.id)
    stdout = b'{"secret_report": {"q": "scrub"}}'
    as_output = re.compile(rb'secret_report"\s*:\s*\{\s*"q"\s*:\s*"scrub"')
    as_stdout = base64.b64encode(stdout)[:40]  # the result keeps stdout in base64
    files = sorted(gate.daemon.state_dir.glob("*.db*"))
    assert files
    for path in files:
        raw = path.read_bytes()
        assert as_output.search(raw) is None and as_stdout not in raw, path.name


def test_unanswered_request_expires_closed(gate: Gate) -> None:
    """A request nobody answers in time ends approval_expired and can no longer be approved."""
    pending = invoke(gate, "hasty", {"late": True})
    finished = wait_finished(gate, pending.id, timeout=15)
    assert finished.result.status == pb.STATUS_APPROVAL_EXPIRED
    with pytest.raises(grpc.RpcError) as info:
        decide(gate, pending.approval_id, approve=True)
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_approval_cannot_be_reused_for_other_input(gate: Gate) -> None:
    """An approval is bound to its input: another input is refused, and it is used up once."""
    pending = invoke(gate, "mark", {"n": 3})
    decide(gate, pending.approval_id, approve=True)
    wait_finished(gate, pending.id)
    with pytest.raises(grpc.RpcError) as info:
        invoke(gate, "mark", {"n": 999}, approval_id=pending.approval_id)
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as info:
        invoke(gate, "mark", {"n": 3}, approval_id=pending.approval_id)
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_requester_cannot_approve_itself(gate: Gate) -> None:
    """A principal may never approve its own request, whatever its role."""
    with gate.daemon.channel() as channel:  # the owner asks...
        pending = gate.daemon.stub(channel).Invoke(
            pb.InvokeRequest(skill="gated", tool="mark", input_json='{"self": 1}'), timeout=30
        )
    with pytest.raises(grpc.RpcError) as info:  # ...and may not approve
        decide(gate, pending.approval_id, approve=True, token=gate.daemon.owner_token)
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_agent_cannot_decide(gate: Gate) -> None:
    """Agents have no access to the Approvals service."""
    pending = invoke(gate, "mark", {"n": 4})
    with pytest.raises(grpc.RpcError) as info:
        decide(gate, pending.approval_id, approve=True, token=gate.agent)
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    decide(gate, pending.approval_id, approve=False)


def test_concurrent_decisions_first_wins(gate: Gate) -> None:
    """Two operators deciding at once: exactly one decision is recorded, the other refused."""
    pending = invoke(gate, "held", {"race": 1})
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def operator(token: str, approve: bool) -> None:
        barrier.wait()
        try:
            decided = decide(gate, pending.approval_id, approve=approve, token=token)
            outcomes.append(f"won:{decided.decided_by}")
        except grpc.RpcError as exc:
            outcomes.append(exc.code().name)

    threads = [
        threading.Thread(target=operator, args=(gate.approver, True)),
        threading.Thread(target=operator, args=(gate.second_approver, False)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(o.split(":")[0] for o in outcomes) == ["FAILED_PRECONDITION", "won"]
    winner = next(o.split(":")[1] for o in outcomes if o.startswith("won"))
    final = wait_finished(gate, pending.id)
    assert final.result.status == (pb.STATUS_OK if winner == "alice" else pb.STATUS_DENIED)


def test_request_shows_what_a_person_needs(gate: Gate) -> None:
    """A listed request carries skill, tool, full input, limits, permissions, asker and expiry."""
    pending = invoke(gate, "mark", {"show": "everything"})
    with gate.daemon.channel(gate.approver) as channel:
        listed = approvals_stub(channel).ListApprovals(
            pb.ListApprovalsRequest(state=pb.APPROVAL_STATE_PENDING), timeout=10
        )
    approval = next(a for a in listed.approvals if a.id == pending.approval_id)
    assert (approval.skill, approval.tool, approval.requested_by) == ("gated", "mark", "agent-7")
    assert json.loads(approval.input_json) == {"show": "everything"}
    assert approval.limits.memory_bytes == 256 * 1024 * 1024
    assert list(approval.permissions.readonly_paths) == [str(gate.marker.directory)]
    assert approval.expires_at_ms > approval.created_at_ms
    decide(gate, pending.approval_id, approve=False)


def test_stream_shows_pending_then_result(gate: Gate) -> None:
    """InvokeStream emits a pending-approval event, then the run's events once approved."""
    with gate.daemon.channel(gate.agent) as channel:
        stream = gate.daemon.stub(channel).InvokeStream(
            pb.InvokeRequest(skill="gated", tool="mark", input_json='{"s": 1}'), timeout=60
        )
        assert next(stream).WhichOneof("event") == "accepted"
        pending = next(stream)
        assert pending.WhichOneof("event") == "pending_approval"
        decide(gate, pending.pending_approval.approval_id, approve=True)
        rest = [e.WhichOneof("event") for e in stream]
    assert rest[0] == "started" and rest[-1] == "finished"


def test_wait_for_approval_returns_the_result(gate: Gate) -> None:
    """With wait_for_approval the call blocks until the decision and returns the final result."""
    results: list[pb.Invocation] = []
    thread = threading.Thread(
        target=lambda: results.append(invoke(gate, "mark", {"w": 1}, wait_for_approval=True))
    )
    thread.start()
    with gate.daemon.channel(gate.approver) as channel:
        watch = approvals_stub(channel).WatchApprovals(pb.WatchApprovalsRequest(), timeout=30)
        for approval in watch:
            if json.loads(approval.input_json) == {"w": 1}:
                decide(gate, approval.id, approve=True)
                watch.cancel()
                break
    thread.join(timeout=30)
    assert results and results[0].result.status == pb.STATUS_OK
