"""Secrets in a real sandbox: only declared ones get in, never via argv, and never come out."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import pytest

from runtime.core.execute import ToolRun, execute
from runtime.core.manifest import SkillSpec, load_skill
from runtime.core.spec import prepare
from runtime.errors import ConfigError, NoSuchEntity
from runtime.sandbox.launcher import Launcher
from runtime.sandbox.profiles import LimitOverrides, ProfileStore
from runtime.sandbox.result import Status
from tests.secrets.conftest import VALUE, secret_skill_toml
from tests.skill_fixture import make_skill

OTHER = b"other-secret-value-9d31e7"
# Reports what the sandbox can see without printing any value.
ENV_PROBE = f"""\
import hashlib, json, os, sys
sys.stdin.read()
environ = open("/proc/self/environ", "rb").read()
print(json.dumps({{
    "names": sorted(os.environ),
    "api_key_sha256": hashlib.sha256(os.environ.get("API_KEY", "").encode()).hexdigest(),
    "other_anywhere": {OTHER!r} in environ,
}}))
"""
LEAKER = """\
import json, os, sys
sys.stdin.read()
token = os.environ["API_KEY"]
print("debug: using", token, file=sys.stderr)
print(json.dumps({"token": token}))
"""


def _skill(root: Path, secrets: list[str], code: str, name: str = "secret-skill") -> SkillSpec:
    return load_skill(make_skill(root, name, toml=secret_skill_toml(secrets), code=code))


def _run(
    skill: SkillSpec,
    profiles: ProfileStore,
    launcher: Launcher,
    secrets: dict[str, bytes],
    chunks: list[bytes] | None = None,
) -> ToolRun:
    prepared = prepare(
        skill=skill,
        tool_name="echo",
        input_value={},
        profiles=profiles,
        overrides=LimitOverrides(),
        secrets=secrets,
    )

    async def collect(stream: str, data: bytes) -> None:
        assert chunks is not None
        chunks.append(data)

    return asyncio.run(
        execute(prepared, launcher, on_output=collect if chunks is not None else None)
    )


def _output(run: ToolRun) -> Any:
    assert run.result.status is Status.OK, run.result
    return run.output


def test_declared_secret_reaches_the_sandbox(
    reachable_tmp: Path, profiles: ProfileStore, launcher: Launcher
) -> None:
    """A declared secret is an environment variable inside, with its exact value."""
    skill = _skill(reachable_tmp, ["API_KEY"], ENV_PROBE)
    seen = _output(_run(skill, profiles, launcher, {"API_KEY": VALUE}))
    assert "API_KEY" in seen["names"]
    assert seen["api_key_sha256"] == hashlib.sha256(VALUE).hexdigest()


def test_undeclared_secret_stays_out(
    reachable_tmp: Path, profiles: ProfileStore, launcher: Launcher
) -> None:
    """A secret the skill did not declare is not in its environment, whatever was resolved."""
    skill = _skill(reachable_tmp, ["API_KEY"], ENV_PROBE)
    seen = _output(_run(skill, profiles, launcher, {"API_KEY": VALUE, "OTHER": OTHER}))
    assert "OTHER" not in seen["names"]
    assert seen["other_anywhere"] is False


def test_skill_without_secrets_sees_none(
    reachable_tmp: Path, profiles: ProfileStore, launcher: Launcher
) -> None:
    """A skill that declares no secrets gets none, even when the caller passes some."""
    skill = _skill(reachable_tmp, [], ENV_PROBE)
    seen = _output(_run(skill, profiles, launcher, {"API_KEY": VALUE, "OTHER": OTHER}))
    assert "API_KEY" not in seen["names"]
    assert seen["api_key_sha256"] == hashlib.sha256(b"").hexdigest()


def test_value_is_not_on_the_host_command_line(
    reachable_tmp: Path, profiles: ProfileStore, launcher: Launcher
) -> None:
    """nsjail gets a bare --env NAME: the value is not in its /proc/<pid>/cmdline."""
    skill = _skill(reachable_tmp, ["API_KEY"], ENV_PROBE)
    prepared = prepare(
        skill=skill,
        tool_name="echo",
        input_value={},
        profiles=profiles,
        overrides=LimitOverrides(),
        secrets={"API_KEY": VALUE},
    )

    async def started_cmdline() -> bytes:
        sandbox = await launcher.start(prepared.spec)
        try:
            return Path(f"/proc/{sandbox.pid}/cmdline").read_bytes()
        finally:
            await sandbox.close()

    cmdline = asyncio.run(started_cmdline())
    assert b"\0--env\0API_KEY\0" in cmdline
    assert VALUE not in cmdline
    assert VALUE.decode() not in repr(prepared)


def test_printed_secret_is_masked_with_a_note(
    reachable_tmp: Path, profiles: ProfileStore, launcher: Launcher
) -> None:
    """A tool that prints its secret returns it masked, with how often it was masked."""
    skill = _skill(reachable_tmp, ["API_KEY"], LEAKER)
    chunks: list[bytes] = []
    run = _run(skill, profiles, launcher, {"API_KEY": VALUE}, chunks)
    assert _output(run) == {"token": "[REDACTED:API_KEY]"}
    assert VALUE not in run.result.stdout + run.result.stderr
    assert b"debug: using [REDACTED:API_KEY]" in run.result.stderr
    assert "redacted 2 occurrences of secret API_KEY" in run.result.violations
    streamed = b"".join(chunks)
    assert VALUE not in streamed
    assert streamed.count(b"[REDACTED:API_KEY]") == 2


def test_missing_secret_fails_before_any_sandbox(
    reachable_tmp: Path, profiles: ProfileStore
) -> None:
    """A declared secret that was not resolved is NOT_FOUND at prepare time."""
    skill = _skill(reachable_tmp, ["API_KEY"], ENV_PROBE)
    with pytest.raises(NoSuchEntity, match="declares secret API_KEY, which was not given"):
        prepare(
            skill=skill,
            tool_name="echo",
            input_value={},
            profiles=profiles,
            overrides=LimitOverrides(),
            secrets={},
        )


def test_secret_cannot_shadow_the_profile_environment(
    reachable_tmp: Path, profiles: ProfileStore
) -> None:
    """A secret named like one of the profile's variables is a manifest error."""
    skill = _skill(reachable_tmp, ["PYTHONDONTWRITEBYTECODE"], ENV_PROBE)
    with pytest.raises(ConfigError, match="already an environment variable of profile"):
        prepare(
            skill=skill,
            tool_name="echo",
            input_value={},
            profiles=profiles,
            overrides=LimitOverrides(),
            secrets={"PYTHONDONTWRITEBYTECODE": b"1"},
        )
