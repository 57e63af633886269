"""A skill folder holds its own files only: links out, hardlinks, devices, fifos and sockets are
refused at load, naming the file, over the real daemon; the other skills are unaffected."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest

from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from tests.api.conftest import Daemon


def _copy_probe(daemon: Daemon, name: str) -> Path:
    folder = daemon.catalog / name
    shutil.copytree(daemon.catalog / "probe", folder)
    md = folder / "SKILL.md"
    md.write_text(md.read_text().replace("name: probe", f"name: {name}"))
    return folder


def _link_out(folder: Path) -> str:
    (folder / "shadow").symlink_to("/etc/shadow")
    return "shadow: a symlink leading out of the skill folder"


def _link_to_device(folder: Path) -> str:
    (folder / "zero").symlink_to("/dev/zero")
    return "zero: a symlink leading out of the skill folder"


def _hardlink(folder: Path) -> str:
    private = folder.parent.parent / "private"
    private.mkdir(mode=0o700, exist_ok=True)
    (private / "key").write_text("root only")
    os.link(private / "key", folder / "key")
    return "key: a hardlink"


def _fifo(folder: Path) -> str:
    os.mkfifo(folder / "pipe")
    return "pipe: a device, fifo or socket"


def _socket(folder: Path) -> str:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(folder / "sock"))
    return "sock: a device, fifo or socket"


def _huge(folder: Path) -> str:
    with (folder / "big.bin").open("wb") as handle:
        handle.truncate(65 * 1024 * 1024)  # sparse: costs no disk
    return "big.bin: the skill folder holds more than 64 MiB"


CASES: dict[str, Callable[[Path], str]] = {
    "link-out": _link_out,
    "link-device": _link_to_device,
    "hardlink": _hardlink,
    "fifo": _fifo,
    "socket": _socket,
    "huge": _huge,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_folder_entry_makes_skill_unavailable(daemon: Daemon, name: str) -> None:
    """The skill is listed unavailable with the file named, refused when invoked; probe runs."""
    expected = CASES[name](_copy_probe(daemon, name))
    with daemon.channel() as channel:
        stub = daemon.stub(channel)
        listed = {s.name: s for s in stub.ListSkills(pb.ListSkillsRequest(), timeout=30).skills}
        assert not listed[name].available
        assert expected in listed[name].unavailable_reason
        assert listed["probe"].available
        with pytest.raises(grpc.RpcError) as info:
            stub.Invoke(pb.InvokeRequest(skill=name, tool="echo", input_json="{}"), timeout=30)
        assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert expected in (info.value.details() or "")


def test_link_inside_the_folder_is_kept(daemon: Daemon) -> None:
    """A symlink to a file of the skill's own folder is allowed, and the skill runs."""
    folder = _copy_probe(daemon, "link-inside")
    (folder / "again.py").symlink_to("probe.py")
    with daemon.channel() as channel:
        result = daemon.stub(channel).Invoke(
            pb.InvokeRequest(skill="link-inside", tool="echo", input_json="{}"), timeout=30
        )
    assert result.result.status == pb.STATUS_OK
