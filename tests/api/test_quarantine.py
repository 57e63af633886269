"""Quarantine over the real daemon: a skill whose calls keep tripping the sandbox (a forbidden
system call, a connection off its allowlist) is refused from its very next call, audited,
counted, announced to watchers and listed; released by an operator it runs again; it survives
a restart and is bound to the skill's content. One daemon quarantines after 2 trips; each test
trips a skill of its own."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from tests.api.conftest import cleanup
from tests.api.quarantine_fixture import World, make_world
from tests.approvals.conftest import approvals_stub
from tests.timing import scaled


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    instance = make_world()
    yield instance
    cleanup(instance.daemon)


@dataclass
class Tripped:
    calls: list[pb.Invocation]  # the calls that tripped it
    notice: list[str]  # what `skillrt approvals watch` printed of it
    old_watchers_next: pb.Approval  # what a watcher that did not ask for notices got next


@pytest.fixture(scope="module")
def tripped(world: World) -> Iterator[Tripped]:
    """trip-a quarantined by two seccomp kills, with two watchers listening: the command line,
    and a client of the API that does not ask for notices."""
    world.invoke("asks", "run")  # a pending request: each watcher's first message
    watcher = world.watch()
    with world.daemon.channel() as channel:
        older = approvals_stub(channel).WatchApprovals(
            pb.WatchApprovalsRequest(), timeout=scaled(60)
        )
        next(older)  # listening from here
        watcher.next_line()
        calls = world.trip("trip-a")
        line = watcher.next_line()
        while not line.startswith("QUARANTINED"):
            line = watcher.next_line()
        notice = [line, watcher.next_line()]
        world.invoke("asks", "run")
        old_watchers_next = next(older)
        older.cancel()
    watcher.stop()
    yield Tripped(calls=calls, notice=notice, old_watchers_next=old_watchers_next)


def details(error: grpc.RpcError) -> str:
    return error.details()  # type: ignore[attr-defined, no-any-return]


def test_the_very_next_call_is_refused_naming_the_quarantine(
    world: World, tripped: Tripped
) -> None:
    """The call that crossed the threshold is answered as it ran; the next is
    FAILED_PRECONDITION naming the quarantine, why, and how to release it."""
    assert [c.result.status for c in tripped.calls] == [pb.STATUS_SECCOMP_VIOLATION] * 2
    refused = world.refusal("trip-a")
    assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION
    text = details(refused)
    assert text.startswith("skill 'trip-a' is unavailable: quarantined since "), text
    assert "automatically: 2 seccomp kills in 10 min (threshold 2)" in text
    assert text.endswith("an operator can release it: skillrt skills release trip-a")


def test_the_quarantine_is_audited_with_the_trips(world: World, tripped: Tripped) -> None:
    """One skill.quarantined entry, by "automatic", with the kind and the counts."""
    ((actor, fields),) = world.audited("skill.quarantined", "trip-a")
    assert actor == "automatic"
    assert (fields["kind"], fields["counts"]) == ("seccomp_kills", {"seccomp_kills": 2})
    assert fields["reason"] == "2 seccomp kills in 10 min (threshold 2)"


def test_the_metrics_count_it(world: World, tripped: Tripped) -> None:
    """The quarantines counter has trip-a's, and the gauge counts it among those in force."""
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(world.metrics())
        for sample in family.samples
    }
    labels = (("kind", "seccomp_kills"), ("skill", "trip-a"))
    assert samples[("skillrt_quarantines_total", labels)] == 1
    assert samples[("skillrt_skills_quarantined", ())] >= 1


def test_watchers_hear_of_it_at_once(tripped: Tripped) -> None:
    """`skillrt approvals watch` prints the notice, with the command that releases it."""
    first, second = tripped.notice
    assert first.startswith("QUARANTINED trip-a @ ")
    assert "automatically: 2 seccomp kills in 10 min (threshold 2)" in first
    assert second == "    release: skillrt skills release trip-a"


def test_older_watchers_get_no_notice(tripped: Tripped) -> None:
    """A watcher that did not ask for notices gets the next request, never a notice."""
    assert not tripped.old_watchers_next.HasField("quarantine")
    assert tripped.old_watchers_next.id.startswith("apr_")


def test_skills_lists_it_unavailable_with_the_reason(world: World, tripped: Tripped) -> None:
    """`skillrt skills` shows the skill unavailable, quarantined, and why."""
    listed = world.cli("skills", "--json")
    (skill,) = [s for s in json.loads(listed.stdout) if s["name"] == "trip-a"]
    assert skill["available"] is False
    assert skill["unavailable_reason"].startswith("quarantined since ")
    assert "unavailable: quarantined since " in world.cli("skills").stdout


def test_quarantined_lists_it(world: World, tripped: Tripped) -> None:
    """`skillrt skills quarantined --json` lists it with its content hash, kind and counts."""
    listed = world.cli("skills", "quarantined", "--json")
    assert listed.returncode == 0, listed.stderr
    (found,) = [q for q in json.loads(listed.stdout) if q["skill"] == "trip-a"]
    assert found["by"] == "automatic" and found["kind"] == "seccomp_kills"
    assert found["counts"] == {"seccomp_kills": 2}
    with world.daemon.channel() as channel:
        skill = world.daemon.stub(channel).GetSkill(pb.GetSkillRequest(name="trip-a"), timeout=30)
    assert found["content_hash"] == skill.content_hash and found["released_at"] is None


def test_release_restores_the_skill_with_its_counts_reset(world: World) -> None:
    """After `skillrt skills release` a call runs, one more trip does not quarantine it again,
    and the release is audited with the operator's name."""
    world.trip("trip-b")
    released = world.cli("skills", "release", "trip-b")
    assert released.returncode == 0, released.stderr
    assert released.stdout.startswith("released trip-b @ ")
    assert world.invoke("trip-b", "echo").result.status == pb.STATUS_OK
    world.trip("trip-b", times=1)
    assert world.invoke("trip-b", "echo").result.status == pb.STATUS_OK
    ((actor, fields),) = world.audited("skill.released", "trip-b")
    assert actor == "owner" and len(fields["content_hashes"]) == 1  # type: ignore[arg-type]


def test_running_calls_are_killed(world: World) -> None:
    """A call of the skill running when it is quarantined ends cancelled, saying why."""
    ended: list[pb.Invocation] = []
    sleeper = threading.Thread(target=lambda: ended.append(world.invoke("trip-c", "sleep")))
    sleeper.start()
    deadline = time.monotonic() + scaled(30)
    query = pb.ListInvocationsRequest(states=[pb.INVOCATION_STATE_RUNNING], skill="trip-c")
    with world.daemon.channel() as channel:
        while not world.daemon.stub(channel).ListInvocations(query, timeout=10).invocations:
            assert time.monotonic() < deadline, "the sleeper never ran"
            time.sleep(0.05)
    world.trip("trip-c")
    sleeper.join(timeout=scaled(30))
    (killed,) = ended
    assert killed.result.status == pb.STATUS_CANCELLED
    assert killed.result.error.startswith("killed: skill 'trip-c' was quarantined since ")


def test_a_call_waiting_for_a_slot_never_starts_once_quarantined(world: World) -> None:
    """With running = "finish", a call still waiting for a slot when its skill is quarantined
    ends cancelled, saying why, once it gets one: only calls already running finish."""
    on = world.config.read_text()
    world.config.write_text(on.replace("[quarantine]\n", '[quarantine]\nrunning = "finish"\n'))
    ended: dict[str, pb.Invocation] = {}

    def call(key: str, skill: str, tool: str, value: object = None) -> threading.Thread:
        thread = threading.Thread(
            target=lambda: ended.__setitem__(key, world.invoke(skill, tool, value))
        )
        thread.start()
        return thread

    try:
        assert world.cli("reload").returncode == 0
        blockers = [call(f"blocker{i}", "trip-h", "sleep", {"seconds": 5}) for i in range(2)]
        running = pb.ListInvocationsRequest(states=[pb.INVOCATION_STATE_RUNNING], skill="trip-h")
        queued = pb.ListInvocationsRequest(states=[pb.INVOCATION_STATE_QUEUED], skill="trip-i")
        with world.daemon.channel() as channel:
            stub = world.daemon.stub(channel)
            deadline = time.monotonic() + scaled(30)
            while len(stub.ListInvocations(running, timeout=10).invocations) < 2:
                assert time.monotonic() < deadline, "the slots never filled"
                time.sleep(0.05)
            waiter = call("waiter", "trip-i", "echo")
            while not stub.ListInvocations(queued, timeout=10).invocations:
                assert time.monotonic() < deadline, "the call never waited for a slot"
                time.sleep(0.05)
        with world.admin() as admin:
            admin.QuarantineSkill(
                pb.QuarantineSkillRequest(skill="trip-i", reason="held for review"), timeout=10
            )
        for thread in (*blockers, waiter):
            thread.join(timeout=scaled(30))
    finally:
        world.config.write_text(on)
        assert world.cli("reload").returncode == 0
    assert ended["blocker0"].result.status == pb.STATUS_OK
    waited = ended["waiter"].result
    assert waited.status == pb.STATUS_CANCELLED
    assert waited.error.startswith("not run: skill 'trip-i' was quarantined since "), waited.error


def test_the_quarantine_is_bound_to_the_content(world: World) -> None:
    """Changed, the skill is a new one and runs; changed back, its content is refused again."""
    world.trip("trip-d")
    code = world.daemon.catalog / "trip-d" / "trip.py"
    original = code.read_text()
    code.write_text(original + "# changed\n")
    assert world.invoke("trip-d", "echo").result.status == pb.STATUS_OK
    code.write_text(original)
    assert world.refusal("trip-d").code() == grpc.StatusCode.FAILED_PRECONDITION


def test_a_call_waiting_for_approval_is_refused_once_approved(world: World) -> None:
    """A call approved after its skill was quarantined ends denied, naming the quarantine."""
    waiting = world.invoke("asks", "run")
    imposed = world.cli("skills", "quarantine", "asks", "--reason", "on hold", token=world.ops)
    assert imposed.returncode == 0, imposed.stderr
    try:
        with world.daemon.channel(world.ops) as channel:
            approvals_stub(channel).Decide(
                pb.DecideRequest(id=waiting.approval_id, approve=True), timeout=30
            )
        with world.daemon.channel() as channel:
            request = pb.GetInvocationRequest(id=waiting.id)
            ended = world.daemon.stub(channel).GetInvocation(request, timeout=30)
        assert ended.result.status == pb.STATUS_DENIED
        assert (
            "quarantined since " in ended.result.error and "by ops: on hold" in ended.result.error
        )
    finally:
        assert world.cli("skills", "release", "asks", token=world.ops).returncode == 0


def test_egress_denials_quarantine_a_skill(world: World) -> None:
    """Two connections refused by the egress proxy quarantine the skill that asked for them."""
    for _ in range(2):
        world.invoke("http-fetch", "fetch", {"url": "http://blocked.test/"})
    refused = world.refusal("http-fetch", "fetch")
    assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "2 egress denials in 10 min (threshold 2)" in details(refused)


def test_viewers_may_list_but_not_act_and_agents_neither(world: World) -> None:
    """A viewer lists quarantines but cannot quarantine or release; an agent cannot even list."""
    with world.admin(world.viewer) as viewer:
        viewer.ListQuarantines(pb.ListQuarantinesRequest(), timeout=30)
        for act in (
            lambda: viewer.QuarantineSkill(pb.QuarantineSkillRequest(skill="probe", reason="x")),
            lambda: viewer.ReleaseSkill(pb.ReleaseSkillRequest(skill="probe")),
        ):
            with pytest.raises(grpc.RpcError) as denied:
                act()
            assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with world.admin(world.agent) as agent, pytest.raises(grpc.RpcError) as denied:
        agent.ListQuarantines(pb.ListQuarantinesRequest(), timeout=30)
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_an_operator_quarantines_and_releases_by_hand_on_record(world: World) -> None:
    """An admin's quarantine refuses the skill with the reason given; both it and the release
    are audited under the admin's name."""
    imposed = world.cli(
        "skills", "quarantine", "trip-e", "--reason", "under review", token=world.ops
    )
    assert imposed.returncode == 0, imposed.stderr
    assert "by ops: under review" in details(world.refusal("trip-e"))
    released = world.cli("skills", "release", "trip-e", token=world.ops)
    assert released.returncode == 0, released.stderr
    assert world.invoke("trip-e", "echo").result.status == pb.STATUS_OK
    ((actor, fields),) = world.audited("skill.quarantined", "trip-e")
    assert (actor, fields["kind"], fields["reason"]) == ("ops", "manual", "under review")
    assert [actor for actor, _ in world.audited("skill.released", "trip-e")] == ["ops"]


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (("quarantine", "nope", "--reason", "x"), 1, "NOT_FOUND: unknown skill 'nope'"),
        (("quarantine", "probe"), 2, "the following arguments are required: --reason"),
        (("quarantine", "probe", "--reason", "a\nb"), 2, "reason: must be one line"),
        (("release", "probe"), 1, "FAILED_PRECONDITION: skill 'probe' is not quarantined"),
    ],
    ids=["unknown", "no-reason", "two-lines", "not-quarantined"],
)
def test_a_bad_request_is_one_line(
    world: World, args: tuple[str, ...], code: int, said: str
) -> None:
    """Mistakes are one line saying what is wrong, with exit 2 for bad input, never a traceback."""
    done = world.cli("skills", *args)
    assert done.returncode == code
    assert said in done.stderr and done.stderr.count("\n") == 1, done.stderr


def test_a_disabled_quarantine_never_quarantines(world: World) -> None:
    """With [quarantine] enabled = false (reloaded), trips past the threshold change nothing."""
    on = world.config.read_text()
    world.config.write_text(on.replace("[quarantine]\n", "[quarantine]\nenabled = false\n"))
    try:
        reloaded = world.cli("reload")
        assert reloaded.returncode == 0 and "quarantine" in reloaded.stdout, reloaded.stderr
        world.trip("trip-g", times=3)
        assert world.invoke("trip-g", "echo").result.status == pb.STATUS_OK
    finally:
        world.config.write_text(on)
        assert world.cli("reload").returncode == 0


def test_a_quarantine_survives_a_restart(world: World, tripped: Tripped) -> None:
    """Stopped and started again, the daemon still refuses the quarantined skill."""
    world.daemon.stop()
    world.daemon.start("--config", str(world.config))
    assert world.refusal("trip-a").code() == grpc.StatusCode.FAILED_PRECONDITION
