"""Only the operator grants host paths: a skill.toml naming one outside the daemon's allowlist
is unavailable over the real daemon, and the allowlist can never reach the host's kernel
interfaces, credentials or the daemon's own directories."""

from __future__ import annotations

import shutil
from pathlib import Path

import grpc
import pytest

from runtime.api.config import load
from runtime.errors import ConfigError
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from tests.api.conftest import Daemon


@pytest.mark.parametrize("path", ["/etc", "/sys", "/var/log"])
def test_manifest_path_outside_the_allowlist_is_unavailable(daemon: Daemon, path: str) -> None:
    """A skill asking for a host path the operator did not allow is listed unavailable and
    refused when invoked; probe, which asks for none, runs."""
    name = "wants-" + path.strip("/").replace("/", "-")
    folder = daemon.catalog / name
    shutil.copytree(daemon.catalog / "probe", folder)
    (folder / "SKILL.md").write_text(
        (folder / "SKILL.md").read_text().replace("name: probe", f"name: {name}")
    )
    toml = (folder / "skill.toml").read_text()
    (folder / "skill.toml").write_text(
        toml.replace(
            'profile = "default"\n',
            f'profile = "default"\n[permissions]\nreadonly_paths = ["{path}"]\n',
            1,
        )
    )
    with daemon.channel() as channel:
        stub = daemon.stub(channel)
        listed = {s.name: s for s in stub.ListSkills(pb.ListSkillsRequest(), timeout=30).skills}
        assert not listed[name].available
        assert f"reads host path {path}" in listed[name].unavailable_reason
        with pytest.raises(grpc.RpcError) as info:
            stub.Invoke(pb.InvokeRequest(skill=name, tool="echo", input_json="{}"), timeout=30)
        assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        ok = stub.Invoke(pb.InvokeRequest(skill="probe", tool="echo", input_json="{}"), timeout=30)
    assert ok.result.status == pb.STATUS_OK


@pytest.mark.parametrize(
    "allowed",
    [
        "/",
        "/proc",
        "/sys/fs/cgroup",
        "/dev/shm",
        "/etc",
        "/etc/shadow",
        "/root",
        "/home/a/.ssh",
        "{state}",
        "{state}/keys",
        "{socket}",
    ],
)
def test_never_bindable_paths_are_refused_in_the_allowlist(tmp_path: Path, allowed: str) -> None:
    """Allowing a path that is, holds or lies in a never-bindable one is a ConfigError naming
    the key."""
    state, socket = tmp_path / "state", tmp_path / "run"
    path = allowed.format(state=state, socket=socket)
    file = tmp_path / "skillrt.toml"
    file.write_text(
        f'[server]\nstate_dir = "{state}"\nsocket = "{socket}/skillrt.sock"\n'
        f'[catalog]\nallowed_readonly_paths = ["{path}"]\n'
    )
    with pytest.raises(ConfigError, match=r"catalog\.allowed_readonly_paths: .*never bindable"):
        load(file)


def test_allowlist_is_empty_by_default_and_read_from_the_file(tmp_path: Path) -> None:
    """No allowlist grants nothing; a listed folder is kept as given."""
    file = tmp_path / "skillrt.toml"
    file.write_text('[catalog]\nallowed_readonly_paths = ["/usr/share/zoneinfo"]\n')
    assert load(None).allowed_readonly_paths == ()
    assert load(file).allowed_readonly_paths == (Path("/usr/share/zoneinfo"),)
