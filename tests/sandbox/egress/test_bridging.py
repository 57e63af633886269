"""A sandbox spec put behind its egress session's attachment (pure)."""

from __future__ import annotations

from runtime.sandbox.bridging import bridged
from runtime.sandbox.egress.session import SANDBOX_SOCKET_DIR, Attachment, proxy_env
from runtime.sandbox.nsjail import SandboxSpec
from runtime.sandbox.profiles import Bind, ProfileStore
from runtime.util import paths

_ATTACHMENT = Attachment(
    argv_prefix=("/usr/bin/python3", "-c", "bridge", "--"),
    env=proxy_env(),
    socket_dir="/tmp/skillrt-egress/s-test",
    mount_point=SANDBOX_SOCKET_DIR,
)


def _spec() -> SandboxSpec:
    profile = ProfileStore(paths.PROJECT_ROOT / "sandbox_profiles").get("network")
    return SandboxSpec(
        argv=("/usr/bin/true", "arg"),
        profile=profile,
        limits=profile.limits,
        env=(("LANG", "C.UTF-8"),),
        binds=(Bind(source="/skill", target="/skill"),),
    )


def test_tool_runs_behind_the_bridge() -> None:
    """The tool's argv follows the bridge's, unchanged."""
    assert bridged(_spec(), _ATTACHMENT).argv == (
        "/usr/bin/python3",
        "-c",
        "bridge",
        "--",
        "/usr/bin/true",
        "arg",
    )


def test_proxy_variables_join_the_environment() -> None:
    """The spec's own variables stay, the proxy variables are added after them."""
    assert bridged(_spec(), _ATTACHMENT).env == (("LANG", "C.UTF-8"), *proxy_env())


def test_socket_directory_is_bound_at_its_mount_point() -> None:
    """The session's host directory is bound, after the spec's own binds, where the bridge looks."""
    assert bridged(_spec(), _ATTACHMENT).binds == (
        Bind(source="/skill", target="/skill"),
        Bind(source="/tmp/skillrt-egress/s-test", target=SANDBOX_SOCKET_DIR),
    )
