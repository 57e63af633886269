"""A real daemon whose catalog holds every kind of published OpenClaw skill folder."""

from __future__ import annotations

import json
from collections.abc import Iterator

import grpc
import pytest

from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from tests.api.conftest import Daemon, cleanup, make_daemon
from tests.api.test_client import cli
from tests.core.openclaw_skills import ABSENT, EXPECTED, write_catalog

_KINDS = {"tool": pb.SKILL_KIND_TOOL, "instruction": pb.SKILL_KIND_INSTRUCTION}


@pytest.fixture(scope="module")
def daemon() -> Iterator[Daemon]:
    """The usual probe and text-stats skills, plus the published kinds and their policy."""
    instance = make_daemon()
    write_catalog(instance.catalog)
    instance.start()
    yield instance
    cleanup(instance)


def test_list_skills_shows_every_folder(daemon: Daemon, channel: grpc.Channel) -> None:
    """ListSkills lists every folder with its kind, availability and reason."""
    response = daemon.stub(channel).ListSkills(pb.ListSkillsRequest(), timeout=10)
    skills = {s.name: s for s in response.skills}
    assert list(skills) == sorted([*EXPECTED, "probe", "text-stats"])
    for name, (kind, reason) in EXPECTED.items():
        skill = skills[name]
        assert skill.kind == _KINDS[kind], name
        assert skill.available == (reason is None), f"{name}: {skill.unavailable_reason}"
        assert (reason or "") in skill.unavailable_reason, name
    for name in ("probe", "text-stats"):
        assert skills[name].available and skills[name].kind == pb.SKILL_KIND_TOOL


def test_get_unavailable_skill_returns_it_with_the_reason(
    daemon: Daemon, channel: grpc.Channel
) -> None:
    """GetSkill of a darwin-only skill returns it, unavailable, with what it requires."""
    skill = daemon.stub(channel).GetSkill(pb.GetSkillRequest(name="mac-notes"), timeout=10)
    assert (skill.kind, skill.available) == (pb.SKILL_KIND_INSTRUCTION, False)
    assert skill.unavailable_reason == "runs only on darwin; this host is linux"
    assert (list(skill.os), list(skill.requires_bins)) == (["darwin"], ["notes-cli"])


def test_get_instruction_skill_shows_the_operators_grants(
    daemon: Daemon, channel: grpc.Channel
) -> None:
    """An instruction skill's permissions are what the policy file grants it."""
    skill = daemon.stub(channel).GetSkill(pb.GetSkillRequest(name="place-search"), timeout=10)
    assert skill.available and list(skill.requires_env) == ["PLACES_API_KEY"]
    assert list(skill.permissions.secrets) == ["PLACES_API_KEY"]
    assert list(skill.permissions.network) == ["places.example.com:443"]
    assert len(skill.content_hash) == 64 and not skill.tools


def test_get_broken_skill_names_file_and_key(daemon: Daemon, channel: grpc.Channel) -> None:
    """GetSkill of a tool skill with a broken skill.toml returns the error, naming the key."""
    skill = daemon.stub(channel).GetSkill(pb.GetSkillRequest(name="broken-manifest"), timeout=10)
    assert skill.kind == pb.SKILL_KIND_TOOL and not skill.available
    assert skill.unavailable_reason.endswith("broken-manifest/skill.toml: colour: unknown key")


@pytest.mark.parametrize(
    ("skill", "reason"),
    [
        ("absent-tool", f"needs the program {ABSENT}, which this host lacks"),
        ("broken-manifest", "skill.toml: colour: unknown key"),
        ("typo-profile", "profile: unknown profile 'defualt'"),
    ],
)
def test_invoke_unavailable_tool_skill_is_failed_precondition(
    daemon: Daemon, channel: grpc.Channel, skill: str, reason: str
) -> None:
    """Invoke of an unavailable tool skill is FAILED_PRECONDITION naming the reason."""
    request = pb.InvokeRequest(skill=skill, tool="echo", input_json='{"n": 1}')
    with pytest.raises(grpc.RpcError) as info:
        daemon.stub(channel).Invoke(request, timeout=30)
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert info.value.details().startswith(f"skill {skill!r} is unavailable: ")
    assert reason in info.value.details()


def test_invoke_instruction_skill_is_not_found(daemon: Daemon, channel: grpc.Channel) -> None:
    """An instruction skill has no tools to invoke."""
    request = pb.InvokeRequest(skill="hello-script", tool="run")
    with pytest.raises(grpc.RpcError) as info:
        daemon.stub(channel).Invoke(request, timeout=30)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert "it is an instruction skill" in info.value.details()


def test_tool_skills_beside_broken_ones_still_invoke(daemon: Daemon, channel: grpc.Channel) -> None:
    """The bundled skill runs and shows its limits, whatever its neighbours are like."""
    request = pb.InvokeRequest(skill="text-stats", tool="analyze", input_json='{"text": "a b"}')
    invocation = daemon.stub(channel).Invoke(request, timeout=60)
    assert invocation.result.status == pb.STATUS_OK
    probe = daemon.stub(channel).GetSkill(pb.GetSkillRequest(name="probe"), timeout=10)
    assert probe.tools[0].effective_limits.pids == 64


def test_cli_skills_shows_availability(daemon: Daemon) -> None:
    """`skillrt skills` shows each skill's kind and, when unavailable, why."""
    listed = {s["name"]: s for s in json.loads(cli(daemon, "skills", "--json").stdout)}
    assert listed["hello-script"]["kind"] == "instruction"
    assert listed["hello-script"]["available"] is True
    assert listed["mac-notes"]["unavailable_reason"] == "runs only on darwin; this host is linux"
    assert listed["any-shell"]["requires_any_bins"] == [ABSENT, "sh"]
    assert listed["probe"]["kind"] == "tool" and listed["probe"]["unavailable_reason"] is None
    plain = cli(daemon, "skills").stdout
    assert "mac-notes            instruction\n" in plain
    assert "unavailable: runs only on darwin; this host is linux\n" in plain


def test_unusable_folders_are_logged_once(daemon: Daemon, channel: grpc.Channel) -> None:
    """Each unavailable folder is logged once with its reason, however often it is listed."""
    for _ in range(2):
        daemon.stub(channel).ListSkills(pb.ListSkillsRequest(), timeout=10)
    lines = [json.loads(line) for line in daemon.logs().splitlines() if "skill unusable" in line]
    folders = [line["folder"] for line in lines]
    assert sorted(folders) == sorted(n for n, (_, reason) in EXPECTED.items() if reason)


def test_broken_policy_stops_the_start(fresh_daemon: Daemon) -> None:
    """A malformed policy file stops the daemon with one line naming file and key."""
    (fresh_daemon.root / "skills-policy.toml").write_text("[skills.weather]\nnetwrok = []\n")
    with pytest.raises(AssertionError, match="daemon exited early"):
        fresh_daemon.start()
    logs = fresh_daemon.logs()
    assert "skills-policy.toml: skills.weather.netwrok: unknown key" in logs
    assert "Traceback" not in logs
