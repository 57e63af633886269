"""Input-schema patterns run on a linear-time engine: a hostile pattern cannot stall the daemon."""

from __future__ import annotations

import json
import shutil
import threading
import time

import grpc
import pytest

from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from tests.api.conftest import Daemon

_CATASTROPHIC = "^(a+)+$"  # backtracks exponentially on Python's re


def _add_skill(daemon: Daemon, name: str, schema: dict[str, object]) -> None:
    folder = daemon.catalog / name
    shutil.copytree(daemon.catalog / "probe", folder)
    (folder / "SKILL.md").write_text(
        (folder / "SKILL.md").read_text().replace("name: probe", f"name: {name}")
    )
    (folder / "schema.json").write_text(json.dumps(schema))
    (folder / "skill.toml").write_text(
        (folder / "skill.toml")
        .read_text()
        .replace('input_schema = { type = "object" }', 'input_schema = "schema.json"')
    )


def _list_seconds(daemon: Daemon, channel: grpc.Channel) -> float:
    started = time.monotonic()
    daemon.stub(channel).ListSkills(pb.ListSkillsRequest(), timeout=60)
    return time.monotonic() - started


def test_catastrophic_pattern_does_not_stall_the_daemon(
    daemon: Daemon, channel: grpc.Channel
) -> None:
    """A hostile input to a `^(a+)+$` pattern is refused at once, and another caller's
    ListSkills meanwhile takes about as long as it did before."""
    schema = {
        "type": "object",
        "properties": {"word": {"type": "string", "pattern": _CATASTROPHIC}},
        "patternProperties": {_CATASTROPHIC: {"type": "string"}},
        "additionalProperties": False,
    }
    _add_skill(daemon, "redos", schema)
    baseline = max(_list_seconds(daemon, channel) for _ in range(3))
    hostile = "a" * 34 + "!"  # about a minute of backtracking per match on Python's re
    requests = [
        pb.InvokeRequest(skill="redos", tool="echo", input_json=json.dumps({"word": hostile})),
        pb.InvokeRequest(skill="redos", tool="echo", input_json=json.dumps({hostile: "x"})),
    ]
    codes: list[grpc.StatusCode] = []

    def attack() -> None:
        for request in requests:
            with pytest.raises(grpc.RpcError) as info:
                daemon.stub(channel).Invoke(request, timeout=30)
            codes.append(info.value.code())

    attacker = threading.Thread(target=attack)
    attacker.start()
    during = [_list_seconds(daemon, channel) for _ in range(5)]
    attacker.join(timeout=60)
    assert not attacker.is_alive()
    assert codes == [grpc.StatusCode.INVALID_ARGUMENT] * 2
    assert max(during) < 10 * baseline + 1.0
    ok = daemon.stub(channel).Invoke(
        pb.InvokeRequest(skill="redos", tool="echo", input_json='{"word": "aaaa"}'), timeout=30
    )
    assert ok.result.status == pb.STATUS_OK


def test_pattern_outside_re2_makes_the_skill_unavailable(
    daemon: Daemon, channel: grpc.Channel
) -> None:
    """A pattern RE2 cannot run (a backreference) is refused at load, naming file and key."""
    _add_skill(
        daemon,
        "backref",
        {"type": "object", "properties": {"word": {"pattern": "^(a)\\1$"}}},
    )
    listed = {
        s.name: s
        for s in daemon.stub(channel).ListSkills(pb.ListSkillsRequest(), timeout=30).skills
    }
    assert not listed["backref"].available
    reason = listed["backref"].unavailable_reason
    assert "skill.toml" in reason and "input_schema" in reason and "RE2" in reason, reason
