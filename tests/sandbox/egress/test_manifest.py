"""Egress as data: allowlists in manifests, network modes and egress limits in profiles, and the
checks that tie them together before any sandbox starts."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from runtime.core.manifest import load_skill
from runtime.core.spec import build_spec
from runtime.errors import BadRequest, ConfigError, IsolationUnavailable
from runtime.sandbox.egress.policy import parse_rule
from runtime.sandbox.nsjail import SandboxSpec, render_argv
from runtime.sandbox.profiles import LimitOverrides, NetworkPolicy, ProfileStore, load_profile
from runtime.util import paths
from tests.skill_fixture import make_skill

NETWORK_TEXT = (paths.PROJECT_ROOT / "sandbox_profiles" / "network.toml").read_text()
DEFAULT_TEXT = (paths.PROJECT_ROOT / "sandbox_profiles" / "default.toml").read_text()

TOOL = """\
[[tools]]
name = "echo"
entrypoint = ["/usr/bin/python3", "/skill/echo.py"]
input_schema.type = "object"
"""


def manifest(permissions: str = "", tool: str = "", profile: str = "network", top: str = "") -> str:
    return (
        f'version = "1.0.0"\nprofile = "{profile}"\n{top}\n'
        f"[permissions]\n{permissions}\n\n{TOOL}{tool}"
    )


def _profile_file(tmp_path: Path, text: str) -> Path:
    file = tmp_path / "custom.toml"
    file.write_text(text)
    return file


def test_skill_allowlist_reaches_the_sandbox_spec(tmp_path: Path, profiles: ProfileStore) -> None:
    """The skill's entries become the spec's egress rules under an allowlist profile."""
    skill = load_skill(
        make_skill(tmp_path, toml=manifest('network = ["api.example.com:443", "*.ex.org:443"]'))
    )
    spec = build_spec(skill, skill.tool("echo"), profiles.get("network"), LimitOverrides())
    assert spec.egress == (parse_rule("api.example.com:443"), parse_rule("*.ex.org:443"))


def test_bad_entry_names_file_and_key(tmp_path: Path) -> None:
    """A malformed entry is refused at load, naming skill.toml, the key and the entry."""
    toml = manifest('network = ["api.example.com:443", "example.org"]')
    with pytest.raises(
        ConfigError, match=r"skill\.toml: permissions\.network\[1\]: 'example\.org'"
    ):
        load_skill(make_skill(tmp_path, toml=toml))


def test_tool_list_replaces_and_narrows_the_skills(tmp_path: Path, profiles: ProfileStore) -> None:
    """A tool's own list replaces the skill's for that tool; an empty one means no egress."""
    toml = manifest('network = ["*.example.org:443"]', tool='network = ["api.example.org:443"]\n')
    skill = load_skill(make_skill(tmp_path, toml=toml))
    spec = build_spec(skill, skill.tool("echo"), profiles.get("network"), LimitOverrides())
    assert spec.egress == (parse_rule("api.example.org:443"),)
    empty = load_skill(
        make_skill(
            tmp_path, "empty", toml=manifest('network = ["a.io:443"]', tool="network = []\n")
        )
    )
    assert (
        build_spec(empty, empty.tool("echo"), profiles.get("network"), LimitOverrides()).egress
        == ()
    )


def test_tool_list_cannot_widen_the_skills(tmp_path: Path) -> None:
    """A tool entry not covered by the skill's list is refused, naming the tool's key."""
    toml = manifest('network = ["api.example.org:443"]', tool='network = ["*.example.org:443"]\n')
    with pytest.raises(
        ConfigError, match=r"tools\[0\]\.network\[0\]: '\*\.example\.org:443' is not"
    ):
        load_skill(make_skill(tmp_path, toml=toml))


def test_entries_need_an_allowlist_profile(tmp_path: Path, profiles: ProfileStore) -> None:
    """A skill with network entries under a profile without an egress proxy is refused."""
    skill = load_skill(
        make_skill(tmp_path, toml=manifest('network = ["a.io:443"]', profile="default"))
    )
    with pytest.raises(ConfigError, match=r"permissions\.network: network entries need a profile"):
        build_spec(skill, skill.tool("echo"), profiles.get("default"), LimitOverrides())


def test_host_mode_is_refused_for_a_tool_that_is_not_elevated(
    tmp_path: Path, profiles: ProfileStore
) -> None:
    """Network mode host (the host's own network) is for elevated tools only."""
    host = replace(profiles.get("default"), network=NetworkPolicy(mode="host"))
    skill = load_skill(make_skill(tmp_path, toml=manifest(profile="default")))
    with pytest.raises(ConfigError, match=r"network mode host, which only elevated tools may use"):
        build_spec(skill, skill.tool("echo"), host, LimitOverrides())


def test_host_mode_renders_only_for_elevated_sandboxes(profiles: ProfileStore) -> None:
    """nsjail keeps the host's network only for an elevated spec; otherwise it refuses."""
    host = replace(profiles.get("default"), network=NetworkPolicy(mode="host"))
    spec = SandboxSpec(argv=("/bin/true",), profile=host, limits=host.limits)
    with pytest.raises(IsolationUnavailable, match="only for elevated tools"):
        render_argv(spec, nsjail="nsjail", binds=(), host_uid=65534)
    elevated = render_argv(replace(spec, elevated=True), nsjail="nsjail", binds=(), host_uid=65534)
    assert "--disable_clone_newnet" in elevated
    none = render_argv(
        replace(spec, profile=profiles.get("network")), nsjail="nsjail", binds=(), host_uid=65534
    )
    assert "--disable_clone_newnet" not in none


def test_skill_may_tighten_egress_limits(tmp_path: Path, profiles: ProfileStore) -> None:
    """A skill's [limits] may lower egress_bytes and egress_connections, never raise them."""
    top = '[limits]\negress_bytes = "1MiB"\negress_connections = 4\n'
    skill = load_skill(make_skill(tmp_path, toml=manifest(top=top)))
    spec = build_spec(skill, skill.tool("echo"), profiles.get("network"), LimitOverrides())
    assert (spec.limits.egress_bytes, spec.limits.egress_connections) == (1 << 20, 4)
    loose = load_skill(
        make_skill(tmp_path, "loose", toml=manifest(top='[limits]\negress_bytes = "1GiB"\n'))
    )
    with pytest.raises(BadRequest, match=r"egress_bytes 1GiB exceeds the profile's 32MiB"):
        build_spec(loose, loose.tool("echo"), profiles.get("network"), LimitOverrides())


def test_egress_limit_without_a_proxy_is_refused(tmp_path: Path, profiles: ProfileStore) -> None:
    """An egress limit under a profile with no egress proxy is an error, not ignored."""
    top = "[limits]\negress_connections = 4\n"
    skill = load_skill(make_skill(tmp_path, toml=manifest(top=top, profile="default")))
    with pytest.raises(BadRequest, match="egress_connections needs a profile with network"):
        build_spec(skill, skill.tool("echo"), profiles.get("default"), LimitOverrides())


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            DEFAULT_TEXT.replace("pids = 64", 'pids = 64\negress_bytes = "1MiB"'),
            r"limits\.egress_bytes: only meaningful with network mode allowlist",
        ),
        (
            NETWORK_TEXT.replace("egress_connections = 64\n", ""),
            r"limits\.egress_connections: missing",
        ),
        (
            NETWORK_TEXT.replace(
                'deny_socket_families = ["AF_NETLINK"',
                'deny_socket_families = ["AF_INET", "AF_NETLINK"',
            ),
            r"seccomp\.deny_socket_families: network mode allowlist needs AF_INET",
        ),
        (
            NETWORK_TEXT.replace('"vhangup", "chroot",', '"vhangup", "chroot", "connect",'),
            r"seccomp\.kill: network mode allowlist needs connect",
        ),
        (
            NETWORK_TEXT.replace('"/usr/bin",\n', '"/usr/bin/env",\n'),
            r"filesystem\.readonly_binds: network mode allowlist needs /usr/bin/python3",
        ),
        (
            NETWORK_TEXT.replace('devices = ["/dev/null", ', "devices = ["),
            r"filesystem\.devices: network mode allowlist needs /dev/null",
        ),
    ],
    ids=["limit-in-none", "missing-limit", "inet-denied", "connect-killed", "no-python", "no-null"],
)
def test_profile_egress_mistakes_name_file_and_key(tmp_path: Path, text: str, reason: str) -> None:
    """Profiles whose network mode and limits or seccomp rules do not fit are refused at load."""
    with pytest.raises(ConfigError, match=r"custom\.toml: " + reason):
        load_profile(_profile_file(tmp_path, text))
