"""Sandboxes run skills from the daemon's read-only, content-addressed snapshots, never from the
author's folder: over the real daemon, with the catalog in a folder the sandbox user cannot
reach (0700, as ``mktemp -d`` makes and as root's home is)."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from runtime.client import Client
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.sandbox.nsjail import SANDBOX_GID, SANDBOX_UID
from runtime.util import paths
from tests.api.conftest import Daemon, cleanup, make_daemon
from tests.api.probe_skill import PROBE, SKILL_TOML

EDIT_MD = """---
name: edit-me
description: Reports what its snapshot holds, for snapshot tests.
---
# edit-me
"""
NOTES_MD = """---
name: notes
description: An instruction skill with a note, for session tests.
---
# notes
"""
# Tools of edit-me: ``data`` prints data.txt, after the gate file appears when asked to wait
# (the gate is a host folder the operator allows, so the test decides when the tool reads);
# ``mounts`` prints the sandbox's mount table; ``write`` tries to change its own files.
EDIT_PY = r"""
import json, os, sys, time
mode = sys.argv[1]
data = json.load(sys.stdin)
if mode == "data":
    if data.get("gate"):
        print("waiting", file=sys.stderr, flush=True)
        while not os.path.exists(os.path.join(data["gate"], "go")):
            time.sleep(0.05)
    print(json.dumps({"data": open("/skill/data.txt").read()}))
elif mode == "mounts":
    print(json.dumps({"mountinfo": open("/proc/self/mountinfo").read()}))
elif mode == "write":
    refused = []
    for attempt in (
        lambda: open("/skill/data.txt", "a"),
        lambda: open("/skill/new.txt", "w"),
        lambda: os.chmod("/skill/data.txt", 0o666),
    ):
        try:
            attempt()
        except OSError as exc:
            refused.append(exc.strerror)
    print(json.dumps({"refused": refused}))
"""
_TOOL = """
[[tools]]
name = "{name}"
entrypoint = ["/usr/bin/python3", "/skill/edit.py", "{name}"]
input_schema = {{ type = "object" }}
"""


def _edit_toml(gate: Path) -> str:
    return (
        'version = "1.0.0"\nprofile = "default"\n'
        f'[permissions]\nreadonly_paths = ["{gate}"]\n'
        + "".join(_TOOL.format(name=n) for n in ("data", "mounts", "write"))
    )


def _write_skill(folder: Path, files: dict[str, str]) -> None:
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text)


class Private:
    """A daemon whose catalog sits in a folder only root can enter."""

    def __init__(self, daemon: Daemon, private: Path, gate: Path) -> None:
        self.daemon = daemon
        self.private = private
        self.gate = gate

    def skills(self) -> dict[str, pb.Skill]:
        with self.daemon.channel() as channel:
            listed = self.daemon.stub(channel).ListSkills(pb.ListSkillsRequest(), timeout=30)
        return {skill.name: skill for skill in listed.skills}

    def invoke(self, skill: str, tool: str, value: object) -> pb.Invocation:
        with self.daemon.channel() as channel:
            request = pb.InvokeRequest(skill=skill, tool=tool, input_json=json.dumps(value))
            response: pb.Invocation = self.daemon.stub(channel).Invoke(request, timeout=120)
        return response

    def output(self, skill: str, tool: str, value: object) -> object:
        response = self.invoke(skill, tool, value)
        assert response.result.status == pb.STATUS_OK, response.result
        return json.loads(response.result.output_json)

    def snapshot(self, skill: str) -> Path:
        return self.daemon.snapshot_root / self.skills()[skill].content_hash


@pytest.fixture(scope="module")
def private() -> Iterator[Private]:
    daemon = make_daemon()
    gate = Path(tempfile.mkdtemp(prefix="skillrt-gate-"))
    gate.chmod(0o755)
    folder = daemon.root / "private"
    folder.mkdir(mode=0o700)
    catalog = folder / "catalog"
    shutil.copytree(paths.PROJECT_ROOT / "skills_catalog", catalog)
    _write_skill(
        catalog / "probe",
        {"SKILL.md": (daemon.catalog / "probe" / "SKILL.md").read_text(), "skill.toml": SKILL_TOML},
    )
    (catalog / "probe" / "probe.py").write_text(PROBE)
    _write_skill(
        catalog / "edit-me",
        {
            "SKILL.md": EDIT_MD,
            "skill.toml": _edit_toml(gate),
            "edit.py": EDIT_PY,
            "data.txt": "one",
        },
    )
    _write_skill(catalog / "notes", {"SKILL.md": NOTES_MD, "note.txt": "a note"})
    config = daemon.root / "skillrt.toml"
    config.write_text(f'[catalog]\nallowed_readonly_paths = ["{gate}"]\n')
    daemon.catalog = catalog
    daemon.start("--config", str(config))
    yield Private(daemon, folder, gate)
    cleanup(daemon)
    shutil.rmtree(gate, ignore_errors=True)


def eventually(check: Callable[[], bool], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def test_bundled_skill_in_a_private_folder_runs(private: Private) -> None:
    """A bundled skill whose folder the sandbox user cannot reach runs from its snapshot."""
    assert stat.S_IMODE(private.private.stat().st_mode) == 0o700
    assert private.output("calc", "evaluate", {"expression": "6 * 7"}) == {"result": 42}


def test_every_bundled_skill_is_available(private: Private) -> None:
    """No skill of the private catalog is refused for where it lies."""
    assert [s.unavailable_reason for s in private.skills().values() if not s.available] == []


def test_mount_table_hides_the_authors_folder(private: Private) -> None:
    """The sandbox's mountinfo names the snapshot's hash for /skill, never the author's path."""
    mountinfo = private.output("edit-me", "mounts", {})["mountinfo"]  # type: ignore[index]
    digest = private.skills()["edit-me"].content_hash
    (skill_line,) = [line for line in mountinfo.splitlines() if line.split()[4] == "/skill"]
    assert skill_line.split()[3].endswith(f"/{digest}")
    assert str(private.private) not in mountinfo
    assert str(private.daemon.root) not in mountinfo


def test_snapshot_is_read_only_inside(private: Private) -> None:
    """A tool cannot write, create or chmod in its own skill folder: the file's mode refuses
    the write, the read-only mount the rest."""
    refused = private.output("edit-me", "write", {})["refused"]  # type: ignore[index]
    assert refused == ["Permission denied", "Read-only file system", "Read-only file system"]


def test_snapshot_is_read_only_outside(private: Private) -> None:
    """On the host the snapshot is root's, without write bits, and the sandbox user can read
    its files but neither change nor add one."""
    snapshot = private.snapshot("edit-me")
    for path in (snapshot, *snapshot.rglob("*")):
        info = path.lstat()
        assert info.st_uid == 0 and not info.st_mode & 0o222, path
    assert stat.S_IMODE(snapshot.stat().st_mode) == 0o555
    assert stat.S_IMODE((snapshot / "data.txt").stat().st_mode) == 0o444
    script = (
        "import sys\n"
        "print('read' if open(sys.argv[1] + '/edit.py').read() else 'empty')\n"
        "for attempt in (lambda: open(sys.argv[1] + '/data.txt', 'a'),"
        " lambda: open(sys.argv[1] + '/new.txt', 'w')):\n"
        "    try:\n        attempt()\n    except PermissionError:\n        print('refused')\n"
    )
    proc = subprocess.run(
        ["/usr/bin/python3", "-c", script, str(snapshot)],
        user=SANDBOX_UID,
        group=SANDBOX_GID,
        extra_groups=[],
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.split() == ["read", "refused", "refused"]


def test_an_edit_reaches_neither_a_loaded_run_nor_its_snapshot(private: Private) -> None:
    """A run started before the author edits its folder runs what was loaded, even after the
    daemon has loaded the edit; the next run gets the edit under a new hash, and the old
    snapshot is collected once its run has ended."""
    data = private.private / "catalog" / "edit-me" / "data.txt"
    data.write_text("before")
    old = private.skills()["edit-me"].content_hash
    with private.daemon.channel() as channel:
        request = pb.InvokeRequest(
            skill="edit-me", tool="data", input_json=json.dumps({"gate": str(private.gate)})
        )
        stream = private.daemon.stub(channel).InvokeStream(request, timeout=120)
        for event in stream:
            if event.WhichOneof("event") == "output":
                break  # the tool is running and waits for the gate
        data.write_text("after")
        new = private.skills()["edit-me"].content_hash
        assert new != old
        assert (private.daemon.snapshot_root / new / "data.txt").read_text() == "after"
        assert (private.daemon.snapshot_root / old).is_dir()  # held by the running call
        (private.gate / "go").touch()
        finished = [event.finished for event in stream if event.WhichOneof("event") == "finished"]
    (private.gate / "go").unlink()
    assert finished[0].result.status == pb.STATUS_OK
    assert json.loads(finished[0].result.output_json) == {"data": "before"}
    assert private.output("edit-me", "data", {}) == {"data": "after"}
    assert eventually(lambda: not (private.daemon.snapshot_root / old).exists())
    assert (private.daemon.snapshot_root / new).is_dir()


def test_a_removed_skill_lets_go_of_its_snapshot(private: Private) -> None:
    """A skill folder removed from the catalog has its snapshot collected; the rest stay."""
    folder = private.private / "catalog" / "gone"
    shutil.copytree(private.private / "catalog" / "probe", folder)
    (folder / "SKILL.md").write_text(
        (folder / "SKILL.md").read_text().replace("name: probe", "name: gone")
    )
    (folder / "extra.txt").write_text("makes the hash its own")
    snapshot = private.snapshot("gone")
    assert snapshot.is_dir()
    shutil.rmtree(folder)
    assert "gone" not in private.skills()
    assert eventually(lambda: not snapshot.exists())
    assert private.snapshot("probe").is_dir()


def test_session_mounts_the_snapshot(private: Private) -> None:
    """A session command reads its instruction skill from the snapshot, and its mount table
    does not name the author's folder."""
    with Client(private.daemon.target, token=private.daemon.owner_token) as client:
        session = client.create_session(skills=["notes"])
        note = client.exec(session.id, ["/bin/cat", "/skills/notes/note.txt"])
        mounts = client.exec(session.id, ["/bin/cat", "/proc/self/mountinfo"])
    assert (note.exit_status, note.stdout) == (0, b"a note")
    digest = private.skills()["notes"].content_hash
    assert f"/{digest} /skills/notes ".encode() in mounts.stdout
    assert str(private.private).encode() not in mounts.stdout


def _refused_start(daemon: Daemon, snapshot_dir: Path) -> str:
    config = daemon.root / "skillrt.toml"
    config.write_text(f'[catalog]\nsnapshot_dir = "{snapshot_dir}"\n')
    with pytest.raises(AssertionError, match="daemon exited early"):
        daemon.start("--config", str(config))
    logs = daemon.logs()
    assert "Traceback" not in logs
    return logs


def test_a_snapshot_folder_others_may_write_stops_the_start(fresh_daemon: Daemon) -> None:
    """A [catalog] snapshot_dir another user could plant a snapshot in is refused at start,
    naming it."""
    root = fresh_daemon.root / "snapshots"
    root.mkdir()
    root.chmod(0o777)
    logs = _refused_start(fresh_daemon, root)
    assert f"skill snapshot folder {root}: must belong to the daemon's user" in logs


def test_a_snapshot_folder_the_sandbox_cannot_reach_stops_the_start(fresh_daemon: Daemon) -> None:
    """A [catalog] snapshot_dir inside a 0700 folder is refused at start, naming the folder."""
    private = fresh_daemon.root / "private"
    private.mkdir(mode=0o700)
    logs = _refused_start(fresh_daemon, private / "snapshots")
    assert f"{private} is not searchable by others (needs o+x)" in logs


def test_a_snapshot_folder_in_use_by_another_daemon_stops_the_start(fresh_daemon: Daemon) -> None:
    """A second daemon given the first's snapshot folder refuses to start, naming it, and the
    first's snapshots are still there (starting would have emptied the folder)."""
    fresh_daemon.start()
    held = sorted(p.name for p in fresh_daemon.snapshot_root.iterdir())
    other = make_daemon()
    try:
        logs = _refused_start(other, fresh_daemon.snapshot_root)
    finally:
        cleanup(other)
    assert f"{fresh_daemon.snapshot_root}: another skillrt process is using it" in logs
    assert held and sorted(p.name for p in fresh_daemon.snapshot_root.iterdir()) == held
