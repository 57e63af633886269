"""Standing rules bound to a skill's content, and approvals that outlive the daemon."""

from __future__ import annotations

import json
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from runtime.audit.entry import Entry
from runtime.audit.query import entries
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from tests.approvals.conftest import Gate, approvals_stub
from tests.approvals.test_gate import decide, get, invoke, wait_finished


def add_rule(gate: Gate, effect: str, tool: str, schema: object = None) -> pb.Rule:
    with gate.daemon.channel() as channel:  # admins and owners manage rules
        rule: pb.Rule = approvals_stub(channel).CreateRule(
            pb.CreateRuleRequest(
                effect=effect,
                skill="gated",
                tool=tool,
                input_schema_json=json.dumps(schema) if schema is not None else "",
                reason="test",
            ),
            timeout=10,
        )
        return rule


def delete_rule(gate: Gate, rule_id: str) -> None:
    with gate.daemon.channel() as channel:
        approvals_stub(channel).DeleteRule(pb.DeleteRuleRequest(id=rule_id), timeout=10)


def test_allow_rule_skips_approval_for_matching_input(fresh_gate: Gate) -> None:
    """An allow rule lets matching input run at once; other input still needs approval."""
    add_rule(fresh_gate, "allow", "held", {"properties": {"q": {"const": "ok"}}, "required": ["q"]})
    allowed = invoke(fresh_gate, "held", {"q": "ok"})
    assert allowed.result.status == pb.STATUS_OK
    other = invoke(fresh_gate, "held", {"q": "other"})
    assert other.result.status == pb.STATUS_PENDING_APPROVAL


def test_deny_rule_wins(fresh_gate: Gate) -> None:
    """When an allow rule and a deny rule both match, the call is denied without running."""
    add_rule(fresh_gate, "allow", "mark")
    deny = add_rule(fresh_gate, "deny", "mark")
    denied = invoke(fresh_gate, "mark", {"n": 1})
    assert denied.result.status == pb.STATUS_DENIED
    assert deny.id in denied.result.violations[0]
    time.sleep(0.3)
    assert fresh_gate.marker.lines == []


def test_deleted_rule_no_longer_applies(fresh_gate: Gate) -> None:
    """Once an allow rule is deleted, the tool needs approval again."""
    rule = add_rule(fresh_gate, "allow", "held")
    assert invoke(fresh_gate, "held", {"d": 1}).result.status == pb.STATUS_OK
    delete_rule(fresh_gate, rule.id)
    assert invoke(fresh_gate, "held", {"d": 2}).result.status == pb.STATUS_PENDING_APPROVAL


def test_changed_skill_invalidates_rule(fresh_gate: Gate) -> None:
    """A new version of the skill (new content hash) matches no old rule: approval again."""
    add_rule(fresh_gate, "allow", "held")
    assert invoke(fresh_gate, "held", {"v": 1}).result.status == pb.STATUS_OK
    code = fresh_gate.daemon.catalog / "gated" / "gated.py"
    code.write_text(code.read_text() + "\n# a change\n")
    assert invoke(fresh_gate, "held", {"v": 2}).result.status == pb.STATUS_PENDING_APPROVAL


def test_skill_changed_while_waiting_is_not_run(fresh_gate: Gate) -> None:
    """An approval is for the skill as it was: if it changed meanwhile, the run is refused."""
    pending = invoke(fresh_gate, "mark", {"n": 5})
    code = fresh_gate.daemon.catalog / "gated" / "gated.py"
    code.write_text(code.read_text() + "\n# a change\n")
    decide(fresh_gate, pending.approval_id, approve=True)
    finished = wait_finished(fresh_gate, pending.id)
    assert finished.result.status == pb.STATUS_DENIED
    assert "skill changed" in finished.result.error
    assert fresh_gate.marker.lines == []


def test_pending_approval_survives_restart(fresh_gate: Gate) -> None:
    """A pending request survives a daemon crash and restart, and runs once approved."""
    pending = invoke(fresh_gate, "mark", {"n": 6})
    fresh_gate.daemon.stop(signal.SIGKILL)
    fresh_gate.daemon.start("--config", str(fresh_gate.daemon.root / "skillrt.toml"))
    assert get(fresh_gate, pending.id).result.status == pb.STATUS_PENDING_APPROVAL
    with fresh_gate.daemon.channel(fresh_gate.approver) as channel:
        listed = approvals_stub(channel).ListApprovals(
            pb.ListApprovalsRequest(state=pb.APPROVAL_STATE_PENDING), timeout=10
        )
    assert [a.id for a in listed.approvals] == [pending.approval_id]
    decide(fresh_gate, pending.approval_id, approve=True)
    assert wait_finished(fresh_gate, pending.id).result.status == pb.STATUS_OK
    assert fresh_gate.marker.lines == [b'{"n": 6}\n']


def test_agent_cannot_manage_rules(fresh_gate: Gate) -> None:
    """Agents cannot create standing rules for themselves."""
    with (
        fresh_gate.daemon.channel(fresh_gate.agent) as channel,
        pytest.raises(grpc.RpcError) as info,
    ):
        approvals_stub(channel).CreateRule(
            pb.CreateRuleRequest(effect="allow", skill="gated", tool="mark"), timeout=10
        )
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_rule_with_unresolvable_reference_is_refused(fresh_gate: Gate) -> None:
    """A rule whose schema points nowhere is INVALID_ARGUMENT when created."""
    with pytest.raises(grpc.RpcError) as info:
        add_rule(fresh_gate, "allow", "held", {"$ref": "#/$defs/nope"})
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_deny_rule_beats_an_earlier_approval(fresh_gate: Gate) -> None:
    """A deny rule added after an approval still stops a call that names that approval."""
    pending = invoke(fresh_gate, "mark", {"late-deny": 1})
    decide(fresh_gate, pending.approval_id, approve=True)
    wait_finished(fresh_gate, pending.id)
    add_rule(fresh_gate, "deny", "mark")
    again = invoke(fresh_gate, "mark", {"late-deny": 1}, approval_id=pending.approval_id)
    assert again.result.status == pb.STATUS_DENIED


def test_rule_pattern_runs_in_linear_time(fresh_gate: Gate) -> None:
    """A rule's `^(a+)+$` pattern meets a hostile input at once; a backreference, which RE2
    cannot run, is refused when the rule is created."""
    deny_unless_as = {"properties": {"q": {"not": {"pattern": "^(a+)+$"}}}}
    add_rule(fresh_gate, "deny", "mark", deny_unless_as)
    denied = invoke(fresh_gate, "mark", {"q": "a" * 34 + "!"})  # minutes on Python's re
    assert denied.result.status == pb.STATUS_DENIED
    with pytest.raises(grpc.RpcError) as info:
        add_rule(fresh_gate, "allow", "held", {"properties": {"q": {"pattern": "^(a)\\1$"}}})
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_concurrent_deletes_of_a_rule_end_it_once(fresh_gate: Gate) -> None:
    """Deleting one rule from many callers at once: one succeeds, the rest find nothing, and the
    audit log records one deletion."""
    rule = add_rule(fresh_gate, "allow", "held")

    def attempt() -> str:
        try:
            delete_rule(fresh_gate, rule.id)
        except grpc.RpcError as error:
            return str(error.code().name)  # type: ignore[attr-defined]
        return "OK"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = sorted(pool.map(lambda _: attempt(), range(8)))
    assert outcomes == ["NOT_FOUND"] * 7 + ["OK"]
    # A deletion's entry is on disk before its caller is answered.
    assert len(_deletions(fresh_gate, rule.id)) == 1


def _deletions(gate: Gate, rule_id: str) -> list[Entry]:
    return [
        e
        for e in entries(gate.daemon.state_dir / "audit.log")
        if e.event == "rule.deleted" and e.fields.get("rule_id") == rule_id
    ]
