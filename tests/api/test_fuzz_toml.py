"""Every TOML loader, fed mutated files: a result or a SkillRuntimeError, never anything else."""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path
from shutil import copytree

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime.api import config
from runtime.core.manifest import load_skill
from runtime.core.skill_policy import load_policy
from runtime.errors import SkillRuntimeError
from runtime.sandbox.profiles import load_profile
from runtime.util import paths

_PROFILES = sorted((paths.PROJECT_ROOT / "sandbox_profiles").glob("*.toml"))
_SKILLS = sorted(p.parent for p in (paths.PROJECT_ROOT / "skills_catalog").glob("*/skill.toml"))
_POLICY = """\
[skills.weather]
network = ["wttr.in:443"]
readonly_paths = ["/etc/ssl/certs"]
secrets = ["WEATHER_API_KEY"]
principals = ["my-agent"]
"""
_CONFIG = """\
[server]
socket = "run/skillrt.sock"
state_dir = "state"
shutdown_grace = "10s"
[catalog]
skills = "skills"
[sandboxes]
max_running = 4
max_queued = 16
cgroup_root = "skillrt"
[auth]
failure_window = "1m"
lockout = "30s"
max_failures = 10
token_overlap = "1h"
[rate_limits.roles.agent]
invocations_per_minute = 60
concurrent = 4
[approvals]
timeout = "5m"
[audit]
retention = "30d"
[sessions]
max_sessions = 8
max_total_size = "1GiB"
[sessions.commands.workspace]
deny = ["rm -rf /"]
"""

# Values that broke loaders, and their neighbours: every TOML type, huge and non-finite numbers.
_LITERALS = st.one_of(
    st.sampled_from(
        [
            "30",
            "-1",
            "0",
            "1e300",
            "nan",
            "inf",
            "-inf",
            "2.5",
            "true",
            "2024-01-01T00:00:00Z",
            "1979-05-27",
            "07:32:00",
            "[]",
            '[1, "a"]',
            "{}",
            "{a = 1}",
            '""',
            '"30"',
            '"-5s"',
            '"99999999999999999999999GiB"',
            '"/etc/passwd"',
        ]
    ),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(max_size=40).map(json.dumps),
)


@st.composite
def _mutated(draw: st.DrawFn, text: str) -> str:
    """``text`` with a few lines dropped, given a hostile value, or garbage inserted."""
    lines = text.splitlines()
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        index = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        op = draw(st.sampled_from(["drop", "value", "insert"]))
        if op == "drop":
            del lines[index]
            if not lines:
                lines.append("")
        elif op == "value" and "=" in lines[index]:
            key = lines[index].split("=", 1)[0]
            lines[index] = f"{key}= {draw(_LITERALS)}"
        else:
            lines.insert(index, draw(st.text(max_size=30)).replace("\n", " "))
    return "\n".join(lines) + "\n"


_FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FUZZ
@given(data=st.data(), source=st.sampled_from(_PROFILES))
def test_mutated_profiles(data: st.DataObject, source: Path) -> None:
    """A mutated sandbox profile loads or is a ConfigError."""
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / source.name
        file.write_text(data.draw(_mutated(source.read_text())))
        with contextlib.suppress(SkillRuntimeError):  # a clear refusal is fine
            load_profile(file)


@_FUZZ
@given(data=st.data(), source=st.sampled_from(_SKILLS))
def test_mutated_manifests(data: st.DataObject, source: Path) -> None:
    """A mutated skill.toml loads or is a ConfigError."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / source.name
        copytree(source, folder)
        (folder / "skill.toml").write_text(data.draw(_mutated((source / "skill.toml").read_text())))
        with contextlib.suppress(SkillRuntimeError):  # a clear refusal is fine
            load_skill(folder)


@_FUZZ
@given(text=_mutated(_POLICY))
def test_mutated_skills_policy(text: str) -> None:
    """A mutated skills policy file loads or is a ConfigError."""
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "skills-policy.toml"
        file.write_text(text)
        with contextlib.suppress(SkillRuntimeError):  # a clear refusal is fine
            load_policy(file)


@_FUZZ
@given(text=_mutated(_CONFIG))
def test_mutated_daemon_config(text: str) -> None:
    """A mutated daemon config loads or is a ConfigError."""
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "skillrt.toml"
        file.write_text(text)
        with contextlib.suppress(SkillRuntimeError):  # a clear refusal is fine
            config.load(file)
