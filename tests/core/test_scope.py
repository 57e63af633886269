"""The permission scope in plain words, as an approver and a reviewer read it (pure)."""

from __future__ import annotations

from pathlib import Path

from runtime.core.manifest import load_skill
from runtime.core.scope import Scope, scope_lines, tool_scope
from runtime.sandbox.profiles import LimitOverrides, ProfileStore
from runtime.util import paths
from tests.skill_fixture import make_skill


def test_an_elevated_tool_reads_as_approved_before_each_run() -> None:
    """Network, secrets, paths, profile, limits and approval: one line each, in words."""
    scope = Scope(
        network=("api.example.com:443",),
        secrets=("API_TOKEN",),
        readonly_paths=("/etc/ssl/certs",),
        limits=LimitOverrides(memory_bytes=64 << 20, wall_time_ms=5000, pids=4),
        approval="before_run",
        profile="network",
        elevated=True,
    )
    assert scope_lines(scope) == [
        "network: api.example.com:443 only, through the egress proxy",
        "secrets: API_TOKEN, as environment variables",
        "host paths: /etc/ssl/certs, read-only",
        "profile: network",
        "limits: memory 64MiB, wall 5s, pids 4",
        "approval: elevated; a person approves each call before it runs",
    ]


def test_what_is_not_known_is_left_out() -> None:
    """A request recorded without its profile or elevation shows neither, nor unknown limits."""
    scope = Scope(
        network=(),
        secrets=(),
        readonly_paths=(),
        limits=LimitOverrides(),
        approval="before_return",
    )
    assert scope_lines(scope) == [
        "network: none",
        "secrets: none",
        "host paths: none",
        "approval: a person approves each result before the caller receives it",
    ]


def test_a_tools_own_network_list_is_its_scope(tmp_path: Path) -> None:
    """A tool with its own network list is shown that list, not the skill's wider one."""
    toml = """\
version = "1.0.0"
profile = "network"
[permissions]
network = ["*.example.com:443"]
[[tools]]
name = "echo"
entrypoint = ["/usr/bin/python3", "/skill/echo.py"]
input_schema = { type = "object" }
network = ["api.example.com:443"]
"""
    skill = load_skill(make_skill(tmp_path, toml=toml))
    limits = ProfileStore(paths.profiles_dir()).get("network").limits
    scope = tool_scope(skill, skill.tools[0], limits)
    assert scope.network == ("api.example.com:443",)
    assert scope_lines(scope)[0] == "network: api.example.com:443 only, through the egress proxy"
    assert "approval: none; it runs whenever it is called" in scope_lines(scope)
